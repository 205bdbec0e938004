"""The archive as the site shows it: papers, days, topics and page names (values only, no I/O)

`digest.incremental` computes an `Archive` from the store; `digest.render` turns it into
pages and feeds. Everything here is a value or a pure function of values.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple


class StaleState(Exception):
    """The last build's state cannot serve this update (a row that does not match, or one missing): build everything"""


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


class LazyPapers(Mapping):
    """key -> Paper of every paper in the history, each made when first asked for (an update)

    A paper seen on a day the update read has its entry from there (`latest`); any other has
    the title and keywords the last build kept (Known), read from its state row when first
    asked for: an update reads the rows of the papers its pages show, not the archive's.
    """

    def __init__(self, observations, slugs, latest, read):
        self.observations = observations  # key -> its observations (the history's)
        self.slugs = slugs  # key -> page name of every paper, in key order
        self._latest = latest  # key -> latest entry of the papers whose day was read
        self._read = read  # keys -> {key: [title, keywords]} of the rows found
        self._made = {}

    def __getitem__(self, key):
        paper = self._made.get(key)
        if paper is None:
            self.want((key,))
            paper = self._made[key]
        return paper

    def want(self, keys):
        """Make the Papers of `keys` now, the rows of those whose day was not read in one go"""
        missing = [key for key in keys if key not in self._made]
        if not missing:
            return
        unknown = [key for key in missing if key not in self.slugs]
        if unknown:
            raise KeyError(unknown[0])
        unread = [key for key in missing if key not in self._latest]
        rows = self._read(unread) if unread else {}
        make = tuple.__new__  # as _make_papers: no Python-level __new__ per paper
        for key in missing:
            entry = self._latest.get(key)
            if entry is None:
                row = rows.get(key)
                if not isinstance(row, list) or len(row) != 2:
                    raise StaleState(f"the build state does not know the paper {key}")
                entry = make(Known, (row[0], tuple(row[1])))
            self._made[key] = make(Paper, (key, self.slugs[key], entry, self.observations[key]))

    def __contains__(self, key):
        return key in self.slugs

    def __iter__(self):
        return iter(self.slugs)

    def __len__(self):
        return len(self.slugs)


def want_papers(papers, keys):
    """Make the Papers of `keys` at once where they are made on demand (LazyPapers): one read, not one per paper"""
    if isinstance(papers, LazyPapers):
        papers.want(keys)


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
    papers: Mapping  # key -> Paper: a dict on a full build, LazyPapers on an update
    day_keys: dict = field(default_factory=dict)  # day -> fingerprint of every input its digest depends on
    counts: dict = field(default_factory=dict)  # day -> DayCount
    # slug -> digest.topics.Topic of every topic kept, in slug order (an update: of its scope's topics)
    topics: dict = field(default_factory=dict)
    # casefolded keyword -> the slug of its topic, when kept (an update: the keywords of the papers it read)
    topic_index: dict = field(default_factory=dict)
    topic_list: dict = field(default_factory=dict)  # slug -> (name, number of papers) of every topic kept
    book: object = None  # the digest.topics.TopicBook of the topics: its rows go in the build state
    # key -> [title, keywords] of the papers an update changed (None: gone), saved in the build
    # state; None on a full build (every paper's row is saved)
    paper_rows: dict | None = None
    scope: Scope = EVERYTHING  # the pages whose inputs may have changed since the last build
    last_days: tuple = ()  # an update's: the days of the last build
    gone: frozenset = frozenset()  # an update's: the keys of the papers the last build had and this one has not
    fetched: dict = field(default_factory=dict)  # day -> fetched_at stamps of its snapshots (days with a digest)
    # "week/2026-W01" -> its number of pages, as the last build made them (an update's periods out of scope)
    period_pages: dict = field(default_factory=dict)
    # "topic/<slug>.html" -> the layout of that page (render.topic_pages.topic_layout) as the last build
    # made it, for the topics of an update's scope: it makes only the pages whose layout or papers changed
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

    def paper_days(self):
        """(page name, first day seen, last day seen) of every paper, in key order, without making Papers"""
        papers = self.papers
        if isinstance(papers, LazyPapers):
            first, last = papers.observations.first, papers.observations.last
            return [(slug, first[key], last[key]) for key, slug in papers.slugs.items()]
        return [(p.slug, p.observations[0].day, p.observations[-1].day) for p in papers.values()]


@dataclass(frozen=True)
class BuildState:
    """What a build remembers of its archive, saved in its build state (publish/state_db.py)

    Every day is keyed by the chained fingerprint of its inputs, so a day whose key is
    unchanged is known to have the same digest, papers seen and counts as last time. The
    small parts are read whole; the keyed ones (papers, topics, topic page layouts) are read
    by key (`read`) and saved as the rows a build changed (`rows`).
    """

    days: dict  # day -> (key, seen keys, DayCount)
    periods: dict = field(default_factory=dict)  # "week/2026-W01" or "month/2026-01" -> its number of pages
    editions: dict = field(default_factory=dict)  # day -> (day key, daily feed item HTML) (see Archive)
    # table -> key -> value of the keyed tables this build saves (None: the row is gone):
    # papers (key -> [title, keywords]), the TopicBook's tables and topic_pages (slug -> {path: layout})
    rows: dict = field(default_factory=dict)
    whole: bool = True  # `rows` are every row (a full build), not the ones an update changed
    # read(table, keys) -> {key: value} of the last build's keyed rows, each checked (StaleState if one does not match)
    read: Callable | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, archive, periods=None, topic_pages=None, editions=None):
        """The state to save after building `archive`, with the page count of each week and
        month, the layout of each topic page made (path -> layout) and the daily feed's items

        A full build's papers and topics are not in it: they are saved early (staged_rows).
        """
        layouts = {}
        for path, layout in (topic_pages or {}).items():
            slug = path.removeprefix("topic/").partition("/")[0].removesuffix(".html")
            layouts.setdefault(slug, {})[path] = layout
        whole = archive.paper_rows is None
        if whole:
            rows = {}
        else:
            rows = {"papers": archive.paper_rows, **archive.book.changed_rows()}
            # The topics of the scope: their layouts now, or none (no longer a topic).
            layouts = {slug: layouts.get(slug) for slug in archive.scope.topics or ()}
        return cls(
            days={day: (archive.day_keys[day], archive.seen[day], archive.counts[day]) for day in archive.days},
            periods=periods or {},
            editions=editions or {},
            rows={**rows, "topic_pages": layouts},
            whole=whole,
        )

    @staticmethod
    def staged_rows(archive):
        """table -> (key, value) pairs of every paper's and topic's row of a full build's archive:
        saved before its pages render (publish/state_db.py: StateDB.stage), made as they are saved"""
        papers = ((key, [p.entry.title, list(p.entry.keywords)]) for key, p in archive.papers.items())
        return {"papers": papers, **archive.book.every_row()}


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
