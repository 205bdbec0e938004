"""The entries an archive reads from the snapshots: each paper's latest, re-observations
completed from their window's lists, and old days' entries cut to cards and read whole again
for the pages that show more (digest.incremental uses these)
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from digest.diff import make_digest
from digest.errors import StoreError
from digest.models import CardEntry
from digest.pipeline import with_details
from digest.render.presentation import card_entry
from digest.store import load_snapshot


class Damaged(Exception):
    """Snapshot files that cannot be read, as (path, the error naming it): computed again without them"""

    def __init__(self, *files):
        self.files = files


class Lists:
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
            raise Damaged((path, str(e))) from None

    def _list(self, listing, day):
        key = (listing, day)
        if key not in self.kept:
            path = self.store.path(listing, day)
            self.kept[key] = self._read(path) if path.exists() and path not in self.skip else None
            if len(self.kept) > self.KEEP:
                del self.kept[next(iter(self.kept))]  # the oldest read
        return self.kept[key]


def latest_entries(day, today, history, latest):
    """Record each paper's entry of `day` in `latest` (the best-ranked one); the keys seen, in order"""
    keys = []
    for listing in sorted(today):
        for entry in today[listing].entries:
            key = history.key_of(entry)
            if key not in latest or latest[key][0] < day or latest[key][1].rank > entry.rank:
                latest[key] = (day, entry)
            keys.append(key)
    return tuple(dict.fromkeys(keys))


def load_latest(lists, history, files_by_day, keys, latest, full):
    """Add to `latest` the entry of each paper's last sighting, reading only the days those were on"""
    wanted = defaultdict(set)
    for key in keys:
        wanted[history.observations.last[key]].add(key)
    for day, found in sorted(wanted.items()):
        today = {}
        for path in files_by_day[day]:
            snapshot = lists.load(path)
            today[snapshot.listing] = snapshot
        entries = {}
        latest_entries(day, today, history, entries)
        if day < full.since:
            full.cut_entries(entries, found)
        latest.update((key, entries[key]) for key in found)


FULL_DAYS = 31  # days before the feeds' first whose entries are kept whole too (late additions)


def full_from(days, config):
    """The first day whose entries a build keeps whole: the feeds' days and a month before

    The feeds show the last `feed_days` days and at least `feed_items` editions and papers;
    every day before is cut to what cards show (CardEntry), and read again in full for the
    pages that show more (a paper's page, a day's JSON) when they render.
    """
    most = max(config.site.feed_items, config.site.feed_days)
    return days[max(len(days) - most - FULL_DAYS, 0)] if days else None


class FullEntries:
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
            self.lists = Lists(self.store, self.skip)
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
            latest_entries(day, self._today(day), self.history, found)
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
