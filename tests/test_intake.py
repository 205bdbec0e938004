"""Values are checked where data enters: numbers in bounds, text without lone surrogates, sane listing names

Each case here once got into the store (or crashed on the way) and broke every later command.
"""

from __future__ import annotations

import json

import pytest
from conftest import HF_DAILY, tree_hash
from server import Fault, Server
from test_fetch import PATH, configure

DAY = "2026-08-21"


def real_items():
    return json.loads((HF_DAILY / f"{DAY}.json").read_bytes())


def damaged_file(tmp_path, name, edit):
    """The real 2026-08-21 list, with its first item's JSON text changed by `edit`"""
    text = json.dumps(real_items())
    path = tmp_path / name
    path.write_text(edit(text), encoding="utf-8")
    return path


def with_upvotes(digits):
    first = real_items()[0]["paper"]["upvotes"]
    return lambda text: text.replace(f'"upvotes": {first}', f'"upvotes": {"9" * digits}', 1)


@pytest.mark.parametrize("digits", [400, 5000])
def test_a_huge_upvote_count_is_refused_at_import_and_nothing_is_stored(run, tmp_path, digits):
    bad = damaged_file(tmp_path, f"{DAY}.json", with_upvotes(digits))
    assert "9" * digits in bad.read_text()
    result = run("import", bad, expect=3)
    lines = result.stderr.strip().splitlines()
    # One line for the file (naming it and the field), then the batch's summary line.
    assert f"{DAY}.json" in lines[0] and ("upvotes" in lines[0] or "4,300 digits" in lines[0]), result.stderr
    assert len(lines[0]) < 300
    assert lines[1:] == ["Error: 1 of 1 files could not be imported"]
    assert not (run.data_dir / "snapshots").exists() or not list((run.data_dir / "snapshots").rglob("*.json"))
    # The store still works for everything else: a good file imports and diffs.
    run("import", HF_DAILY / f"{DAY}.json")
    run("diff", "--date", DAY)


@pytest.mark.parametrize("digits", [400, 5000])
def test_a_huge_upvote_count_from_the_api_fails_the_fetch_and_stores_nothing(run, tmp_path, monkeypatch, digits):
    items = real_items()
    with Server() as server:
        body = json.dumps(items).replace(f'"upvotes": {items[0]["paper"]["upvotes"]}',
                                         f'"upvotes": {"9" * digits}', 1).encode()
        server.sources.queue(PATH, Fault(200, body, {"Content-Type": "application/json"}))
        configure(tmp_path / "digest.toml", server.url, listings=["hf-daily"], retries=0)
        before = tree_hash(run.data_dir)
        result = run("fetch", "--date", DAY, "--listing", "hf-daily", expect=8)
    assert "Traceback" not in result.stderr
    assert "upvotes" in result.stderr or "4,300 digits" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert tree_hash(run.data_dir) == before


def test_a_lone_surrogate_is_cleaned_and_the_rest_of_the_batch_imports(run, tmp_path):
    # "\ud800" as JSON text: json.loads makes a str no UTF-8 file can hold.
    surrogate = damaged_file(tmp_path, "2026-08-21.json", lambda t: t.replace('"title": "', '"title": "\\ud800', 1))
    good = tmp_path / "2026-08-20.json"
    good.write_bytes((HF_DAILY / "2026-08-20.json").read_bytes())
    result = run("import", surrogate, good)
    assert "Traceback" not in result.stderr
    stored = json.loads((run.data_dir / "snapshots" / "hf-daily" / "2026-08-21.json").read_text(encoding="utf-8"))
    assert stored["entries"][0]["title"] == real_items()[0]["paper"]["title"].strip()
    assert (run.data_dir / "snapshots" / "hf-daily" / "2026-08-20.json").exists()
    run("diff", "--date", DAY)


@pytest.mark.parametrize("listing", ["a" * 300, "hf-daily\nevil", "hf-daily\n"])
def test_bad_listing_names_are_refused_with_one_line(run, listing):
    before = tree_hash(run.data_dir)
    result = run("import", HF_DAILY / f"{DAY}.json", "--listing", listing, expect=3)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "invalid listing name" in lines[0] and len(lines[0]) < 300, result.stderr
    assert tree_hash(run.data_dir) == before


def test_a_stored_file_with_a_huge_number_names_the_file(run, tmp_path):
    run("import", HF_DAILY / f"{DAY}.json")
    path = run.data_dir / "snapshots" / "hf-daily" / f"{DAY}.json"
    text = path.read_text()
    first = json.loads(text)["entries"][0]["upvotes"]
    path.write_text(text.replace(f'"upvotes": {first}', f'"upvotes": {"9" * 400}', 1))
    result = run("diff", "--date", DAY, expect=4)
    assert str(path.name) in result.stderr and "Traceback" not in result.stderr


def test_a_bad_listing_name_is_refused_by_fetch_too(run):
    result = run("fetch", "--listing", "hf-daily\nx", expect=3)
    assert "invalid listing name" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_killed_import_leaves_no_temp_file_after_the_next_import(run, tmp_path):
    """kill -9 between mkstemp and os.replace leaves '.<name>.<random>.tmp': the next write sweeps it"""
    import os
    import signal
    import subprocess
    import sys
    import textwrap

    folder = run.data_dir / "snapshots" / "hf-daily"
    # A real import, killed while its temp file is written (os.replace is made to hang there).
    script = textwrap.dedent(f"""
        import os, sys, time
        real = os.replace
        def stall(src, dst):
            if "snapshots" not in str(dst):
                return real(src, dst)
            print("stalled", flush=True); time.sleep(60)
        os.replace = stall
        from digest.cli import main
        sys.argv = ["digest", "--data-dir", {str(run.data_dir)!r}, "import", {str(HF_DAILY / (DAY + ".json"))!r}]
        main()
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "stalled"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")], "the kill left no temp file to test with"
    assert "*.tmp" in (run.data_dir / ".gitignore").read_text()
    run("import", HF_DAILY / "2026-08-20.json")
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []
    assert sorted(p.name for p in folder.iterdir()) == ["2026-08-20.json"]


@pytest.mark.parametrize("link", ["snapshots/hf-daily", ".cache"])
def test_symlinked_folders_in_the_data_folder_are_refused(run, tmp_path, link):
    run("import", HF_DAILY / "2026-08-20.json")
    outside = tmp_path / "outside"
    outside.mkdir()
    target = run.data_dir / link
    import shutil
    shutil.rmtree(target, ignore_errors=True)
    target.symlink_to(outside, target_is_directory=True)
    if link.startswith("snapshots"):
        result = run("import", HF_DAILY / f"{DAY}.json", expect=4)
        assert "symbolic link" in result.stderr and "Traceback" not in result.stderr
        assert list(outside.iterdir()) == []
    result = run("diff", "--date", "2026-08-20", expect=4)
    assert "symbolic link" in result.stderr
    assert list(outside.iterdir()) == []
