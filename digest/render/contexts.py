"""Typed page contexts: one frozen dataclass per page kind, every field with its help text

A template gets one object, `page`, and reads only its documented fields and methods
(tests/test_contexts.py checks both ways, as datasette does). A field's help text is its
`metadata["help"]`; a method or property is documented by its docstring.

The classes are plain frozen dataclasses (no slots, no validation): a full build makes
40,000 of them. Without slots an instance has a __dict__, where `functools.cached_property`
keeps what PaperPage derives on first use (it writes __dict__ directly, never setattr, so
frozen does not stop it).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from markupsafe import Markup

from digest.archive import Paper
from digest.models import Digest, Entry
from digest.render import make_env
from digest.render.chart import paper_chart
from digest.render.presentation import (
    byline,
    entry_links,
    listing_label,
    listing_labels,
    pager,
    short_summary,
    topic_rows,
)
from digest.topics import Topic


def about(text, **kwargs):
    """A dataclass field with its help text (the one convention for every context field)"""
    return field(metadata={"help": text}, **kwargs)


@dataclass(frozen=True)
class SiteInfo:
    """What every page knows about the site: its name, base URL, feeds and subscribe link"""

    title: str = about("the site's title ([site] title, else the digest's)")
    base_url: str = about("absolute URL of the site root, ending in '/'")
    subscribe_url: str | None = about("where readers subscribe by email, or None")
    feeds: tuple = about("(label, path, mime type) of every feed")
    search: bool = about("whether the site has a search page")
    listing_names: tuple = about("(internal name, name for readers) pairs from [site] listing_names", default=())
    topics_min_papers: int = about("a topic is on the topics index from this many papers", default=5)
    max_authors: int = about('[digest] max_authors: names in a byline before "and N more"', default=3)
    summary_sentences: int = about(
        "[digest] summary_sentences: of the abstract, when there is no AI summary", default=2
    )

    def listing(self, name):
        """A listing's name for readers ('hf-daily' -> 'Hugging Face Daily Papers')"""
        return listing_label(name, dict(self.listing_names))

    def listings(self, names):
        """Listings' names for readers, joined with commas, each name once"""
        return listing_labels(names, dict(self.listing_names))


@dataclass(frozen=True)
class Chrome:
    """What a page's head links, masthead and footer read (Page.fragment): the same on every
    page of one folder depth and kind, so each is rendered once a build, not once a page"""

    prefix: str = about("the relative prefix to the site root ('' or '../'); the base URL on the 404 page")
    kind: str = about("the page's kind: its navigation link is marked as the current page")
    site: SiteInfo = about("the site's settings")

    def url(self, target):
        """Link from the page to a site path ('' is the home page)"""
        return (self.prefix + target) if target else (self.prefix or "./")


@functools.lru_cache(maxsize=256)
def _fragment(name, chrome):
    # A fragment ends its file with a newline; the page's own line after the call has one too.
    return Markup(make_env("html").get_template(name).render(page=chrome).removesuffix("\n"))


class Card(NamedTuple):
    """A paper in a list: its page, the entry as listed that day, and why it is listed"""

    # A NamedTuple: a big archive makes 120,000 of them, and tuples are cheap to build.
    paper: Paper
    entry: Entry
    reasons: tuple = ()
    late: str | None = None  # Item.late_label: a paper announced after its list's day


@dataclass(frozen=True, eq=False)
class Page:
    """One output file: its path, its template and what every page's template reads"""

    path: str = about("the output file, relative to the site root, '/'-separated")
    template: str = about("the template that renders this page")
    title: str = about("the page's title (also its og:title)")
    blurb: str | None = about("the meta description (read as `description`); PaperPage derives its own")
    site: SiteInfo = about("the site's settings every page shows (SiteInfo)")
    kind: str = about(
        "the kind of page: home, day, week, month, paper, archive, topics, topic, search, 404", default="page"
    )
    sitemap: bool = about("listed in the sitemap (all but the 404 page)", default=True)
    inputs: str | Callable[[], str] | None = about(
        "the page's inputs as a string (or a function that makes it, called once, when the page is"
        " written: in a render worker), or None: the writer skips rendering when they match the last build's",
        default=None,
    )

    @property
    def description(self):
        """The meta description"""
        return self.blurb

    def fingerprint(self):
        """A string that changes whenever this page's output may change, or None (always render)

        Pages whose inputs are cheap to name get one; the writer skips rendering a page whose
        fingerprint (with the build's code, templates and settings) matches the last build's.
        """
        return self.inputs() if callable(self.inputs) else self.inputs

    @property
    def root(self):
        """Relative prefix from this page to the site root ('' or '../')"""
        return "../" * self.path.count("/")

    def url(self, target):
        """Relative link from this page to a site path ('' is the home page)

        The 404 page is served at whatever path was asked for, so its links are absolute.
        """
        if self.kind == "404":
            return self.site.base_url + target
        return (self.root + target) if target else (self.root or "./")

    def fragment(self, name):
        """A part of every page that reads only Chrome (the head links, the masthead, the
        footer), rendered once a build for each folder depth and kind: 40,000 pages made it
        a fifth of their rendering time"""
        return _fragment(name, Chrome(self.site.base_url if self.kind == "404" else self.root, self.kind, self.site))

    @property
    def canonical(self):
        """The page's absolute URL"""
        return self.site.base_url + ("" if self.path == "index.html" else self.path)

    def paper_url(self, paper):
        """Relative link to a paper's page"""
        return self.url(f"paper/{paper.slug}.html")

    def links(self, entry):
        """External links of an entry, each checked again: only http(s) reaches a page"""
        return entry_links(entry)

    def byline(self, entry):
        """The parts of an entry's byline, with [digest] max_authors names"""
        return byline(entry, self.site.max_authors)

    def summary(self, entry):
        """An entry's short summary, of [digest] summary_sentences"""
        return short_summary(entry, self.site.summary_sentences)


@dataclass(frozen=True, eq=False, kw_only=True)
class DigestPage(Page):
    """A day's digest as cards (the home page and every day page: site/_digest.html)"""

    day: dt.date = about("the day")
    digest: Digest = about("the day's Digest (counts, listings, quiet listings)")
    new: tuple = about("Cards of the day's new papers")
    trending: tuple = about("Cards of the trending papers, with their reasons")
    top: tuple = about("Cards of the day's most upvoted papers")
    returning: tuple = about("Cards of the papers back on the list")
    week: str = about("the day's ISO week ('2026-W34'), for the link to its rollup")
    month: str = about("the day's month ('2026-08'), for the link to its rollup")


@dataclass(frozen=True, eq=False, kw_only=True)
class HomePage(DigestPage):
    """The home page: the latest day's digest and the archive's size"""

    day_count: int = about("days in the archive")
    paper_count: int = about("papers in the archive")


@dataclass(frozen=True, eq=False, kw_only=True)
class DayPage(DigestPage):
    """A day's page: its digest and the days before and after"""

    prev: dt.date | None = about("the day before with a digest, or None")
    next: dt.date | None = about("the day after with a digest, or None")


@dataclass(frozen=True, eq=False, kw_only=True)
class RollupPage(Page):
    """One page of a week or a month (kind 'week' or 'month'): cards on the first, then a compact list"""

    label: str = about("the period's name for readers ('Week 34 of 2026 (17 Aug 2026 – 23 Aug 2026)')")
    prev: tuple | None = about("(name, label) of the period before, or None")
    next: tuple | None = about("(name, label) of the period after, or None")
    days: tuple = about("the period's days with a digest")
    day_counts: tuple = about("(day, its counts of new and trending) of every day of the period")
    top: tuple = about("Cards of the most upvoted papers, each with its peak as the reason")
    gainers: tuple = about("Cards of the papers that gained most, each with its gain as the reason")
    peaks: dict = about("paper key -> its highest upvote count in the period")
    firsts: dict = about("paper key -> the day it was first seen in the period")
    seen: int = about("papers seen in the period")
    new: int = about("of them, papers first seen in the period")
    rest: tuple = about("the Papers of this page's compact list")
    rest_total: int = about("papers in the compact list over every page")
    number: int = about("this page's number, from 1")
    first: int = about("the place of this page's first paper in the compact list, from 1")
    pages: tuple = about("the paths of every page of the period, in order")

    @property
    def page_links(self):
        """The page navigation's links: (number, path, label) or None for a gap (presentation.pager)"""
        return pager(self.pages, self.number)


@dataclass(frozen=True, eq=False, kw_only=True)
class PaperPage(Page):
    """A paper's page: its description, chart and topic links are derived on first use

    They are computed when the page renders (in a worker process), so 30,000 paper
    contexts stay small and quick to make.
    """

    paper: Paper = about("the Paper: its latest entry (maybe cut to a card) and every observation")
    topic_index: dict = about("keyword (casefolded) -> topic slug, for the keyword links")
    entry_of: Callable = about("Archive.entry_of: reads the paper's whole latest entry when the page renders")
    day_key: str | None = about("the key of the paper's last day: names the whole entry a cut one stands for")

    # entry and chart are not cached: a worker renders thousands of pages, and keeping each
    # one's whole entry and chart would hold every abstract again (a third of its memory).
    @property
    def entry(self):
        """The paper's whole latest entry: its abstract and every author (read again if it was cut)"""
        return self.entry_of(self.paper)

    @functools.cached_property
    def description(self):
        """The paper's short summary, else its title"""
        entry = self.paper.entry
        return short_summary(entry, self.site.summary_sentences) or entry.title

    @property
    def chart(self):
        """The SVG coordinates of its upvotes and ranks, or None when it was seen once"""
        return paper_chart(self.paper.observations)

    def fingerprint(self):
        """The paper's entry, observations, topic links and its last day's key"""
        paper = self.paper
        # The entry may be cut to a card (CardEntry): the key of its last day names the rest.
        return repr((paper.key, paper.slug, paper.entry, paper.observations, self.topics, self.day_key))

    @functools.cached_property
    def topics(self):
        """(keyword, its topic's slug or None) of each of the paper's keywords"""
        index = self.topic_index
        return tuple((k, index.get(k.casefold())) for k in self.paper.entry.keywords)


@dataclass(frozen=True, eq=False, kw_only=True)
class ArchivePage(Page):
    """The archive: every month, week and day"""

    years: tuple = about("(year, its days newest first), newest year first")
    counts: dict = about("day -> its counts of new and trending papers")
    weeks: tuple = about("(name, label) of every week, newest first")
    months: tuple = about("(name, label) of every month, newest first")


def fingerprint_of(inputs):
    """A short digest of a page's inputs (their repr): what the writer compares with the last build's

    Kept as a digest, not as the repr: a week's inputs include its cards' whole entries, and
    the reprs of every page's inputs would be a third of a full build's memory.
    """
    return text_digest(repr(inputs))


def text_digest(text):
    """The 16-byte BLAKE2 of a page's inputs as text, in hex: every fingerprint and layout"""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


class TopicEntry(NamedTuple):
    """A topic as the topics index lists it: its page name, name and number of papers"""

    slug: str
    name: str
    paper_count: int


@dataclass(frozen=True, eq=False, kw_only=True)
class TopicsPage(Page):
    """The topics index: the most popular topics, then every listed topic by letter"""

    popular: tuple = about("the TopicEntries with the most papers, most first")
    letters: tuple = about("(letter, its TopicEntries) of every listed topic, A to Z")
    least: int = about("a topic is listed from this many papers")
    count: int = about("topics listed")
    total: int = about("topics in the archive, listed or not")


@dataclass(frozen=True, eq=False, kw_only=True)
class TopicPage(Page):
    """One page of a topic's papers: a hundred by the day they were first seen, newest first"""

    topic: Topic = about("the Topic: its name and aliases")
    papers: tuple = about("the Papers of this page, newest first")
    total: int | None = about("papers on the topic over every page; on the newest page only")
    number: int = about("this page's number, from 1, counted from the oldest page (the newest is the topic's own page)")
    first: int = about("the place of this page's oldest paper among the topic's, oldest first, from 1")
    pages: tuple = about("the paths of every page of the topic, oldest first (the last is the topic's own page)")

    @property
    def page_links(self):
        """The page navigation's links: (number, path, label) or None for a gap; the newest
        page's label is "Newest" (presentation.pager)"""
        return pager(self.pages, self.number, last="Newest")

    @property
    def rows(self):
        """What the page shows of each paper, newest first: (page name, title, last day seen
        as YYYY-MM-DD, that day as shown, peak upvotes as shown or None); made when the page
        renders (a topic page lists a hundred; 2,900 pages at 3 years)"""
        return topic_rows(self.papers)


@dataclass(frozen=True, eq=False)
class SearchPage(Page):
    """The search page: pagefind's UI over the monthly shards (no fields of its own)"""


@dataclass(frozen=True, eq=False)
class NotFoundPage(Page):
    """The 404 page, served at any missing path: its links are absolute (no fields of its own)"""


class FeedCard(NamedTuple):
    """A paper in a daily feed item, as the feed template shows it"""

    title: str
    url: str
    byline: tuple
    reasons: tuple
    summary: str
    links: tuple


@dataclass(frozen=True)
class DayFeedItem:
    """The content of a daily feed item (site/_feed_day.html): the edition as cards"""

    digest: Digest = about("the day's Digest")
    new: tuple = about("FeedCards of the new papers")
    trending: tuple = about("FeedCards of the trending papers")
    url: str = about("the absolute URL of the day's page")
    listings: str = about("the day's listings' names for readers, joined with commas")


@dataclass(frozen=True)
class PaperFeedItem:
    """The content of a paper feed item (site/_feed_paper.html)"""

    entry: Entry = about("the paper's entry as first listed")
    byline: tuple = about("the parts of its byline")
    links: tuple = about("(label, url) of its external links")
    day: str = about("the day it was new, as a short date")
    listing: str = about("the listing's name for readers")
