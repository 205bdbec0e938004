"""The store writes atomically: a crash leaves the old file or the new one"""

import datetime as dt
import os

import pytest

from digest.models import Snapshot, Source, make_entry
from digest.store import Store, write_atomic


def snapshot(title):
    return Snapshot("hf-daily", dt.date(2026, 1, 1), (make_entry(rank=1, title=title),), Source(kind="test"))


def test_a_crash_before_the_rename_keeps_the_old_file(tmp_path, monkeypatch):
    store = Store(tmp_path)
    path = store.save(snapshot("old"))
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        store.save(snapshot("new"))
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["2026-01-01.json"]  # no temp file left


def test_write_atomic_replaces_and_creates_folders(tmp_path):
    target = tmp_path / "a" / "b" / "f.txt"
    write_atomic(target, "one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"


def test_stray_file_names_in_the_store_are_an_error(tmp_path):
    from digest.errors import StoreError

    store = Store(tmp_path)
    store.save(snapshot("x"))
    (tmp_path / "snapshots" / "hf-daily" / "notes.json").write_text("{}")
    with pytest.raises(StoreError, match="notes.json: snapshot file name is not YYYY-MM-DD.json"):
        store.files()


def test_written_files_are_readable_by_others(tmp_path):
    target = tmp_path / "f.txt"
    write_atomic(target, "x")
    assert target.stat().st_mode & 0o777 == 0o644
