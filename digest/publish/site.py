"""`digest build`: compute the archive, make every page's context, then render and write once"""

from __future__ import annotations

import functools
import gc
import hashlib
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from digest.archive import EVERYTHING, BuildState, StaleState, month_of, paper_slug
from digest.incremental import collect_archive
from digest.publish.writer import SiteWriter, manifest_key, plan_paths, render_pages
from digest.render import templates_dir
from digest.render.pages import (
    _periods,
    _site_info,
    check_base_url,
    day_json,
    month_paths,
    period_page_counts,
    site_pages,
    site_paths,
)
from digest.render.sitemap import FOLDER as SITEMAPS
from digest.render.sitemap import MOST_URLS, robots_txt, sitemap_files
from digest.store import Store

STATIC = ("style.css", "favicon.svg")


def build_key(config, site):
    """What every page depends on besides its own data: the code, the templates and the settings"""
    import digest

    h = hashlib.blake2b(
        repr((digest.__version__, config.title, config.trending, config.digest, config.site, site)).encode(),
        digest_size=16,
    )
    package = Path(digest.__file__).resolve().parent
    sources = sorted(package.rglob("*.py")) + sorted(p for p in templates_dir().rglob("*") if p.is_file())
    for path in sources:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


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
    warnings: tuple = ()  # one line per damaged snapshot file the build left out


def build_site(config, out, *, base_url=None, search=None, history=None, digests=None):
    """Build the whole site and feeds into `out`; write only what changed since the last build

    history, digests: what the caller computed already (the daily run), passed on to
    incremental.collect_archive so that it is not computed again.
    """
    # A build holds what it reads to the end (history, build state, archive, page contexts) and
    # makes few reference cycles; the cyclic collector's passes over those objects were a
    # third of an update's time (and half of reading the archive), for nothing to collect.
    # Peak memory of a full 40,000-page build: 469 MB without the collector, 459 MB with it.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _build_site(config, out, base_url, search, history, digests)
    finally:
        if paused:
            gc.enable()


def _build_site(config, out, base_url, search, history, digests):
    from digest.render.feeds import feed_files

    if base_url is not None:
        check_base_url(base_url)
    out = Path(out)
    site = _site_info(config, base_url)
    if search is not None:
        site = replace(site, search=search)
    # Refuses a foreign folder before any work.
    writer = SiteWriter(out, build_key(config, site), manifest_key(config.data_dir))
    try:
        writer.refuse_link("pagefind")  # pagefind writes there itself
        store = Store(config.data_dir)
        warnings = []
        archive, pages, page_count, periods, layouts, sitemaps = _plan_build(
            config, store, site, writer, warnings.append, history, digests
        )
        # A day's JSON reads its whole digest again (old days are cut): made by the render
        # workers, in order of day, unless its day's inputs are the last build's.
        day_files = [
            (
                f"{day}.json",
                repr(archive.day_keys[day]),
                functools.partial(lambda day: day_json(archive.digest_of(day)), day),
            )
            for day in archive.days
            if archive.scope.wants("days", day)
        ]
        editions = {}  # filled by feed_files: this build's daily feed items, kept in the state
        others = [
            (path, functools.partial(lambda d: d, data))
            for path, data in feed_files(archive, site, config.site, editions)
        ]
        others += [(path, functools.partial(lambda d: d, text)) for path, text in sitemaps]
        others.append(("robots.txt", functools.partial(robots_txt, site)))
        static = templates_dir() / "site" / "static"
        others += [(name, (static / name).read_bytes) for name in STATIC]
        render_pages(pages, writer, day_files)
        for path, make in others:
            writer.write(path, make())
        removed = writer.finish(BuildState.of(archive, periods, layouts, editions))
    finally:
        writer.close()  # its folder descriptors, also when the build stops half-way
    written = writer.written
    if site.search:
        # Imported here: a build without search does not load pagefind's runner (subprocess,
        # threads), 15 ms of its start.
        from digest.publish.search import index_search, shard_of_day

        last = archive.days[-1]
        shard_of = {f"paper/{slug}.html": shard_of_day(first, last) for slug, first, _ in archive.paper_days()}
        indexed = bool(index_search(out, shard_of, set(written) | set(removed)))
    else:
        shutil.rmtree(out / "pagefind", ignore_errors=True)
        indexed = False
    return BuildResult(
        out=out,
        pages=page_count,
        files=writer.files,
        written=tuple(sorted(written)),
        removed=tuple(removed),
        days=len(archive.days),
        papers=len(archive.papers),
        indexed=indexed,
        updated=archive.scope is not EVERYTHING,
        warnings=tuple(f"{why}: left out of the site" for why in dict.fromkeys(warnings)),
    )


def _stage(writer, archive):
    """Save a full build's papers and keywords in its new state now, and let the topic book go:
    they are not held while the pages are made and rendered (200 MB at 10 years)"""
    writer.begin()
    writer.db.stage(writer.root_fd(), BuildState.staged_rows(archive))
    archive.book.release()


def _plan_build(config, store, site, writer, warn, history=None, digests=None):
    """(archive, the page contexts to render, the number of pages, each week's and month's number
    of pages, every topic page's layout made, the sitemap files), with every output path made
    checked; pages outside the archive's scope are kept from the last build"""
    archive = collect_archive(config, store, writer.state, warn, history=history, digests=digests)
    while True:
        if archive.scope is EVERYTHING:
            _stage(writer, archive)
        layouts = {}
        try:
            pages = site_pages(archive, site, layouts)
        except StaleState:
            # A row of the last build's state the update read does not match: build everything.
            archive = collect_archive(config, store, warn=warn, history=history, digests=digests)
            continue
        if archive.scope is EVERYTHING:
            paths = list(site_paths(archive, site, [page.path for page in pages]))
            sitemaps = sitemap_files(paths, site)
            plan_paths(
                [path for path, _ in paths]
                + [f"{day}.json" for day in archive.days]
                + [path for path, _ in sitemaps]
                + _fixed_paths(site)
            )
            return archive, pages, len(paths), period_page_counts(paths), layouts, sitemaps
        planned = _plan_update(archive, site, writer, pages, layouts)
        if planned is not None:
            page_count, periods, sitemaps = planned
            return archive, pages, page_count, periods, layouts, sitemaps
        # A page the last build wrote is missing, or the state does not know one: build everything.
        archive = collect_archive(config, store, warn=warn, history=history, digests=digests)


def _fixed_paths(site):
    return ["robots.txt", *STATIC] + [path for _, path, _ in site.feeds]


def _plan_update(archive, site, writer, pages, layouts):
    """(the number of pages, each week's and month's number of pages, the sitemap files) of an
    update, which names only the paths of its scope: those it makes and those it removes (the
    scope's pages the last build had and this one has not); every other page is kept without
    being listed. None when the last build's files are not all there (build everything)."""
    scope, days = archive.scope, archive.days
    made = [page.path for page in pages]
    # Every week and month: the pages made of those in scope (all of theirs), the others' as the last build counted.
    periods = {f"{kind}/{name}" for kind, names, _ in _periods(days) for name in names}
    counts = {name: archive.period_pages.get(name) for name in periods - scope.periods}
    counts |= {name: n for name, n in period_page_counts((path, None) for path in made).items() if name in periods}
    if None in counts.values() or counts.keys() != periods:
        return None
    # The sitemap months an update changes: the latest day's (its pages dated by it), the last
    # build's latest, those of the days built or removed, and every sighting of a paper built.
    deleted = set(archive.last_days) - set(days)
    observations = archive.papers.observations
    months = {month_of(days[-1])} | {month_of(day) for day in (*scope.days, *deleted)}
    months |= {month_of(max(archive.last_days))} if archive.last_days else set()
    months |= {month_of(o.day) for key in scope.papers for o in observations[key]}
    listed, every = month_paths(archive, site, counts, months)
    big = {month for month, (n, _) in every.items() if n > MOST_URLS} - months
    if big:
        listed += month_paths(archive, site, counts, big)[0]
    sitemaps = sitemap_files(listed, site, others=every)
    # The paths of the scope's pages now, and the last build's: those it had and this one has not go.
    now = set(made) | layouts.keys() | {f"{day}.json" for day in scope.days} | {path for path, _ in sitemaps}
    now |= {f"{SITEMAPS}/{month}.xml" for month in every.keys() - months - big}
    exact = [f"day/{day}.html" for day in (*scope.days, *deleted)] + [f"{day}.json" for day in (*scope.days, *deleted)]
    exact += [f"paper/{paper_slug(key)}.html" for key in scope.papers | archive.gone]
    exact += [f"{name}.html" for name in scope.periods] + [f"topic/{slug}.html" for slug in scope.topics]
    prefixes = [f"{name}/" for name in scope.periods] + [f"topic/{slug}/" for slug in scope.topics] + [f"{SITEMAPS}/"]
    removed = writer.db.paths_of(exact, prefixes) - now
    plan_paths(sorted(now) + _fixed_paths(site))
    if not writer.keep_all_but(removed):
        return None
    return sum(n for n, _ in every.values()) + 1, counts, sitemaps  # every page in a sitemap, and the 404 page
