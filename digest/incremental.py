"""The archive computed from the store, in full or from the last build's state (what changed)

`collect_archive` reads the history once and each snapshot file once and computes each
day's Digest. With the last build's `BuildState`, only the days whose inputs changed (and
the recent days the feeds show) are read and computed; the rest comes from the state.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

from digest.archive import (
    Archive,
    DayCount,
    LazyPapers,
    Paper,
    Scope,
    StaleState,
    iso_week,
    month_of,
    paper_slug,
)
from digest.diff import make_digest
from digest.entries import Damaged, FullEntries, Lists, full_from, latest_entries, load_latest
from digest.errors import NoDataError, SiteError, StoreError
from digest.history import load_history
from digest.store import Store
from digest.topics.book import TopicBook, TopicLinks


class _Stale(Exception):
    """The last build's state cannot be used for this update: build everything"""


def collect_archive(config, store=None, state=None, warn=None, *, history=None, digests=None):
    """Read the history and the snapshots and compute each day's Digest

    With the last build's `state`, only the days whose inputs changed (and the recent days
    the feeds show) are read and computed; the rest comes from the state. When the state
    cannot serve (every day changed, a paper it does not know), everything is computed.

    A damaged snapshot file is left out, and `warn` (when given) is called with the error
    that names it: a build goes on with the other days. Without `warn`, it is raised.

    A caller that already has them passes them on, so they are computed once: `history`, as
    `load_history(store, skip=())` gave it, and `digests`, day -> the Digest of that history.
    """
    store = store or Store(config.data_dir)
    skip = {}
    given = dict(digests or {})
    if history is not None and history.damaged:
        if warn is None:
            raise StoreError(history.damaged[0][1])
        for path, why in history.damaged:
            skip[path] = why
            warn(why)
    while True:
        try:
            return _collect(config, store, state, skip if warn else None, history, given)
        except Damaged as damaged:
            if warn is None:
                raise StoreError(damaged.files[0][1]) from None
            for path, why in damaged.files:
                skip[path] = why
                warn(why)
            # A file the history read but whose snapshot is damaged: the history and the
            # digests given were made with it, so both are computed again without it.
            history, given = None, {}


def _collect(config, store, state, skip, history, given):
    if history is None:
        history = load_history(store, skip=skip)
        if history.damaged:
            raise Damaged(*history.damaged)
    days = history.days()
    if not days:
        raise NoDataError(f"no snapshots in {store.snapshots} yet: run 'digest import' or 'digest fetch' first")
    files_by_day = defaultdict(list)
    for _, day, path in store.files():
        if not skip or path not in skip:
            files_by_day[day].append(path)
    day_keys = _day_keys(days, files_by_day, history, config)
    if state is not None:
        try:
            return _update_archive(store, history, config, files_by_day, day_keys, state, skip, given)
        except (_Stale, StaleState):
            pass
    lists = Lists(store, skip)
    full = FullEntries(config, store, history, skip, full_from(days, config))
    digests, seen, latest, fetched = _compute_days(store, history, config, days, files_by_day, {}, lists, given, full)
    counts = {day: DayCount(len(d.new), len(d.trending)) for day, d in digests.items()}
    papers = _make_papers(history, latest)
    book = TopicBook()
    book.fill(((paper.key, paper.entry.keywords) for paper in papers.values()), frozen=True)
    topics, topic_index = book.every_topic()
    topic_list = book.topic_list()
    return Archive(
        days=tuple(days),
        digests=digests,
        seen=seen,
        papers=papers,
        day_keys=day_keys,
        counts=counts,
        topics=topics,
        topic_index=topic_index,
        topic_list=topic_list,
        book=book,
        fetched=fetched,
        full_entry=full.entry,
        full_digest=full.digest,
    )


def _day_keys(days, files_by_day, history, config):
    """day -> a chained hash of the snapshots up to that day, the aliases that apply and the settings"""
    # A day's digest depends on the snapshots up to that day, the aliases of id-less titles
    # and the settings, nothing later: a chained hash of those lets a rebuild skip unchanged days.
    aliases = sorted((key, history.aliases[key]) for key in history.keyless if key in history.aliases)
    chain = hashlib.blake2b(repr((aliases, config.trending, config.digest)).encode(), digest_size=16)
    keys = {}
    for day in days:
        for path in files_by_day[day]:
            rel = f"{path.parent.name}/{path.name}"
            # Content, not mtimes: two builds of the same data write the same state too.
            chain.update(f"{rel}:{history.hashes[rel]};".encode())
        keys[day] = chain.hexdigest()
    return keys


def _compute_days(store, history, config, days, files_by_day, previous, lists, given, full):
    """Digests, papers seen, latest entries and fetch times of `days`, in order

    previous: listing -> its snapshot before the first day (updated in place); lists: the
    Lists that reads the snapshots and completes re-observations; given: day -> a Digest
    the caller computed already from the same history, used as it is; full: the FullEntries
    that knows from which day on entries are kept whole (those before are cut to cards).
    """
    digests, seen, latest, fetched = {}, {}, {}, {}
    for day in days:
        today = {}
        for path in files_by_day[day]:
            snapshot = lists.load(path)
            today[snapshot.listing] = snapshot
        before = {listing: previous.get(listing) for listing in today}
        digests[day] = given.get(day) or make_digest(
            day, history, today, before, config.trending, config.digest.top_items, load=lists._list
        )
        seen[day] = latest_entries(day, today, history, latest)
        if day < full.since:
            full.cut(day, digests, latest, seen[day])
        fetched[day] = tuple(sorted({s.fetched_at for s in today.values() if s.fetched_at}))
        previous.update(today)
    return digests, seen, latest, fetched


def _paper_slugs(history):
    """key -> page name of every paper in the history, in key order; a page name is never shared"""
    keys = sorted(history.observations)
    slugs = dict(zip(keys, map(paper_slug, keys)))
    if len(set(slugs.values())) < len(keys):
        _shared_slug(keys)
    return slugs


def _make_papers(history, latest):
    """key -> Paper for every paper in the history, in key order"""
    observations = history.observations
    # tuple.__new__ skips the Python-level __new__ of a NamedTuple: 38,000 papers on every build.
    make = tuple.__new__
    return {
        key: make(Paper, (key, slug, latest[key][1], observations[key])) for key, slug in _paper_slugs(history).items()
    }


def _shared_slug(keys):
    """Raise the SiteError that names two papers with the same page name"""
    slugs = {}
    for key in keys:
        slug = paper_slug(key)
        if slug in slugs:
            raise SiteError(f"two papers share the page name {slug!r}: {slugs[slug]!r} and {key!r}")
        slugs[slug] = key


def _update_archive(store, history, config, files_by_day, day_keys, state, skip, given):
    """The archive computed from the last build's state and the days whose inputs changed"""
    days = tuple(history.days())
    first = next(
        (n for n, day in enumerate(days) if day not in state.days or state.days[day][0] != day_keys[day]), len(days)
    )
    # From the day before the first change: it gains a "next" link when a day is added.
    changed = days[max(first - 1, 0) :]
    # The feeds show the latest days, changed or not: their digests are computed again too.
    start = min(first - 1, _feed_start(days, state, first, max(config.site.feed_items, config.site.feed_days)))
    if start < 1:
        raise _Stale("every day changed")
    fresh = days[start:]
    lists = Lists(store, skip)
    full = FullEntries(config, store, history, skip, full_from(days, config))
    previous = _previous_snapshots(lists, files_by_day, fresh[0])
    digests, seen_now, latest, fetched = _compute_days(
        store, history, config, fresh, files_by_day, previous, lists, given, full
    )
    seen = {day: state.days[day][1] for day in days[:start]} | seen_now
    counts = {day: state.days[day][2] for day in days[:start]}
    counts |= {day: DayCount(len(d.new), len(d.trending)) for day, d in digests.items()}
    # Papers seen on a changed day, before or now (a deleted one too): only their pages, weeks
    # and topics can change. The day before the first change is built again for its "next"
    # link only; its papers are not touched (at arXiv size, 200 papers on 1,400 topic pages).
    since = days[first - 1]
    seen_before = {key for day, (_, keys, _) in state.days.items() if day > since for key in keys}
    touched = ({key for day in days[first:] for key in seen[day]} | seen_before) & history.observations.keys()
    gone = seen_before - history.observations.keys()  # papers seen only on deleted days
    load_latest(lists, history, files_by_day, touched - latest.keys(), latest, full)
    # The titles and keywords the last build kept of those papers: the rows of the papers that
    # came, went or changed are saved, and the topics change by their keywords only.
    known = state.read("papers", sorted(touched | gone))
    paper_rows, changes = {}, []
    for key in sorted(touched | gone):
        entry = latest[key][1] if key in touched else None
        now = [entry.title, list(entry.keywords)] if entry is not None else None
        was = known.get(key)
        if was is not None and (not isinstance(was, list) or len(was) != 2):
            raise StaleState(f"the build state's row of the paper {key} is not one")
        if now != was:
            paper_rows[key] = now
            before, after = tuple(was[1]) if was else (), tuple(now[1]) if now else ()
            if before != after:
                changes.append((key, before, after))
    book = TopicBook(state.read)
    affected, relinked = book.apply(changes)
    # Weeks and months show no keywords: a paper touched only by a topic change (a keyword of
    # one paper that a new paper now shares) changes its own page and its topics', not its
    # periods'. With real keywords that is most of the papers touched: their periods would
    # read and render hundreds of days again for one new day.
    periods = _changed_periods(days, tuple(state.days), changed[0], touched, history)
    folds = {k.casefold() for key in touched for k in latest[key][1].keywords}
    folds |= {k.casefold() for key, was in known.items() for k in was[1]}  # before too: topics a paper left
    touched |= relinked & history.observations.keys()
    # A week or month shows its top papers as cards (summaries, authors, links): every paper
    # seen in a period that is built again gets its full entry.
    shown = {
        key
        for day in days
        if f"week/{iso_week(day)}" in periods or f"month/{month_of(day)}" in periods
        for key in seen[day]
    }
    missing = (touched | shown) - latest.keys()
    if missing:
        load_latest(lists, history, files_by_day, missing, latest, full)
    papers = LazyPapers(
        history.observations,
        _paper_slugs(history),
        {key: entry for key, (_, entry) in latest.items()},
        lambda keys: state.read("papers", keys),
    )
    # The topics of every keyword of a touched paper (their pages list it) and those the changes moved.
    slugs = frozenset(affected | book.slugs_of(folds))
    topics = {slug: book.topic(slug) for slug in sorted(slugs) if book.kept(slug)}
    # The keyword links of the papers whose pages and feed items this update makes, read now
    # (a forked render worker must not read the state).
    links = TopicLinks(book)
    links.want({k.casefold() for key in touched for k in latest[key][1].keywords})
    layouts = state.read("topic_pages", sorted(slugs))
    scope = Scope(
        days=frozenset(changed),
        periods=frozenset(periods),
        papers=frozenset(touched),
        topics=slugs,
    )
    return Archive(
        days=days,
        digests=digests,
        seen=seen,
        papers=papers,
        day_keys=day_keys,
        counts=counts,
        topics=topics,
        topic_index=links,
        topic_list=book.topic_list(),
        book=book,
        paper_rows=paper_rows,
        scope=scope,
        fetched=fetched,
        full_entry=full.entry,
        full_digest=full.digest,
        period_pages=state.periods,
        last_days=tuple(state.days),
        gone=frozenset(gone),
        topic_pages={path: layout for pages in layouts.values() for path, layout in pages.items()},
        editions=state.editions,
    )


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
