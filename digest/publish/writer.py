"""The site writer: renders page contexts and writes each path once, only when its bytes changed"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import re
import stat
from pathlib import Path

from digest.errors import FileSystemError, SiteError
from digest.publish.state_db import STATE, StateDB
from digest.render import make_env

OLD_MANIFEST = ".digest-build.json"  # the whole-file state of earlier versions: removed by the next build
# Present from a build's first write to its last: a folder holding it was being built by
# digest when the build stopped (a kill, a full disk), so the next build takes it up.
MARKER = ".digest-building"
KEY_FILE = Path(".cache") / "build-key"


_SAFE_PATH = re.compile(r"[A-Za-z0-9._\-]+(/[A-Za-z0-9._\-]+)*")
_TEMP = re.compile(r"\..+\.tmp")  # SiteWriter's .<name>.tmp and write_atomic's .<name>.<random>.tmp
PARALLEL_FROM = 2000  # pages; below this, forking workers costs more than it saves
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def inside_site(path):
    """True for a relative path of plain names below the site folder (no '..', no hidden files)"""
    # No name starts with a dot: not the first, not one after a '/' (checked on every path of every build).
    return bool(_SAFE_PATH.fullmatch(path)) and path[0] != "." and "/." not in path


class SiteWriter:
    """Writes one build into `out`: each path once, and only when its bytes changed

    The state of the last build (path -> BLAKE2 of the bytes, in `state_db`) makes an
    unchanged file cost a hash, not a write. The site is derived and rebuilt at will, so
    files are written whole (temp file + rename) without an fsync each; the state is
    committed last, synced.

    Nothing is written or deleted outside `out`: every folder below it is opened with
    O_NOFOLLOW and files are made relative to that folder's descriptor (openat), so a
    symlink planted at a page, a temp name or a folder is refused, not followed. Every row
    of the state carries a keyed MAC (`key`, kept in the data folder, never in the site), so
    a state someone edited is not trusted: that build rebuilds what it reads of it and
    deletes nothing.
    """

    def __init__(self, out, build_key="", key=b""):
        self.out = Path(out)
        self.build_key = build_key
        self.key = key
        self.interrupted = _lexists(self.out / MARKER)  # the last build in `out` stopped before it finished
        self._dirs = {}  # site folder -> descriptor of it, opened without following symlinks
        self.db = StateDB(self.out, key, build_key)
        if not self.db.found and not self.interrupted and not _lexists(self.out / OLD_MANIFEST):
            if self.out.is_dir() and any(self.out.iterdir()):
                raise SiteError(f"{self.out} is not empty and was not built by digest: choose an empty or new folder")
        self.state = self.db.state
        self.hashes = {}  # path -> BLAKE2 of its bytes, for the paths this build made or checked
        self.inputs = {}
        self.written = []
        # An update's paths to delete (keep_all_but): every other path of the last build is kept
        # as it is, without listing them; None: a build that names every path it keeps (carry).
        self.removals = None
        self.kept = None  # an update's count of files, made at finish

    @property
    def files(self):
        """How many files this build's site has (made, checked or kept)"""
        return len(self.hashes) if self.kept is None else self.kept

    def begin(self):
        """Mark `out` as being built (before the first write); clear the temp files of a stopped build"""
        if "" in self._dirs:
            return
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self._dirs[""] = os.open(self.out, _DIR & ~os.O_NOFOLLOW)
        except OSError as e:
            raise _refused(self.out, e) from None
        try:
            os.close(
                os.open(MARKER, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=self._dirs[""])
            )
        except OSError as e:
            raise _refused(self.out / MARKER, e) from None
        if self.interrupted:
            self._remove_temp_files()

    def root_fd(self):
        """Descriptor of the site folder (begin() opens it)"""
        return self._dirs[""]

    def _dir(self, folder, create=True):
        """Descriptor of a folder of the site, made when missing; None when missing and not `create`"""
        fd = self._dirs.get(folder)
        if fd is not None:
            return fd
        parent, _, name = folder.rpartition("/")
        parent_fd = self._dir(parent, create) if parent else self._dirs[""]
        if parent_fd is None:
            return None
        try:
            if create:
                try:
                    os.mkdir(name, dir_fd=parent_fd)
                except FileExistsError:
                    pass
            fd = os.open(name, _DIR, dir_fd=parent_fd)
        except FileNotFoundError:
            if create:
                raise
            return None
        except OSError as e:
            raise _refused(self.out / folder, e) from None
        self._dirs[folder] = fd
        return fd

    def unchanged(self, path, fingerprint):
        """True when the last build wrote `path` from the same inputs (so it need not be rendered)"""
        key = hashlib.blake2b(fingerprint.encode("utf-8"), digest_size=16).hexdigest()
        self.inputs[path] = key
        old = self.db.row(path)
        if old is not None and old[1] == key and (self.out / path).exists():
            self.hashes[path] = old[0]
            return True
        return False

    def keep_all_but(self, removed):
        """Keep every file of the last build but `removed` and those this build writes, without
        naming them (an update); False (and keep nothing) when a file of the last build is not
        where the state says (intact)"""
        if not self.intact():
            return False
        self.removals = set(removed)
        return True

    def intact(self):
        """True when every file of the last build is still there: each site folder has the mtime
        it had when that build ended (no file made, removed or renamed in it since), or, for one
        that does not (and the site folder itself, which holds the state), every path the state
        has in it is there"""
        recorded = self.db.folders
        if not recorded:
            return False
        changed = [""]
        for folder, mtime in recorded.items():
            try:
                if os.stat(self.out / folder, follow_symlinks=False).st_mtime_ns != mtime:
                    changed.append(folder)
            except OSError:
                return False
        return all(not self.db.paths_in(folder) - _files_in(self.out, {folder}) for folder in changed)

    def write(self, path, data):
        """Write `path` whole (temp file + rename in its folder) unless it already holds these bytes"""
        payload = data.encode("utf-8") if isinstance(data, str) else data
        digest = hashlib.blake2b(payload, digest_size=16).hexdigest()
        self.hashes[path] = digest
        old = self.db.row(path)
        if old is not None and old[0] == digest:
            # The last build wrote these bytes here: keep the file if it is still a file (a
            # fresh build has no last build, and asks the file system nothing before writing).
            try:
                if stat.S_ISREG(os.lstat(self.out / path).st_mode):
                    return
            except OSError:
                pass
        self.begin()
        folder, _, name = path.rpartition("/")
        try:
            _write_in(self._dir(folder), name, payload)
        except OSError as e:
            raise _refused(self.out / path, e) from None
        self.written.append(path)

    def prepare_fork(self):
        """Read every row of the last build's state the workers may ask for (before forking them)"""
        self.db.read_all()

    def finish(self, state=None):
        """Remove what the last build wrote and this one did not; record this build and its state"""
        self.begin()
        if self.removals is None:
            removed = sorted(self.db.paths() - self.hashes.keys())
            old_count = None
        else:
            removed = sorted(self.removals - self.hashes.keys())
            old_count = self.db.count()
        # Only a path whose row matches its MAC and which is inside the site is deleted; one that
        # is not means the state is not trusted: nothing is deleted.
        if not all(inside_site(path) and self.db.row(path) is not None for path in removed):
            self.db.trusted, removed = False, []
        for path in removed:
            folder, _, name = path.rpartition("/")
            fd = self._dir(folder, create=False)
            try:
                if fd is not None:
                    os.unlink(name, dir_fd=fd)
            except FileNotFoundError:
                pass
            except OSError as e:
                raise _refused(self.out / path, e) from None
        if old_count is not None:  # an update: the last build's files, less those removed, and those new
            self.kept = old_count - len(removed) + sum(self.db.row(path) is None for path in self.hashes)
            if not self.db.trusted:
                # An update that met a row it cannot trust names only the files it wrote: its
                # state must not stand for the site's (the next build builds everything).
                state = None
        root = self._dirs[""]
        try:
            self.db.save(root, self.hashes, self.inputs, removed, state, self._stamp_folders(state))
            try:
                os.unlink(OLD_MANIFEST, dir_fd=root)  # the state of the digest before this one
            except FileNotFoundError:
                pass
            os.unlink(MARKER, dir_fd=root)
        except OSError as e:
            raise _refused(self.out / STATE, e) from None
        self.close()
        return removed

    def _stamp_folders(self, state):
        """Set every site folder's mtime (the site's own aside) to the midnight of the archive's
        latest day, as reproducible builds do (SOURCE_DATE_EPOCH), once this build wrote and removed
        its files; folder -> that stamp in ns. A file made, removed or renamed in a folder later
        gives it the time of that change: the next update sees it (intact)."""
        if state is None or not state.days:
            return {}
        latest = max(state.days)
        stamp = int(dt.datetime(latest.year, latest.month, latest.day, tzinfo=dt.UTC).timestamp()) * 10**9
        folders = set(self.db.folders) if self.removals is not None else set()
        folders |= {path.rpartition("/")[0] for path in self.hashes}
        folders |= self._dirs.keys()
        stamped = {}
        for folder in sorted(folders - {""}, key=lambda name: -name.count("/")):  # inner folders first
            try:
                os.utime(folder, ns=(stamp, stamp), dir_fd=self._dirs[""], follow_symlinks=False)
                stamped[folder] = stamp
            except OSError:
                pass  # gone: not recorded, and its files not kept
        return stamped

    def refuse_link(self, folder):
        """SiteError when a folder of the site that others write (pagefind/) is a symlink"""
        if os.path.islink(self.out / folder):
            raise SiteError(f"refusing to write through a symlink: {self.out / folder}")

    def close(self):
        self.db.close()
        for fd in self._dirs.values():
            os.close(fd)
        self._dirs = {}

    def _remove_temp_files(self):
        """Delete the temp files an interrupted build left (never following a symlink)"""
        for _, _, files, dir_fd in os.fwalk(self.out):
            for name in files:
                if _TEMP.fullmatch(name):
                    try:
                        os.unlink(name, dir_fd=dir_fd)
                    except FileNotFoundError:
                        pass


def _write_in(dir_fd, name, payload, sync=False):
    """Write `name` in the folder `dir_fd` whole: a temp file beside it, then a rename

    The temp file is made with O_EXCL and O_NOFOLLOW (a leftover one is removed first, a
    symlink at it is unlinked, never followed); a symlink at `name` itself is refused.
    """
    try:
        if stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode):
            raise OSError(errno.ELOOP, "a symlink is in the way")
    except FileNotFoundError:
        pass
    tmp = f".{name}.tmp"
    try:
        fd = os.open(tmp, _NEW, 0o644, dir_fd=dir_fd)
    except FileExistsError:
        os.unlink(tmp, dir_fd=dir_fd)
        fd = os.open(tmp, _NEW, 0o644, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
        raise


def _refused(path, error):
    """The one-line SiteError for an OSError at `path` (a symlink in the way, a full disk, ...)"""
    if error.errno in (errno.ELOOP, errno.EMLINK) or (error.errno == errno.ENOTDIR and os.path.islink(path)):
        return SiteError(f"refusing to write through a symlink: {path}")
    # Any other OS error is the file system's (exit 11, as for every command), named here.
    made = FileSystemError(f"cannot write {path} ({error.strerror or error})")
    made.errno = error.errno
    return made


def _lexists(path):
    try:
        os.lstat(path)
    except OSError:
        return False
    return True


def manifest_key(data_dir):
    """The secret that keys the build state's MACs, made (0600) in <data-dir>/.cache on first use

    It lives beside the data, outside the site: whoever can edit a built site (a shared
    folder, a deployed artifact) cannot make a state row the next build trusts, and so cannot
    make it delete anything. Without a data folder to keep it in, the key is this build's
    own: the next build trusts no state and rebuilds everything (deleting nothing).
    """
    root = Path(data_dir)
    if not root.is_dir():
        return os.urandom(32)
    try:
        cache = os.open(root, _DIR & ~os.O_NOFOLLOW)
        try:
            try:
                os.mkdir(KEY_FILE.parent.name, 0o700, dir_fd=cache)
            except FileExistsError:
                pass
            folder = os.open(KEY_FILE.parent.name, _DIR, dir_fd=cache)
        finally:
            os.close(cache)
        try:
            try:
                fd = os.open(KEY_FILE.name, _NEW, 0o600, dir_fd=folder)
                key = os.urandom(32).hex().encode()
                with os.fdopen(fd, "wb") as f:
                    f.write(key)
                return key
            except FileExistsError:
                fd = os.open(KEY_FILE.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
                with os.fdopen(fd, "rb") as f:
                    key = f.read()
                return key if len(key) >= 32 else os.urandom(32)
        finally:
            os.close(folder)
    except OSError:
        return os.urandom(32)


def _files_in(out, folders):
    """Every file directly in the given folders of `out`, as site paths (one listing per folder)"""
    found = set()
    for folder in folders:
        try:
            with os.scandir(out / folder) as entries:
                found.update(f"{folder}/{e.name}" if folder else e.name for e in entries if e.is_file())
        except OSError:
            pass
    return found


def plan_paths(paths):
    """Check every output path before anything is written: inside the site, and each only once"""
    seen = set()
    for path in paths:
        if path in seen:
            raise SiteError(f"two outputs want the same path {path!r}")
        if not inside_site(path):
            raise SiteError(f"refusing to write outside the site: {path!r}")
        seen.add(path)


def _render_into(writer, pages, files=()):
    env = make_env("html")
    templates = {}
    for page in pages:
        fingerprint = page.fingerprint()
        if fingerprint is not None and writer.unchanged(page.path, fingerprint):
            continue
        template = templates.get(page.template) or templates.setdefault(page.template, env.get_template(page.template))
        writer.write(page.path, template.render(page=page))
    for path, inputs, make in files:
        if inputs is not None and writer.unchanged(path, inputs):
            continue
        writer.write(path, make())


_JOB = None  # (pages, files, writer) for forked workers: inherited, never pickled


def _render_share(index, workers):
    pages, files, parent = _JOB
    writer = SiteWriter.__new__(SiteWriter)
    writer.__dict__.update(parent.__dict__)
    # The folder descriptors are the parent's (inherited through fork): shared, not closed here.
    writer._dirs = dict(parent._dirs)
    writer.hashes, writer.inputs, writer.written = {}, {}, []
    _render_into(writer, *_share(pages, files, index, workers))
    return writer.hashes, writer.inputs, writer.written


def _share(pages, files, index, workers):
    """(pages, files) of worker `index` of `workers`: every page and file exactly once over all

    Paper pages come in order of their last sighting and read that day's whole entries (old
    days are cut to cards), so each worker takes one run of them, and reads each day once
    rather than every worker reading every day. The other pages (days, weeks, topics: longer,
    and of uneven cost) are dealt in turn. Files go in one run each, in their order (each day's
    JSON reads its day and the day before: in a run, the day before is the one just read).
    """
    papers = [page for page in pages if page.kind == "paper"]
    others = [page for page in pages if page.kind != "paper"]
    run = -(-len(papers) // workers)
    mine = others[index::workers] + papers[index * run : (index + 1) * run]
    run = -(-len(files) // workers)
    return mine, files[index * run : (index + 1) * run]


def render_pages(pages, writer, files=()):
    """Render and write every page, and make and write every file; on a big site, in one
    forked worker per core

    files: (path, inputs or None, a function that makes its bytes), like pages that are not
    templates (a day's JSON); inputs as a page's fingerprint.

    Workers inherit the page contexts through fork (nothing is pickled but the hashes they
    send back), render every n-th page and one run of the files, and write them themselves.
    """
    global _JOB
    import multiprocessing  # here: an update renders its few pages in this process

    workers = min(os.cpu_count() or 1, 4)
    if len(pages) < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        _render_into(writer, pages, files)
        return
    env = make_env("html")
    for name in {p.template for p in pages}:
        env.get_template(name)  # compiled once, before the fork
    writer.begin()  # before the fork: the workers share the folder descriptors
    writer.prepare_fork()
    _JOB = (pages, list(files), writer)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for hashes, inputs, written in pool.starmap(_render_share, [(i, workers) for i in range(workers)]):
                writer.hashes.update(hashes)
                writer.inputs.update(inputs)
                writer.written.extend(written)
    finally:
        _JOB = None
