"""Per-paper observations across every stored snapshot, with a cached index for speed"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from digest.errors import StoreError
from digest.models import RECENT_SUFFIX, Observation
from digest.store import StampCache, index_record

INDEX_VERSION = 4
INDEX_FILE = "history-index.json"  # in <data-dir>/.cache/


class Observations(Mapping):
    """key -> the paper's Observations, sorted, each paper's made when first asked for

    A day's update looks at the papers of a few days; making all 180,000 observations of 10
    years as objects was most of reading the history. `first` and `last` hold every paper's
    first and last day, which the site needs of every paper.
    """

    def __init__(self, rows, first, last):
        self._rows = rows  # key -> [(day, listing, rank, upvotes)], in (day, listing) order
        self._made = {}
        self.first = first  # key -> the day of its first observation
        self.last = last  # key -> the day of its last observation

    def __getitem__(self, key):
        made = self._made.get(key)
        if made is None:
            rows = self._rows[key]
            if len(rows) > 1:
                rows.sort()  # an Observation's order: day, listing, rank, upvotes
            # tuple.__new__ skips the Python-level __new__ of a NamedTuple.
            made = self._made[key] = tuple([tuple.__new__(Observation, row) for row in rows])
        return made

    def __contains__(self, key):
        return key in self._rows

    def __iter__(self):
        return iter(self._rows)

    def __len__(self):
        return len(self._rows)

    def keys(self):
        return self._rows.keys()  # a dict's view: set operations run in C


@dataclass(frozen=True)
class History:
    """Every observation of every paper, and the title-key aliases that join sources"""

    observations: Observations  # identity key -> tuple[Observation, ...] sorted by (day, listing)
    aliases: dict  # title key of an id-less entry (in `keyless`) -> the arXiv id of a paper with that title
    listing_days: dict  # listing -> tuple of days with a snapshot, sorted
    # Title keys of entries without an id: the only ones whose identity an alias can change.
    keyless: frozenset = frozenset()
    # (path, why) of the snapshot files left out as damaged (only with load_history's `skip`).
    damaged: tuple = ()
    # identity key -> Announcement, for papers whose edition is not their list's day (late
    # additions, caught-up days); every other paper is announced on its first observation's day.
    late: dict | None = None
    # "<listing folder>/<file name>" -> content hash of each snapshot file read (load_history).
    hashes: dict = dataclasses.field(default_factory=dict)

    def key_of(self, entry):
        """Identity of an entry: its arXiv id, else the id its title is known by, else its title key"""
        if entry.id:
            return entry.id
        key = entry.title_key
        return self.aliases.get(key) or "title:" + key

    def first_seen(self, key):
        """The day whose edition announces the paper: the run day that first stored it"""
        late = (self.late or {}).get(key)
        return late.day if late else self.observations.first[key]

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

    The index is the store's StampCache of `store.index_record` (rows, added) per snapshot
    file, with its content hash. With `skip` (paths to leave out, possibly empty), a damaged snapshot
    file is left out too and listed in History.damaged, for the commands that can go on
    without it.
    """
    cache = StampCache(store, INDEX_FILE, INDEX_VERSION, valid=_valid_record)
    records, hashes, damaged = [], {}, []
    for _, _, path in store.files():
        if skip is not None and path in skip:
            continue
        try:
            record, content = cache.get(path, index_record)
        except StoreError as e:
            if skip is None:
                raise
            damaged.append((path, str(e)))
            continue
        records.append(record)
        # What a build's day keys chain, by "<listing folder>/<file name>".
        hashes[f"{path.parent.name}/{path.name}"] = content
    cache.save()
    history = history_from_records(records)
    return dataclasses.replace(history, hashes=hashes, damaged=tuple(damaged))


def history_from_records(records):
    """Make a History from per-snapshot index records (listing, day, rows, added, keyless)

    Only the title keys of id-less entries can need an alias (every entry key_of is asked
    about is a stored one), so aliases are looked for only when some entry has no id.
    """
    keyless = set().union(*[record["keyless"] for record in records])
    aliases = {}
    if keyless:
        for record in records:
            for paper_id, key, _, _ in record["rows"]:
                # The smallest id wins when two papers share a title, so the choice is stable.
                if paper_id and key in keyless and (key not in aliases or paper_id < aliases[key]):
                    aliases[key] = paper_id
    rows, first, last = {}, {}, {}
    listing_days = collections.defaultdict(set)
    # In (day, listing) order, a paper's rows come in order and its first and last days are
    # those of its first and last rows: one pass, no object per row but a tuple.
    for record in sorted(records, key=lambda record: (record["date"], record["listing"])):
        day = dt.date.fromisoformat(record["date"])
        listing = record["listing"]
        listing_days[listing].add(day)
        for paper_id, key, rank, upvotes in record["rows"]:
            identity = paper_id or aliases.get(key) or "title:" + key
            found = rows.get(identity)
            if found is None:
                rows[identity] = [(day, listing, rank, upvotes)]
                first[identity] = day
            else:
                found.append((day, listing, rank, upvotes))
            last[identity] = day
    return History(
        # Without an `added` map anywhere, every paper's edition is its first list's day.
        late=_late_announcements(records, aliases) if any(record["added"] for record in records) else {},
        observations=Observations(rows, first, last),
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


def _valid_record(record):
    return (
        isinstance(record, dict)
        and isinstance(record.get("listing"), str)
        and isinstance(record.get("date"), str)
        and isinstance(record.get("rows"), list)
        and isinstance(record.get("added"), dict)
        and isinstance(record.get("keyless"), list)
        and all(isinstance(key, str) for key in record["keyless"])
        and all(isinstance(row, list) and len(row) == 4 for row in record["rows"])
    )
