"""The build state of a site folder: keyed rows in one SQLite file, each row with its own MAC

One table per part of the state, keyed by its natural key: `files` (a site path -> the
BLAKE2 of its bytes and the fingerprint of its inputs), the parts of `BuildState` (days,
papers, spellings, topics, periods, topic_pages, editions: the daily feed's items) and `meta` (the
version and the build key). Papers are kept in chunks, one row per month of arXiv ids
(`chunk_of`): an update reads 40 rows at 3 years instead of 38,500, and rewrites the chunks
of the papers that changed. `spellings` keeps, beside each chunk of papers, the topic key
of each of their keywords (topics.make_topics), so an update works out only new spellings.
Every row carries a keyed BLAKE2 over its table's name and its values, so an edited or
forged row is not trusted and a row cannot be moved to another table. An update reads
what it needs and writes the rows that changed, in one transaction; a full build writes a
new file whole.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import hmac
import os
import sqlite3
import stat
from collections import defaultdict
from pathlib import Path

import orjson

from digest.archive import BuildState, DayCount
from digest.errors import FileSystemError, SiteError

STATE = ".digest-build.sqlite"
JOURNAL = STATE + "-journal"  # sqlite's rollback journal: only while a transaction is being committed
VERSION = "7"
STATE_TABLES = ("days", "papers", "spellings", "topics", "periods", "topic_pages", "editions")
_SCHEMA = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL, mac BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE files (path TEXT PRIMARY KEY, hash TEXT NOT NULL, inputs TEXT NOT NULL, mac BLOB NOT NULL)"
    " WITHOUT ROWID",
    # The few paths made without a fingerprint (feeds, sitemap, static files): read without a scan.
    "CREATE INDEX plain_files ON files (path) WHERE inputs = ''",
] + [
    f"CREATE TABLE {table} (key TEXT PRIMARY KEY, value TEXT NOT NULL, mac BLOB NOT NULL) WITHOUT ROWID"
    for table in STATE_TABLES
]


class Distrusted(Exception):
    """A row whose MAC does not match, or a file that is not a state this data folder wrote"""


class StateDB:
    """The last build's state in `out`, read row by row as the build asks for it

    `state` is the BuildState when the last build had this build key; `trusted` is False
    when there is no state to use (none, damaged, another data folder's): a full build that
    deletes nothing. A file row is checked when it is read; one that does not match makes
    `trusted` False for the rest of the build.
    """

    def __init__(self, out, key, build_key):
        self.out = Path(out)
        self.key = key[:64]
        self.build_key = build_key
        self.found = False  # a state file is there (trusted or not): the folder is digest's
        self.trusted = False
        self.same_build = False
        self.state = None
        self._db = None
        self._rows = {}  # path -> (hash, inputs) or None, as checked so far
        self._complete = False  # _rows holds every file row (read before a fork)
        # (paths fingerprinted, other paths) of the files table, not checked: only deletes act on them
        self._paths = None
        _refuse_links(self.out)
        try:
            info = os.lstat(self.out / STATE)
        except OSError:
            return
        self.found = True
        try:
            self._open(info)
            self.trusted = True
        except (Distrusted, sqlite3.DatabaseError, OSError, ValueError, TypeError, KeyError):
            # Damaged, edited or from another data folder: build everything, delete nothing.
            self.close()
            self.state = None

    def _open(self, info):
        if not stat.S_ISREG(info.st_mode):
            raise Distrusted("not a file")
        path = self.out / STATE
        self._db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=rw", uri=True, isolation_level=None)
        meta = {key: value for key, value, _ in self._select("meta", "SELECT key, value, mac FROM meta")}
        after = os.lstat(path)
        if (after.st_dev, after.st_ino) != (info.st_dev, info.st_ino) or not stat.S_ISREG(after.st_mode):
            raise Distrusted("the state file was swapped while opened")
        if meta.get("version") != VERSION:
            raise Distrusted("another version")
        # A page's fingerprint does not name the code, the templates or the settings: with
        # another build key, the last build's inputs say nothing (every page is rendered).
        self.same_build = meta.get("build") == self.build_key
        if self.same_build and meta.get("state") == "saved":
            self.state = self._read_state()

    def _select(self, table, query):
        """Every (key, value, mac) row of a table, each checked; Distrusted at the first that does not match"""
        rows = self._db.execute(query).fetchall()
        key, blake2b, same = self.key, hashlib.blake2b, hmac.compare_digest
        for name, value, tag in rows:
            # _mac inlined: this runs once per paper of the archive on every update.
            if not same(
                blake2b(f"{table}\0{len(name)}\0{name}\0{value}".encode(), digest_size=16, key=key).digest(), tag
            ):
                raise Distrusted(f"a row of {table} does not match")
        return rows

    def _read_state(self):
        """The BuildState of the last build, from its tables"""
        parts = {}
        loads = orjson.loads
        for table in STATE_TABLES:
            rows = self._select(table, f"SELECT key, value, mac FROM {table}")
            # Every value is a JSON text this code wrote (checked above). Small rows are parsed
            # in one go, as one array; the papers' chunks (100-300 KB each) one by one, which
            # spares copying 10-33 MB into one text: 0.16 s -> 0.10 s at 10 years.
            if table in ("papers", "spellings"):
                values = [loads(value) for _, value, _ in rows]
            else:
                values = loads("[" + ",".join([value for _, value, _ in rows]) + "]")
            parts[table] = dict(zip([name for name, _, _ in rows], values, strict=True))
        papers = {}  # [title, keywords] lists, as this code wrote them (their MACs match)
        for chunk in parts["papers"].values():
            if not isinstance(chunk, dict):
                raise Distrusted("a chunk of papers that is not one")
            papers.update(chunk)
        spellings = {}  # spelling -> [topic key, acronym pair or None], one chunk per chunk of papers
        for chunk in parts["spellings"].values():
            if not isinstance(chunk, dict):
                raise Distrusted("a chunk of spellings that is not one")
            spellings.update(chunk)
        days = {
            dt.date.fromisoformat(day): (key, tuple(seen), DayCount(int(new), int(trending)))
            for day, (key, seen, new, trending) in parts["days"].items()
        }
        topics = {folded: (slug, name) for folded, (slug, name) in parts["topics"].items()}
        periods = {name: int(count) for name, count in parts["periods"].items()}
        topic_pages = {path: str(layout) for path, layout in parts["topic_pages"].items()}
        editions = {dt.date.fromisoformat(day): (str(key), str(html)) for day, (key, html) in parts["editions"].items()}
        return BuildState(
            days=days,
            papers=papers,
            topics=topics,
            periods=periods,
            topic_pages=topic_pages,
            editions=editions,
            spellings=spellings,
        )

    def row(self, path):
        """(hash, inputs) the last build recorded for `path`, or None (none, or not trusted)"""
        if path in self._rows or self._complete or not self.trusted:
            return self._rows.get(path)
        try:
            found = self._db.execute("SELECT hash, inputs, mac FROM files WHERE path = ?", (path,)).fetchone()
        except sqlite3.DatabaseError:
            found = None
            self.trusted = False
        if found is not None and not hmac.compare_digest(_mac(self.key, "files", path, found[0], found[1]), found[2]):
            found = None
            self.trusted = False
        self._rows[path] = (found[0], found[1] if self.same_build else "") if found else None
        return self._rows[path]

    def read_all(self):
        """Read and check every file row now (before a fork: workers must not share the connection)"""
        if self._complete or not self.trusted:
            self._complete = True
            return
        rows = {}
        key, mac = self.key, _mac
        try:
            for path, digest, inputs, tag in self._db.execute("SELECT path, hash, inputs, mac FROM files"):
                if not hmac.compare_digest(mac(key, "files", path, digest, inputs), tag):
                    raise Distrusted("a file row does not match")
                rows[path] = (digest, inputs if self.same_build else "")
        except (Distrusted, sqlite3.DatabaseError):
            self.trusted, rows = False, {}
        self._rows, self._complete = rows, True

    def paths(self, fingerprinted=False):
        """Every path of the last build (or those it fingerprinted), unchecked: nothing is deleted by it"""
        if not self.trusted or (fingerprinted and not self.same_build):
            return set()
        if self._paths is None:
            if self._complete:
                made = {path for path, (_, inputs) in self._rows.items() if inputs}
                self._paths = (made, self._rows.keys() - made)
            else:
                try:
                    query = "SELECT path FROM files WHERE inputs {} ''"
                    self._paths = tuple({path for (path,) in self._db.execute(query.format(op))} for op in ("!=", "="))
                except sqlite3.DatabaseError:
                    self.trusted = False
                    return set()
        made, others = self._paths
        return made if fingerprinted else made | others

    def save(self, root_fd, hashes, inputs, removed, state):
        """Record this build: only the rows that changed, or a new file when there was no state to update"""
        _refuse_links(self.out)
        try:
            os.unlink(f".{STATE}.tmp", dir_fd=root_fd)  # a stopped build's, or a symlink someone planted
        except FileNotFoundError:
            pass
        if self.trusted and self.state is not None and state is not None:
            try:
                self._update(hashes, inputs, removed, state)
                return
            except sqlite3.DatabaseError as e:
                raise _failed(self.out / STATE, e) from None
        self.close()
        self._write_new(root_fd, hashes, inputs, state)

    def _update(self, hashes, inputs, removed, state):
        key, mac = self.key, _mac
        files = []
        for path, digest in hashes.items():
            new = (digest, inputs.get(path, ""))
            if self.row(path) != new:
                files.append((path, *new, mac(key, "files", path, *new)))
        db = self._db
        db.execute("PRAGMA journal_mode=DELETE")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", files)
            db.executemany("DELETE FROM files WHERE path = ?", [(path,) for path in removed])
            for table, (changed, gone) in _changes(self.state, state).items():
                rows = [(name, value, mac(key, table, name, value)) for name, value in changed.items()]
                db.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?)", rows)
                db.executemany(f"DELETE FROM {table} WHERE key = ?", [(name,) for name in gone])
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _write_new(self, root_fd, hashes, inputs, state):
        """Write the whole state to a temp file beside the old one, then rename it over"""
        key, mac = self.key, _mac
        tmp = f".{STATE}.tmp"
        try:
            # A journal of the old file would be rolled back into the new one.
            os.unlink(JOURNAL, dir_fd=root_fd)
        except FileNotFoundError:
            pass
        # Made here with O_EXCL|O_NOFOLLOW, so sqlite opens a file this build made.
        os.close(
            os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=root_fd)
        )
        path = self.out / tmp
        try:
            db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=rw", uri=True, isolation_level=None)
            try:
                # No journal: a file half written is a temp file, removed by the next build.
                db.execute("PRAGMA journal_mode=OFF")
                db.execute("PRAGMA synchronous=FULL")
                db.execute("BEGIN")
                for statement in _SCHEMA:
                    db.execute(statement)
                meta = {"version": VERSION, "build": self.build_key, "state": "saved" if state is not None else ""}
                db.executemany(
                    "INSERT INTO meta VALUES (?, ?, ?)", [(k, v, mac(key, "meta", k, v)) for k, v in meta.items()]
                )
                db.executemany(
                    "INSERT INTO files VALUES (?, ?, ?, ?)",
                    [(p, h, inputs.get(p, ""), mac(key, "files", p, h, inputs.get(p, ""))) for p, h in hashes.items()],
                )
                for table, rows in (_state_rows(state) if state is not None else {}).items():
                    db.executemany(
                        f"INSERT INTO {table} VALUES (?, ?, ?)",
                        [(name, value, mac(key, table, name, value)) for name, value in rows.items()],
                    )
                db.execute("COMMIT")
            finally:
                db.close()
            fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=root_fd)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, STATE, src_dir_fd=root_fd, dst_dir_fd=root_fd)
        except BaseException as e:
            try:
                os.unlink(tmp, dir_fd=root_fd)
            except OSError:
                pass
            if isinstance(e, sqlite3.DatabaseError):
                raise _failed(path, e) from None
            raise

    def close(self):
        if self._db is not None:
            self._db.close()
            self._db = None


def _mac(key, table, name, *values):
    """The keyed BLAKE2 of one row: its table, its key (length first: no two rows read alike) and values"""
    text = "\0".join((table, str(len(name)), name, *values))
    return hashlib.blake2b(text.encode(), digest_size=16, key=key).digest()


def _state_rows(state, only=None, chunks=None):
    """table -> key -> value as JSON text, for every part of a BuildState (or the keys in `only`)

    chunks: _chunks(state.papers), when the caller made it already.
    """
    dumps = orjson.dumps
    keep = only or {}
    chunks = chunks or _chunks(state.papers)
    spellings = state.spellings
    return {
        "days": {
            day.isoformat(): dumps([key, list(seen), count[0], count[1]]).decode()
            for day, (key, seen, count) in state.days.items()
            if only is None or day in keep["days"]
        },
        "papers": {
            # A chunk's papers in key order (the dict is built in key order of the archive).
            name: dumps({key: (known[0], tuple(known[1])) for key, known in sorted(chunk)}).decode()
            for name, chunk in chunks.items()
            if only is None or name in keep["papers"]
        },
        # The topic keys of a chunk's papers' keywords, kept and rewritten with that chunk.
        "spellings": {
            name: dumps(
                {word: spellings[word] for _, known in sorted(chunk) for word in known[1] if word in spellings}
            ).decode()
            for name, chunk in chunks.items()
            if only is None or name in keep["spellings"]
        },
        "topics": {
            folded: dumps(tuple(value)).decode()
            for folded, value in state.topics.items()
            if only is None or folded in keep["topics"]
        },
        "periods": {
            name: dumps(count).decode()
            for name, count in state.periods.items()
            if only is None or name in keep["periods"]
        },
        "topic_pages": {
            path: dumps(layout).decode()
            for path, layout in state.topic_pages.items()
            if only is None or path in keep["topic_pages"]
        },
        "editions": {
            day.isoformat(): dumps(edition).decode()
            for day, edition in state.editions.items()
            if only is None or day in keep["editions"]
        },
    }


def chunk_of(key):
    """The chunk of the papers table a paper's row is kept in: the month of an arXiv id
    ("2501.01234" -> "2501"), one of 16 for a paper known by its title"""
    if key.startswith("title:"):
        return "title:" + hashlib.blake2b(key.encode(), digest_size=1).hexdigest()[0]
    return key[:4]


def _chunks(papers):
    """chunk name -> [(key, known)] of every paper"""
    chunks = defaultdict(list)
    for key, known in papers.items():
        chunks[chunk_of(key)].append((key, known))
    return chunks


def _same_paper(new, old):
    # An untouched paper's Known is made from the very list the state was read into.
    return old is not None and (new[1] is old[1] or (new[0] == old[0] and list(new[1]) == old[1]))


def _changes(old, new):
    """table -> (key -> value text of the rows new or changed, keys of the rows gone) from `old` to `new`"""
    removed = old.papers.keys() - new.papers.keys()
    chunks = _chunks(new.papers)
    changed = {
        "days": {day for day, value in new.days.items() if old.days.get(day) != value},
        # A chunk is written whole when one of its papers changed, came or went.
        "papers": {
            chunk_of(key)
            for key in {key for key, known in new.papers.items() if not _same_paper(known, old.papers.get(key))}
            | removed
        },
        "topics": {folded for folded, value in new.topics.items() if old.topics.get(folded) != tuple(value)},
        "periods": {name for name, count in new.periods.items() if old.periods.get(name) != count},
        "topic_pages": {path for path, layout in new.topic_pages.items() if old.topic_pages.get(path) != layout},
        "editions": {day for day, edition in new.editions.items() if old.editions.get(day) != tuple(edition)},
    }
    changed["spellings"] = changed["papers"]  # a chunk's spellings are its papers' keywords
    rows = _state_rows(new, changed, chunks)
    gone = {
        "days": [day.isoformat() for day in old.days.keys() - new.days.keys()],
        "papers": list({chunk_of(key) for key in removed} - chunks.keys()),
        "topics": list(old.topics.keys() - new.topics.keys()),
        "periods": list(old.periods.keys() - new.periods.keys()),
        "topic_pages": list(old.topic_pages.keys() - new.topic_pages.keys()),
        "editions": [day.isoformat() for day in old.editions.keys() - new.editions.keys()],
    }
    gone["spellings"] = gone["papers"]
    return {table: (rows[table], gone[table]) for table in STATE_TABLES}


def _refuse_links(out):
    """SiteError when the state file or its journal is a symlink (never opened through one)"""
    for name in (STATE, JOURNAL):
        if os.path.islink(out / name):
            raise SiteError(f"refusing to write through a symlink: {out / name}")


def _failed(path, error):
    """The one-line error for a state file sqlite could not write (a full disk, a planted journal)"""
    made = FileSystemError(f"cannot write {path} ({error})")
    made.errno = errno.EIO
    return made
