"""Issue 11, the output side: nothing written or deleted outside --out, recovery from a killed
build, damaged stored files skipped with a warning, OS errors as one-line SiteErrors"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, hf_files, tree_hash
from test_run import cert, servers  # noqa: F401 (fixtures)
from test_site import same_files

from digest.config import Config, SiteSettings
from digest.errors import FileSystemError, SiteError
from digest.history import load_history
from digest.incremental import collect_archive
from digest.pipeline import import_files
from digest.publish import state_db as state_module
from digest.publish.site import build_site
from digest.publish.state_db import JOURNAL, KEYED_TABLES, STATE
from digest.publish.writer import OLD_MANIFEST
from digest.store import Store

MARKER = ".digest-building"


def config_for(data):
    return Config(data_dir=Path(data), site=SiteSettings(search=False, feed_items=2))


@pytest.fixture
def data(real_store, tmp_path):
    """A copy of the recorded fixtures' data folder but its last day (added by tests that need a change)"""
    store = Store(tmp_path / "data")
    for path in hf_files()[:-1]:
        store.save(real_store.load_path(real_store.snapshots / "hf-daily" / path.name))
    return store


def add_last_day(real_store, store):
    store.save(real_store.load_path(real_store.snapshots / "hf-daily" / hf_files()[-1].name))


def outside_folder(tmp_path):
    """A folder beside the site with a file a hostile site folder points at"""
    victim = tmp_path / "outside"
    victim.mkdir()
    (victim / "victim").write_text("keep me\n")
    (victim / "index.html").write_text("not the site's\n")
    return victim


# --- the build state ------------------------------------------------------------------


def state_db(out):
    """The site's build state, opened for a test to read or edit (closed by the caller)"""
    return contextlib.closing(sqlite3.connect(out / STATE, isolation_level=None))


def real_key(data):
    return (data.root / ".cache" / "build-key").read_bytes()[:64]


@pytest.mark.parametrize("sign", ["unkeyed", "keyed with the data folder's key"])
def test_a_state_listing_paths_outside_deletes_nothing_outside(data, tmp_path, sign):
    victim = outside_folder(tmp_path)
    out = tmp_path / "site"
    build_site(config_for(data.root), out)
    before = tree_hash(victim)
    # Some where an update looks for the pages it removes (the sitemaps), some where it does not.
    forged = ("../outside/victim", "../outside/index.html", str(victim / "victim"), "day/../../outside/victim",
              "sitemap/../../outside/victim", "sitemap/../../outside/index.html")
    with state_db(out) as db:
        for path in forged:
            digest, inputs = "0" * 32, ""
            if sign == "unkeyed":
                mac = hashlib.blake2b(f"files\0{len(path)}\0{path}\0{digest}\0{inputs}".encode(), digest_size=16).digest()
            else:
                # Even a row signed with the real key is checked path by path before any delete.
                mac = state_module._mac(real_key(data), "files", path, digest, inputs)
            db.execute("INSERT INTO files VALUES (?, ?, ?, ?)", (path, digest, inputs, mac))
    result = build_site(config_for(data.root), out)
    assert result.removed == ()  # not trusted: nothing deleted
    assert tree_hash(victim) == before and (victim / "victim").read_text() == "keep me\n"
    again = build_site(config_for(data.root), out)
    assert not again.updated and again.removed == ()  # a state that was not trusted: built again
    assert tree_hash(victim) == before
    with state_db(out) as db:  # the state that build wrote holds none of them
        assert not db.execute("SELECT path FROM files WHERE path LIKE '%outside%'").fetchall()
    build_site(config_for(data.root), tmp_path / "fresh")
    assert same_files(out, tmp_path / "fresh")


def new_day_topic(db, real_store):
    """The slug of a topic the last fixture day's papers join (an update reads its rows)"""
    from digest.topics import topic_key

    day = real_store.load_path(real_store.snapshots / "hf-daily" / hf_files()[-1].name)
    slugs = {topic_key(k) for entry in day.entries for k in entry.keywords}
    laid_out = {key for (key,) in db.execute("SELECT key FROM topic_pages")}
    return min(slugs & laid_out)


def edit_row(db, data, edit, real_store):
    """Change the saved state the way an attacker without the key could, in a row the update reads"""
    if edit == "a topic's value":
        db.execute("UPDATE topic_list SET value = replace(value, 'a', 'b')")
    elif edit == "the build key":
        db.execute("UPDATE meta SET value = 'x' || value WHERE key = 'build'")
    elif edit == "a day's key":
        db.execute("UPDATE days SET value = '[\"0\"' || substr(value, instr(value, ',')) WHERE key = "
                   "(SELECT max(key) FROM days)")
    elif edit == "a row moved to another table":
        # The same key and a value the other table could hold, its own valid MAC: but that MAC
        # names the table it was made for (the group of a topic's key, as that topic's layouts).
        slug = new_day_topic(db, real_store)
        db.execute("UPDATE topic_pages SET (value, mac) = (SELECT value, mac FROM groups WHERE key = ?1) WHERE key = ?1",
                   (slug,))
    elif edit == "a row of another data folder":
        key = os.urandom(32).hex().encode()
        (value,) = db.execute("SELECT value FROM topic_list").fetchone()
        value = value.replace("a", "b", 1)
        db.execute("UPDATE topic_list SET value = ?, mac = ?", (value, state_module._mac(key, "topic_list", "all", value)))


@pytest.mark.parametrize("edit", ["a topic's value", "the build key", "a day's key", "a row moved to another table",
                                  "a row of another data folder"])
def test_an_edited_state_row_is_not_trusted(real_store, data, tmp_path, edit):
    victim = outside_folder(tmp_path)
    out = tmp_path / "site"
    build_site(config_for(data.root), out)
    add_last_day(real_store, data)
    with state_db(out) as db:
        edit_row(db, data, edit, real_store)
        assert db.total_changes == 1
    result = build_site(config_for(data.root), out)
    assert not result.updated and result.removed == ()  # a full build that deletes nothing
    assert sorted(p.name for p in victim.iterdir()) == ["index.html", "victim"]
    build_site(config_for(data.root), tmp_path / "fresh")
    assert same_files(out, tmp_path / "fresh")
    assert build_site(config_for(data.root), out).updated  # the state it wrote is trusted again


def test_an_edited_file_row_deletes_nothing(data, tmp_path):
    """A row naming another path than the one its MAC was made for (a page someone wants gone)"""
    out = tmp_path / "site"
    build_site(config_for(data.root), out)
    (out / "notes.html").write_text("mine\n")
    with state_db(out) as db:
        db.execute("UPDATE files SET path = 'notes.html' WHERE path = 'robots.txt'")
    result = build_site(config_for(data.root), out)
    assert result.removed == () and (out / "notes.html").read_text() == "mine\n"
    assert (out / "robots.txt").is_file()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "a folder"])
def test_a_damaged_state_file_is_rebuilt(real_store, data, tmp_path, damage):
    out = tmp_path / "site"
    build_site(config_for(data.root), out)
    add_last_day(real_store, data)
    state = out / STATE
    if damage == "truncated":
        state.write_bytes(state.read_bytes()[:3000])
    elif damage == "garbage":
        state.write_bytes(os.urandom(8192))
    elif damage == "empty":
        state.write_bytes(b"")
    else:
        state.unlink()
        state.mkdir()
    if damage == "a folder":
        with pytest.raises(FileSystemError, match="Is a directory"):
            build_site(config_for(data.root), out)
        return
    result = build_site(config_for(data.root), out)
    assert not result.updated and result.removed == ()
    build_site(config_for(data.root), tmp_path / "fresh")
    assert same_files(out, tmp_path / "fresh")
    assert build_site(config_for(data.root), out).updated


@pytest.mark.parametrize("name", [STATE, JOURNAL])
def test_a_symlink_at_the_state_file_is_refused(data, tmp_path, name):
    victim = outside_folder(tmp_path)
    out = tmp_path / "site"
    build_site(config_for(data.root), out)
    if name == STATE:
        shutil.copy(out / STATE, victim / "victim")
        (out / STATE).unlink()
    (out / name).symlink_to(victim / "victim")
    before = tree_hash(victim)
    with pytest.raises(SiteError) as error:
        build_site(config_for(data.root), out)
    assert "symlink" in str(error.value) and str(out / name) in str(error.value)
    assert tree_hash(victim) == before


def rows(path):
    """Every row of every table of a state file, as (table, key, mac)"""
    with contextlib.closing(sqlite3.connect(path)) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {(table, *row) for table in tables
                for row in db.execute(f"SELECT {'path' if table == 'files' else 'key'}, mac FROM {table}")}


def keyed_values(path):
    """table -> key -> value of the keyed tables of a state file"""
    with contextlib.closing(sqlite3.connect(path)) as db:
        return {table: dict(db.execute(f"SELECT key, value FROM {table}")) for table in KEYED_TABLES}


def test_an_update_writes_only_the_rows_that_changed(real_store, data, tmp_path):
    out = tmp_path / "site"
    first = build_site(config_for(data.root), out)
    assert {p.name for p in out.iterdir() if p.name.startswith(".")} == {STATE}  # a full build leaves no journal
    shutil.copy(out / STATE, tmp_path / "before.sqlite")
    add_last_day(real_store, data)
    result = build_site(config_for(data.root), out)
    assert result.updated
    before, after = rows(tmp_path / "before.sqlite"), rows(out / STATE)
    changed = before ^ after
    files = {key for table, key, _ in changed if table == "files"}
    # Only the rows of pages written, removed or made from other inputs (their bytes the same).
    assert set(result.written) | set(result.removed) <= files
    assert len(files) < first.files / 4 and len(changed) < len(after) / 4
    days = {key for table, key, _ in changed if table == "days"}
    assert days == {"2026-08-21"}  # the new day; every older day's row is the last build's
    # A paper a row: only the new day's papers' rows change, and every paper has one.
    day = real_store.load_path(real_store.snapshots / "hf-daily" / hf_files()[-1].name)
    papers = {key for table, key, _ in changed if table == "papers"}
    assert papers and papers <= {entry.id for entry in day.entries}
    assert {key for table, key, _ in after if table == "papers"} == load_history(data).observations.keys()
    # The topics' rows that change are those of the new day's keywords (and the list of topics).
    folds = {key for table, key, _ in changed if table == "folds"}
    assert folds and folds <= {k.casefold() for entry in day.entries for k in entry.keywords}
    assert {key for table, key, _ in changed if table == "topic_list"} == {"all"}
    # The updated keyed rows are a fresh build's, value for value (the same data folder, the same MACs).
    build_site(config_for(data.root), tmp_path / "fresh")
    assert keyed_values(out / STATE) == keyed_values(tmp_path / "fresh" / STATE)
    assert {p.name for p in out.iterdir() if p.name.startswith(".")} == {STATE}  # no journal, no marker


def test_an_update_reads_the_rows_of_its_papers_keywords_only(real_store, data, tmp_path, monkeypatch):
    """An update reads the rows of the topic book for the keywords of the papers it touches, not
    the archive's: a day costs its own papers' keywords"""
    from digest.render.feeds import _recent_days

    out, config = tmp_path / "site", config_for(data.root)
    build_site(config, out)
    every = keyed_values(out / STATE)
    before = collect_archive(config, data)
    add_last_day(real_store, data)
    after = collect_archive(config, data)
    asked = []
    read = state_module.StateDB.read
    monkeypatch.setattr(state_module.StateDB, "read",
                        lambda self, table, keys: asked.append((table, list(keys))) or read(self, table, keys))
    result = build_site(config, out)
    assert result.updated
    asked_for = {}
    for table, keys in asked:
        asked_for.setdefault(table, set()).update(keys)
    day = real_store.load_path(real_store.snapshots / "hf-daily" / hf_files()[-1].name)
    new = {k.casefold() for entry in day.entries for k in entry.keywords}
    # The keywords read: the new day's, those of the papers whose keyword links it changes (a
    # keyword of one paper that a new paper now shares, which makes it a topic), and those of
    # the papers of the feeds' days (their items' categories are topic names).
    relinked = {k.casefold() for paper in after.papers.values() for k in paper.entry.keywords
                if any(before.topic_index.get(w.casefold()) != after.topic_index.get(w.casefold())
                       for w in paper.entry.keywords)}
    recent, older = _recent_days(after, config.site)
    fed = {k.casefold() for day in recent + older[:config.site.feed_items] for d in [after.digests[day]]
           for item in (*d.new, *(t.item for t in d.trending)) for k in item.entry.keywords}
    assert new <= asked_for["folds"] <= new | relinked | fed
    assert len(asked_for["folds"]) < len(every["folds"]) / 2
    assert len(asked_for.get("groups", ())) < len(every["groups"]) / 2
    assert len(asked_for["papers"]) < len(every["papers"]) / 2
    assert asked_for["topic_list"] == {"all"}


def test_an_update_reuses_a_daily_feed_item_only_while_its_day_is_the_same(real_store, data, tmp_path):
    """The daily feed's items are kept in the state with their day's key: an update renders
    only the items of days whose inputs changed (here the new day's), and uses the others'"""
    from digest.publish.writer import manifest_key

    out = tmp_path / "site"
    build_site(config_for(data.root), out)
    def items(folder):
        feed = json.loads((folder / "feeds" / "daily.json").read_text())
        return {item["id"].rsplit(":", 1)[1]: item["content_html"] for item in feed["items"]}
    first = items(out)
    with contextlib.closing(sqlite3.connect(out / STATE)) as db:
        kept = {day: json.loads(value) for day, value in db.execute("SELECT key, value FROM editions")}
    # Every item of the daily feed, each with its day's key and the HTML the feed has.
    assert kept.keys() == first.keys() and all(html == first[day] for day, (_, html) in kept.items())
    same, stale = sorted(kept)[-2:]  # still in the feed after one more day
    key = manifest_key(data.root)
    forged = {same: [kept[same][0], "<p>the kept item</p>"], stale: ["another day key", "<p>a stale item</p>"]}
    with contextlib.closing(sqlite3.connect(out / STATE)) as db, db:
        for day, value in forged.items():
            text = json.dumps(value)
            db.execute("UPDATE editions SET value = ?, mac = ? WHERE key = ?",
                       (text, state_module._mac(key, "editions", day, text), day))
    add_last_day(real_store, data)
    result = build_site(config_for(data.root), out)
    assert result.updated
    after = items(out)
    new_day = hf_files()[-1].stem
    assert after[same] == "<p>the kept item</p>"  # its key matched: used as it was kept
    assert after[stale] == first[stale]  # its key did not: rendered again
    build_site(config_for(data.root), tmp_path / "fresh")
    fresh = items(tmp_path / "fresh")
    assert new_day in after and after[new_day] == fresh[new_day] and "<h3>" in after[new_day]
    assert fresh[same] == first[same]


def test_an_update_stopped_before_its_commit_leaves_the_last_state(real_store, data, tmp_path):
    """The writer of a build killed after some writes: the marker, new bytes, the state as it was"""
    from digest.publish.site import build_key
    from digest.publish.writer import SiteWriter, manifest_key
    from digest.render.pages import _site_info

    config = config_for(data.root)
    out = tmp_path / "site"
    build_site(config, out)
    committed = rows(out / STATE)
    add_last_day(real_store, data)
    stopped = SiteWriter(out, build_key(config, _site_info(config, None)), manifest_key(data.root))
    stopped.write("index.html", "<!doctype html><p>half an update")
    stopped.write("day/2026-08-21.html", "<!doctype html><p>a new day")
    stopped.close()
    assert (out / MARKER).exists() and rows(out / STATE) == committed
    result = build_site(config, out)
    assert result.updated and "index.html" in result.written and not (out / MARKER).exists()
    build_site(config, tmp_path / "fresh")
    assert same_files(out, tmp_path / "fresh")


def test_with_another_build_key_every_page_is_rendered_again(tmp_path):
    """A fingerprint does not name the code or the templates: the last build's inputs are dropped"""
    from digest.archive import BuildState
    from digest.publish.writer import SiteWriter

    out, key, empty = tmp_path / "site", os.urandom(32).hex().encode(), BuildState(days={})
    first = SiteWriter(out, "code 1", key)
    assert not first.unchanged("index.html", "the same inputs")
    first.write("index.html", "<p>old templates")
    first.finish(empty)
    again = SiteWriter(out, "code 1", key)
    assert again.state == empty and again.unchanged("index.html", "the same inputs")
    again.close()
    other = SiteWriter(out, "code 2", key)
    assert other.state is None and not other.unchanged("index.html", "the same inputs")
    other.write("index.html", "<p>new templates")
    assert other.finish() == [] and (out / "index.html").read_text() == "<p>new templates"


def test_the_whole_file_state_of_an_earlier_version_is_replaced(data, tmp_path):
    out = tmp_path / "site"
    build_site(config_for(data.root), tmp_path / "fresh")
    shutil.copytree(tmp_path / "fresh", out)
    (out / STATE).unlink()
    (out / OLD_MANIFEST).write_bytes(b'{"version": 3, "files": {"../outside": "0"}}\nblake2b-keyed 00\n')
    result = build_site(config_for(data.root), out)  # an upgraded site: not refused, not trusted
    assert not result.updated and result.removed == ()
    assert not (out / OLD_MANIFEST).exists() and (out / STATE).is_file()
    assert same_files(out, tmp_path / "fresh")


def test_the_build_key_is_made_private_once_and_kept_out_of_the_site(data, tmp_path):
    out = tmp_path / "site"
    build_site(config_for(data.root), out)
    key_file = data.root / ".cache" / "build-key"
    key = key_file.read_bytes()
    assert len(key) >= 32 and oct(key_file.stat().st_mode & 0o777) == "0o600"
    build_site(config_for(data.root), out)
    assert key_file.read_bytes() == key
    site_bytes = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert key not in site_bytes


# --- symlinks where outputs go ---------------------------------------------------------


@pytest.mark.parametrize("place", ["index.html", "day/2026-08-21.html", "paper", "day", "feeds", "pagefind",
                                   MARKER])
def test_a_symlink_where_an_output_goes_is_refused(real_store, data, tmp_path, place):
    victim = outside_folder(tmp_path)
    out = tmp_path / "site"
    build_site(config_for(data.root), out)
    add_last_day(real_store, data)  # the next build writes the home page and a new day
    link = out / place
    if link.is_dir():
        shutil.rmtree(link)
    else:
        link.unlink(missing_ok=True)
    link.symlink_to(victim / "index.html" if place.endswith(".html") else victim)
    before = tree_hash(victim)
    with pytest.raises(SiteError) as error:
        build_site(config_for(data.root), out)
    message = str(error.value)
    assert "\n" not in message and "symlink" in message and str(out / place) in message
    assert tree_hash(victim) == before and sorted(p.name for p in victim.iterdir()) == ["index.html", "victim"]


def test_a_symlink_at_a_temp_name_is_not_followed(real_store, data, tmp_path):
    victim = outside_folder(tmp_path)
    out = tmp_path / "site"
    build_site(config_for(data.root), out)
    add_last_day(real_store, data)
    for name in (".index.html.tmp", "day/.2026-08-21.html.tmp", f".{STATE}.tmp"):
        (out / name).symlink_to(victim / "victim")
    before = tree_hash(victim)
    result = build_site(config_for(data.root), out)
    assert "index.html" in result.written and "day/2026-08-21.html" in result.written
    assert tree_hash(victim) == before
    assert not [p for p in out.rglob("*.tmp")]
    build_site(config_for(data.root), tmp_path / "fresh")
    assert same_files(out, tmp_path / "fresh")


# --- recovery --------------------------------------------------------------------------


def test_a_first_build_killed_mid_way_is_completed_by_the_next(real_store, tmp_path):
    out = tmp_path / "site"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-m", "digest", "--data-dir", str(real_store.root), "build",
                              "--out", str(out), "--no-search"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    # Kill it once it has written some pages but not all of them (no state yet).
    while time.monotonic() < deadline and child.poll() is None:
        if (out / "paper").is_dir() and len(os.listdir(out / "paper")) >= 20:
            break
        time.sleep(0.005)
    assert child.poll() is None, "the build finished before it could be killed"
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert (out / MARKER).exists() and not (out / STATE).exists()
    result = build_site(config_for(real_store.root), out)
    assert result.files > 0 and not (out / MARKER).exists() and not list(out.rglob("*.tmp"))
    build_site(config_for(real_store.root), tmp_path / "fresh")
    assert same_files(out, tmp_path / "fresh")


def test_what_an_interrupted_write_leaves_is_taken_up_and_cleared(data, tmp_path):
    out = tmp_path / "site"
    build_site(config_for(data.root), tmp_path / "fresh")
    # What the writer leaves when killed in a first build: the marker, some pages, a half
    # temp file in a folder, a half state temp file.
    shutil.copytree(tmp_path / "fresh" / "day", out / "day")
    (out / MARKER).touch()
    (out / "day" / ".2026-08-20.html.tmp").write_bytes(b"<!doctype html><p>half")
    (out / f".{STATE}.k2j4h5.tmp").write_bytes(b"{")
    build_site(config_for(data.root), out)
    assert not list(out.rglob("*.tmp")) and not (out / MARKER).exists()
    assert same_files(out, tmp_path / "fresh")


def test_a_foreign_folder_is_still_refused(data, tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(SiteError, match="not empty and was not built by digest"):
        build_site(config_for(data.root), out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


# --- OS errors while writing ---------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KB tmpfs (root only); skipped where mounting is not allowed"""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def no_half_files(out, fresh):
    """Every file in `out` is whole: byte-identical to the fresh build's file of that name"""
    for path in out.rglob("*"):
        if path.is_file() and path.name not in (MARKER, STATE):
            rel = path.relative_to(out)
            assert path.read_bytes() == (fresh / rel).read_bytes(), rel


def test_a_full_disk_is_a_one_line_error_and_leaves_no_half_file(data, tmp_path, small_disk):
    out = small_disk / "site"
    with pytest.raises(FileSystemError) as error:
        build_site(config_for(data.root), out)
    message = str(error.value)
    assert "\n" not in message and "No space left on device" in message and str(out) in message
    assert not list(out.rglob("*.tmp"))
    build_site(config_for(data.root), tmp_path / "fresh")
    no_half_files(out, tmp_path / "fresh")


def test_a_write_the_system_refuses_is_a_one_line_error_and_leaves_no_half_file(data, tmp_path):
    """A file size limit (RLIMIT_FSIZE) makes the kernel refuse a big write part-way: EFBIG"""
    import resource

    out = tmp_path / "site"

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (30_000, 30_000))

    done = subprocess.run([sys.executable, "-m", "digest", "--data-dir", str(data.root), "build", "--out", str(out),
                           "--no-search"], env={**os.environ, "PYTHONPATH": str(ROOT)}, preexec_fn=limit,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 11, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"Error: cannot write {out}/") and "File too large" in done.stderr
    assert not list(out.rglob("*.tmp"))
    build_site(config_for(data.root), tmp_path / "fresh")
    no_half_files(out, tmp_path / "fresh")
    build_site(config_for(data.root), out)  # the next build completes it
    assert same_files(out, tmp_path / "fresh")


def test_a_read_only_folder_is_a_one_line_error(data, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    out = tmp_path / "site"
    out.mkdir()
    out.chmod(0o500)
    with pytest.raises(SiteError, match="Permission denied"):
        build_site(config_for(data.root), out)


# --- damaged stored files --------------------------------------------------------------


def test_a_damaged_snapshot_is_skipped_with_a_warning(run, real_store):
    shutil.copytree(real_store.root, run.data_dir)
    damaged = run.data_dir / "snapshots" / "hf-daily" / "2026-08-18.json"
    raw = damaged.read_bytes()
    damaged.write_bytes(raw[:len(raw) // 2])  # truncated mid-file
    others = sorted(p.stem for p in (run.data_dir / "snapshots" / "hf-daily").glob("*.json") if p != damaged)
    result = run("build", "--out", "site", "--no-search")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and str(damaged) in warnings[0] and "left out" in warnings[0]
    days = sorted(p.stem for p in Path("site/day").glob("*.html"))
    assert days == others and "2026-08-18" not in days
    # Repaired, the day is built again.
    damaged.write_bytes(raw)
    run("build", "--out", "site", "--no-search")
    assert Path("site/day/2026-08-18.html").is_file()


def test_a_damaged_snapshot_of_a_window_list_is_skipped(run, real_store):
    """A file the history index reads fine but the full reader refuses (a bad stored entry)"""
    shutil.copytree(real_store.root, run.data_dir)
    damaged = run.data_dir / "snapshots" / "hf-daily" / "2026-08-19.json"
    data = json.loads(damaged.read_text())
    data["entries"][0]["upvotes"] = "many"  # the index reads it as no count; the reader refuses it
    damaged.write_text(json.dumps(data))
    result = run("build", "--out", "site", "--no-search")
    assert str(damaged) in result.stderr and not Path("site/day/2026-08-19.html").exists()
    assert Path("site/day/2026-08-20.html").is_file()


def test_a_run_with_a_damaged_snapshot_says_so_and_builds_the_rest(tmp_path, servers, cert):  # noqa: F811
    from test_run import DAY, digest_run, write_config

    hf, arxiv, smtp = servers
    write_config(tmp_path, smtp, cert, email=False)
    code, out, err, _ = digest_run(tmp_path, hf, arxiv)
    assert code == 0, (out, err)
    # An old day whose file was cut short (a disk error, a bad copy).
    old = hf_files()[0]
    damaged = tmp_path / "data" / "snapshots" / "hf-daily" / old.name
    store = Store(tmp_path / "data")
    assert import_files(store, [old])[0].error is None
    damaged.write_bytes(damaged.read_bytes()[:5000])
    code, out, err, summary = digest_run(tmp_path, hf, arxiv)
    assert code == 0, (out, err)
    named = f"data/snapshots/hf-daily/{old.name}: damaged snapshot file"  # as the run was given it: relative
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and named in warnings[0]
    assert re.search(rf"\n  site warning +{re.escape(named)}", out) and named in summary
    assert (tmp_path / "site" / "day" / f"{DAY}.html").is_file()
    assert not (tmp_path / "site" / "day" / f"{old.stem}.html").exists()
