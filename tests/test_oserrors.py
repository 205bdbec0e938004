"""OS errors are one-line errors with exit 11, and nothing half-written stays

A real full disk (a 64 KB tmpfs; the tests run as root in CI) and a real read-only file
system where mounting is allowed, a real over-long name everywhere, and, so that each kind
is always covered, a patched write raising each errno.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
from contextlib import contextmanager

import pytest
from conftest import HF_DAILY, tree_hash

import digest.publish.writer as writer_module
import digest.store as store_module
from digest.errors import FileSystemError
from digest.store import write_atomic

FILE_ERRORS = {errno.ENOSPC: "No space left on device", errno.EACCES: "Permission denied",
               errno.ENAMETOOLONG: "File name too long", errno.EROFS: "Read-only file system"}
DAY = "2026-08-21"


@contextmanager
def mounted(path, options):
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    with mounted(tmp_path / "disk", "size=64k") as path:
        yield path


@pytest.fixture
def full_disk(small_disk):
    """The 64 KB tmpfs with all but one 4 KB page taken: room for a small file, not for a digest"""
    filler = small_disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"x" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC
    os.truncate(filler, max(0, os.path.getsize(filler) - 4096))
    return small_disk


def one_line(result, code, *needles):
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[-1].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert all(n in lines[-1] for n in needles), lines[-1]


def temp_files(folder):
    return sorted(p for p in folder.rglob("*") if p.name.endswith(".tmp"))


def stored_day(run):
    run("import", HF_DAILY / f"{DAY}.json")


# --- a real full disk -----------------------------------------------------------------------


def test_import_onto_a_full_disk(run, small_disk):
    files = sorted(HF_DAILY.glob("*.json"))
    result = run("--data-dir", small_disk / "data", "import", *files, expect=None)
    one_line(result, 11, "No space left on device", str(small_disk / "data"))
    assert temp_files(small_disk) == []
    stored = sorted((small_disk / "data" / "snapshots").rglob("*.json"))
    for path in stored:  # whatever went in went in whole
        assert json.loads(path.read_text())["format"] == "digest-snapshot"
    assert len(stored) < len(files)


def test_build_onto_a_full_disk(run, small_disk):
    stored_day(run)
    result = run("build", "--out", small_disk / "site", "--no-search", expect=None)
    one_line(result, 11, "No space left on device", str(small_disk / "site"))


def test_markdown_onto_a_full_disk(run, full_disk):
    stored_day(run)
    target = full_disk / "today.md"
    one_line(run("markdown", "-o", target, expect=None), 11, "No space left on device", str(target))
    assert not target.exists() and temp_files(full_disk) == []


def test_email_onto_a_full_disk(run, full_disk):
    stored_day(run)
    one_line(run("email", "--out", full_disk / "outbox", expect=None), 11, "No space left on device")
    assert temp_files(full_disk) == []
    assert not list(full_disk.rglob("*.eml"))


def test_markdown_onto_a_read_only_file_system(run, tmp_path):
    stored_day(run)
    with mounted(tmp_path / "ro", "ro,size=64k") as ro:
        one_line(run("markdown", "-o", ro / "today.md", expect=None), 11, "Read-only file system")


def test_a_failed_replace_keeps_the_old_file_whole(small_disk):
    target = small_disk / "kept.json"
    write_atomic(target, "old\n")
    with pytest.raises(FileSystemError) as caught:
        write_atomic(target, "x" * 200_000)
    assert caught.value.errno == errno.ENOSPC and caught.value.exit_code == 11
    assert str(caught.value) == f"{target}: No space left on device"
    assert target.read_text() == "old\n" and temp_files(small_disk) == []


# --- a real name too long -----------------------------------------------------------------


def test_a_name_too_long(run, tmp_path):
    stored_day(run)
    target = tmp_path / ("n" * 300 + ".md")
    one_line(run("markdown", "-o", target, expect=None), 11, "File name too long")
    one_line(run("email", "--out", tmp_path / ("e" * 300), expect=None), 11, "File name too long")
    one_line(run("build", "--out", tmp_path / ("s" * 300), "--no-search", expect=None), 11, "File name too long")


# --- each errno, by a patched write ----------------------------------------------------------


@pytest.fixture(params=sorted(FILE_ERRORS), ids=lambda n: errno.errorcode[n])
def failing_write(request, monkeypatch):
    """Every write of file data fails with one errno: write_atomic's fsync and the site writer's files"""
    code = request.param

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(store_module.os, "fsync", fail)
    real_open = open

    def writer_open(path, mode="r", *args, **kwargs):
        if "w" in mode:
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(writer_module, "open", writer_open, raising=False)
    return code


def test_import_with_a_failing_write(run, failing_write):
    result = run("import", HF_DAILY / f"{DAY}.json", expect=None)
    one_line(result, 11, FILE_ERRORS[failing_write])
    assert temp_files(run.data_dir) == []
    assert not (run.data_dir / "snapshots" / "hf-daily" / f"{DAY}.json").exists()


def test_markdown_email_and_build_with_a_failing_write(run, tmp_path, monkeypatch):
    stored_day(run)
    before = tree_hash(run.data_dir)
    for number, reason in FILE_ERRORS.items():
        with monkeypatch.context() as m:
            m.setattr(store_module.os, "fsync", lambda fd, n=number: (_ for _ in ()).throw(OSError(n, os.strerror(n))))
            m.setattr(writer_module, "open", lambda path, mode="r", *a, n=number, **k: (_ for _ in ()).throw(
                OSError(n, os.strerror(n), str(path))), raising=False)
            one_line(run("markdown", "-o", tmp_path / "today.md", expect=None), 11, reason, "today.md")
            assert not (tmp_path / "today.md").exists()
            one_line(run("email", "--out", tmp_path / "outbox", expect=None), 11, reason, "outbox")
            one_line(run("build", "--out", tmp_path / f"site-{number}", "--no-search", expect=None), 11, reason)
            assert temp_files(tmp_path) == []
    assert tree_hash(run.data_dir) == before


def test_a_fetch_that_cannot_write_its_second_day_writes_none(run, tmp_path, monkeypatch):
    from server import Server
    from test_fetch import configure, hf_items

    days = ("2026-08-19", "2026-08-20", "2026-08-21")
    with Server() as server:
        for day in days:
            server.sources.daily[day] = hf_items(day) if (HF_DAILY / f"{day}.json").exists() else []
        configure(tmp_path / "digest.toml", server.url, catch_up_days=2)
        run("import", HF_DAILY / "2026-08-20.json")
        before = tree_hash(run.data_dir)
        real, calls = store_module.os.fsync, []

        def second_fails(fd):
            calls.append(fd)
            if len(calls) == 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(fd)

        monkeypatch.setattr(store_module.os, "fsync", second_fails)
        result = run("fetch", "--date", "2026-08-21", "--listing", "hf-daily", expect=None)
    one_line(result, 11, "No space left on device")
    assert len(calls) >= 2
    monkeypatch.undo()
    assert tree_hash(run.data_dir) == before and temp_files(run.data_dir) == []
