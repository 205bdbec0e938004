"""The static site: every page's context computed first, then rendered and written once

Two phases (Pelican's): `collect_archive` reads the history once and each snapshot file
once and computes every day's Digest; `site_pages` turns that into page contexts; the
writer renders them, refuses to write one path twice, and writes only files whose bytes
changed (a manifest in the output folder remembers what the last build wrote).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import hashlib
import http.server
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import escape as xml_escape

import orjson

from digest.diff import make_digest
from digest.errors import DigestError, NoDataError, SiteError, StoreError
from digest.history import load_history
from digest.pipeline import with_details
from digest.render import make_env, templates_dir
from digest.render.markdown import LINK_LABELS
from digest.render.text import byline, long_date, plural, short_summary
from digest.render.text import short_date as _uncached_short_date
from digest.models import SNAPSHOT_FORMAT, SNAPSHOT_VERSION, Entry, Snapshot, Source, check_listing
from digest.store import Store, write_atomic
from digest.text import safe_url

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

# A site has a few thousand distinct days; formatting each once saves a second on a big build.
short_date = functools.lru_cache(maxsize=None)(_uncached_short_date)

MANIFEST = ".digest-build.json"
MANIFEST_VERSION = 3
STATIC = ("style.css", "favicon.svg")
ROLLUP_GAINERS = 20
TOPIC_MIN_PAPERS = 2
TOPIC_MAX_LISTED = 200


# ---------------------------------------------------------------------------------------
# Phase 1: the archive, read once


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
    topics: frozenset | None = None  # casefolded keywords

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
    topics: dict = field(default_factory=dict)  # casefolded keyword -> (slug, shown name, paper keys)
    scope: Scope = EVERYTHING  # the pages whose inputs may have changed since the last build


@dataclass(frozen=True)
class BuildState:
    """What the last build remembers of its archive, saved in its manifest

    Every day is keyed by the chained fingerprint of its inputs, so a day whose key is
    unchanged is known to have the same digest, papers seen and counts as last time.
    """

    days: dict  # day -> (key, seen keys, DayCount)
    papers: dict  # key -> Known, or the [title, keywords] list it is made from
    topics: dict  # casefolded keyword -> (slug, name)

    @classmethod
    def from_json(cls, data):
        """The state saved by the last build; ValueError when it is not well-formed"""
        try:
            days = {dt.date.fromisoformat(day): (key, tuple(seen), DayCount(int(new), int(trending)))
                    for day, (key, seen, new, trending) in data["days"].items()}
            papers = data["papers"]
            # Checked, not rebuilt: Known tuples are made from these lists when papers are.
            if not all(type(v) is list and len(v) == 2 and type(v[1]) is list for v in papers.values()):
                raise ValueError("papers")
            topics = {folded: (slug, name) for folded, (slug, name) in data["topics"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ValueError(f"damaged build state ({e})") from None
        return cls(days=days, papers=papers, topics=topics)

    @classmethod
    def of(cls, archive):
        """The state to save after building `archive`"""
        topics = {folded: (slug, name) for folded, (slug, name, _) in archive.topics.items()}
        return cls(days={day: (archive.day_keys[day], archive.seen[day], archive.counts[day])
                         for day in archive.days},
                   papers={key: p.entry if type(p.entry) is Known else Known(p.entry.title, tuple(p.entry.keywords))
                           for key, p in archive.papers.items()},
                   topics=topics)

    def to_json(self):
        return {"days": {day.isoformat(): [key, list(seen), count.new, count.trending]
                         for day, (key, seen, count) in self.days.items()},
                "papers": self.papers,  # Known tuples: _json_default writes them as lists
                "topics": {folded: list(v) for folded, v in self.topics.items()}}


class _Stale(Exception):
    """The last build's state cannot be used for this update: build everything"""


def collect_archive(config, store=None, state=None):
    """Read the history and the snapshots and compute each day's Digest

    With the last build's `state`, only the days whose inputs changed (and the recent days
    the feeds show) are read and computed; the rest comes from the state. When the state
    cannot serve (every day changed, a paper it does not know), everything is computed.
    """
    store = store or Store(config.data_dir)
    history = load_history(store)
    days = history.days()
    if not days:
        raise NoDataError(f"no snapshots in {store.snapshots} yet: run 'digest import' or 'digest fetch' first")
    files_by_day = defaultdict(list)
    for _, day, path in store.files():
        files_by_day[day].append(path)
    stamps = _stamp_files(store, files_by_day)
    day_keys = _day_keys(days, files_by_day, stamps, history, config)
    if state is not None:
        try:
            return _update_archive(store, history, config, files_by_day, day_keys, state)
        except _Stale:
            pass
    digests, seen, latest = _compute_days(store, history, config, days, files_by_day, {}, _Lists(store))
    counts = {day: DayCount(len(d.new), len(d.trending)) for day, d in digests.items()}
    papers = _make_papers(history, latest)
    return Archive(days=tuple(days), digests=digests, seen=seen, papers=papers, day_keys=day_keys,
                   counts=counts, topics=_topics(papers))


HASHES_FILE = Path(".cache") / "snapshot-hashes.json"


def _stamp_files(store, files_by_day):
    """snapshot path -> [size, mtime_ns, content hash], hashing only files whose size or mtime changed

    The hashes are kept beside the history index (<data-dir>/.cache/), not in the site's
    manifest: mtimes differ between two copies of the same data, and manifests should not.
    """
    path = store.root / HASHES_FILE
    try:
        old = orjson.loads(path.read_bytes())
        old = old if isinstance(old, dict) else {}
    except (OSError, orjson.JSONDecodeError):
        old = {}
    stamps = {}
    for paths in files_by_day.values():
        for snapshot in paths:
            rel = f"{snapshot.parent.name}/{snapshot.name}"
            try:
                stat = snapshot.stat()
                cached = old.get(rel)
                if isinstance(cached, list) and len(cached) == 3 and cached[:2] == [stat.st_size, stat.st_mtime_ns]:
                    stamps[rel] = cached
                    continue
                raw = snapshot.read_bytes()
            except OSError as e:
                raise StoreError(f"{snapshot}: cannot read ({e.strerror})") from None
            stamps[rel] = [stat.st_size, stat.st_mtime_ns, hashlib.blake2b(raw, digest_size=16).hexdigest()]
    if stamps != old:
        try:
            write_atomic(path, orjson.dumps(stamps, option=orjson.OPT_SORT_KEYS))
        except OSError:
            pass  # only saves time: a read-only data folder builds all the same
    return stamps


def _day_keys(days, files_by_day, stamps, history, config):
    """day -> a chained hash of the snapshots up to that day, the aliases that apply and the settings"""
    # A day's digest depends on the snapshots up to that day, the aliases of id-less titles
    # and the settings, nothing later: a chained hash of those lets a rebuild skip unchanged days.
    aliases = sorted((key, history.aliases[key]) for key in history.keyless if key in history.aliases)
    chain = hashlib.blake2b(repr((aliases, config.trending, config.digest)).encode(), digest_size=16)
    keys = {}
    for day in days:
        for path in files_by_day[day]:
            rel = f"{path.parent.name}/{path.name}"
            # Content, not mtimes: two builds of the same data write the same manifest too.
            chain.update(f"{rel}:{stamps[rel][2]};".encode())
        keys[day] = chain.hexdigest()
    return keys


class _Lists:
    """Stored snapshots read through load_snapshot, the recent ones kept for re-observations

    A re-observation keeps only what moves; its papers' details come from the lists of its
    window, exactly as pipeline.with_details gives them to `digest diff`, so a full build,
    an update and the command line agree. Each list is read once while it is recent.
    """

    KEEP = 64  # lists kept: several windows' worth (window_days is 7 by default)

    def __init__(self, store):
        self.store = store
        self.kept = {}

    def load(self, path):
        """The snapshot at path, a re-observation completed from its window's lists"""
        return with_details(self.store, load_snapshot(self.store, path), load=self._list)

    def _list(self, listing, day):
        key = (listing, day)
        if key not in self.kept:
            path = self.store.path(listing, day)
            self.kept[key] = load_snapshot(self.store, path) if path.exists() else None
            if len(self.kept) > self.KEEP:
                del self.kept[next(iter(self.kept))]  # the oldest read
        return self.kept[key]


def _compute_days(store, history, config, days, files_by_day, previous, lists):
    """Digests, papers seen and latest entries of `days`, in order

    previous: listing -> its snapshot before the first day (updated in place); lists: the
    _Lists that reads the snapshots and completes re-observations.
    """
    digests, seen, latest = {}, {}, {}
    for day in days:
        today = {}
        for path in files_by_day[day]:
            snapshot = lists.load(path)
            today[snapshot.listing] = snapshot
        before = {listing: previous.get(listing) for listing in today}
        digests[day] = make_digest(day, history, today, before, config.trending, config.digest.top_items)
        seen[day] = _latest_entries(day, today, history, latest)
        previous.update(today)
    return digests, seen, latest


def _latest_entries(day, today, history, latest):
    """Record each paper's entry of `day` in `latest` (the best-ranked one); the keys seen, in order"""
    keys = []
    for listing in sorted(today):
        for entry in today[listing].entries:
            key = history.key_of(entry)
            if key not in latest or latest[key][0] < day or latest[key][1].rank > entry.rank:
                latest[key] = (day, entry)
            keys.append(key)
    return tuple(dict.fromkeys(keys))


def _make_papers(history, latest, known=None):
    """key -> Paper for every paper in the history, in key order; a page name is never shared"""
    keys = sorted(history.observations)
    slugs = dict(zip(map(paper_slug, keys), keys))
    if len(slugs) < len(keys):
        _shared_slug(keys)
    known = known or {}
    observations = history.observations
    # tuple.__new__ skips the Python-level __new__ of a NamedTuple: 38,000 papers on every build.
    make = tuple.__new__
    return {key: make(Paper, (key, slug, latest[key][1] if key in latest else make(Known, known[key]),
                              observations[key]))
            for slug, key in slugs.items()}


def _shared_slug(keys):
    """Raise the SiteError that names two papers with the same page name"""
    slugs = {}
    for key in keys:
        slug = paper_slug(key)
        if slug in slugs:
            raise SiteError(f"two papers share the page name {slug!r}: {slugs[slug]!r} and {key!r}")
        slugs[slug] = key


def _update_archive(store, history, config, files_by_day, day_keys, state):
    """The archive computed from the last build's state and the days whose inputs changed"""
    days = tuple(history.days())
    first = next((n for n, day in enumerate(days)
                  if day not in state.days or state.days[day][0] != day_keys[day]), len(days))
    # From the day before the first change: it gains a "next" link when a day is added.
    changed = days[max(first - 1, 0):]
    # The feeds show the latest days, changed or not: their digests are computed again too.
    start = min(first - 1, _feed_start(days, state, first, config.site.feed_items))
    if start < 1:
        raise _Stale("every day changed")
    fresh = days[start:]
    lists = _Lists(store)
    previous = _previous_snapshots(lists, files_by_day, fresh[0])
    digests, seen_now, latest = _compute_days(store, history, config, fresh, files_by_day, previous, lists)
    seen = {day: state.days[day][1] for day in days[:start]} | seen_now
    counts = {day: state.days[day][2] for day in days[:start]}
    counts |= {day: DayCount(len(d.new), len(d.trending)) for day, d in digests.items()}
    # Papers seen on a changed day, before or now: only their pages, weeks and topics can change.
    seen_before = {key for day, (_, keys, _) in state.days.items() if day >= changed[0] for key in keys}
    touched = ({key for day in changed for key in seen[day]} | seen_before) & history.observations.keys()
    known = {key: state.papers[key] for key in history.observations if key not in latest and key in state.papers}
    if len(known) + len(latest) != len(history.observations):
        raise _Stale("a paper the last build did not know")
    _load_latest(lists, history, files_by_day, touched - latest.keys(), latest)
    papers = _make_papers(history, latest, known)
    index = _keyword_index(papers)
    topics = _topics(papers, index)
    # A keyword that became (or stopped being) a topic, or whose topic was renamed, changes
    # the pages of every paper that has it.
    retopic = {f for f in topics.keys() | state.topics.keys()
               if (topics[f][:2] if f in topics else None) != state.topics.get(f)}
    touched |= {key for f in retopic for key in index[1].get(f, ())}
    if touched - latest.keys():
        _load_latest(lists, history, files_by_day, touched - latest.keys(), latest)
        papers = _make_papers(history, latest, known)  # the same keywords (Known kept them): same topics
    keywords = {k.casefold() for key in touched for k in papers[key].entry.keywords}
    # Before too: a paper gone with a deleted day leaves its topics.
    keywords |= {k.casefold() for key in touched | seen_before if key in state.papers
                 for k in state.papers[key][1]}
    scope = Scope(days=frozenset(changed),
                  periods=frozenset(_changed_periods(days, tuple(state.days), changed[0], touched, history)),
                  papers=frozenset(touched), topics=frozenset((keywords | retopic) & topics.keys()))
    return Archive(days=days, digests=digests, seen=seen, papers=papers, day_keys=day_keys, counts=counts,
                   topics=topics, scope=scope)


def _previous_snapshots(lists, files_by_day, day):
    """listing -> its latest snapshot before `day` (what the first recomputed day is compared with)"""
    previous = {}
    for listing_days in _days_by_folder(files_by_day).values():
        earlier = [path for d, path in listing_days if d < day]
        if earlier:
            snapshot = lists.load(earlier[-1])
            previous[snapshot.listing] = snapshot
    return previous


def _feed_start(days, state, first, most):
    """Index of the first day the feeds show: the last `most` days, and enough days for `most` new papers"""
    new = 0
    for n in range(len(days) - 1, -1, -1):
        # A day from `first` on may have changed: count it as none, which only reads more days.
        new += state.days[days[n]][2].new if n < first else 0
        if new >= most:
            return min(n, max(len(days) - most, 0))
    return 0


def _days_by_folder(files_by_day):
    folders = defaultdict(list)
    for day in sorted(files_by_day):
        for path in files_by_day[day]:
            folders[path.parent.name].append((day, path))
    return folders


def _load_latest(lists, history, files_by_day, keys, latest):
    """Add to `latest` the entry of each paper's last sighting, reading only the days those were on"""
    wanted = defaultdict(set)
    for key in keys:
        wanted[history.observations[key][-1].day].add(key)
    for day, found in sorted(wanted.items()):
        today = {}
        for path in files_by_day[day]:
            snapshot = lists.load(path)
            today[snapshot.listing] = snapshot
        entries = {}
        _latest_entries(day, today, history, entries)
        latest.update((key, entries[key]) for key in found)


def _changed_periods(days, old_days, since, papers, history):
    """Weeks and months that may show something new: those of changed days, those where a
    changed paper was seen, and those whose previous or next period changed"""
    names = set()
    for kind, name_of in (("week", iso_week), ("month", month_of)):
        now = sorted({name_of(d) for d in days})
        before = sorted({name_of(d) for d in old_days})
        names |= {f"{kind}/{name_of(d)}" for d in days if d >= since}
        names |= {f"{kind}/{name_of(d)}" for d in old_days if d >= since}
        names |= {f"{kind}/{name_of(o.day)}" for key in papers for o in history.observations[key]}
        names |= {f"{kind}/{name}" for name in now if _neighbours(now, name) != _neighbours(before, name)}
    return names


def _neighbours(names, name):
    if name not in names:
        return None
    n = names.index(name)
    return (names[n - 1] if n else None, names[n + 1] if n + 1 < len(names) else None)


_ENTRY_TEXT = ("title", "id", "abstract", "organization", "published", "ai_summary")


def load_snapshot(store, path, raw=None):
    """A stored snapshot, read fast: files were validated and cleaned when they were stored

    Rebuilding 55,000 entries through make_entry (which cleans every text field again) is
    most of a big build's reading time. Stored files come from Store.save, so they are read
    with orjson and checked for shape and types only; a file that does not match goes through
    the full validation, which names what is wrong. Rendering checks links again either way.
    """
    try:
        data = orjson.loads(path.read_bytes() if raw is None else raw)
        entries = tuple(_stored_entry(e) for e in data["entries"])
        if data.get("format") != SNAPSHOT_FORMAT or data.get("version") != SNAPSHOT_VERSION:
            raise ValueError("not a current snapshot")
        window = data.get("window")
        return Snapshot(listing=check_listing(data["listing"]), date=dt.date.fromisoformat(data["date"]),
                        entries=entries, source=Source(kind=None), fetched_at=None,
                        published_nothing=data.get("published_nothing") is True,
                        window=tuple(dt.date.fromisoformat(d) for d in window) if window else None)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, DigestError):
        return store.load_path(path)


def _stored_entry(e):
    for name in _ENTRY_TEXT:
        value = e[name]
        if value is not None and (type(value) is not str or _CONTROL.search(value)):
            raise ValueError(name)
    for name in ("rank", "upvotes", "comments", "author_count", "github_stars"):
        if e[name] is not None and type(e[name]) is not int:
            raise ValueError(name)
    if not e["title"] or type(e["links"]) is not dict:
        raise ValueError("title")
    authors, keywords = tuple(e["authors"]), tuple(e["keywords"])
    if not all(type(a) is str for a in authors + keywords):
        raise ValueError("authors")
    return Entry(rank=e["rank"], title=e["title"], id=e["id"], abstract=e["abstract"], authors=authors,
                 author_count=e["author_count"], organization=e["organization"], published=e["published"],
                 upvotes=e["upvotes"], comments=e["comments"], links=e["links"], keywords=keywords,
                 ai_summary=e["ai_summary"], github_stars=e["github_stars"])


_UNSAFE = re.compile(r"[^a-z0-9]+")


def slugify(text, most=60):
    """ascii-lower-dashed text for a file name; empty when nothing is left"""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    return _UNSAFE.sub("-", folded).strip("-")[:most].strip("-")


def _short_hash(text):
    return hashlib.blake2b(text.encode("utf-8"), digest_size=4).hexdigest()


def paper_slug(key):
    """File name of a paper page: its arXiv id ('/' made safe), else a hash and its title"""
    if not key.startswith("title:"):
        return key.replace("/", "_")
    words = slugify(key[len("title:"):])
    return f"t-{_short_hash(key)}" + (f"-{words}" if words else "")


@functools.lru_cache(maxsize=None)
def topic_slug(keyword):
    words = slugify(keyword)
    return words if words and words == keyword.casefold().replace(" ", "-") else \
        f"{words or 'topic'}-{_short_hash(keyword.casefold())}"


def iso_week(day):
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_of(day):
    return f"{day.year}-{day.month:02d}"


# ---------------------------------------------------------------------------------------
# Phase 2: page contexts


@dataclass(frozen=True)
class SiteInfo:
    """What every page knows about the site: its name, base URL, feeds and subscribe link"""

    title: str
    base_url: str
    subscribe_url: str | None
    feeds: tuple  # (label, path, mime type)
    search: bool


class Card(NamedTuple):
    """A paper in a list: its page, the entry as listed that day, and why it is listed"""

    # A NamedTuple: a big archive makes 120,000 of them, and tuples are cheap to build.
    paper: Paper
    entry: object
    reasons: tuple = ()


@dataclass(frozen=True, eq=False)
class Page:
    """One output file: its path, its template and the one context object the template gets"""

    path: str  # relative to the site root, '/'-separated
    template: str
    title: str
    blurb: str | None  # the meta description; PaperPage derives its own
    site: SiteInfo
    kind: str = "page"
    data: dict = field(default_factory=dict, hash=False, compare=False)
    sitemap: bool = True

    @property
    def description(self):
        return self.blurb

    def fingerprint(self):
        """A string that changes whenever this page's output may change, or None (always render)

        Pages whose inputs are cheap to name get one; the writer skips rendering a page whose
        fingerprint (with the build's code, templates and settings) matches the last build's.
        """
        return self.data.get("fingerprint")

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

    @property
    def canonical(self):
        return self.site.base_url + ("" if self.path == "index.html" else self.path)

    def paper_url(self, paper):
        return self.url(f"paper/{paper.slug}.html")

    def links(self, entry):
        """External links of an entry, each checked again: only http(s) reaches a page"""
        return [(label, url) for kind, label in LINK_LABELS if (url := safe_url(entry.links.get(kind)))]

    def byline(self, entry, most=3):
        return byline(entry, most)

    def summary(self, entry):
        return short_summary(entry, 2)


class PaperPage(Page):
    """A paper's page: its description, chart and topic links are derived on first use"""

    @functools.cached_property
    def description(self):
        entry = self.data["paper"].entry
        return short_summary(entry, 2) or entry.title

    @functools.cached_property
    def chart(self):
        return paper_chart(self.data["paper"].observations)

    def fingerprint(self):
        paper = self.data["paper"]
        return repr((paper.key, paper.slug, paper.entry, paper.observations, self.topics))

    @functools.cached_property
    def topics(self):
        index = self.data["topic_index"]
        return tuple((k, index[k.casefold()][0] if k.casefold() in index else None)
                     for k in self.data["paper"].entry.keywords)


def _site_info(config, base_url):
    base = base_url or config.site.base_url
    if not base.endswith("/"):
        base += "/"
    feeds = (
        ("Daily digest (RSS)", "feeds/daily.xml", "application/rss+xml"),
        ("Daily digest (Atom)", "feeds/daily.atom", "application/atom+xml"),
        ("Daily digest (JSON Feed)", "feeds/daily.json", "application/feed+json"),
        ("New papers (RSS)", "feeds/papers.xml", "application/rss+xml"),
        ("New papers (Atom)", "feeds/papers.atom", "application/atom+xml"),
        ("New papers (JSON Feed)", "feeds/papers.json", "application/feed+json"),
    )
    return SiteInfo(title=config.title, base_url=base, subscribe_url=config.site.subscribe_url, feeds=feeds,
                    search=config.site.search)


def check_base_url(url):
    """An absolute http(s) URL, else a SiteError"""
    if not safe_url(url):
        raise SiteError(f"base URL {url!r} is not an absolute http(s) URL (like https://example.org/digest/)")
    return url


def site_pages(archive, site):
    """The page contexts of the archive's scope (every page on a full build), in a stable order"""
    days = archive.days
    papers = archive.papers
    scope = archive.scope
    pages = []

    def cards(items):
        return tuple(Card(papers[i.key], i.entry) for i in items)

    def day_data(day):
        d = archive.digests[day]
        return {
            "digest": d,
            "new": cards(d.new),
            "trending": tuple(Card(papers[t.item.key], t.item.entry, reasons=t.reasons) for t in d.trending),
            "top": cards(d.top),
            "returning": cards(d.returning),
            "dropped": cards(d.dropped),
            "week": iso_week(day),
            "month": month_of(day),
        }

    latest = days[-1]
    home = day_data(latest)
    pages.append(Page("index.html", "site/home.html", site.title,
                      f"{site.title}: the papers of {long_date(latest)}", site, kind="home",
                      data={**home, "day": latest, "day_count": len(days), "paper_count": len(papers)}))

    for n, day in enumerate(days):
        if not scope.wants("days", day):
            continue
        d = archive.digests[day]
        pages.append(Page(f"day/{day}.html", "site/day.html", f"{long_date(day)}",
                          f"{len(d.new)} new and {len(d.trending)} trending papers on {long_date(day)}",
                          site, kind="day", data={**day_data(day), "day": day,
                                                  "prev": days[n - 1] if n else None,
                                                  "next": days[n + 1] if n + 1 < len(days) else None,
                                                  "fingerprint": repr((archive.day_keys.get(day),
                                                                       days[n - 1] if n else None,
                                                                       days[n + 1] if n + 1 < len(days)
                                                                       else None))}))

    for kind, names, periods in _periods(days):
        for n, name in enumerate(names):
            if scope.wants("periods", f"{kind}/{name}"):
                pages.append(_rollup_page(archive, site, kind, names, n, periods[name]))

    topics = archive.topics
    for paper in papers.values():
        # The chart, description and topic links are computed when the page renders (in a
        # worker process), so 30,000 paper contexts stay small.
        if scope.wants("papers", paper.key):
            pages.append(PaperPage(f"paper/{paper.slug}.html", "site/paper.html", paper.entry.title, None, site,
                                   kind="paper", data={"paper": paper, "topic_index": topics}))

    by_year = defaultdict(list)
    for day in reversed(days):
        by_year[day.year].append(day)
    weeks = sorted({iso_week(d) for d in days}, reverse=True)
    months = sorted({month_of(d) for d in days}, reverse=True)
    pages.append(Page("archive.html", "site/archive.html", "Archive", f"Every day of {site.title}", site,
                      kind="archive", data={"years": tuple(by_year.items()), "counts": archive.counts,
                                            "weeks": tuple((w, _week_label(w)) for w in weeks),
                                            "months": tuple((m, _month_label(m)) for m in months)}))
    topic_list = _topic_list(topics)
    pages.append(Page("topics.html", "site/topics.html", "Topics", f"Topics of the papers in {site.title}",
                      site, kind="topics", data={"topics": topic_list}))
    recent = None
    for slug, name, keys in topic_list:
        if scope.wants("topics", name.casefold()):
            recent = recent or _most_recent_first(papers)
            pages.append(_topic_page(papers, site, slug, name, sorted(keys, key=recent.__getitem__)))
    if site.search:
        pages.append(Page("search.html", "site/search.html", "Search", f"Search every paper in {site.title}",
                          site, kind="search"))
    pages.append(Page("404.html", "site/404.html", "Page not found", "This page does not exist.", site,
                      kind="404", sitemap=False))
    return pages


def site_paths(archive, site):
    """(path, sitemap date or None) of every page, in site_pages' order, without making contexts"""
    latest = archive.days[-1]
    yield "index.html", latest
    for day in archive.days:
        yield f"day/{day}.html", day
    for kind, names, _ in _periods(archive.days):
        for name in names:
            yield f"{kind}/{name}.html", latest
    for paper in archive.papers.values():
        yield f"paper/{paper.slug}.html", paper.last_seen
    yield "archive.html", latest
    yield "topics.html", latest
    for slug, _, _ in _topic_list(archive.topics):
        yield f"topic/{slug}.html", latest
    if site.search:
        yield "search.html", latest
    yield "404.html", None


def _periods(days):
    """("week" or "month", sorted names, name -> its days) for both kinds of rollup"""
    found = []
    for kind, key_of in (("week", iso_week), ("month", month_of)):
        periods = defaultdict(list)
        for day in days:
            periods[key_of(day)].append(day)
        found.append((kind, sorted(periods), periods))
    return found


def _rollup_page(archive, site, kind, names, n, days):
    """The page of one week or month: its gainers and new papers, linked to the periods around it"""
    label = _week_label if kind == "week" else _month_label
    name = names[n]
    data = _rollup(archive, days)
    # A rollup shows each paper's title, observations (peak upvotes may come later) and slug.
    data["fingerprint"] = repr((tuple(days), names[n - 1] if n else None,
                                names[n + 1] if n + 1 < len(names) else None,
                                [(k, archive.papers[k].entry.title, archive.papers[k].observations)
                                 for day in days for k in archive.seen[day]]))
    return Page(f"{kind}/{name}.html", "site/rollup.html", label(name),
                f"The papers that gained most and the new papers of {label(name)}", site,
                kind=kind, data={**data, "name": name, "label": label(name), "days": tuple(days),
                                 "prev": (names[n - 1], label(names[n - 1])) if n else None,
                                 "next": (names[n + 1], label(names[n + 1])) if n + 1 < len(names) else None})


def _topic_list(topics):
    return tuple(sorted(topics.values(), key=lambda t: (-len(t[2]), t[1].casefold())))


def _most_recent_first(papers):
    """paper key -> its place when papers are sorted by last sighting, newest first (then by key)"""
    last = {key: paper.observations[-1].day for key, paper in papers.items()}
    # Two stable sorts (by key, then by day) cost a third of one sort by (day, key) in Python.
    order = sorted(sorted(last, reverse=True), key=last.__getitem__, reverse=True)
    return dict(zip(order, range(len(order))))


def _topic_page(papers, site, slug, name, keys):
    """A topic's page: its most recently seen papers (`keys` in that order)"""
    ordered = keys
    listed = tuple(papers[k] for k in ordered[:TOPIC_MAX_LISTED])
    # A topic page shows each listed paper's title, last day seen and peak upvotes.
    fingerprint = repr((name, len(ordered), [(p.slug, p.entry.title, p.last_seen, p.peak_upvotes) for p in listed]))
    return Page(f"topic/{slug}.html", "site/topic.html", f"Topic: {name}",
                f"{plural(len(ordered), 'paper')} about {name}", site, kind="topic",
                data={"name": name, "papers": listed, "total": len(ordered), "fingerprint": fingerprint})


def _week_label(name):
    year, week = name.split("-W")
    monday = dt.date.fromisocalendar(int(year), int(week), 1)
    return f"Week {int(week)} of {year} ({short_date(monday)} – {short_date(monday + dt.timedelta(days=6))})"


def _month_label(name):
    return f"{dt.date.fromisoformat(name + '-01'):%B %Y}"


def _rollup(archive, days):
    """The papers that gained most over the days, and the papers first seen in them

    A paper's gain is its highest upvote count in the period minus its count at its last
    sighting before the period (0 when it is new), so new papers count all they gathered.
    """
    start, end = days[0], days[-1]
    gains = []
    keys = dict.fromkeys(k for day in days for k in archive.seen[day])
    new = []
    for key in keys:
        paper = archive.papers[key]
        obs = paper.observations
        inside = [o.upvotes for o in obs if start <= o.day <= end and o.upvotes is not None]
        before = [o.upvotes for o in obs if o.day < start and o.upvotes is not None]
        if paper.first_seen >= start:
            new.append(paper)
        if inside:
            gain = max(inside) - (before[-1] if before else 0)
            if gain > 0:
                gains.append((gain, paper))
    gains.sort(key=lambda g: (-g[0], g[1].key))
    new.sort(key=lambda p: (p.first_seen, -(p.peak_upvotes or 0), p.key))
    return {"gainers": tuple(gains[:ROLLUP_GAINERS]), "new_papers": tuple(new)}


def _keyword_index(papers):
    """(casefolded keyword -> its first spelling, casefolded keyword -> keys of the papers that have it)"""
    names, found = {}, defaultdict(list)
    for paper in papers.values():
        for keyword in dict.fromkeys(paper.entry.keywords):
            folded = keyword.casefold()
            names.setdefault(folded, keyword)
            found[folded].append(paper.key)
    return names, found


def _topics(papers, index=None):
    """casefolded keyword -> (slug, shown name, paper keys), for keywords of two papers or more"""
    names, found = index or _keyword_index(papers)
    return {folded: (topic_slug(names[folded]), names[folded], tuple(keys))
            for folded, keys in found.items() if len(keys) >= TOPIC_MIN_PAPERS}


# ---------------------------------------------------------------------------------------
# The inline SVG chart of a paper's upvotes and rank


@dataclass(frozen=True)
class Chart:
    """Two small line charts (upvotes, rank) as SVG coordinates, drawn without JavaScript"""

    width: int
    height: int
    upvotes: tuple  # (x, y, label) points
    ranks: tuple
    upvote_path: str
    rank_path: str
    x_labels: tuple  # (x, text)
    upvote_max: int
    rank_max: int
    description: str


def paper_chart(observations, width=600, height=130):
    """Points for a paper's upvote and rank history, one point per day (best rank that day)"""
    per_day = {}
    for o in observations:
        ups, rank = per_day.get(o.day, (None, None))
        if o.upvotes is not None:
            ups = o.upvotes if ups is None else max(ups, o.upvotes)
        rank = o.rank if rank is None else min(rank, o.rank)
        per_day[o.day] = (ups, rank)
    days = sorted(per_day)
    first, last = days[0], days[-1]
    span = max((last - first).days, 1)
    left, right, top, bottom = 40, 16, 26, 24
    inner_w, inner_h = width - left - right, height - top - bottom

    def x(day):
        if first == last:
            return left + inner_w / 2
        return left + inner_w * (day - first).days / span

    up_values = [per_day[d][0] for d in days if per_day[d][0] is not None]
    up_max = max(up_values + [1])
    rank_max = max(per_day[d][1] for d in days)
    ups = tuple((round(x(d), 1), round(top + inner_h * (1 - per_day[d][0] / up_max), 1),
                 f"{short_date(d)}: {plural(per_day[d][0], 'upvote')}")
                for d in days if per_day[d][0] is not None)
    ranks = tuple((round(x(d), 1), round(top + inner_h * ((per_day[d][1] - 1) / max(rank_max - 1, 1)), 1),
                   f"{short_date(d)}: rank {per_day[d][1]}") for d in days)

    def path(points):
        return " ".join(f"{'M' if n == 0 else 'L'}{px},{py}" for n, (px, py, _) in enumerate(points))

    labels = [(round(x(first), 1), short_date(first))]
    if last != first:
        labels.append((round(x(last), 1), short_date(last)))
    if up_values:
        desc = (f"Upvotes from {up_values[0]} to {up_values[-1]} (peak {max(up_values)}) "
                f"over {plural(len(days), 'day')} seen; best rank {min(per_day[d][1] for d in days)}.")
    else:
        desc = f"No upvote counts recorded; best rank {min(per_day[d][1] for d in days)}."
    return Chart(width, height, ups, ranks, path(ups), path(ranks), tuple(labels), up_max, rank_max, desc)


# ---------------------------------------------------------------------------------------
# Rendering and writing


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


def build_key(config, site):
    """What every page depends on besides its own data: the code, the templates and the settings"""
    import digest

    h = hashlib.blake2b(repr((digest.__version__, config.title, config.trending, config.digest, config.site,
                              site)).encode(), digest_size=16)
    package = Path(digest.__file__).resolve().parent
    sources = sorted(package.rglob("*.py")) + sorted(p for p in templates_dir().rglob("*") if p.is_file())
    for path in sources:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


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


def day_json(digest):
    """The day's digest as JSON: the open-data face of the site (the same shape as `diff --json`)"""
    # orjson: ten times faster than json.dumps over 1,100 days, and the same sorted, indented shape.
    return orjson.dumps(digest.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)


def sitemap_xml(paths, site):
    """Every page but the 404 page, with its last change: a paper's last sighting, a day's date"""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for path, lastmod in paths:
        if lastmod is not None:
            canonical = site.base_url + ("" if path == "index.html" else path)
            lines.append(f"<url><loc>{xml_escape(canonical)}</loc><lastmod>{lastmod}</lastmod></url>")
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"


def robots_txt(site):
    return f"User-agent: *\nAllow: /\n\nSitemap: {site.base_url}sitemap.xml\n"


@dataclass(frozen=True)
class BuildResult:
    out: Path
    pages: int
    files: int
    written: tuple  # paths rewritten because their bytes changed
    removed: tuple  # paths the last build wrote and this one did not
    days: int
    papers: int
    indexed: bool  # pagefind ran
    updated: bool = False  # only what changed since the last build was computed (its state was used)


def build_site(config, out, *, base_url=None, search=None):
    """Build the whole site and feeds into `out`; write only what changed since the last build"""
    # A build holds what it reads to the end (history, manifest, archive, page contexts) and
    # makes few reference cycles; the cyclic collector's passes over those objects were a
    # third of an update's time (and half of reading the archive), for nothing to collect.
    # Peak memory of a full 40,000-page build: 469 MB without the collector, 459 MB with it.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _build_site(config, out, base_url, search)
    finally:
        if paused:
            gc.enable()


def _build_site(config, out, base_url, search):
    from digest.render.feeds import feed_files

    if base_url is not None:
        check_base_url(base_url)
    out = Path(out)
    site = _site_info(config, base_url)
    if search is not None:
        site = SiteInfo(site.title, site.base_url, site.subscribe_url, site.feeds, search)
    writer = SiteWriter(out, build_key(config, site))  # refuses a foreign folder before any work
    store = Store(config.data_dir)
    archive, pages, paths = _plan_build(config, store, site, writer)
    others = [(f"{day}.json", functools.partial(day_json, archive.digests[day]))
              for day in archive.days if archive.scope.wants("days", day)]
    others += [(path, functools.partial(lambda d: d, data))
               for path, data in feed_files(archive, site, config.site.feed_items)]
    others += [("sitemap.xml", functools.partial(sitemap_xml, paths, site)),
               ("robots.txt", functools.partial(robots_txt, site))]
    static = templates_dir() / "site" / "static"
    others += [(name, (static / name).read_bytes) for name in STATIC]
    render_pages(pages, writer)
    for path, make in others:
        day = path[:-len(".json")] if re.fullmatch(r"\d{4}-\d\d-\d\d\.json", path) else None
        if day and writer.unchanged(path, repr(archive.day_keys[dt.date.fromisoformat(day)])):
            continue
        writer.write(path, make())
    removed = writer.finish(BuildState.of(archive))
    written = writer.written
    indexed = False
    if site.search and (written or removed or not (out / "pagefind" / "pagefind.js").exists()):
        run_pagefind(out)
        indexed = True
    elif not site.search:
        shutil.rmtree(out / "pagefind", ignore_errors=True)
    return BuildResult(out=out, pages=len(paths), files=len(writer.hashes), written=tuple(sorted(written)),
                       removed=tuple(removed), days=len(archive.days), papers=len(archive.papers), indexed=indexed,
                       updated=archive.scope is not EVERYTHING)


def _plan_build(config, store, site, writer):
    """(archive, the page contexts to render, every page's path and date), with every output
    path checked; pages outside the archive's scope are kept from the last build"""
    archive = collect_archive(config, store, writer.state)
    while True:
        pages = site_pages(archive, site)
        paths = list(site_paths(archive, site))
        day_files = [f"{day}.json" for day in archive.days]
        plan_paths([path for path, _ in paths] + day_files + ["sitemap.xml", "robots.txt", *STATIC]
                   + [path for _, path, _ in site.feeds])
        if archive.scope is EVERYTHING:
            return archive, pages, paths
        made = {page.path for page in pages} | {f"{day}.json" for day in archive.scope.days}
        if writer.carry(path for path in [p for p, _ in paths] + day_files if path not in made):
            return archive, pages, paths
        # A page the last build wrote is missing or was not fingerprinted: build everything.
        archive = collect_archive(config, store)


def pagefind_command():
    """The pagefind binary shipped in its PyPI wheel (run as a module: no download at run time)"""
    for module in ("pagefind_bin_extended", "pagefind_bin"):
        try:
            __import__(module)
        except ImportError:
            continue
        return [sys.executable, "-m", module]
    raise SiteError("search needs pagefind: pip install 'pagefind[extended]' (or build with --no-search)")


def run_pagefind(out):
    """Index the built pages for the static search (pagefind writes out/pagefind/)"""
    command = pagefind_command() + ["--site", str(out), "--output-subdir", "pagefind", "--quiet"]
    # A fresh index each time: pagefind names files by content and would leave stale ones.
    shutil.rmtree(out / "pagefind", ignore_errors=True)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SiteError(f"pagefind failed on {out}: {tail[0]}")


def serve(folder, port=8000, bind="127.0.0.1"):
    """Serve a built site on 127.0.0.1 until interrupted"""
    folder = Path(folder)
    if not (folder / "index.html").is_file():
        raise SiteError(f"{folder} has no index.html: run 'digest build --out {folder}' first")
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer((bind, port), handler)
    except OSError as e:
        raise SiteError(f"cannot listen on {bind}:{port} ({e.strerror})") from None
    return server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the types feeds and pagefind need, without a log line per request"""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".json": "application/json", ".xml": "application/xml",
                      ".atom": "application/atom+xml", ".svg": "image/svg+xml",
                      ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm"}

    def log_message(self, format, *args):
        pass
