"""The build state of a site folder: keyed rows in one SQLite file, each row with its own MAC

One table per part of the state, keyed by its natural key: `files` (a site path -> the
BLAKE2 of its bytes and the fingerprint of its inputs), `meta` (the version and the build
key), the small parts of `BuildState` read whole (days, periods, editions: the daily feed's
items) and the keyed tables read row by row as an update asks for them (`StateDB.read`):
`papers` (a paper's title and keywords), the topic book's `groups`, `folds`, `acronyms` and
`topic_list` (digest.topics.TopicBook), and `topic_pages` (each topic's page layouts). An
update reads the rows of what changed and writes those, whatever the archive's size.
Every row carries a keyed BLAKE2 over its table's name and its values, so an edited or
forged row is not trusted (a build that meets one builds everything and deletes nothing)
and a row cannot be moved to another table. An update writes the rows that changed in one
transaction; a full build writes a new file whole.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import hmac
import os
import sqlite3
import stat
from pathlib import Path

import orjson

from digest.archive import BuildState, DayCount, StaleState
from digest.errors import FileSystemError, SiteError

STATE = ".digest-build.sqlite"
JOURNAL = STATE + "-journal"  # sqlite's rollback journal: only while a transaction is being committed
VERSION = "8"
STATE_TABLES = ("days", "periods", "editions")  # read whole when the state is opened
# Read by key as a build asks (StateDB.read); their rows are BuildState.rows.
KEYED_TABLES = ("papers", "groups", "folds", "acronyms", "topic_list", "topic_pages")
# A site folder -> its mtime in ns when the build that saved the state ended: an update that
# finds a folder as it was keeps that folder's files without listing them (SiteWriter.intact).
FOLDERS = "folders"
_SCHEMA = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL, mac BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE files (path TEXT PRIMARY KEY, hash TEXT NOT NULL, inputs TEXT NOT NULL, mac BLOB NOT NULL)"
    " WITHOUT ROWID",
    # The few paths made without a fingerprint (feeds, sitemap, static files): read without a scan.
    "CREATE INDEX plain_files ON files (path) WHERE inputs = ''",
] + [
    f"CREATE TABLE {table} (key TEXT PRIMARY KEY, value TEXT NOT NULL, mac BLOB NOT NULL) WITHOUT ROWID"
    for table in (*STATE_TABLES, *KEYED_TABLES, FOLDERS)
]
_BATCH = 30_000  # keys a query asks for at once (json_each takes one text: no limit on variables)


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
        self._staged = None  # (connection, temp name, folder) of a full build's new state, begun early (stage)
        self.folders = {}  # site folder -> its mtime (ns) when the last build ended
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
            self.folders = {name: int(value) for name, value, _ in self._select(FOLDERS, "SELECT * FROM folders")}

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
        """The BuildState of the last build: its small tables, and `read` for the keyed ones"""
        parts = {}
        loads = orjson.loads
        for table in STATE_TABLES:
            rows = self._select(table, f"SELECT key, value, mac FROM {table}")
            # Every value is a JSON text this code wrote (checked above): parsed in one go, as one array.
            values = loads("[" + ",".join([value for _, value, _ in rows]) + "]")
            parts[table] = dict(zip([name for name, _, _ in rows], values, strict=True))
        days = {
            dt.date.fromisoformat(day): (key, tuple(seen), DayCount(int(new), int(trending)))
            for day, (key, seen, new, trending) in parts["days"].items()
        }
        periods = {name: int(count) for name, count in parts["periods"].items()}
        editions = {dt.date.fromisoformat(day): (str(key), str(html)) for day, (key, html) in parts["editions"].items()}
        return BuildState(days=days, periods=periods, editions=editions, read=self.read)

    def read(self, table, keys):
        """key -> value of the rows of a keyed table found for `keys`, each checked; StaleState
        (and the state no longer trusted) when one does not match or the file cannot be read"""
        if table not in KEYED_TABLES:
            raise ValueError(f"not a keyed table: {table}")
        keys = list(keys)
        found = {}
        key, blake2b, same, loads = self.key, hashlib.blake2b, hmac.compare_digest, orjson.loads
        try:
            if not self.trusted or self._db is None:
                raise Distrusted("the state is not trusted")
            for start in range(0, len(keys), _BATCH):
                wanted = orjson.dumps(keys[start : start + _BATCH]).decode()
                query = f"SELECT key, value, mac FROM {table} WHERE key IN (SELECT value FROM json_each(?))"
                for name, value, tag in self._db.execute(query, (wanted,)):
                    # _mac inlined: an update reads a few thousand rows.
                    text = f"{table}\0{len(name)}\0{name}\0{value}".encode()
                    if not same(blake2b(text, digest_size=16, key=key).digest(), tag):
                        raise Distrusted(f"a row of {table} does not match")
                    found[name] = loads(value)
        except (Distrusted, sqlite3.DatabaseError, ValueError) as e:
            self.trusted = False
            raise StaleState(f"the build state cannot be used ({e})") from None
        return found

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

    def paths_of(self, exact=(), prefixes=()):
        """The paths of the last build among `exact` and under each of `prefixes` (a folder and
        "/", or a file name's start), unchecked: a path is checked before it is deleted (row)"""
        if not self.trusted:
            return set()
        found = set()
        try:
            exact = list(exact)
            for start in range(0, len(exact), _BATCH):
                wanted = orjson.dumps(exact[start : start + _BATCH]).decode()
                query = "SELECT path FROM files WHERE path IN (SELECT value FROM json_each(?))"
                found.update(path for (path,) in self._db.execute(query, (wanted,)))
            for prefix in prefixes:
                # The primary key's order: every path that starts with `prefix` sorts between these.
                query = "SELECT path FROM files WHERE path >= ? AND path < ?"
                found.update(path for (path,) in self._db.execute(query, (prefix, prefix + "\U0010ffff")))
        except sqlite3.DatabaseError:
            self.trusted = False
            return set()
        return found

    def paths_in(self, folder):
        """The paths of the last build directly in a site folder ("": the site's own), unchecked"""
        if not self.trusted:
            return set()
        try:
            if not folder:
                return {path for (path,) in self._db.execute("SELECT path FROM files WHERE instr(path, '/') = 0")}
            prefix = folder + "/"
            query = "SELECT path FROM files WHERE path >= ? AND path < ? AND instr(substr(path, ?), '/') = 0"
            return {path for (path,) in self._db.execute(query, (prefix, prefix + "\U0010ffff", len(prefix) + 1))}
        except sqlite3.DatabaseError:
            self.trusted = False
            return set()

    def count(self):
        """How many files the last build's site has"""
        try:
            return self._db.execute("SELECT count(*) FROM files").fetchone()[0] if self.trusted else 0
        except sqlite3.DatabaseError:
            self.trusted = False
            return 0

    def stage(self, root_fd, rows):
        """Begin a full build's new state file with its keyed rows (table -> (key, value) pairs),
        before the pages render: every paper's and keyword's row is then on disk, not held in
        memory to the end of the build (200 MB at 10 years of real-shaped keywords)"""
        _refuse_links(self.out)
        db, tmp = self._begin_new(root_fd)
        self._staged = (db, tmp, root_fd)
        try:
            for table, pairs in rows.items():
                db.executemany(f"INSERT INTO {table} VALUES (?, ?, ?)", _keyed_rows(self.key, table, pairs))
        except sqlite3.DatabaseError as e:
            raise _failed(self.out / self._staged[1], e) from None

    def save(self, root_fd, hashes, inputs, removed, state, folders=None):
        """Record this build: only the rows that changed, or a new file when there was no state to
        update or the build computed everything; folders: every site folder -> its mtime (ns)"""
        _refuse_links(self.out)
        if self._staged is None:
            try:
                os.unlink(f".{STATE}.tmp", dir_fd=root_fd)  # a stopped build's, or a symlink someone planted
            except FileNotFoundError:
                pass
        if self._staged is None and self.trusted and self.state is not None and state is not None and not state.whole:
            try:
                self._update(hashes, inputs, removed, state, folders or {})
                return
            except sqlite3.DatabaseError as e:
                raise _failed(self.out / STATE, e) from None
        if self._db is not None:  # the last build's state, read: replaced now
            self._db.close()
            self._db = None
        self._write_new(root_fd, hashes, inputs, state, folders or {})

    def _update(self, hashes, inputs, removed, state, folders):
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
            for table, rows in state.rows.items():
                db.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?)", _keyed_rows(key, table, rows))
                db.executemany(
                    f"DELETE FROM {table} WHERE key = ?", [(name,) for name, value in rows.items() if value is None]
                )
            db.execute("DELETE FROM folders")
            db.executemany("INSERT INTO folders VALUES (?, ?, ?)", _folder_rows(key, folders))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _begin_new(self, root_fd):
        """(connection in a transaction, temp name) of a new state file beside the old one, its tables made"""
        tmp = f".{STATE}.tmp"
        for name in (tmp, JOURNAL):  # a stopped build's temp file; a journal of the old file (rolled into the new)
            try:
                os.unlink(name, dir_fd=root_fd)
            except FileNotFoundError:
                pass
        # Made here with O_EXCL|O_NOFOLLOW, so sqlite opens a file this build made.
        os.close(
            os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=root_fd)
        )
        path = self.out / tmp
        try:
            db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=rw", uri=True, isolation_level=None)
            # No journal: a file half written is a temp file, removed by the next build.
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("BEGIN")
            for statement in _SCHEMA:
                db.execute(statement)
        except sqlite3.DatabaseError as e:
            _unlink(tmp, root_fd)
            raise _failed(path, e) from None
        return db, tmp

    def _write_new(self, root_fd, hashes, inputs, state, folders):
        """Write the whole state to a temp file beside the old one (begun by stage, or now), then rename it over"""
        key, mac = self.key, _mac
        db, tmp = self._staged[:2] if self._staged else self._begin_new(root_fd)
        self._staged = None
        path = self.out / tmp
        try:
            try:
                meta = {"version": VERSION, "build": self.build_key, "state": "saved" if state is not None else ""}
                db.executemany(
                    "INSERT INTO meta VALUES (?, ?, ?)", [(k, v, mac(key, "meta", k, v)) for k, v in meta.items()]
                )
                db.executemany(
                    "INSERT INTO files VALUES (?, ?, ?, ?)",
                    [(p, h, inputs.get(p, ""), mac(key, "files", p, h, inputs.get(p, ""))) for p, h in hashes.items()],
                )
                if state is not None:
                    for table, rows in _state_rows(state).items():
                        db.executemany(
                            f"INSERT INTO {table} VALUES (?, ?, ?)",
                            [(name, value, mac(key, table, name, value)) for name, value in rows.items()],
                        )
                    for table, rows in state.rows.items():
                        db.executemany(f"INSERT INTO {table} VALUES (?, ?, ?)", _keyed_rows(key, table, rows))
                db.executemany("INSERT INTO folders VALUES (?, ?, ?)", _folder_rows(key, folders))
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
            _unlink(tmp, root_fd)
            if isinstance(e, sqlite3.DatabaseError):
                raise _failed(path, e) from None
            raise

    def close(self):
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._staged is not None:  # a build stopped before saving: its new state goes
            db, tmp, root_fd = self._staged
            self._staged = None
            db.close()
            _unlink(tmp, root_fd)


def _unlink(name, dir_fd):
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass


def _mac(key, table, name, *values):
    """The keyed BLAKE2 of one row: its table, its key (length first: no two rows read alike) and values"""
    text = "\0".join((table, str(len(name)), name, *values))
    return hashlib.blake2b(text.encode(), digest_size=16, key=key).digest()


def _state_rows(state, only=None):
    """table -> key -> value as JSON text, for the small tables of a BuildState (or the keys in `only`)"""
    dumps = orjson.dumps
    keep = only or {}
    return {
        "days": {
            day.isoformat(): dumps([key, list(seen), count[0], count[1]]).decode()
            for day, (key, seen, count) in state.days.items()
            if only is None or day in keep["days"]
        },
        "periods": {
            name: dumps(count).decode()
            for name, count in state.periods.items()
            if only is None or name in keep["periods"]
        },
        "editions": {
            day.isoformat(): dumps(edition).decode()
            for day, edition in state.editions.items()
            if only is None or day in keep["editions"]
        },
    }


def _keyed_rows(key, table, rows):
    """(key, value as JSON text, MAC) of each row of a keyed table that is not gone, from a dict or
    (key, value) pairs, made one by one as sqlite takes them: never all held as text at once"""
    dumps, sort = orjson.dumps, orjson.OPT_SORT_KEYS
    for name, value in rows.items() if isinstance(rows, dict) else rows:
        if value is not None:
            text = dumps(value, option=sort).decode()
            yield name, text, _mac(key, table, name, text)


def _folder_rows(key, folders):
    return [(name, str(mtime), _mac(key, FOLDERS, name, str(mtime))) for name, mtime in sorted(folders.items())]


def _changes(old, new):
    """table -> (key -> value text of the rows new or changed, keys of the rows gone), of the small tables"""
    changed = {
        "days": {day for day, value in new.days.items() if old.days.get(day) != value},
        "periods": {name for name, count in new.periods.items() if old.periods.get(name) != count},
        "editions": {day for day, edition in new.editions.items() if old.editions.get(day) != tuple(edition)},
    }
    rows = _state_rows(new, changed)
    gone = {
        "days": [day.isoformat() for day in old.days.keys() - new.days.keys()],
        "periods": list(old.periods.keys() - new.periods.keys()),
        "editions": [day.isoformat() for day in old.editions.keys() - new.editions.keys()],
    }
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
