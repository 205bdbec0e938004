"""The steps commands run: import files into the store, compute a day's digest"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from digest.diff import make_digest
from digest.errors import DigestError, InputError, NoDataError
from digest.history import load_history
from digest.models import RECENT_SUFFIX
from digest.sources import parse_bytes
from digest.store import Store


@dataclass(frozen=True)
class ImportOutcome:
    """What happened to one file of an import: stored (path, count) or failed (error)"""

    file: str
    path: Path | None = None
    listing: str | None = None
    day: object = None
    count: int = 0
    replaced: bool = False
    # What a --replace import replaced when the day held another kind of source's data.
    replaced_other: str | None = None
    warnings: tuple[str, ...] = ()
    error: str | None = None


def import_files(store, files, *, fmt="auto", listing=None, day=None, replace=False):
    """Parse and store each file; a bad file is reported and the others still go in

    A day that holds another kind of source's data (the API's list, say, where a page
    capture is imported with --listing hf-daily) is left as it is unless `replace`.
    """
    outcomes = []
    for file in files:
        try:
            data = Path(file).read_bytes()
        except OSError as e:
            outcomes.append(ImportOutcome(file=str(file), error=f"cannot read ({e.strerror})"))
            continue
        try:
            parsed = parse_bytes(data, name=str(file), fmt=fmt, listing=listing, day=day)
        except InputError as e:
            outcomes.append(ImportOutcome(file=str(file), error=str(e)))
            continue
        snapshot = parsed.snapshot
        replaced = store.path(snapshot.listing, snapshot.date).exists()
        other = _other_source(store, snapshot) if replaced else None
        if other and not replace:
            outcomes.append(
                ImportOutcome(
                    file=str(file),
                    error=(
                        f"{snapshot.listing} {snapshot.date} already holds {other}; not replacing it with"
                        f" {snapshot.source.kind or 'unknown'} data (import under another --listing,"
                        " or pass --replace)"
                    ),
                )
            )
            continue
        path = store.save(snapshot)
        outcomes.append(
            ImportOutcome(
                file=str(file),
                path=path,
                listing=snapshot.listing,
                day=snapshot.date,
                count=len(snapshot.entries),
                replaced=replaced,
                replaced_other=other,
                warnings=parsed.warnings,
            )
        )
    return outcomes


def _other_source(store, snapshot):
    """What the stored file of the snapshot's listing and day holds, when another kind of source wrote it"""
    try:
        old = store.load(snapshot.listing, snapshot.date)
    except DigestError as e:
        return f"a snapshot that cannot be read ({e})"
    if old is None or old.source.kind == snapshot.source.kind:
        return None
    return f"{old.source.kind or 'unknown'} data ({len(old.entries)} papers)"


def digest_for(config, day=None, *, history=None):
    """The Digest of `day` (default: the latest day with a snapshot)

    Pass a loaded `history` to compute many days without reading the index again.
    """
    store = Store(config.data_dir)
    history = history or load_history(store)
    days = history.days()
    if not days:
        raise NoDataError(f"no snapshots in {store.snapshots} yet: run 'digest import' or 'digest fetch' first")
    if day is None:
        day = days[-1]
    elif day not in days:
        raise NoDataError(f"no snapshot on {day} in {store.snapshots} (days stored: {days[0]} to {days[-1]})")
    today, previous = {}, {}
    for listing, listing_days in history.listing_days.items():
        if day in listing_days:
            today[listing] = with_details(store, _load(store, listing, day))
            before = history.previous_day(listing, day)
            previous[listing] = _load(store, listing, before) if before else None
    return make_digest(day, history, today, previous, config.trending, config.digest.top_items, load=store.load)


def _load(store, listing, day):
    snapshot = store.load(listing, day)
    if snapshot is None:
        raise DigestError(f"snapshot of {listing} on {day} vanished while reading")
    return snapshot


def with_details(store, snapshot, load=None):
    """A re-observation snapshot with each paper's details from its list-day snapshot

    Re-observations store only what moves (fetch._recent); the title, authors, abstract,
    links and summary come from the newest list of the window that shows the paper, the
    same list the re-observation took it from. Other snapshots are returned as they are.
    `load(listing, day)` reads a list (default: Store.load); the site passes a cached one.
    """
    if not snapshot.window or not snapshot.listing.endswith(RECENT_SUFFIX):
        return snapshot
    base = snapshot.listing.removesuffix(RECENT_SUFFIX)
    first, last = snapshot.window
    details = {}
    for n in range((last - first).days + 1):
        listed = (load or store.load)(base, last - dt.timedelta(days=n))
        for entry in listed.entries if listed else ():
            details.setdefault(entry.key, entry)
    return fill_details(snapshot, details)


def fill_details(snapshot, details):
    """The snapshot with each slim entry completed from `details` (entry key -> full Entry)"""
    entries = tuple(
        dataclasses.replace(
            details[e.key], rank=e.rank, upvotes=e.upvotes, comments=e.comments, github_stars=e.github_stars
        )
        if e.key in details
        else e
        for e in snapshot.entries
    )
    return dataclasses.replace(snapshot, entries=entries)
