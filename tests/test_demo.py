"""The demo and the entry points, run as a user runs them: real processes"""

import ast
import json
import subprocess
import sys
import zipfile

from conftest import FIXTURES, ROOT


def digest(*args, cwd):
    return subprocess.run([sys.executable, "-m", "digest", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


DAYS = ["2024-12-05", "2024-12-06", "2024-12-07", "2024-12-08", "2024-12-09", "2024-12-10", "2024-12-11",
        "2024-12-12"]


def raw_upvotes(folder, day):
    """paper id -> upvotes in one raw hf-replay response (JSON or Python-repr strings)"""
    items = json.loads((FIXTURES / "hf-replay" / folder / f"{day}.json").read_bytes())
    items = [ast.literal_eval(i) if isinstance(i, str) else i for i in items]
    return {i["paper"]["id"]: i["paper"]["upvotes"] for i in items}


def test_demo_builds_from_the_bundled_sample(tmp_path):
    result = digest("demo", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Imported 15 sample snapshots" in result.stdout
    out = tmp_path / "out"
    assert sorted(p.stem for p in (out / "markdown").glob("*.md")) == DAYS
    assert sorted(p.stem for p in (out / "data" / "snapshots" / "hf-daily").glob("*.json")) == DAYS
    assert "markdown   out/markdown/2024-12-12.md" in result.stdout
    assert "site       out/site/index.html" in result.stdout
    assert (out / "site" / "day" / "2024-12-12.html").is_file()
    assert (out / "site" / "feeds" / "papers.atom").is_file()
    assert (out / "site" / "pagefind" / "pagefind-ui.js").is_file()


def test_the_demos_latest_edition_shows_real_trending_and_a_late_paper(tmp_path):
    assert digest("demo", "--out", "out", cwd=tmp_path).returncode == 0
    latest = json.loads((tmp_path / "out" / "json" / "2024-12-12.json").read_text())
    # Wednesday's list as first fetched (evening of Dec 11) and as re-fetched on Dec 12.
    before = raw_upvotes("2024-12-11T17-08-18Z", "2024-12-11")
    after = raw_upvotes("2024-12-12T10-18-58Z", "2024-12-11")
    assert len(latest["trending"]) >= 3
    for trend in latest["trending"]:
        gain = after[trend["id"]] - before[trend["id"]]
        assert gain >= 3 and trend["upvote_gain"] == gain
        assert trend["reasons"] == [f"+{gain} upvotes since Dec 11"]
    [late] = [i for i in latest["new"] if i.get("late")]
    assert late["id"] in set(after) - set(before) and late["list_day"] == "2024-12-11"
    text = (tmp_path / "out" / "markdown" / "2024-12-12.md").read_text()
    assert "*Added to Wednesday's list (2024-12-11) since the last edition*" in text


def test_demo_twice_gives_byte_identical_output(tmp_path):
    for name in ("a", "b"):
        assert digest("demo", "--out", name, cwd=tmp_path).returncode == 0
    # The build state is state, not output: its rows' MACs are keyed with a secret each data
    # folder makes for itself (so a forged row is never trusted), so it differs by design.
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                   if p.is_file() and ".cache" not in p.parts and p.name != ".digest-build.sqlite")
    # 15 snapshots and data/.gitignore, 8 days of Markdown and JSON, the latest day's email
    # (.eml and .html), the site.
    assert len([f for f in files if f.parts[0] != "site"]) == 15 + 1 + 8 * 2 + 2
    assert len([f for f in files if f.parts[0] == "site"]) > 200
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_demo_ignores_a_config_in_the_working_folder(tmp_path):
    (tmp_path / "digest.toml").write_text("this is = not [valid toml")
    assert digest("demo", "--out", "out", cwd=tmp_path).returncode == 0


def test_bad_config_is_a_one_line_error(tmp_path):
    (tmp_path / "digest.toml").write_text("[trending]\nupvote_weight = 'heavy'\n")
    result = digest("diff", cwd=tmp_path)
    assert result.returncode == 6
    assert result.stderr.strip() == "Error: digest.toml [trending]: upvote_weight has the wrong type (str)"


def test_sample_is_small():
    size = sum(p.stat().st_size for p in (ROOT / "digest" / "sample").rglob("*.json"))
    assert 100_000 < size < 1_000_000


def test_wheel_ships_templates_and_sample(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "--no-index", "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    [wheel] = tmp_path.glob("digest-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "digest/templates/digest.md.j2" in names
    assert {"digest/templates/email.html.j2", "digest/templates/email.css",
            "digest/templates/_email_parts.html.j2"} <= set(names)
    assert "digest/templates/site/paper.html" in names
    assert "digest/templates/site/static/style.css" in names
    assert "digest/sample/hf-daily/2024-12-12.json" in names
    assert any(n.endswith("entry_points.txt") for n in names)
