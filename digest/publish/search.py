"""Static search: pagefind, run from its PyPI wheel, one index per month of papers (per week
of the recent months)

Indexing every page whenever one changed grows with the archive (45 s and 6 GB at 40,000
pages). Instead each month's papers (by the month of their first day) get their own index
in pagefind/<month>/ (pagefind/<month>.<part>/ while the month is recent: shard_of_day),
rebuilt only when what pagefind reads of one of its pages changed, or a page was added or
left; the search page merges the shards in the browser (pagefind's mergeIndex). A day's update
then re-indexes the week of its new papers and those of the papers it saw again: a few hundred
pages, whatever the archive's size. A paper page that changed only by its links (a keyword
that gained its topic link because a new paper shares it: most pages an update rewrites, with
real keywords) indexes the same, and leaves its shard as it is.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import orjson

from digest.errors import SiteError
from digest.store import write_atomic

FOLDER = "pagefind"
PART_DAYS = 7  # a recent month is indexed in parts of this many days (its 1st-7th, 8th-14th, ...)
SETTLED_DAYS = 14  # days after a month ends when its parts make way for one index of the month
SHARDS = "shards.json"  # in pagefind/: the shards the search page merges, and what each was built from
# In pagefind/, not served (a dotfile, as the build state): paper page -> _search_hash of it.
PAGES = ".pages.json"
UI_FILES = ("pagefind-ui.js", "pagefind-ui.css")
# What pagefind does not index: a link's target, and whether a word is a link or a span.
_MARKUP = re.compile(rb'<a href="[^"]*">|</a>|<span>|</span>')
_MODULES = ("pagefind_bin_extended", "pagefind_bin")


@functools.cache
def pagefind_command():
    """The pagefind binary shipped in its PyPI wheel (no download at run time), run directly:
    its module's own `python -m` start-up would cost a Python interpreter per shard"""
    for module in _MODULES:
        try:
            found = importlib.import_module(module)
        except ImportError:
            continue
        try:
            return [str(found.get_executable())]
        except (AttributeError, OSError):
            return [sys.executable, "-m", module]
    raise SiteError("search needs pagefind: pip install 'pagefind[extended]' (or build with --no-search)")


def _pagefind_version():
    import importlib.metadata  # here: 20 ms of every command's start-up otherwise

    for module in _MODULES:
        try:
            return f"{module} {importlib.metadata.version(module)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def shard_of_day(day, last):
    """The shard of the papers first seen on `day`, in an archive whose last day is `last`:
    '2026-08' once August ended SETTLED_DAYS before `last`, else its part '2026-08.3' (the
    8th to 14th are part 2)

    A day's update re-indexes the shards of its new papers and of the papers it saw again, all
    recent: in parts of a week, that is a few hundred pages at 50 papers a day, not the month's
    1,500 (6,000 for an arXiv category). Once a month has settled, its papers are seen again
    rarely, and one index per month keeps the shards the search page merges few.
    """
    month_end = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    if (last - month_end).days >= SETTLED_DAYS:
        return f"{day:%Y-%m}"
    return f"{day:%Y-%m}.{(day.day - 1) // PART_DAYS + 1}"


def index_search(out, shard_of, changed):
    """Bring out/pagefind/ up to date: rebuild the shards whose pages changed; the months rebuilt

    `shard_of` maps every paper page's site path to its shard (the month of its first day);
    `changed` holds the site paths this build wrote or removed (only pages whose bytes changed).
    """
    folder = out / FOLDER
    members = defaultdict(list)
    for path, shard in shard_of.items():
        members[shard].append(path)
    wanted = {shard: _members_key(paths) for shard, paths in members.items()}
    built = _read_shards(folder)
    version = _pagefind_version()
    if built.get("pagefind") != version:
        built = {"shards": {}}
    old = built["shards"]
    known = _read_pages(folder)
    touched = set()
    for path in changed:
        if path in shard_of:
            made = _search_hash(out / path)
            if made is None or known.get(path) != made:
                touched.add(shard_of[path])
            known[path] = made
    stale = sorted(
        shard
        for shard, key in wanted.items()
        if shard in touched or old.get(shard) != key or not (folder / shard / "pagefind.js").is_file()
    )
    # A shard indexed now has every page's hash (a build without search kept none).
    known.update((path, _search_hash(out / path)) for shard in stale for path in members[shard] if path not in known)
    keep = {shard: key for shard, key in old.items() if shard in wanted and shard not in stale}
    # Recorded before any shard is touched: a build stopped half-way rebuilds what it was building.
    _write_shards(folder, version, keep)
    _write_pages(folder, {path: known[path] for path in shard_of if known.get(path)})
    for entry in folder.iterdir() if folder.is_dir() else ():
        if entry.is_dir() and entry.name not in wanted:
            shutil.rmtree(entry)
    workers = max(1, min(os.cpu_count() or 1, 4, len(stale)))
    with ThreadPoolExecutor(workers) as pool:
        for shard in pool.map(lambda s: _index_shard(out, s, members[s]), stale):
            keep[shard] = wanted[shard]
    if stale or any(not (folder / name).is_file() for name in UI_FILES):
        source = folder / max(wanted) if wanted else None
        for name in UI_FILES:
            if source is not None and (source / name).is_file():
                write_atomic(folder / name, (source / name).read_bytes())
    _write_shards(folder, version, keep)
    return tuple(stale)


def _index_shard(out, shard, paths):
    """Index one shard's pages into out/pagefind/<shard>/ (pagefind names files by content, so
    the folder starts empty); the pages are hard-linked into a scratch tree that pagefind reads"""
    target = out / FOLDER / shard
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f".{shard}-", dir=out / FOLDER) as scratch:
        for path in paths:
            source, link = out / path, os.path.join(scratch, path)
            os.makedirs(os.path.dirname(link), exist_ok=True)
            try:
                os.link(source, link)
            except OSError:
                shutil.copyfile(source, link)
        command = pagefind_command() + ["--site", scratch, "--output-path", str(target), "--quiet"]
        result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SiteError(f"pagefind failed on {out} (shard {shard}): {tail[0]}")
    return shard


def _search_hash(path):
    """What pagefind reads of a page, as a hash: its bytes without plain links and spans (a
    keyword that gains or loses its topic link indexes the same: checked against pagefind's
    output); None when the page cannot be read"""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    return hashlib.blake2b(_MARKUP.sub(b"", raw), digest_size=16).hexdigest()


def _read_pages(folder):
    try:
        data = orjson.loads((folder / PAGES).read_bytes())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def _write_pages(folder, pages):
    write_atomic(folder / PAGES, orjson.dumps(pages, option=orjson.OPT_SORT_KEYS))


def _members_key(paths):
    return hashlib.blake2b("\n".join(sorted(paths)).encode(), digest_size=16).hexdigest()


def _read_shards(folder):
    try:
        data = orjson.loads((folder / SHARDS).read_bytes())
        if isinstance(data, dict) and isinstance(data.get("shards"), dict):
            return data
    except (OSError, ValueError):
        pass
    return {"shards": {}}


def _write_shards(folder, version, shards):
    folder.mkdir(parents=True, exist_ok=True)
    # Newest first: the search page loads the first shard and merges the others.
    payload = {"pagefind": version, "order": sorted(shards, reverse=True), "shards": shards}
    write_atomic(folder / SHARDS, orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE))
