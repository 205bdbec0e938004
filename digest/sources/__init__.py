"""Sources: recognise a file's format and parse its bytes into a Snapshot"""

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import PurePath

from digest.errors import InputError
from digest.models import SNAPSHOT_FORMAT, Snapshot, Source, check_listing
from digest.sources import hf

FORMATS = ("auto", "hf-json", "page-text", "snapshot", "arxiv-rss")
DEFAULT_LISTING = "hf-daily"
# Page captures get a listing of their own: a capture is not the API's list, and storing it
# under hf-daily would replace the API's snapshot of that day (docs/commands.md).
PAGE_LISTING = "hf-papers-page"
_DAY_IN_NAME = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


@dataclass(frozen=True)
class Parsed:
    """A parsed file: the snapshot it holds and what was salvaged on the way"""

    snapshot: Snapshot
    warnings: tuple[str, ...] = ()


def parse_bytes(data, *, name, fmt="auto", listing=None, day=None, source=None, cross_lists=False):
    """Parse one file's bytes (of any known format) into a Snapshot for one listing and day

    The day is `day`, else a YYYY-MM-DD in the file name, else what the content says.
    `cross_lists` keeps arXiv cross-lists beside the new papers.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if listing is not None:
        check_listing(listing)
    text = _decode(data)
    day = day or day_from_name(name)
    source = source or Source(kind=None, file=PurePath(name).name)
    if fmt == "auto" and text.lstrip().startswith(("<?xml", "<rss", "<feed")):
        fmt = "arxiv-rss"
    if fmt == "arxiv-rss":
        return _from_arxiv(data, name=name, listing=listing, day=day, source=source, cross_lists=cross_lists)
    if fmt == "auto":
        fmt = "page-text" if not text.lstrip().startswith(("[", "{")) else "json"
    if fmt == "page-text":
        return _from_page_text(text, listing=listing, day=day, source=source)
    value = _load_json(text)
    if fmt == "snapshot" or (fmt == "json" and _is_snapshot(value)):
        return _from_snapshot(value, listing=listing, day=day, source=source)
    return _from_hf(value, name=name, listing=listing, day=day, source=source)


def day_from_name(name):
    """The YYYY-MM-DD a file name carries, or None"""
    match = _DAY_IN_NAME.search(PurePath(name).name)
    if not match:
        return None
    try:
        return dt.date(*map(int, match.groups()))
    except ValueError:
        return None


def _decode(data):
    if not data.strip():
        raise InputError("file is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (bad byte at offset {e.start})") from None


def _load_json(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        # A cut-off file fails at its very end, or inside a string that never closes.
        cut = e.pos >= len(text.rstrip()) or e.msg.startswith("Unterminated string")
        what = "truncated JSON (the file ends early)" if cut else "invalid JSON"
        raise InputError(f"{what}: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise InputError("invalid JSON: nested too deeply") from None
    except ValueError:
        # Python refuses to read integers of over 4,300 digits (CVE-2020-10735): damage, not data.
        raise InputError("invalid JSON: a number of over 4,300 digits (damaged data)") from None


def _is_snapshot(value):
    return isinstance(value, dict) and value.get("format") == SNAPSHOT_FORMAT


def _require_day(day, hint):
    if day is None:
        raise InputError(f"cannot tell the day {hint}: pass --date YYYY-MM-DD or name the file YYYY-MM-DD")
    return day


def _from_snapshot(value, *, listing, day, source):
    from digest.store import snapshot_from_dict

    snapshot = snapshot_from_dict(value)
    return Parsed(
        Snapshot(
            listing=listing or snapshot.listing,
            date=day or snapshot.date,
            entries=snapshot.entries,
            source=snapshot.source,
            fetched_at=snapshot.fetched_at,
            published_nothing=snapshot.published_nothing,
            window=snapshot.window,
        )
    )


def _from_hf(value, *, name, listing, day, source):
    warnings = []
    content_day = None
    if isinstance(value, dict):
        if not {"status", "data"} <= value.keys():
            raise InputError("not a known format: a JSON object that is neither a snapshot nor an archive wrapper")
        value, content_day = hf.unwrap_archive(value)
        warnings.append(f"{name}: unwrapped an archive wrapper object ({len(value)} items in 'data')")
    if not isinstance(value, list):
        raise InputError(f"not a known format: JSON {type(value).__name__}, expected an array of papers")
    if value and all(isinstance(v, str) for v in value):
        value = hf.salvage_repr_items(value)
        warnings.append(f"{name}: salvaged {len(value)} items stored as Python repr strings")
    entries = hf.parse_hf_items(value)
    day = _require_day(day or content_day or hf.listing_day(value), "from the JSON")
    snapshot = Snapshot(
        listing=listing or DEFAULT_LISTING,
        date=day,
        entries=entries,
        source=Source(kind="hf-json", url=source.url, file=source.file),
    )
    return Parsed(snapshot, tuple(warnings))


def _from_page_text(text, *, listing, day, source):
    from digest.sources.page_text import parse_page_text

    capture = parse_page_text(text, year=day.year if day else None)
    _require_day(day, "of a page capture (its header has no year)")
    warnings = ()
    if capture.header_day and capture.header_day != (day.month, day.day):
        month, mday = capture.header_day
        warnings = (f"{source.file}: header says {dt.date(2000, month, mday):%b} {mday}, importing as {day}",)
    snapshot = Snapshot(
        listing=listing or PAGE_LISTING,
        date=day,
        entries=capture.entries,
        source=Source(kind="page-text", url=source.url, file=source.file),
    )
    return Parsed(snapshot, warnings)


def _from_arxiv(data, *, name, listing, day, source, cross_lists):
    from digest.sources.arxiv import parse_feed

    own_listing, content_day, entries, had_items = parse_feed(data, cross_lists=cross_lists)
    day = _require_day(day or (dt.date.fromisoformat(content_day) if content_day else None), "of the feed")
    snapshot = Snapshot(
        listing=listing or own_listing or "arxiv",
        date=day,
        entries=entries,
        source=Source(kind="arxiv-rss", url=source.url, file=source.file),
        # A feed without items is arXiv's way of saying nothing was announced (weekends).
        published_nothing=not had_items,
    )
    return Parsed(snapshot)
