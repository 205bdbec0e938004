"""Snapshot files under <data-dir>/snapshots/<listing>/<YYYY-MM-DD>.json: atomic, deterministic"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

import orjson

from digest.errors import DigestError, FileSystemError, InputError, StoreError
from digest.models import COUNT_MAX, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, Entry, Snapshot, Source, check_listing
from digest.text import CONTROL as _CONTROL
from digest.text import arxiv_id, title_key


def dump_json(value):
    """The one way we serialise data: sorted keys, indent 2, UTF-8, trailing newline"""
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


TEMP_SUFFIX = ".tmp"
# What the data folder's own .gitignore keeps out of git: derived caches and the temp files
# a killed write leaves (the daily workflow commits data/ with `git add --all`).
DATA_GITIGNORE = "# written by digest: derived files, never committed\n.cache/\n*.tmp\n"


def sweep_temp_files(folder):
    """Remove the temp files an interrupted write_atomic left in folder (not following links)"""
    try:
        with os.scandir(folder) as entries:
            stray = [
                e.path
                for e in entries
                if e.name.startswith(".") and e.name.endswith(TEMP_SUFFIX) and e.is_file(follow_symlinks=False)
            ]
    except OSError:
        return
    for name in stray:
        Path(name).unlink(missing_ok=True)


def write_atomic(path, data, sweep=False):
    """Write bytes or text to path so that a crash leaves the old file or the new one

    sweep: also remove temp files earlier writes to this folder left when they were killed.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise FileSystemError.of(e, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            # mkstemp makes the file private (0600); data and site files are meant to be read.
            os.fchmod(f.fileno(), 0o644)
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        # A full disk, a kill: the temp file goes, the old file stays as it was.
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and not isinstance(e, FileSystemError):
            raise FileSystemError.of(e, path) from None
        raise
    if sweep:
        sweep_temp_files(path.parent)


def listing_dir(listing):
    """Folder name of a listing: ':' is not safe in every file system"""
    return check_listing(listing).replace(":", "_")


def snapshot_from_dict(data):
    """Validate a stored snapshot object and build the Snapshot"""
    if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
        raise InputError('not a digest snapshot (no "format": "digest-snapshot")')
    if data.get("version") != SNAPSHOT_VERSION:
        raise InputError(f"snapshot version {data.get('version')!r} is not supported (expected {SNAPSHOT_VERSION})")
    try:
        day = dt.date.fromisoformat(str(data.get("date")))
    except ValueError:
        raise InputError(f"snapshot date {data.get('date')!r} is not YYYY-MM-DD") from None
    entries = data.get("entries")
    if not isinstance(entries, list):
        raise InputError("snapshot has no 'entries' array")
    source = data.get("source") if isinstance(data.get("source"), dict) else {}
    parsed = []
    for index, raw in enumerate(entries, start=1):
        try:
            parsed.append(Entry.from_dict(raw))
        except InputError as e:
            raise InputError(f"entry {index}: {e}") from None
    fetched_at = data.get("fetched_at")
    published_nothing = data.get("published_nothing", False)
    if not isinstance(published_nothing, bool) or (published_nothing and parsed):
        raise InputError("'published_nothing' should be true only on a snapshot without entries")
    return Snapshot(
        listing=check_listing(data.get("listing")),
        date=day,
        entries=tuple(parsed),
        source=Source(
            **{k: source.get(k) if isinstance(source.get(k), str) else None for k in ("kind", "url", "file")}
        ),
        fetched_at=fetched_at if isinstance(fetched_at, str) else None,
        published_nothing=published_nothing,
        window=_window(data.get("window")),
        added=_added(data.get("added")),
    )


def _added(value):
    """entry key -> run day that added it (Snapshot.added); {} when absent"""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise InputError(f"snapshot 'added' {value!r} is not an object of entry keys")
    try:
        return {key: dt.date.fromisoformat(day) for key, day in value.items()}
    except (TypeError, ValueError):
        raise InputError(f"snapshot 'added' {value!r} has a day that is not YYYY-MM-DD") from None


def _window(value):
    """The (first, last) list days of a re-observation snapshot, or None"""
    if value is None:
        return None
    try:
        first, last = (dt.date.fromisoformat(v) for v in value)
    except (TypeError, ValueError):
        raise InputError(f"snapshot window {value!r} is not two YYYY-MM-DD days") from None
    if first > last:
        raise InputError(f"snapshot window {value!r} ends before it starts")
    return first, last


def _without_fetch_time(data):
    return {k: v for k, v in data.items() if k != "fetched_at"}


class Store:
    """The data directory: one snapshot file per listing and day"""

    def __init__(self, root):
        self.root = Path(root)
        self.snapshots = self.root / "snapshots"

    def path(self, listing, day):
        return self.snapshots / listing_dir(listing) / f"{day.isoformat()}.json"

    def cache_path(self, name):
        """A derived file in <data-dir>/.cache/, which must be a real folder"""
        _refuse_link(self.root / ".cache")
        return self.root / ".cache" / name

    def save(self, snapshot):
        """Store a snapshot, replacing that listing's file for that day; return its path"""
        path = self.path(snapshot.listing, snapshot.date)
        self._prepare(path)
        write_atomic(path, dump_json(snapshot.to_dict()), sweep=True)
        return path

    def _prepare(self, path):
        """Refuse linked folders on the way to path; give the data folder its .gitignore"""
        for folder in (self.root, self.snapshots, path.parent):
            _refuse_link(folder)
        ignore = self.root / ".gitignore"
        if not ignore.exists() and not ignore.is_symlink():
            write_atomic(ignore, DATA_GITIGNORE)

    def save_if_changed(self, snapshot):
        """Store a snapshot unless its file already holds the same one, fetch time aside

        Returns (path, whether the file was written).
        """
        path = self.path(snapshot.listing, snapshot.date)
        new = json.loads(dump_json(snapshot.to_dict()))
        try:
            old = json.loads(path.read_bytes())
        except (OSError, ValueError):
            old = None  # none yet, or unreadable: write the new one
        if isinstance(old, dict) and _without_fetch_time(old) == _without_fetch_time(new):
            return path, False
        self._prepare(path)
        write_atomic(path, dump_json(new), sweep=True)
        return path, True

    def files(self):
        """Every snapshot file, as sorted (listing folder, day, path) triples"""
        found = []
        _refuse_link(self.snapshots)
        if not self.snapshots.is_dir():
            return found
        for folder in sorted(self.snapshots.iterdir()):
            if folder.name.startswith("."):
                continue
            _refuse_link(folder)
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.json")):
                try:
                    day = dt.date.fromisoformat(path.stem)
                except ValueError:
                    raise StoreError(f"{path}: snapshot file name is not YYYY-MM-DD.json") from None
                found.append((folder.name, day, path))
        return found

    def days(self):
        """Every day that has at least one snapshot, sorted"""
        return sorted({day for _, day, _ in self.files()})

    def load_path(self, path):
        """Read and validate one stored snapshot file (every field, with messages that name it)"""
        try:
            data = json.loads(read_file(path))
        except (ValueError, RecursionError) as e:
            raise StoreError(f"{path}: damaged snapshot file ({e})") from None
        try:
            return snapshot_from_dict(data)
        except InputError as e:
            raise StoreError(f"{path}: {e}") from None

    def load(self, listing, day):
        """The snapshot of a listing on a day, or None when there is none"""
        path = self.path(listing, day)
        return self.load_path(path) if path.exists() else None


def read_file(path):
    """The bytes of a stored file, or a StoreError naming it"""
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise StoreError(f"{path}: cannot read ({e.strerror})") from None


def _refuse_link(path):
    """A StoreError when path is a symbolic link: the data folder is committed, and git carries links"""
    if path.is_symlink():
        raise StoreError(f"{path}: is a symbolic link; the data folder must hold real folders and files only")


_ENTRY_TEXT = ("title", "id", "abstract", "organization", "published", "ai_summary")
# What a control character (text.CONTROL) looks like in a file's bytes: escaped (\u0007, \n,
# \u2028, a surrogate), or raw where JSON allows it (DEL, C1 controls, line separators). A
# file without one needs no check of each value (300,000 of them at 3 years); a match, even a
# false one (an escaped backslash before an n), means every value is checked.
_RAW_CONTROL = re.compile(
    rb"\\u00[01][0-9a-fA-F]|\\u007[fF]|\\u00[89][0-9a-fA-F]|\\[bfnrt]|\\u202[89]|\\u[dD][89a-fA-F]"
    rb"|\x7f|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]"
)


def load_snapshot(store, path, raw=None):
    """A stored snapshot, read fast: files were validated and cleaned when they were stored

    Rebuilding 55,000 entries through make_entry (which cleans every text field again) is
    most of a big build's reading time. Stored files come from Store.save, so they are read
    with orjson and checked for shape and types only; a file that does not match goes through
    the full validation, which names what is wrong. Rendering checks links again either way.
    """
    try:
        raw = read_file(path) if raw is None else raw
        data = orjson.loads(raw)
        checked = _RAW_CONTROL.search(raw) is None
        entries = tuple(_stored_entry(e, checked) for e in data["entries"])
        if data.get("format") != SNAPSHOT_FORMAT or data.get("version") != SNAPSHOT_VERSION:
            raise ValueError("not a current snapshot")
        window, fetched_at = data.get("window"), data.get("fetched_at")
        return Snapshot(
            listing=check_listing(data["listing"]),
            date=dt.date.fromisoformat(data["date"]),
            entries=entries,
            source=Source(kind=None),
            fetched_at=fetched_at if type(fetched_at) is str else None,  # the feeds' item dates
            published_nothing=data.get("published_nothing") is True,
            window=tuple(dt.date.fromisoformat(d) for d in window) if window else None,
            added={k: dt.date.fromisoformat(d) for k, d in (data.get("added") or {}).items()},
        )
    except (ValueError, KeyError, TypeError, AttributeError, DigestError):
        return store.load_path(path)


def _stored_entry(e, checked=False):
    """The Entry of a stored entry's dict; ValueError when it is not as Store.save writes it
    (checked: the file's bytes hold no control character, so its values need no search)"""
    for name in _ENTRY_TEXT:
        value = e[name]
        if value is not None and (type(value) is not str or (not checked and _CONTROL.search(value))):
            raise ValueError(name)
    for name in ("rank", "upvotes", "comments", "author_count", "github_stars"):
        value = e[name]
        if value is not None and (type(value) is not int or not -COUNT_MAX <= value <= COUNT_MAX):
            raise ValueError(name)
    if not e["title"] or type(e["links"]) is not dict:
        raise ValueError("title")
    authors, keywords = tuple(e["authors"]), tuple(e["keywords"])
    if not all(type(a) is str for a in authors + keywords):
        raise ValueError("authors")
    return Entry(
        rank=e["rank"],
        title=e["title"],
        id=e["id"],
        abstract=e["abstract"],
        authors=authors,
        author_count=e["author_count"],
        organization=e["organization"],
        published=e["published"],
        upvotes=e["upvotes"],
        comments=e["comments"],
        links=e["links"],
        keywords=keywords,
        ai_summary=e["ai_summary"],
        github_stars=e["github_stars"],
    )


def index_record(path, raw=None):
    """What the history needs of one snapshot file: listing, date, rows, added and keyless

    rows are [id, title key, rank, upvotes], one per entry; keyless the title keys of the
    entries without an id. The shape is checked, not every
    field: stored files were validated when they were stored (load_path names any damage).
    """
    raw = read_file(path) if raw is None else raw
    try:
        # orjson parses twice as fast as json, and parsing is most of a cold history.
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise StoreError(f"{path}: damaged snapshot file ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise StoreError(f"{path}: not a digest snapshot")
    if not isinstance(data.get("listing"), str) or not isinstance(data.get("date"), str):
        raise StoreError(f"{path}: snapshot has no listing or date")
    try:
        dt.date.fromisoformat(data["date"][:10])
    except ValueError:
        raise StoreError(f"{path}: snapshot date {data['date']!r} is not YYYY-MM-DD") from None
    rows = []
    for index, entry in enumerate(data["entries"], start=1):
        title = entry.get("title") if isinstance(entry, dict) else None
        if not isinstance(title, str) or not isinstance(entry.get("rank"), int):
            raise StoreError(f"{path}: entry {index} has no title or rank")
        upvotes, paper_id = entry.get("upvotes"), entry.get("id")
        # Stored ids were normalised on import; only check they are ids at all.
        if paper_id is not None and not (isinstance(paper_id, str) and arxiv_id(paper_id) == paper_id):
            raise StoreError(f"{path}: entry {index} has an invalid id {paper_id!r}")
        rows.append([paper_id, title_key(title), entry["rank"], upvotes if isinstance(upvotes, int) else None])
    added = data.get("added") or {}
    if not isinstance(added, dict) or not all(isinstance(v, str) for v in added.values()):
        raise StoreError(f"{path}: snapshot 'added' is not an object of days")
    # The title keys of id-less entries, so that a history of papers that all have ids
    # (every HF list) resolves no aliases: one pass over the rows instead of three.
    keyless = sorted({key for paper_id, key, _, _ in rows if not paper_id})
    return {"listing": data["listing"], "date": data["date"][:10], "rows": rows, "added": added, "keyless": keyless}


class StampCache:
    """Values derived from files, kept in <data-dir>/.cache/<name> while each file stays the
    same (after Pelican's FileStampDataCacher)

    A file is the same while its size and mtime are; when they changed (a fresh git checkout
    gives every file a new mtime), its content hash decides, so such a file is read and
    hashed but not derived again. `save` writes the cache when anything changed. A cache
    that is damaged, of another version or unwritable only costs time.
    """

    def __init__(self, store, name, version, valid=lambda value: True):
        self.path = store.cache_path(name)
        self.root = store.root
        self.version = version
        self.old = self._read(valid)
        self.values = {}  # rel path -> [stamp, content hash, value], of the files asked for this time
        self.changed = False

    def _read(self, valid):
        try:
            data = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {}
        files = data.get("files") if isinstance(data, dict) and data.get("version") == self.version else None
        if not isinstance(files, dict):
            return {}
        return {
            rel: item
            for rel, item in files.items()
            if isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], list)
            and isinstance(item[1], str)
            and valid(item[2])
        }

    def get(self, path, make):
        """(the value derived from the file at path, its content hash); make(path, raw) derives a new one"""
        rel = path.relative_to(self.root).as_posix()
        try:
            stat = path.stat()
        except OSError as e:
            raise StoreError(f"{path}: cannot read ({e.strerror})") from None
        stamp = [stat.st_size, stat.st_mtime_ns]
        old = self.old.get(rel)
        if old is not None and old[0] == stamp:
            self.values[rel] = old
        else:
            raw = read_file(path)
            digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
            value = old[2] if old is not None and old[1] == digest else make(path, raw)
            self.values[rel] = [stamp, digest, value]
            self.changed = True
        return self.values[rel][2], self.values[rel][1]

    def save(self):
        """Write the values of the files asked for, when they differ from what was read"""
        if not self.changed and self.values.keys() == self.old.keys():
            return
        try:
            payload = orjson.dumps({"version": self.version, "files": self.values}, option=orjson.OPT_SORT_KEYS)
            write_atomic(self.path, payload)
        except OSError:
            pass  # only saves time: a read-only data folder works all the same
