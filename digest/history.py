"""Per-paper observations across every stored snapshot, with a cached index for speed"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import orjson

from digest.errors import StoreError
from digest.models import RECENT_SUFFIX, Observation
from digest.store import write_atomic
from digest.text import arxiv_id, title_key

INDEX_VERSION = 2
INDEX_FILE = Path(".cache") / "history-index.json"


@dataclass(frozen=True)
class History:
    """Every observation of every paper, and the title-key aliases that join sources"""

    observations: dict  # identity key -> tuple[Observation, ...] sorted by (day, listing)
    aliases: dict  # title key -> arXiv id
    listing_days: dict  # listing -> tuple of days with a snapshot, sorted
    # Title keys of entries without an id: the only ones whose identity an alias can change.
    keyless: frozenset = frozenset()
    # (path, why) of the snapshot files left out as damaged (only with load_history's `skip`).
    damaged: tuple = ()
    # identity key -> Announcement, for papers whose edition is not their list's day (late
    # additions, caught-up days); every other paper is announced on its first observation's day.
    late: dict | None = None

    def key_of(self, entry):
        """Identity of an entry: its arXiv id, else the id its title is known by, else its title key"""
        if entry.id:
            return entry.id
        key = entry.title_key
        return self.aliases.get(key) or "title:" + key

    def first_seen(self, key):
        """The day whose edition announces the paper: the run day that first stored it"""
        late = (self.late or {}).get(key)
        return late.day if late else self.observations[key][0].day

    def announcement(self, key):
        """The paper's Announcement when its edition is later than its list's day, else None"""
        return (self.late or {}).get(key)

    def previous_day(self, listing, day):
        """The latest day before `day` on which `listing` has a snapshot, or None"""
        earlier = [d for d in self.listing_days.get(listing, ()) if d < day]
        return earlier[-1] if earlier else None

    def days(self):
        return sorted({d for days in self.listing_days.values() for d in days})


@dataclass(frozen=True)
class Announcement:
    """A paper announced by a later edition than its list day's: on `day`, from `listing` of `list_day`"""

    day: dt.date
    listing: str
    list_day: dt.date
    late: str  # "added" (a late addition to that list) or "caught-up" (the whole day was fetched late)


def load_history(store, skip=None):
    """Build the History of a store, reading only snapshot files changed since the last index

    With `skip` (paths to leave out, possibly empty), a damaged snapshot file is left out
    too and listed in History.damaged, for the commands that can go on without it.
    """
    index_path = store.cache_path(INDEX_FILE.name)
    cached = _read_index(index_path)
    records, changed, damaged = {}, False, []
    for _, _, path in store.files():
        if skip is not None and path in skip:
            continue
        rel = path.relative_to(store.root).as_posix()
        stat = path.stat()
        stamp = [stat.st_size, stat.st_mtime_ns]
        old = cached.get(rel)
        if old and old["stamp"] == stamp:
            records[rel] = old
            continue
        try:
            records[rel] = {"stamp": stamp, **_index_snapshot(path)}
        except StoreError as e:
            if skip is None:
                raise
            damaged.append((path, str(e)))
        changed = True
    if changed or records.keys() != cached.keys():
        _write_index(index_path, records)
    history = history_from_records(records.values())
    return dataclasses.replace(history, damaged=tuple(damaged)) if damaged else history


def history_from_records(records):
    """Make a History from per-snapshot index records (listing, day, rows)"""
    aliases, keyless = {}, set()
    for record in records:
        for paper_id, key, _, _ in record["rows"]:
            if not paper_id:
                keyless.add(key)
            else:
                # The smallest id wins when two papers share a title, so the choice is stable.
                if key not in aliases or paper_id < aliases[key]:
                    aliases[key] = paper_id
    observations = collections.defaultdict(list)
    listing_days = collections.defaultdict(set)
    # tuple.__new__ skips the Python-level __new__ of a NamedTuple: a third of the time on 55,000 rows.
    make = tuple.__new__
    for record in records:
        day = dt.date.fromisoformat(record["date"])
        listing = record["listing"]
        listing_days[listing].add(day)
        for paper_id, key, rank, upvotes in record["rows"]:
            identity = paper_id or aliases.get(key) or "title:" + key
            observations[identity].append(make(Observation, (day, listing, rank, upvotes)))
    for obs in observations.values():
        if len(obs) > 1:
            obs.sort()
    return History(
        late=_late_announcements(records, aliases),
        observations={k: tuple(v) for k, v in observations.items()},
        aliases=aliases,
        listing_days={k: tuple(sorted(v)) for k, v in listing_days.items()},
        keyless=frozenset(keyless),
    )


def _late_announcements(records, aliases):
    """identity -> Announcement for papers a fetch added to a list after its day

    A paper's edition is the earliest day it was stored on: its list's day, or the run day
    that added it (Snapshot.added). Re-observation snapshots only repeat what lists hold.
    """
    earliest = {}
    for record in records:
        if record["listing"].endswith(RECENT_SUFFIX):
            continue
        added = record.get("added") or {}
        list_day = dt.date.fromisoformat(record["date"])
        caught_up = bool(added) and len(set(added.values())) == 1 and len(added) == len(record["rows"])
        for paper_id, key, _, _ in record["rows"]:
            identity = paper_id or aliases.get(key) or "title:" + key
            when = added.get(paper_id or "title:" + key)
            day = dt.date.fromisoformat(when) if when else list_day
            if identity not in earliest or day < earliest[identity][0]:
                earliest[identity] = (day, record["listing"], list_day, "caught-up" if caught_up else "added")
    late = {}
    for identity, (day, listing, list_day, kind) in earliest.items():
        if day > list_day:
            late[identity] = Announcement(day, listing, list_day, kind)
    return late


def _index_snapshot(path):
    """The few fields history needs from one snapshot file"""
    try:
        # orjson parses twice as fast as json, and parsing is most of a cold build.
        data = orjson.loads(path.read_bytes())
    except OSError as e:
        raise StoreError(f"{path}: cannot read ({e.strerror})") from None
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
    return {"listing": data["listing"], "date": data["date"][:10], "rows": rows, "added": added}


def _read_index(path):
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    if not isinstance(data, dict) or data.get("version") != INDEX_VERSION:
        return {}
    files = data.get("files")
    if not isinstance(files, dict) or not all(_valid_record(r) for r in files.values()):
        return {}
    return files


def _valid_record(record):
    return (
        isinstance(record, dict)
        and isinstance(record.get("stamp"), list)
        and isinstance(record.get("listing"), str)
        and isinstance(record.get("date"), str)
        and isinstance(record.get("rows"), list)
        and all(isinstance(row, list) and len(row) == 4 for row in record["rows"])
    )


def _write_index(path, records):
    try:
        write_atomic(path, orjson.dumps({"version": INDEX_VERSION, "files": records}, option=orjson.OPT_SORT_KEYS))
    except OSError:
        # The index only saves time; a read-only data directory still works without it.
        pass
