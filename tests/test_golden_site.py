"""Golden output tree: a small fixed archive's whole site and feeds, file by file (Pelican's tests/output)

The archive is two real days (the recorded 2026-08-20 and 2026-08-21 lists). The expected
tree lives in tests/golden/site/; `UPDATE_GOLDEN=1 python -m pytest tests/test_golden_site.py`
rewrites it, and the diff is read before it is committed.
"""

import os
import shutil

from conftest import GOLDEN, HF_DAILY

from digest.config import Config
from digest.pipeline import import_files
from digest.publish.site import build_site
from digest.store import Store

EXPECTED = GOLDEN / "site"
DAYS = ("2026-08-20", "2026-08-21")


def built_tree(tmp_path):
    store = Store(tmp_path / "data")
    outcomes = import_files(store, [HF_DAILY / f"{day}.json" for day in DAYS])
    assert all(o.error is None for o in outcomes)
    out = tmp_path / "site"
    build_site(Config(data_dir=store.root), out, base_url="https://example.org/digest/", search=False)
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def test_the_site_is_the_reviewed_tree(tmp_path):
    actual = built_tree(tmp_path)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        shutil.rmtree(EXPECTED, ignore_errors=True)
        for rel, data in actual.items():
            (EXPECTED / rel).parent.mkdir(parents=True, exist_ok=True)
            (EXPECTED / rel).write_bytes(data)
    expected = {p.relative_to(EXPECTED).as_posix(): p.read_bytes() for p in sorted(EXPECTED.rglob("*"))
                if p.is_file()}
    assert sorted(actual) == sorted(expected), "the site has other files than the golden tree"
    changed = [rel for rel in expected if actual[rel] != expected[rel]]
    assert changed == [], f"{len(changed)} files differ from tests/golden/site/, first: {changed[:5]}"
