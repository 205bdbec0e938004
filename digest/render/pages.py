"""The pages of the site: one typed context per output file, computed from an `Archive`

Two phases (Pelican's): every context is made first (`site_pages`), then the writer in
`digest.publish` renders and writes them once. The context classes, one per page kind with
every field documented, are in `digest.render.contexts`.
"""

from __future__ import annotations

import functools
from collections import defaultdict

import orjson

from digest.archive import iso_week, month_of, want_papers
from digest.errors import SiteError
from digest.render import topic_pages
from digest.render.contexts import (
    ArchivePage,
    Card,
    DayPage,
    HomePage,
    NotFoundPage,
    Page,
    PaperPage,
    RollupPage,
    SearchPage,
    SiteInfo,
    fingerprint_of,
)
from digest.render.presentation import long_date, month_label, plural, week_label
from digest.render.topic_pages import page_count
from digest.text import safe_url

# Page, PaperPage, SiteInfo and Card are the contexts' own, re-exported for the callers of this module.
__all__ = ["Card", "Page", "PaperPage", "SiteInfo", "check_base_url", "site_pages", "site_paths"]

ROLLUP_GAINERS = 10  # gainers shown as cards on a week or month page
ROLLUP_TOP = 10  # most upvoted papers shown as cards
ROLLUP_PAGE = 100  # papers per page of a period's compact list


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
    return SiteInfo(
        title=config.title,
        base_url=base,
        subscribe_url=config.site.subscribe_url,
        feeds=feeds,
        search=config.site.search,
        listing_names=tuple(sorted(config.site.listing_names.items())),
        topics_min_papers=config.site.topics_min_papers,
        max_authors=config.digest.max_authors,
        summary_sentences=config.digest.summary_sentences,
    )


def check_base_url(url):
    """An absolute http(s) URL, else a SiteError"""
    if not safe_url(url):
        raise SiteError(f"base URL {url!r} is not an absolute http(s) URL (like https://example.org/digest/)")
    return url


def site_pages(archive, site, layouts=None):
    """The page contexts of the archive's scope (every page on a full build), in a stable order

    layouts, when given, gets the layout of every topic page of the scope's topics (path ->
    topic_layout), made or not: what the build state keeps for the next update.
    """
    days = archive.days
    papers = archive.papers
    scope = archive.scope
    pages = []

    def cards(items):
        return tuple(Card(papers[i.key], i.entry, late=i.late_label) for i in items)

    def digest_fields(day):
        d = archive.digests[day]
        return {
            "day": day,
            "digest": d,
            "new": cards(d.new),
            "trending": tuple(Card(papers[t.item.key], t.item.entry, reasons=t.reasons) for t in d.trending),
            "top": cards(d.top),
            "returning": cards(d.returning),
            "week": iso_week(day),
            "month": month_of(day),
        }

    latest = days[-1]
    pages.append(
        HomePage(
            "index.html",
            "site/home.html",
            site.title,
            f"{site.title}: the papers of {long_date(latest)}",
            site,
            kind="home",
            day_count=len(days),
            paper_count=len(papers),
            **digest_fields(latest),
        )
    )

    for n, day in enumerate(days):
        if not scope.wants("days", day):
            continue
        d = archive.digests[day]
        prev = days[n - 1] if n else None
        next_ = days[n + 1] if n + 1 < len(days) else None
        pages.append(
            DayPage(
                f"day/{day}.html",
                "site/day.html",
                f"{long_date(day)}",
                f"{len(d.new)} new and {len(d.trending)} trending papers on {long_date(day)}",
                site,
                kind="day",
                inputs=fingerprint_of((archive.day_keys.get(day), prev, next_)),
                prev=prev,
                next=next_,
                **digest_fields(day),
            )
        )

    for kind, names, periods in _periods(days):
        for n, name in enumerate(names):
            if scope.wants("periods", f"{kind}/{name}"):
                pages += _rollup_pages(archive, site, kind, names, n, periods[name])

    # In order of last sighting: a page whose entry was cut to a card reads its day again when
    # it renders (Archive.entry_of), and a worker keeps the few days it read last.
    if scope.papers is None:
        chosen = list(papers.values())
    else:
        want_papers(papers, scope.papers)
        chosen = [papers[key] for key in sorted(scope.papers)]
    chosen.sort(key=lambda paper: paper.observations[-1].day)
    for paper in chosen:
        # The chart, description, topic links and whole entry are computed when the page
        # renders (in a worker process), so 30,000 paper contexts stay small.
        pages.append(
            PaperPage(
                f"paper/{paper.slug}.html",
                "site/paper.html",
                paper.entry.title,
                None,
                site,
                kind="paper",
                paper=paper,
                topic_index=archive.topic_index,
                entry_of=archive.entry_of,
                day_key=archive.day_keys.get(paper.last_seen),
            )
        )

    by_year = defaultdict(list)
    for day in reversed(days):
        by_year[day.year].append(day)
    weeks = sorted({iso_week(d) for d in days}, reverse=True)
    months = sorted({month_of(d) for d in days}, reverse=True)
    pages.append(
        ArchivePage(
            "archive.html",
            "site/archive.html",
            "Archive",
            f"Every day of {site.title}",
            site,
            kind="archive",
            years=tuple(by_year.items()),
            counts=archive.counts,
            weeks=tuple((w, week_label(w)) for w in weeks),
            months=tuple((m, month_label(m)) for m in months),
        )
    )
    pages.append(topic_pages.topics_index(archive.topic_list, site))
    if scope.topics is None:
        chosen_topics = list(archive.topics.values())
    else:
        chosen_topics = [archive.topics[slug] for slug in sorted(scope.topics) if slug in archive.topics]
    first_seen = topic_pages.first_seen_of(papers)
    for topic in chosen_topics:
        pages += topic_pages.topic_pages(papers, site, topic, first_seen, scope.papers, archive.topic_pages, layouts)
    if site.search:
        pages.append(
            SearchPage(
                "search.html", "site/search.html", "Search", f"Search every paper in {site.title}", site, kind="search"
            )
        )
    pages.append(
        NotFoundPage(
            "404.html", "site/404.html", "Page not found", "This page does not exist.", site, kind="404", sitemap=False
        )
    )
    return pages


def site_paths(archive, site, made=None):
    """(path, sitemap date or None) of every page, without making contexts (site_pages' order, but
    for paper pages: by key here, by last sighting there)

    made: the paths of the pages site_pages made, when known: a week or month made has its
    pages counted from them, not by ranking its papers again.
    """
    counted = period_page_counts((path, None) for path in made) if made is not None else {}
    latest = archive.days[-1]
    yield "index.html", latest
    for day in archive.days:
        yield f"day/{day}.html", day
    for kind, names, periods in _periods(archive.days):
        for name in names:
            # A period an update leaves alone has the pages the last build made: counting
            # them again means ranking every paper of every week and month of the archive.
            key = f"{kind}/{name}"
            count = counted.get(key)
            if count is None and not archive.scope.wants("periods", key):
                count = archive.period_pages.get(key)
            if count is None:
                count = page_count(len(_rest(archive, periods[name])), ROLLUP_PAGE)
            for n in range(1, count + 1):
                yield _period_path(kind, name, n), latest
    for slug, _, last_seen in archive.paper_days():
        yield f"paper/{slug}.html", last_seen
    yield "archive.html", latest
    yield "topics.html", latest
    topic_list = archive.topic_list
    for slug in sorted(topic_list):
        count = page_count(topic_list[slug][1], topic_pages.TOPIC_PAGE)
        for n in range(count, 0, -1):
            yield topic_pages.topic_path(slug, n, count), latest
    if site.search:
        yield "search.html", latest
    yield "404.html", None


def month_paths(archive, site, period_counts, months):
    """(path, sitemap date) of the pages whose sitemap month is in `months`, in site_paths'
    order, and month -> (its number of pages, its newest date) of every month: what the
    sitemap of an update needs, without listing every page (a page's month is that of its
    date; the pages dated by the latest day are in its month)

    period_counts: "week/2026-W01" -> its number of pages, of every week and month.
    """
    days, latest = archive.days, archive.days[-1]
    newest = month_of(latest)
    month_by_day = {day: month_of(day) for day in days}
    counts, dates = defaultdict(int), {}
    for day, month in month_by_day.items():
        counts[month] += 1
        dates[month] = day  # days are in order: the last is the month's newest
    papers = archive.papers
    observations = getattr(papers, "observations", None)
    listed = defaultdict(list)  # month -> its papers' pages, in key order
    if observations is not None:
        last_day = observations.last
        pairs = ((slug, last_day[key]) for key, slug in papers.slugs.items())
    else:
        pairs = ((paper.slug, paper.observations[-1].day) for paper in papers.values())
    for slug, last in pairs:
        month = month_by_day[last]
        counts[month] += 1
        if month in months:
            listed[month].append((f"paper/{slug}.html", last))
    topic_list = archive.topic_list
    topic_pages_of = {slug: page_count(topic_list[slug][1], topic_pages.TOPIC_PAGE) for slug in sorted(topic_list)}
    # Dated by the latest day: the home page, every period, the archive, the topics and search.
    counts[newest] += 3 + sum(period_counts.values()) + sum(topic_pages_of.values()) + bool(site.search)
    dates[newest] = latest
    found = []
    for month in sorted(months & counts.keys()):
        if month == newest:
            found.append(("index.html", latest))
        found += [(f"day/{day}.html", day) for day in days if month_by_day[day] == month]
        if month == newest:
            for kind, names, _ in _periods(days):
                for name in names:
                    found += [
                        (_period_path(kind, name, n), latest) for n in range(1, period_counts[f"{kind}/{name}"] + 1)
                    ]
        found += listed[month]
        if month == newest:
            found += [("archive.html", latest), ("topics.html", latest)]
            for slug, count in topic_pages_of.items():
                found += [(topic_pages.topic_path(slug, n, count), latest) for n in range(count, 0, -1)]
            if site.search:
                found.append(("search.html", latest))
    return found, {month: (count, dates[month]) for month, count in counts.items()}


def period_page_counts(paths):
    """Each week's and month's number of pages ('week/2026-W01' -> 2), from site_paths' paths"""
    counts = {}
    for path, _ in paths:
        kind, _, rest = path.partition("/")
        if kind in ("week", "month"):
            name = rest.partition("/")[0].removesuffix(".html")
            counts[f"{kind}/{name}"] = counts.get(f"{kind}/{name}", 0) + 1
    return counts


def _periods(days):
    """("week" or "month", sorted names, name -> its days) for both kinds of rollup"""
    found = []
    for kind, key_of in (("week", iso_week), ("month", month_of)):
        periods = defaultdict(list)
        for day in days:
            periods[key_of(day)].append(day)
        found.append((kind, sorted(periods), periods))
    return found


def _period_path(kind, name, n):
    return f"{kind}/{name}.html" if n == 1 else f"{kind}/{name}/{n}.html"


def _rollup_pages(archive, site, kind, names, n, days):
    """The pages of one week or month: the most upvoted papers and the gainers as cards, the
    papers per day, then every other paper of the period as a compact list, ROLLUP_PAGE a page"""
    label = week_label if kind == "week" else month_label
    name = names[n]
    data = _rollup(archive, days)
    rest = data.pop("rest")
    count = page_count(len(rest), ROLLUP_PAGE)
    prev = (names[n - 1], label(names[n - 1])) if n else None
    next_ = (names[n + 1], label(names[n + 1])) if n + 1 < len(names) else None
    shown = {card.paper.key for card in data["top"] + data["gainers"]}
    near = {"prev": prev, "next": next_}
    # A rollup shows the cards' entries, each other paper's title and observations, and its neighbours.
    base = (tuple(days), near, [archive.counts[day] for day in days], [archive.papers[k].entry for k in sorted(shown)])
    paths = tuple(_period_path(kind, name, m) for m in range(1, count + 1))
    day_counts = tuple((day, archive.counts[day]) for day in days)
    pages = []
    for number in range(1, count + 1):
        listed = rest[(number - 1) * ROLLUP_PAGE : number * ROLLUP_PAGE]
        title = label(name) + (f" (page {number} of {count})" if number > 1 else "")
        pages.append(
            RollupPage(
                paths[number - 1],
                "site/rollup.html",
                title,
                f"The most upvoted papers, the papers that gained most and every paper of {label(name)}",
                site,
                kind=kind,
                inputs=functools.partial(_rollup_inputs, base, number, count, listed),
                label=label(name),
                prev=prev,
                next=next_,
                days=tuple(days),
                day_counts=day_counts,
                rest=listed,
                rest_total=len(rest),
                number=number,
                first=(number - 1) * ROLLUP_PAGE + 1,
                pages=paths,
                **data,
            )
        )
    return pages


def _rollup_inputs(base, number, count, listed):
    """A period page's fingerprint, made when it is written (by a render worker on a full build:
    a period's or topic's page lists a hundred papers, 3,800 such pages at 3 years)"""
    # A rollup shows the cards' entries, each other paper's title and observations, and its neighbours.
    return fingerprint_of((base, number, count, [(p.key, p.entry.title, p.observations) for p in listed]))


def _rollup(archive, days):
    """The period's most upvoted papers, the papers that gained most, and the rest

    A paper's gain is its highest upvote count in the period minus its count at its last
    sighting before the period (0 when it is new), so new papers count all they gathered.
    The gainers are the papers that gained most among those not already most upvoted; the
    rest, every other paper seen in the period, by the day it was first seen in it.
    """
    start, end = days[0], days[-1]
    keys = dict.fromkeys(k for day in days for k in archive.seen[day])
    want_papers(archive.papers, keys)
    peaks, gains, firsts = {}, {}, {}
    new = 0
    for key in keys:
        paper = archive.papers[key]
        obs = paper.observations
        inside = [o.upvotes for o in obs if start <= o.day <= end and o.upvotes is not None]
        before = [o.upvotes for o in obs if o.day < start and o.upvotes is not None]
        firsts[key] = next(o.day for o in obs if o.day >= start)
        new += paper.first_seen >= start
        if inside:
            peaks[key] = max(inside)
            gain = max(inside) - (before[-1] if before else 0)
            if gain > 0:
                gains[key] = gain
    top = sorted(peaks, key=lambda k: (-peaks[k], k))[:ROLLUP_TOP]
    gainers = [k for k in sorted(gains, key=lambda k: (-gains[k], k)) if k not in top][:ROLLUP_GAINERS]
    shown = set(top) | set(gainers)
    papers = archive.papers

    def card(key, reason):
        return Card(papers[key], papers[key].entry, (reason,))

    return {
        "top": tuple(card(k, f"{plural(peaks[k], 'upvote')}") for k in top),
        "gainers": tuple(card(k, f"+{plural(gains[k], 'upvote')}") for k in gainers),
        "peaks": peaks,
        "firsts": firsts,
        "seen": len(keys),
        "new": new,
        "rest": tuple(
            papers[k]
            for k in sorted((k for k in keys if k not in shown), key=lambda k: (firsts[k], -peaks.get(k, 0), k))
        ),
    }


def _rest(archive, days):
    """The papers a period lists compactly (for the page count of site_paths)"""
    return _rollup(archive, days)["rest"]


def day_json(digest):
    """The day's digest as JSON: the open-data face of the site (the same shape as `diff --json`)"""
    # orjson: ten times faster than json.dumps over 1,100 days, and the same sorted, indented shape.
    return orjson.dumps(digest.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)
