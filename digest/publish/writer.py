"""The site writer: renders page contexts and writes each path once, only when its bytes changed"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
from pathlib import Path

import orjson

from digest.archive import BuildState
from digest.errors import SiteError
from digest.render import make_env
from digest.store import write_atomic

MANIFEST = ".digest-build.json"
MANIFEST_VERSION = 3


_SAFE_PATH = re.compile(r"[A-Za-z0-9._\-]+(/[A-Za-z0-9._\-]+)*")
PARALLEL_FROM = 2000  # pages; below this, forking workers costs more than it saves


class SiteWriter:
    """Writes one build into `out`: each path once, and only when its bytes changed

    The manifest of the last build (path -> BLAKE2 of the bytes) makes an unchanged file
    cost a hash, not a write. The site is derived and rebuilt at will, so files are written
    whole (temp file + rename) without an fsync each; the manifest is written last, fsynced.
    """

    def __init__(self, out, build_key=""):
        self.out = Path(out)
        self.build_key = build_key
        self.old, self.old_inputs, self.state = self._read_manifest()
        self.hashes = {}
        self.inputs = {}
        self.written = []
        self._made = set()

    def _read_manifest(self):
        """(files, inputs, BuildState or None) of the last build; nothing of a damaged manifest"""
        path = self.out / MANIFEST
        if path.exists():
            try:
                data = orjson.loads(_checked(path.read_bytes()))
                if data.get("version") == MANIFEST_VERSION and isinstance(data.get("files"), dict):
                    same_code = data.get("build") == self.build_key and isinstance(data.get("inputs"), dict)
                    if not same_code:
                        return data["files"], {}, None
                    return data["files"], data["inputs"], _read_state(data.get("archive"))
            except (OSError, ValueError, AttributeError):
                pass
            return {}, {}, None
        if self.out.exists() and any(self.out.iterdir()):
            raise SiteError(f"{self.out} is not empty and was not built by digest: choose an empty or new folder")
        return {}, {}, None

    def unchanged(self, path, fingerprint):
        """True when the last build wrote `path` from the same inputs (so it need not be rendered)"""
        key = hashlib.blake2b(fingerprint.encode("utf-8"), digest_size=16).hexdigest()
        self.inputs[path] = key
        if self.old_inputs.get(path) == key and path in self.old and (self.out / path).exists():
            self.hashes[path] = self.old[path]
            return True
        return False

    def carry(self, paths):
        """Keep what the last build wrote at `paths` from inputs it fingerprinted; False (and keep
        nothing) when one of them is not there as the manifest says"""
        paths = set(paths)
        present = _files_in(self.out, {path.rpartition("/")[0] for path in paths})
        if paths - present or paths - self.old_inputs.keys() or paths - self.old.keys():
            return False
        old, old_inputs = self.old, self.old_inputs
        self.hashes.update({path: old[path] for path in paths})
        self.inputs.update({path: old_inputs[path] for path in paths})
        return True

    def write(self, path, data):
        payload = data.encode("utf-8") if isinstance(data, str) else data
        digest = hashlib.blake2b(payload, digest_size=16).hexdigest()
        self.hashes[path] = digest
        target = self.out / path
        if self.old.get(path) == digest and target.exists():
            return
        parent = target.parent
        if parent not in self._made:
            parent.mkdir(parents=True, exist_ok=True)
            self._made.add(parent)
        if path in self.old or target.exists():
            # Replacing a file someone may be reading (digest serve, a web server): whole or not at all.
            tmp = parent / f".{target.name}.tmp"
            tmp.write_bytes(payload)
            os.replace(tmp, target)
        else:
            # A new file is written in place, at a third of the cost of temp + rename: were the
            # build to stop half-way, the manifest would not list it and the next build rewrites it.
            with open(target, "wb") as f:
                f.write(payload)
        self.written.append(path)

    def finish(self, state=None):
        """Remove what the last build wrote and this one did not; record this build and its state"""
        removed = sorted(set(self.old) - set(self.hashes))
        for path in removed:
            if _SAFE_PATH.fullmatch(path):
                (self.out / path).unlink(missing_ok=True)
        # One file for the outputs and the state they were built from: they cannot disagree.
        payload = orjson.dumps({"version": MANIFEST_VERSION, "build": self.build_key, "files": self.hashes,
                                "inputs": self.inputs, "archive": state.to_json() if state else None},
                               option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE, default=_json_default)
        write_atomic(self.out / MANIFEST, payload + _checksum(payload))
        return removed


def _checksum(payload):
    """The manifest's last line: a hash of the rest, so a damaged manifest is never trusted"""
    return b"blake2b " + hashlib.blake2b(payload, digest_size=16).hexdigest().encode() + b"\n"


def _checked(raw):
    """The manifest without its checksum line; ValueError when the checksum does not match"""
    body, _, last = raw.rstrip(b"\n").rpartition(b"\n")
    body += b"\n"
    if _checksum(body) != last + b"\n":
        raise ValueError("manifest checksum does not match")
    return body


def _json_default(value):
    """orjson writes plain tuples; NamedTuples (Known, DayCount) as the lists they are"""
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _read_state(data):
    """The BuildState saved in a manifest, or None when there is none or it is damaged"""
    if not isinstance(data, dict):
        return None
    try:
        return BuildState.from_json(data)
    except ValueError:
        return None


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
        if not _SAFE_PATH.fullmatch(path) or ".." in path.split("/"):
            raise SiteError(f"refusing to write outside the site: {path!r}")
        seen.add(path)


def _render_into(writer, pages):
    env = make_env("html")
    templates = {}
    for page in pages:
        fingerprint = page.fingerprint()
        if fingerprint is not None and writer.unchanged(page.path, fingerprint):
            continue
        template = templates.get(page.template) or templates.setdefault(page.template,
                                                                        env.get_template(page.template))
        writer.write(page.path, template.render(page=page))


_JOB = None  # (pages, writer) for forked workers: inherited, never pickled


def _render_share(index, workers):
    pages, parent = _JOB
    writer = SiteWriter.__new__(SiteWriter)
    writer.out, writer.build_key, writer.old, writer.old_inputs = parent.out, parent.build_key, parent.old, \
        parent.old_inputs
    writer.hashes, writer.inputs, writer.written, writer._made = {}, {}, [], set()
    _render_into(writer, pages[index::workers])
    return writer.hashes, writer.inputs, writer.written


def render_pages(pages, writer):
    """Render and write every page; on a big site, in one forked worker per core

    Workers inherit the page contexts through fork (nothing is pickled but the hashes they
    send back), render every n-th page and write it themselves.
    """
    global _JOB
    workers = min(os.cpu_count() or 1, 4)
    if len(pages) < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        _render_into(writer, pages)
        return
    env = make_env("html")
    for name in {p.template for p in pages}:
        env.get_template(name)  # compiled once, before the fork
    _JOB = (pages, writer)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for hashes, inputs, written in pool.starmap(_render_share, [(i, workers) for i in range(workers)]):
                writer.hashes.update(hashes)
                writer.inputs.update(inputs)
                writer.written.extend(written)
    finally:
        _JOB = None


