"""The archive computed from the store, in full or from the last build's state (what changed)

`collect_archive` reads the history once and each snapshot file once and computes each
day's Digest. With the last build's `BuildState`, only the days whose inputs changed (and
the recent days the feeds show) are read and computed; the rest comes from the state.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict

from digest.archive import Archive, DayCount, Known, Paper, Scope, iso_week, month_of, paper_slug
from digest.diff import make_digest
from digest.errors import NoDataError, SiteError, StoreError
from digest.history import load_history
from digest.models import CardEntry
from digest.pipeline import with_details
from digest.render.presentation import card_entry
from digest.store import Store, load_snapshot
from digest.topics import make_topics


class _Stale(Exception):
    """The last build's state cannot be used for this update: build everything"""


class _Damaged(Exception):
    """Snapshot files that cannot be read, as (path, the error naming it): computed again without them"""

    def __init__(self, *files):
        self.files = files


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
        except _Damaged as damaged:
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
            raise _Damaged(*history.damaged)
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
        except _Stale:
            pass
    lists = _Lists(store, skip)
    full = _Full(config, store, history, skip, _full_from(days, config))
    digests, seen, latest, fetched = _compute_days(store, history, config, days, files_by_day, {}, lists, given, full)
    counts = {day: DayCount(len(d.new), len(d.trending)) for day, d in digests.items()}
    papers = _make_papers(history, latest)
    topics, topic_index, spellings = _topics(papers)
    return Archive(
        days=tuple(days),
        digests=digests,
        seen=seen,
        papers=papers,
        day_keys=day_keys,
        counts=counts,
        topics=topics,
        topic_index=topic_index,
        spellings=spellings,
        fetched=fetched,
        full_entry=full.entry,
        full_digest=full.digest,
    )


def _topics(papers, known=None):
    """(slug -> Topic, casefolded keyword -> slug, spelling -> (topic key, acronym pair)) of the
    papers' keywords (digest.topics); known: the last build's spellings"""
    spellings = dict(known or {})
    topics, index = make_topics(((paper.key, paper.entry.keywords) for paper in papers.values()), known=spellings)
    return topics, index, spellings


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


class _Lists:
    """Stored snapshots read through load_snapshot, the recent ones kept for re-observations

    A re-observation keeps only what moves; its papers' details come from the lists of its
    window, exactly as pipeline.with_details gives them to `digest diff`, so a full build,
    an update and the command line agree. Each list is read once while it is recent.
    """

    KEEP = 64  # lists kept: several windows' worth (window_days is 7 by default)

    def __init__(self, store, skip=None):
        self.store = store
        self.skip = skip or {}  # damaged files, left out
        self.kept = {}

    def load(self, path):
        """The snapshot at path, a re-observation completed from its window's lists"""
        return with_details(self.store, self._read(path), load=self._list)

    def _read(self, path):
        try:
            return load_snapshot(self.store, path)
        except StoreError as e:
            raise _Damaged((path, str(e))) from None

    def _list(self, listing, day):
        key = (listing, day)
        if key not in self.kept:
            path = self.store.path(listing, day)
            self.kept[key] = self._read(path) if path.exists() and path not in self.skip else None
            if len(self.kept) > self.KEEP:
                del self.kept[next(iter(self.kept))]  # the oldest read
        return self.kept[key]


def _compute_days(store, history, config, days, files_by_day, previous, lists, given, full):
    """Digests, papers seen, latest entries and fetch times of `days`, in order

    previous: listing -> its snapshot before the first day (updated in place); lists: the
    _Lists that reads the snapshots and completes re-observations; given: day -> a Digest
    the caller computed already from the same history, used as it is; full: the _Full
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
        seen[day] = _latest_entries(day, today, history, latest)
        if day < full.since:
            full.cut(day, digests, latest, seen[day])
        fetched[day] = tuple(sorted({s.fetched_at for s in today.values() if s.fetched_at}))
        previous.update(today)
    return digests, seen, latest, fetched


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
    """key -> Paper for every paper in the history, in key order; a page name is never shared

    known: key -> [title, keywords] of the last build's papers, for those not in `latest`.
    """
    keys = sorted(history.observations)
    slugs = dict(zip(map(paper_slug, keys), keys))
    if len(slugs) < len(keys):
        _shared_slug(keys)
    known = known or {}
    observations = history.observations
    # tuple.__new__ skips the Python-level __new__ of a NamedTuple: 38,000 papers on every build.
    make = tuple.__new__
    return {
        key: make(Paper, (key, slug, latest[key][1] if key in latest else make(Known, known[key]), observations[key]))
        for slug, key in slugs.items()
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
    lists = _Lists(store, skip)
    full = _Full(config, store, history, skip, _full_from(days, config))
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
    if not (history.observations.keys() - latest.keys()) <= state.papers.keys():
        raise _Stale("a paper the last build did not know")
    _load_latest(lists, history, files_by_day, touched - latest.keys(), latest, full)
    papers = _make_papers(history, latest, state.papers)
    topics, topic_index, spellings = _topics(papers, state.spellings)
    # A keyword whose topic changed (another slug, a new name, no topic any more, a topic
    # now) changes the pages of every paper that has it, and the topics it left and joined.
    now = {folded: (slug, topics[slug].name) for folded, slug in topic_index.items()}
    retopic = {f for f in now.keys() | state.topics.keys() if now.get(f) != state.topics.get(f)}
    # Weeks and months show no keywords: a paper touched only by a topic change (a keyword of
    # one paper that a new paper now shares) changes its own page and its topics', not its
    # periods'. With real keywords that is most of the papers touched: their periods would
    # read and render hundreds of days again for one new day.
    periods = _changed_periods(days, tuple(state.days), changed[0], touched, history)
    if retopic:
        touched |= {key for key, paper in papers.items() if any(k.casefold() in retopic for k in paper.entry.keywords)}
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
        _load_latest(lists, history, files_by_day, missing, latest, full)
        # Only these papers' entries change (Known kept their keywords: the same topics), and
        # the dict keeps its key order: making every Paper again would cost a full pass.
        make = tuple.__new__
        papers.update(
            (key, make(Paper, (key, papers[key].slug, latest[key][1], papers[key].observations))) for key in missing
        )
    keywords = {k.casefold() for key in touched for k in papers[key].entry.keywords}
    # Before too: a paper gone with a deleted day leaves its topics.
    keywords |= {k.casefold() for key in touched | seen_before if key in state.papers for k in state.papers[key][1]}
    slugs = {topic_index[f] for f in keywords | retopic if f in topic_index}
    slugs |= {state.topics[f][0] for f in keywords | retopic if f in state.topics}
    scope = Scope(
        days=frozenset(changed),
        periods=frozenset(periods),
        papers=frozenset(touched),
        topics=frozenset(slugs & topics.keys()),
    )
    return Archive(
        days=days,
        digests=digests,
        seen=seen,
        papers=papers,
        day_keys=day_keys,
        counts=counts,
        topics=topics,
        topic_index=topic_index,
        spellings=spellings,
        scope=scope,
        fetched=fetched,
        full_entry=full.entry,
        full_digest=full.digest,
        period_pages=state.periods,
        topic_pages=state.topic_pages,
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


def _load_latest(lists, history, files_by_day, keys, latest, full):
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
        if day < full.since:
            full.cut_entries(entries, found)
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


FULL_DAYS = 31  # days before the feeds' first whose entries are kept whole too (late additions)


def _full_from(days, config):
    """The first day whose entries a build keeps whole: the feeds' days and a month before

    The feeds show the last `feed_days` days and at least `feed_items` editions and papers;
    every day before is cut to what cards show (CardEntry), and read again in full for the
    pages that show more (a paper's page, a day's JSON) when they render.
    """
    most = max(config.site.feed_items, config.site.feed_days)
    return days[max(len(days) - most - FULL_DAYS, 0)] if days else None


class _Full:
    """Cuts the entries of old days to cards, and reads them whole again for the pages that
    show them: a paper's whole latest entry (its page), a day's whole Digest (its JSON)

    A forked render worker inherits it and keeps its own few recently read days.
    """

    KEEP = 8  # days of whole entries kept (a worker renders paper pages in order of last sighting)

    def __init__(self, config, store, history, skip, since):
        self.config = config
        self.settings = config.digest
        self.store = store
        self.history = history
        self.skip = skip or {}
        self.since = since  # days before this one are cut
        self.lists = None
        self.days = {}  # day -> key -> whole latest Entry, the last KEEP days read
        self.read = {}  # path -> whole Snapshot, the last KEEP read

    def cut(self, day, digests, latest, keys):
        """Cut the digest of `day` and the latest entries of its papers to CardEntry (and leave
        out what no page shows of it: the papers dropped since the day before)"""
        settings = self.settings
        cards = {}

        def card(entry):
            made = cards.get(id(entry))
            if made is None:
                made = cards[id(entry)] = card_entry(entry, settings.max_authors, settings.summary_sentences)
            return made

        d = digests[day]
        digests[day] = dataclasses.replace(
            d,
            new=tuple(dataclasses.replace(i, entry=card(i.entry)) for i in d.new),
            trending=tuple(
                dataclasses.replace(t, item=dataclasses.replace(t.item, entry=card(t.item.entry))) for t in d.trending
            ),
            returning=tuple(dataclasses.replace(i, entry=card(i.entry)) for i in d.returning),
            # No page shows the papers a list dropped (the whole previous list, on a daily
            # list); the day's JSON, which does, computes its digest again (digest()).
            dropped=(),
            top=tuple(dataclasses.replace(i, entry=card(i.entry)) for i in d.top),
        )
        for key in keys:
            seen_on, entry = latest[key]
            if seen_on == day:
                latest[key] = (seen_on, card(entry))

    def cut_entries(self, entries, keys):
        """Cut the latest entries of `keys` (an update's papers of an old day) to CardEntry"""
        settings = self.settings
        for key in keys:
            seen_on, entry = entries[key]
            entries[key] = (seen_on, card_entry(entry, settings.max_authors, settings.summary_sentences))

    def _lists(self):
        if self.lists is None:
            self.lists = _Lists(self.store, self.skip)
        return self.lists

    def _load(self, path):
        """A whole snapshot, the last few kept: a day's JSON reads its day and the day before"""
        if path not in self.read:
            self.read[path] = self._lists().load(path)
            if len(self.read) > self.KEEP:
                del self.read[next(iter(self.read))]
        return self.read[path]

    def _today(self, day):
        today = {}
        for listing, days in self.history.listing_days.items():
            if day in days:
                path = self.store.path(listing, day)
                if path not in self.skip:
                    snapshot = self._load(path)
                    today[snapshot.listing] = snapshot
        return today

    def entry(self, paper):
        """The whole latest entry of a paper (its page shows the abstract and every author)"""
        if type(paper.entry) is not CardEntry:
            return paper.entry
        day = paper.observations[-1].day
        if day not in self.days:
            found = {}
            _latest_entries(day, self._today(day), self.history, found)
            self.days[day] = {key: entry for key, (_, entry) in found.items()}
            if len(self.days) > self.KEEP:
                del self.days[next(iter(self.days))]
        return self.days[day][paper.key]

    def digest(self, digest):
        """The whole Digest of a day whose digest was cut (its JSON has every field of every entry)"""
        if digest.date >= self.since:
            return digest
        day = digest.date
        today = self._today(day)
        before = {}
        for listing in today:
            earlier = self.history.previous_day(listing, day)
            path = self.store.path(listing, earlier) if earlier else None
            before[listing] = self._load(path) if path and path not in self.skip else None
        settings = self.config
        return make_digest(
            day, self.history, today, before, settings.trending, settings.digest.top_items, load=self._lists()._list
        )
