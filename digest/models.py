"""The values that flow between stages: Entry, Snapshot, Observation, Item, Trend, Digest"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from digest.errors import InputError
from digest.text import arxiv_id, clean_text, safe_url, title_key

SNAPSHOT_FORMAT = "digest-snapshot"
SNAPSHOT_VERSION = 1

LINK_KINDS = ("hf", "arxiv", "pdf", "code", "project")
# A re-observation snapshot (fetch) is stored under its listing's name plus this suffix.
RECENT_SUFFIX = "-recent"
_LISTING = re.compile(r"^[a-z0-9][a-z0-9.\-]*(?::[A-Za-z0-9.\-]+)?$")


LISTING_MAX = 64
# Counts a listing can really show; anything larger is damage, not data (a 400-digit
# upvote count once made every later command fail). Ranks are places on one list.
COUNT_MAX = 10**9
RANK_MAX = 10**6


def check_listing(name):
    """Return name when it is a valid listing name (hf-daily, arxiv:cs.CL), else raise"""
    if not isinstance(name, str) or len(name) > LISTING_MAX or not _LISTING.fullmatch(name):
        shown = repr(name) if not isinstance(name, str) or len(name) <= 40 else repr(name[:40]) + "..."
        raise InputError(
            f"invalid listing name {shown}: use at most {LISTING_MAX} lower-case letters, digits, '.', '-',"
            " and an optional ':suffix' (hf-daily, arxiv:cs.CL)"
        )
    return name


def check_count(name, value, most=COUNT_MAX, least=0):
    """Return value when it is None or a whole number in [least, most], else raise InputError"""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"field {name!r} should be a whole number, not {type(value).__name__}")
    if not least <= value <= most:
        shown = str(value) if len(str(value)) <= 20 else f"a {len(str(value))}-digit number"
        raise InputError(f"field {name!r} is {shown}, outside {least}..{most:,}")
    return value


def paper_links(paper_id, links=None):
    """Links of a paper: those derived from its arXiv id, then the known http(s) ones"""
    merged = dict.fromkeys(LINK_KINDS)
    if paper_id:
        merged["hf"] = f"https://huggingface.co/papers/{paper_id}"
        merged["arxiv"] = f"https://arxiv.org/abs/{paper_id}"
        merged["pdf"] = f"https://arxiv.org/pdf/{paper_id}"
    for kind, url in (links or {}).items():
        if kind in merged and safe_url(url):
            merged[kind] = safe_url(url)
    return merged


@dataclass(frozen=True, slots=True)
class Entry:
    """One paper as one listing showed it on one day"""

    # slots: a big build holds one per paper and card (a __dict__ each was a tenth of its memory).

    rank: int
    title: str
    id: str | None = None
    abstract: str | None = None
    authors: tuple[str, ...] = ()
    author_count: int | None = None
    organization: str | None = None
    published: str | None = None
    upvotes: int | None = None
    comments: int | None = None
    links: dict = field(default_factory=dict, hash=False, compare=True)
    keywords: tuple[str, ...] = ()
    ai_summary: str | None = None
    github_stars: int | None = None

    @property
    def title_key(self):
        return title_key(self.title)

    @property
    def key(self):
        """Identity before aliases: the arXiv id, else the title key"""
        return self.id or "title:" + self.title_key

    def to_dict(self):
        return {
            "rank": self.rank,
            "id": self.id,
            "title": self.title,
            "abstract": self.abstract,
            "authors": list(self.authors),
            "author_count": self.author_count,
            "organization": self.organization,
            "published": self.published,
            "upvotes": self.upvotes,
            "comments": self.comments,
            "links": {kind: self.links.get(kind) for kind in LINK_KINDS},
            "keywords": list(self.keywords),
            "ai_summary": self.ai_summary,
            "github_stars": self.github_stars,
        }

    @classmethod
    def from_dict(cls, data):
        """Build an Entry from a stored dict, validating every field"""
        if not isinstance(data, dict):
            raise InputError("entry is not an object")
        title = clean_text(_typed(data, "title", str))
        if not title:
            raise InputError(f"entry at rank {data.get('rank')!r} has no title")
        rank = _typed(data, "rank", int)
        if rank is None or rank < 1:
            raise InputError(f"entry {title!r} has no valid rank")
        links = data.get("links") or {}
        if not isinstance(links, dict):
            raise InputError(f"entry {title!r}: links is not an object")
        paper_id = data.get("id")
        if paper_id is not None and arxiv_id(paper_id) is None:
            raise InputError(f"entry {title!r}: {paper_id!r} is not an arXiv id")
        return make_entry(
            rank=rank,
            title=title,
            id=paper_id,
            abstract=_typed(data, "abstract", str),
            authors=_string_list(data, "authors"),
            author_count=_typed(data, "author_count", int),
            organization=_typed(data, "organization", str),
            published=_typed(data, "published", str),
            upvotes=_typed(data, "upvotes", int),
            comments=_typed(data, "comments", int),
            links={k: v for k, v in links.items() if isinstance(v, str)},
            keywords=_string_list(data, "keywords"),
            ai_summary=_typed(data, "ai_summary", str),
            github_stars=_typed(data, "github_stars", int),
        )


def make_entry(
    *,
    rank,
    title,
    id=None,
    abstract=None,
    authors=(),
    author_count=None,
    organization=None,
    published=None,
    upvotes=None,
    comments=None,
    links=None,
    keywords=(),
    ai_summary=None,
    github_stars=None,
):
    """Build an Entry from untrusted values: text cleaned, id normalised, links made safe"""
    check_count("rank", rank, RANK_MAX, least=1)
    for name, value in (
        ("upvotes", upvotes),
        ("comments", comments),
        ("author_count", author_count),
        ("github_stars", github_stars),
    ):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value > COUNT_MAX):
            raise InputError(f"entry at rank {rank}: " + _out_of_range(name, value))
    title = clean_text(title)
    if not title:
        raise InputError(f"entry at rank {rank} has no title")
    paper_id = arxiv_id(id) if id else None
    names = tuple(n for n in (clean_text(a) for a in authors) if n)
    if author_count is None and names:
        author_count = len(names)
    return Entry(
        rank=rank,
        title=title,
        id=paper_id,
        abstract=clean_text(abstract),
        authors=names,
        author_count=author_count if author_count is None or author_count >= 0 else None,
        organization=clean_text(organization),
        published=_iso_day(published),
        upvotes=upvotes,
        comments=comments,
        links=paper_links(paper_id, links),
        keywords=tuple(k for k in (clean_text(k) for k in keywords) if k),
        ai_summary=clean_text(ai_summary),
        github_stars=github_stars,
    )


@dataclass(frozen=True, slots=True)
class CardEntry(Entry):
    """An Entry cut to what a card or a list shows (`render.presentation.card_entry`): the byline's
    first authors and the author count, the summary's sentences instead of the abstract

    A site build keeps these for every day but the recent ones the feeds show, so that its
    memory does not grow with every abstract of the archive; a paper's page and a day's JSON
    read the full entry again.
    """


@dataclass(frozen=True)
class Source:
    """Where a snapshot came from: the source kind and a URL or a file name"""

    kind: str
    url: str | None = None
    file: str | None = None

    def to_dict(self):
        return {"kind": self.kind, "url": self.url, "file": self.file}


@dataclass(frozen=True)
class Snapshot:
    """What one listing showed on one day, in order"""

    listing: str
    date: dt.date
    entries: tuple[Entry, ...]
    source: Source
    fetched_at: str | None = None
    # Added by fetch; written only when set, so files without them stay byte-identical.
    # published_nothing: the source answered for this day with an empty list (weekend,
    # holiday), as opposed to a day that is missing because its fetch failed.
    published_nothing: bool = False
    # window: (first, last) list day a re-observation snapshot covers (ARCHITECTURE.md:
    # "Re-observations"); None for a listing's own list of the day.
    window: tuple[dt.date, dt.date] | None = None
    # added: entry key -> the run day that stored it, for entries a fetch stored after the
    # list's own day (late additions, caught-up days): that run's edition announces them.
    added: dict = field(default_factory=dict, hash=False, compare=True)

    def to_dict(self):
        data = {
            "format": SNAPSHOT_FORMAT,
            "version": SNAPSHOT_VERSION,
            "listing": self.listing,
            "date": self.date.isoformat(),
            "fetched_at": self.fetched_at,
            "source": self.source.to_dict(),
            "entries": [e.to_dict() for e in self.entries],
        }
        if self.published_nothing:
            data["published_nothing"] = True
        if self.window:
            data["window"] = [d.isoformat() for d in self.window]
        if self.added:
            data["added"] = {key: day.isoformat() for key, day in sorted(self.added.items())}
        return data


class Observation(NamedTuple):
    """One sighting of a paper: a listing, a day, a rank and the upvotes then"""

    # A NamedTuple, not a dataclass: history makes one per entry of every snapshot
    # (55,000 for three years), and tuples are several times cheaper to build.
    day: dt.date
    listing: str
    rank: int
    upvotes: int | None


@dataclass(frozen=True, slots=True)
class Item:
    """A paper as the digest of one day shows it: the entry plus its identity"""

    key: str
    listing: str
    entry: Entry
    # A paper announced on a later day than its list's: the list's day, and why it is late
    # ("added": added to that list after an earlier fetch; "caught-up": the day was fetched late).
    list_day: dt.date | None = None
    late: str | None = None

    @property
    def id(self):
        return self.entry.id

    @property
    def late_label(self):
        """'Added to Thursday's list (…) since the last edition', or None for a paper of the day's own list"""
        if not self.late:
            return None
        weekday = f"{self.list_day:%A}'s list"
        if self.late == "caught-up":
            return f"From {weekday} ({self.list_day.isoformat()}), fetched late"
        return f"Added to {weekday} ({self.list_day.isoformat()}) since the last edition"

    def to_dict(self):
        e = self.entry
        return {
            "id": e.id,
            "key": self.key,
            "title": e.title,
            "listing": self.listing,
            "rank": e.rank,
            "upvotes": e.upvotes,
            "comments": e.comments,
            "authors": list(e.authors),
            "author_count": e.author_count,
            "organization": e.organization,
            "published": e.published,
            "summary": e.ai_summary,
            "links": {k: v for k, v in e.links.items() if v},
            **({"list_day": self.list_day.isoformat(), "late": self.late} if self.late else {}),
        }


@dataclass(frozen=True, slots=True)
class Trend:
    """A trending paper: the item, its score and the reasons behind it"""

    item: Item
    score: float
    reasons: tuple[str, ...]
    upvote_gain: int | None
    rank_climb: int | None
    days_seen: int

    def to_dict(self):
        return {
            **self.item.to_dict(),
            "score": self.score,
            "reasons": list(self.reasons),
            "upvote_gain": self.upvote_gain,
            "rank_climb": self.rank_climb,
            "days_seen": self.days_seen,
        }


@dataclass(frozen=True)
class Digest:
    """What is new, trending, returning, dropped and top on one day"""

    date: dt.date
    listings: tuple[str, ...]
    new: tuple[Item, ...]
    trending: tuple[Trend, ...]
    returning: tuple[Item, ...]
    dropped: tuple[Item, ...]
    top: tuple[Item, ...]
    papers_seen: int
    # Listings whose own list for the day was empty: the source published nothing (a
    # weekend, a holiday), while re-observations of earlier days may still show papers.
    quiet: tuple[str, ...] = ()

    def to_dict(self):
        return {
            "date": self.date.isoformat(),
            "listings": list(self.listings),
            "papers_seen": self.papers_seen,
            "quiet": list(self.quiet),
            "new": [i.to_dict() for i in self.new],
            "trending": [t.to_dict() for t in self.trending],
            "returning": [i.to_dict() for i in self.returning],
            "dropped": [i.to_dict() for i in self.dropped],
            "top": [i.to_dict() for i in self.top],
        }


def _out_of_range(name, value):
    try:
        check_count(name, value)
    except InputError as e:
        return str(e)
    return f"field {name!r} is out of range"


def _typed(data, name, kind):
    value = data.get(name)
    if value is None:
        return None
    if kind is int:
        least = 1 if name == "rank" else None
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"field {name!r} should be a whole number, not {value!r}")
        if least is not None:
            return check_count(name, value, RANK_MAX, least=1)
        return check_count(name, value, least=-COUNT_MAX)
    if not isinstance(value, kind):
        raise InputError(f"field {name!r} should be {kind.__name__}, not {type(value).__name__}")
    return value


def _string_list(data, name):
    value = data.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"field {name!r} should be a list of strings")
    return tuple(value)


def _iso_day(value):
    """YYYY-MM-DD from an ISO date or timestamp, None when absent or unreadable"""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None
