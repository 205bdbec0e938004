"""digest import: one snapshot per listing and day, bad files reported, nothing lost"""

import json
import shutil
from pathlib import Path

from conftest import HF_DAILY, PAGE_TEXT, hf_files, tree_hash


def snapshot_files(data_dir):
    return sorted(p.relative_to(data_dir).as_posix() for p in (data_dir / "snapshots").rglob("*.json"))


def test_import_all_hf_fixtures_gives_one_snapshot_per_file(run):
    files = hf_files()
    result = run("import", *files)
    assert snapshot_files(run.data_dir) == [f"snapshots/hf-daily/{f.name}" for f in files]
    for f in files:
        stored = json.loads((run.data_dir / "snapshots" / "hf-daily" / f.name).read_text())
        raw = json.loads(f.read_text())
        assert len(stored["entries"]) == len(raw["data"] if isinstance(raw, dict) else raw)
    assert "2026-08-21.json: 17 papers, hf-daily 2026-08-21" in result.stdout
    assert "warning: " in result.stderr and "2024-12-11.json: salvaged 26 items" in result.stderr


def test_import_again_replaces_the_day_byte_for_byte(run):
    fixture = HF_DAILY / "2026-08-21.json"
    run("import", fixture)
    stored = run.data_dir / "snapshots" / "hf-daily" / "2026-08-21.json"
    first = stored.read_bytes()
    result = run("import", fixture)
    assert "replaced" in result.stdout
    assert snapshot_files(run.data_dir) == ["snapshots/hf-daily/2026-08-21.json"]
    assert stored.read_bytes() == first


def test_stored_file_is_deterministic_json(run):
    run("import", HF_DAILY / "2025-10-03.json")
    text = (run.data_dir / "snapshots" / "hf-daily" / "2025-10-03.json").read_text()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert data["format"] == "digest-snapshot" and data["version"] == 1
    assert data["source"] == {"kind": "hf-json", "url": None, "file": "2025-10-03.json"}
    assert data["fetched_at"] is None


def test_own_snapshot_files_round_trip(run, tmp_path):
    run("import", HF_DAILY / "2026-08-20.json")
    stored = run.data_dir / "snapshots" / "hf-daily" / "2026-08-20.json"
    other = tmp_path / "elsewhere"
    copy = tmp_path / "copy.json"
    shutil.copy(stored, copy)
    run.data_dir = other
    run("import", copy)
    assert (other / "snapshots" / "hf-daily" / "2026-08-20.json").read_bytes() == stored.read_bytes()


def test_listing_and_date_options_override(run):
    run("import", "--listing", "arxiv:cs.CL", "--date", "2026-01-02", HF_DAILY / "2026-08-21.json")
    assert snapshot_files(run.data_dir) == ["snapshots/arxiv_cs.CL/2026-01-02.json"]
    data = json.loads((run.data_dir / "snapshots" / "arxiv_cs.CL" / "2026-01-02.json").read_text())
    assert (data["listing"], data["date"]) == ("arxiv:cs.CL", "2026-01-02")


def test_invalid_listing_name_is_refused(run):
    result = run("import", "--listing", "../../etc", HF_DAILY / "2026-08-21.json", expect=3)
    assert "invalid listing name" in result.stderr
    assert not run.data_dir.exists()


def make_bad_files(tmp_path):
    fixture = (HF_DAILY / "2026-08-21.json").read_bytes()
    bad = {
        "2025-02-01.png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8 text"),
        "2025-02-02.json": (fixture[:5000], "truncated JSON"),
        "2025-02-03.json": (json.dumps([{"paper": {"id": "2502.00001", "upvotes": 3}}]).encode(),
                            "item 1: paper has no title"),
        "2025-02-04.txt": (b"new\n\nDaily Papers\n\nFeb 4\n", "no papers"),
        "papers.json": ((HF_DAILY / "2024-05-27.json").read_bytes(), "cannot tell the day"),
        "2025-02-06.json": (b'{"hello": "world"}', "not a known format"),
    }
    paths = {}
    for name, (data, message) in bad.items():
        (tmp_path / name).write_bytes(data)
        paths[tmp_path / name] = message
    return paths


def test_bad_files_are_reported_one_line_each_and_the_rest_imported(run, tmp_path):
    run("import", HF_DAILY / "2026-08-20.json")
    before = (run.data_dir / "snapshots" / "hf-daily" / "2026-08-20.json").read_bytes()
    bad = make_bad_files(tmp_path)
    result = run("import", *bad, HF_DAILY / "2026-08-21.json", expect=3)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(bad)
    for (path, message), line in zip(bad.items(), errors):
        assert line.startswith(f"error: {path}: ") and message in line, line
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == f"Error: {len(bad)} of {len(bad) + 1} files could not be imported"
    assert snapshot_files(run.data_dir) == ["snapshots/hf-daily/2026-08-20.json", "snapshots/hf-daily/2026-08-21.json"]
    assert (run.data_dir / "snapshots" / "hf-daily" / "2026-08-20.json").read_bytes() == before


def test_a_bad_file_for_an_existing_day_leaves_that_day_untouched(run, tmp_path):
    run("import", HF_DAILY / "2026-08-21.json")
    before = tree_hash(run.data_dir)
    broken = tmp_path / "2026-08-21.json"
    broken.write_bytes((HF_DAILY / "2026-08-21.json").read_bytes()[:-200])
    result = run("import", broken, expect=3)
    assert "truncated JSON" in result.stderr
    assert tree_hash(run.data_dir) == before
    assert not list(run.data_dir.rglob("*.tmp"))


def test_missing_file_is_a_one_line_error(run, tmp_path):
    result = run("import", tmp_path / "nope.json", expect=3)
    assert f"error: {tmp_path / 'nope.json'}: cannot read (No such file or directory)" in result.stderr


def test_page_captures_import_with_the_day_from_the_file_name(run):
    result = run("import", *sorted(PAGE_TEXT.glob("*.txt")))
    assert "57 papers, hf-papers-page 2025-08-19" in result.stdout
    assert "63 papers, hf-papers-page 2025-10-28" in result.stdout
    assert "49 papers, hf-papers-page 2026-02-05" in result.stdout


# -- no import silently replaces another source's data (issue 9) ----------------------

# The API's list of the day of a page capture: a verbatim copy of
# ../shared/fixtures/hf-archive/2025-10-28.json (the whole archive is not vendored).
API_OCT_28 = Path(__file__).parent / "fixtures" / "hf-archive-2025-10-28.json"


def api_ids():
    """The arXiv ids of the API's list of Oct 28, read from the raw archive file"""
    return [item["paper"]["id"] for item in json.loads(API_OCT_28.read_text())]


def stored_ids(data_dir, listing, day):
    data = json.loads((data_dir / "snapshots" / listing / f"{day}.json").read_text())
    return [e["id"] for e in data["entries"]]


def test_a_capture_onto_a_day_the_api_filled_leaves_the_api_entries_in_place(run):
    run("import", API_OCT_28)
    api = (run.data_dir / "snapshots" / "hf-daily" / "2025-10-28.json").read_bytes()
    result = run("import", PAGE_TEXT / "2025-10-28.txt")
    assert "63 papers, hf-papers-page 2025-10-28 (stored" in result.stdout
    assert (run.data_dir / "snapshots" / "hf-daily" / "2025-10-28.json").read_bytes() == api
    assert stored_ids(run.data_dir, "hf-daily", "2025-10-28") == api_ids()
    assert len(api_ids()) == 23


def test_a_capture_under_the_api_listing_is_refused_without_replace(run):
    run("import", API_OCT_28)
    before = tree_hash(run.data_dir)
    result = run("import", "--listing", "hf-daily", PAGE_TEXT / "2025-10-28.txt", expect=3)
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert "hf-daily 2025-10-28 already holds hf-json data (23 papers)" in line
    assert "--replace" in line
    assert tree_hash(run.data_dir) == before


def test_replace_says_what_it_replaced(run):
    run("import", API_OCT_28)
    result = run("import", "--listing", "hf-daily", "--replace", PAGE_TEXT / "2025-10-28.txt")
    assert "63 papers, hf-daily 2025-10-28 (replaced hf-json data (23 papers) in" in result.stdout
    assert stored_ids(run.data_dir, "hf-daily", "2025-10-28") == [None] * 63


def test_the_api_list_over_a_capture_is_refused_too(run):
    run("import", "--listing", "hf-daily", PAGE_TEXT / "2025-10-28.txt")
    result = run("import", API_OCT_28, expect=3)
    assert "already holds page-text data (63 papers)" in result.stderr


def test_the_same_kind_of_source_still_replaces_its_day(run):
    run("import", API_OCT_28)
    result = run("import", API_OCT_28)
    assert "23 papers, hf-daily 2025-10-28 (replaced " in result.stdout
