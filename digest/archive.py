"""The archive as the site shows it: papers, days, topics and page names (values only, no I/O)

`digest.incremental` computes an `Archive` from the store; `digest.render` turns it into
pages and feeds. Everything here is a value or a pure function of values.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple


class Paper(NamedTuple):
    """A paper as its page shows it: its latest entry and every observation"""

    # A NamedTuple: every build makes one per paper (38,000 on a 3-year history), and an
    # update that changes a hundred of them should not spend its time building the rest.
    key: str
    slug: str
    entry: object  # the Entry of its latest sighting
    observations: tuple  # Observation(day, listing, rank, upvotes), sorted

    @property
    def first_seen(self):
        return self.observations[0].day

    @property
    def last_seen(self):
        return self.observations[-1].day

    @property
    def peak_upvotes(self):
        ups = [o.upvotes for o in self.observations if o.upvotes is not None]
        return max(ups) if ups else None


class Known(NamedTuple):
    """A paper's latest entry as the last build remembered it: enough for lists and topics"""

    title: str
    keywords: tuple


class DayCount(NamedTuple):
    """How many new and trending papers a day had (the archive page lists every day's)"""

    new: int
    trending: int


@dataclass(frozen=True)
class Scope:
    """The pages a build makes contexts for; None means every page of that kind"""

    days: frozenset | None = None
    periods: frozenset | None = None  # "week/2026-W01", "month/2026-01"
    papers: frozenset | None = None  # paper keys
    topics: frozenset | None = None  # topic slugs

    def wants(self, kind, name):
        chosen = getattr(self, kind)
        return chosen is None or name in chosen


EVERYTHING = Scope()


@dataclass(frozen=True)
class Archive:
    """Everything the site shows, computed once from the store"""

    days: tuple  # every day with a snapshot, sorted
    digests: dict  # day -> Digest: every day on a full build, the recomputed days on an update
    seen: dict  # day -> tuple of paper keys seen that day, by (listing, rank)
    papers: dict  # key -> Paper (its entry is Known when an update did not load it)
    day_keys: dict = field(default_factory=dict)  # day -> fingerprint of every input its digest depends on
    counts: dict = field(default_factory=dict)  # day -> DayCount
    topics: dict = field(default_factory=dict)  # slug -> digest.topics.Topic, in slug order
    topic_index: dict = field(default_factory=dict)  # casefolded keyword -> the slug of its topic
    # spelling -> (its topic key, its acronym pair), of every keyword of the papers (topics.make_topics)
    spellings: dict = field(default_factory=dict)
    scope: Scope = EVERYTHING  # the pages whose inputs may have changed since the last build
    fetched: dict = field(default_factory=dict)  # day -> fetched_at stamps of its snapshots (days with a digest)
    # "week/2026-W01" -> its number of pages, as the last build made them (an update's periods out of scope)
    period_pages: dict = field(default_factory=dict)
    # "topic/<slug>.html" -> the layout of that page (render.pages.topic_layout) as the last
    # build made it: an update makes only the pages of a touched topic whose layout or papers changed
    topic_pages: dict = field(default_factory=dict)
    # day -> (its day key, the HTML of its daily feed item) as the last build rendered them: a
    # day whose key is the same has the same digest, so the same item (render.feeds)
    editions: dict = field(default_factory=dict)
    # Entries of old days are cut to what cards show (models.CardEntry); these read them whole
    # again for the pages that show more (paper -> Entry, Digest -> Digest). None: nothing is cut.
    full_entry: Callable | None = field(default=None, compare=False, repr=False)
    full_digest: Callable | None = field(default=None, compare=False, repr=False)

    def entry_of(self, paper):
        """The paper's whole latest entry: its abstract and every author (a paper's page, its feed item)"""
        return self.full_entry(paper) if self.full_entry else paper.entry

    def digest_of(self, day):
        """The whole Digest of `day`, every field of every entry (the day's JSON)"""
        digest = self.digests[day]
        return self.full_digest(digest) if self.full_digest else digest


@dataclass(frozen=True)
class BuildState:
    """What the last build remembers of its archive, saved in its build state (publish/state_db.py)

    Every day is keyed by the chained fingerprint of its inputs, so a day whose key is
    unchanged is known to have the same digest, papers seen and counts as last time.
    """

    days: dict  # day -> (key, seen keys, DayCount)
    papers: dict  # key -> Known, or the [title, keywords] list it is made from
    topics: dict  # casefolded keyword -> (slug, name) of its topic
    periods: dict = field(default_factory=dict)  # "week/2026-W01" or "month/2026-01" -> its number of pages
    topic_pages: dict = field(default_factory=dict)  # a topic page's path -> its layout (see Archive)
    editions: dict = field(default_factory=dict)  # day -> (day key, daily feed item HTML) (see Archive)
    spellings: dict = field(default_factory=dict)  # spelling -> (topic key, acronym pair) (see Archive)

    @classmethod
    def of(cls, archive, periods=None, topic_pages=None, editions=None):
        """The state to save after building `archive` (and the page count of each week and month,
        the layout of each topic page, and the daily feed's items)"""
        topics = {folded: (slug, archive.topics[slug].name) for folded, slug in archive.topic_index.items()}
        return cls(
            days={day: (archive.day_keys[day], archive.seen[day], archive.counts[day]) for day in archive.days},
            papers={
                key: p.entry if type(p.entry) is Known else Known(p.entry.title, tuple(p.entry.keywords))
                for key, p in archive.papers.items()
            },
            topics=topics,
            periods=periods or {},
            topic_pages=topic_pages or {},
            editions=editions or {},
            spellings=archive.spellings,
        )


_UNSAFE = re.compile(r"[^a-z0-9]+")


def slugify(text, most=60):
    """ascii-lower-dashed text for a file name; empty when nothing is left"""
    # ASCII is its own NFKD form: only other text is decomposed (most keywords and titles are ASCII).
    if text.isascii():
        folded = text.casefold()
    else:
        folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    return _UNSAFE.sub("-", folded).strip("-")[:most].strip("-")


def _short_hash(text):
    return hashlib.blake2b(text.encode("utf-8"), digest_size=4).hexdigest()


def paper_slug(key):
    """File name of a paper page: its arXiv id ('/' made safe), else a hash and its title"""
    if not key.startswith("title:"):
        return key.replace("/", "_")
    words = slugify(key[len("title:") :])
    return f"t-{_short_hash(key)}" + (f"-{words}" if words else "")


def iso_week(day):
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_of(day):
    return f"{day.year}-{day.month:02d}"
