"""The store writes atomically: a crash leaves the old file or the new one"""

import datetime as dt
import os
from pathlib import Path

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


def test_one_reader_and_one_stamp_cache_serve_history_and_site(tmp_path, monkeypatch):
    """Every stage reads snapshot files through the store, and derived data lives in one
    cache file that re-reads only the files whose size or mtime changed"""
    import digest.store
    from digest.config import Config
    from digest.history import load_history
    from digest.incremental import collect_archive

    store = Store(tmp_path / "data")
    for n in range(3):
        store.save(Snapshot("hf-daily", dt.date(2026, 1, 1 + n), (make_entry(rank=1, title=f"paper {n}"),),
                            Source(kind="test")))
    reads = []
    real = digest.store.read_file
    monkeypatch.setattr(digest.store, "read_file", lambda path: reads.append(Path(path).name) or real(path))
    collect_archive(Config(data_dir=store.root), store)
    assert sorted(p.name for p in (store.root / ".cache").iterdir()) == ["history-index.json"]
    assert sorted(set(reads)) == ["2026-01-01.json", "2026-01-02.json", "2026-01-03.json"]

    reads.clear()
    history = load_history(store)
    assert reads == []  # nothing changed: every record comes from the cache
    assert sorted(history.hashes) == [f"hf-daily/2026-01-0{n}.json" for n in (1, 2, 3)]

    store.save(Snapshot("hf-daily", dt.date(2026, 1, 2), (make_entry(rank=1, title="another paper"),),
                        Source(kind="test")))
    again = load_history(store)
    assert reads == ["2026-01-02.json"]  # only the changed file
    assert again.hashes["hf-daily/2026-01-02.json"] != history.hashes["hf-daily/2026-01-02.json"]
    assert again.hashes["hf-daily/2026-01-01.json"] == history.hashes["hf-daily/2026-01-01.json"]
    assert "title:another paper" in again.observations


def test_a_fresh_checkout_rehashes_snapshot_files_but_does_not_parse_them(tmp_path, monkeypatch):
    """git gives every checked-out file a new mtime: the content hash keeps the index valid"""
    import digest.history
    from digest.history import load_history

    store = Store(tmp_path / "data")
    paths = [store.save(snapshot("paper one"))]
    paths.append(store.save(Snapshot("hf-daily", dt.date(2026, 1, 2), (make_entry(rank=1, title="two"),),
                                     Source(kind="test"))))
    first = load_history(store)
    derived = []
    real = digest.history.index_record
    monkeypatch.setattr(digest.history, "index_record", lambda path, raw: derived.append(path.name) or real(path, raw))
    for path in paths:
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # as a checkout leaves them: same bytes, new mtime
    path = paths[1]
    path.write_text(path.read_text().replace('"two"', '"three"'))
    again = load_history(store)
    assert derived == ["2026-01-02.json"]  # the touched file is hashed only; the edited one is parsed
    assert again.hashes["hf-daily/2026-01-01.json"] == first.hashes["hf-daily/2026-01-01.json"]
    assert "title:three" in again.observations and "title:two" not in again.observations
    derived.clear()
    load_history(store)
    assert derived == []  # the new mtimes were recorded


@pytest.mark.parametrize(
    "spelled",
    [b"\\u0007", b"\\n", b"\\u001F", b"\\u007f", b"\x7f", b"\\u0085", "\u0085".encode(), "\u2028".encode(),
     b"\\u2029", b"\\ud83d"],
)
def test_the_fast_reader_treats_a_control_character_as_the_full_validation_does(tmp_path, spelled):
    """A stored file edited to hold a control character, escaped or raw, in a title: the fast
    reader (which skips the per-value check when the file's bytes hold none) gives exactly
    what the full validation gives (the title cleaned), or the same error"""
    from digest.errors import DigestError
    from digest.store import load_snapshot

    store = Store(tmp_path)
    path = store.save(Snapshot("hf-daily", dt.date(2026, 1, 1), (make_entry(rank=1, title="A title"),),
                               Source(kind="test")))
    path.write_bytes(path.read_bytes().replace(b'"A title"', b'"A ' + spelled + b'title"'))

    def outcome(read):
        try:
            return read().entries[0].title
        except (DigestError, ValueError) as e:
            return type(e).__name__, str(e)

    full = outcome(lambda: store.load_path(path))
    assert outcome(lambda: load_snapshot(store, path)) == full
    from digest.text import CONTROL

    assert not CONTROL.search(str(full))  # cleaned or refused, never kept
