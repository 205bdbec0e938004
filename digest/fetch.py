"""Fetch live listings into the store: today's lists, catch-up of missed days, re-observations

Per run day F and listing:
- hf-daily is dated: its list of any day can be fetched. The run fetches F, every day of
  the catch-up range (F-catch_up_days .. F-1) that has no snapshot, and every day of the
  re-observation window (F-window_days .. F-1) that has one. A day's list is stored under
  its own day, so its papers are new on that day however late it was fetched. The window's
  fresh lists are stored together as one re-observation snapshot `hf-daily-recent` on F.
- hf-trending and arxiv:<category> are current: only today's list exists, so each run
  stores one snapshot (hf-trending under F, arXiv under the day its feed announces), and a
  run for a past day F (a backfill) skips them: today's list does not belong to F.

Each listing is all or nothing: its requests all succeed before any file is written.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import os
import urllib.parse
from dataclasses import dataclass

from digest.errors import BadResponseError, ConfigError, DigestError, InputError, NetworkError, PartialFetchError
from digest.http import Client, Policy, host_of
from digest.models import RECENT_SUFFIX, Source, check_listing, make_entry
from digest.sources import parse_bytes
from digest.store import write_atomic

ENV_BASE_URLS = {"hf_base_url": "DIGEST_HF_BASE_URL", "arxiv_base_url": "DIGEST_ARXIV_BASE_URL"}


@dataclass(frozen=True)
class Stored:
    """One snapshot a fetch wrote"""

    listing: str
    day: dt.date
    count: int
    path: object
    what: str  # "list", "catch-up", "late additions", "re-observation", "no papers published"
    changed: bool = True  # False: the stored file already said the same, and was kept as it was


@dataclass(frozen=True)
class ListingResult:
    """What happened to one listing: the snapshots stored, or the error that stopped it"""

    listing: str
    stored: tuple[Stored, ...] = ()
    error: DigestError | None = None
    warnings: tuple[str, ...] = ()
    skipped: str | None = None  # why nothing was fetched: a current listing on a past day


@dataclass(frozen=True)
class FetchReport:
    day: dt.date
    results: tuple[ListingResult, ...]
    retries: tuple[tuple[str, float, str], ...] = ()  # (url, seconds waited, why) per retry

    def raise_for_failures(self):
        """Raise the error a failed run exits with: the listing's own, or PartialFetchError"""
        failed = [r for r in self.results if r.error]
        if not failed:
            return
        if len(failed) < len(self.results):
            names = ", ".join(f"{r.listing} ({r.error})" for r in failed)
            raise PartialFetchError(f"{len(failed)} of {len(self.results)} listings failed: {names}")
        if len(failed) == 1:
            raise type(failed[0].error)(f"{failed[0].listing}: {failed[0].error}")
        kind = NetworkError if any(isinstance(r.error, NetworkError) for r in failed) else type(failed[0].error)
        raise kind("every listing failed: " + "; ".join(f"{r.listing}: {r.error}" for r in failed))


def fetch_settings(settings, env=None):
    """The [fetch] settings with base URLs from the environment applied and checked"""
    env = os.environ if env is None else env
    changes = {field: env[var] for field, var in ENV_BASE_URLS.items() if env.get(var)}
    settings = dataclasses.replace(settings, **changes)
    for field in ENV_BASE_URLS:
        url = getattr(settings, field)
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"[fetch] {field} {url!r} is not an http(s) URL (env {ENV_BASE_URLS[field]})")
    for name in settings.listings:
        listing_kind(name)
    if settings.page_size < 1 or settings.max_pages < 1:
        raise ConfigError("[fetch] page_size and max_pages must be at least 1")
    if settings.request_deadline <= 0 or settings.fetch_deadline <= 0:
        raise ConfigError("[fetch] request_deadline and fetch_deadline must be more than 0 seconds")
    for origin in settings.redirect_origins:
        parts = urllib.parse.urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            raise ConfigError(f"[fetch] redirect_origins: {origin!r} is not scheme://host[:port]")
    return settings


def listing_kind(name):
    """'hf-daily', 'hf-trending' or 'arxiv' for a listing fetch knows; ConfigError otherwise"""
    try:
        check_listing(name)
    except InputError as e:
        raise ConfigError(str(e)) from None
    if name in ("hf-daily", "hf-trending"):
        return name
    if name.startswith("arxiv:"):
        return "arxiv"
    raise ConfigError(f"cannot fetch listing {name!r}: fetch knows hf-daily, hf-trending and arxiv:<category>")


def make_client(settings, **kwargs):
    """The shared client, with each source host's minimum interval"""
    policy = Policy(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries=settings.retries,
        backoff=settings.backoff,
        max_backoff=settings.max_backoff,
        max_retry_after=settings.max_retry_after,
        max_response_bytes=settings.max_response_bytes,
        request_deadline=settings.request_deadline,
        fetch_deadline=settings.fetch_deadline,
        max_redirects=settings.max_redirects,
        redirect_origins=settings.redirect_origins,
    )
    intervals = {host_of(settings.hf_base_url): settings.hf_min_interval}
    arxiv_host = host_of(settings.arxiv_base_url)
    intervals[arxiv_host] = max(intervals.get(arxiv_host, 0.0), settings.arxiv_min_interval)
    return Client(policy, intervals=intervals, **kwargs)


def fetch(store, settings, day, *, listings=None, client=None, now=None):
    """Fetch every listing for run day `day`, store what succeeded, and report per listing

    Listings on different hosts are fetched at the same time; the requests of one host
    run one after another (pages in order), spaced by that host's minimum interval.
    """
    listings = tuple(dict.fromkeys(listings or settings.listings))
    for name in listings:
        listing_kind(name)
    now = now or dt.datetime.now(dt.UTC)
    fetched_at = now.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    skipped = {name: why for name in listings if (why := past_day_skip(name, day, now.date()))}
    own_client = client is None
    client = client or make_client(settings)
    try:
        groups = {}
        for name in listings:
            if name not in skipped:
                groups.setdefault(_host_for(name, settings), []).append(name)
        plans = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(groups))) as pool:
            futures = {
                host: pool.submit(_fetch_group, store, settings, client, day, names, fetched_at)
                for host, names in groups.items()
            }
            for future in futures.values():
                plans.update(future.result())
        retries = tuple(client.pauses)
    finally:
        if own_client:
            client.close()
    results = []
    for name in listings:
        if name in skipped:
            results.append(ListingResult(name, skipped=skipped[name]))
            continue
        plan, notes = plans[name]
        if isinstance(plan, DigestError):
            results.append(ListingResult(name, error=plan, warnings=notes))
            continue
        # A list the store already holds (apart from its fetch time) keeps its file, so a
        # second run on a day with nothing new changes nothing (and commits nothing).
        try:
            stored = _store_all(store, plan)
        except DigestError as e:
            results.append(ListingResult(name, error=e, warnings=notes))
            continue
        results.append(ListingResult(name, stored=stored, warnings=notes))
    return FetchReport(day, tuple(results), retries)


def past_day_skip(name, day, today):
    """Why a listing's list of `day` cannot be fetched on `today`, or None when it can

    hf-daily is dated: any day's list can be fetched. hf-trending and arXiv publish only
    their current list: fetched for a past day, it would file today's papers under that day.
    """
    if day >= today or listing_kind(name) == "hf-daily":
        return None
    return f"skipped: only today's list of {name} can be fetched, not {day}'s"


def _host_for(name, settings):
    base = settings.arxiv_base_url if listing_kind(name) == "arxiv" else settings.hf_base_url
    return host_of(base)


def _fetch_group(store, settings, client, day, names, fetched_at):
    """Plan each listing of one host in turn: listing -> ([(Snapshot, what)] or its DigestError, warnings)"""
    plans = {}
    for name in names:
        notes = []
        try:
            plans[name] = _plan(store, settings, client, day, name, fetched_at, notes), tuple(notes)
        except DigestError as e:
            plans[name] = e, tuple(notes)
    return plans


def _plan(store, settings, client, day, name, fetched_at, notes):
    kind = listing_kind(name)
    if kind == "hf-daily":
        return _plan_dated(store, settings, client, day, name, fetched_at, notes)
    if kind == "hf-trending":
        snapshot = _hf_list(settings, client, name, day, {"sort": "trending"}, fetched_at, notes)
        return [(snapshot, "no papers published" if snapshot.published_nothing else "list")]
    return [_arxiv(settings, client, name, fetched_at)]


def _plan_dated(store, settings, client, day, name, fetched_at, notes):
    window = [day - dt.timedelta(days=n) for n in range(settings.window_days, 0, -1)]
    catch_up = [day - dt.timedelta(days=n) for n in range(settings.catch_up_days, 0, -1)]
    stored = {d: store.load(name, d) for d in sorted(set(window) | set(catch_up))}
    wanted = sorted({d for d in window if stored[d] is not None} | {d for d in catch_up if stored[d] is None} | {day})
    fresh = {d: _hf_list(settings, client, name, d, {"date": d.isoformat()}, fetched_at, notes) for d in wanted}

    plan = []
    for d in wanted:
        snapshot, before = fresh[d], stored.get(d)
        if d == day or before is None:
            what = "list" if d == day else "catch-up"
            if d < day:
                # A caught-up day's papers are announced by this run's edition, not by the
                # past day's, which went out (or would have) without them.
                snapshot = dataclasses.replace(snapshot, added={e.key: day for e in snapshot.entries})
            plan.append((snapshot, "no papers published" if snapshot.published_nothing else what))
        elif (merged := _with_late_additions(before, snapshot, day)) is not None:
            plan.append((merged, "late additions"))
    recent = [fresh[d] for d in window if d in fresh]
    if any(s.entries for s in recent):
        plan.append((_recent(name, day, window, recent, settings, fetched_at), "re-observation"))
    return plan


def _with_late_additions(before, fresh, day):
    """The stored list of a past day plus papers the source listed on it after we fetched it

    Stored entries stay as they were (their upvotes are the earlier observation); papers
    added since are appended and marked as added by run day `day`, whose edition announces
    them. None when nothing is new.
    """
    known = {e.key for e in before.entries}
    late = [e for e in fresh.entries if e.key not in known]
    if not late:
        return None
    offset = len(before.entries)
    added = tuple(dataclasses.replace(e, rank=offset + i) for i, e in enumerate(late, start=1))
    return dataclasses.replace(
        before,
        entries=before.entries + added,
        published_nothing=False,
        added={**before.added, **{e.key: day for e in added}},
    )


def _recent(name, day, window, lists, settings, fetched_at):
    """One snapshot of the window's fresh lists on the run day, ranked by upvotes

    It records only what moves (upvotes, comments, stars) beside each paper's id and
    title: the rest is in the paper's list-day snapshot, and pipeline.with_details adds
    it back for a digest. Storing it whole would repeat every abstract seven times.
    """
    seen, rows = set(), []
    for snapshot in sorted(lists, key=lambda s: s.date, reverse=True):
        for entry in snapshot.entries:
            if entry.key not in seen:
                seen.add(entry.key)
                rows.append((-(entry.upvotes or 0), -snapshot.date.toordinal(), entry.rank, entry))
    rows.sort(key=lambda r: r[:3])
    entries = tuple(
        make_entry(rank=i, title=e.title, id=e.id, upvotes=e.upvotes, comments=e.comments, github_stars=e.github_stars)
        for i, (*_, e) in enumerate(rows, start=1)
    )
    return dataclasses.replace(
        lists[0],
        listing=name + RECENT_SUFFIX,
        date=day,
        entries=entries,
        fetched_at=fetched_at,
        published_nothing=False,
        window=(window[0], window[-1]),
        source=Source(kind="hf-json", url=_hf_endpoint(settings)),
    )


def _hf_endpoint(settings):
    return settings.hf_base_url.rstrip("/") + "/api/daily_papers"


def _hf_list(settings, client, name, day, params, fetched_at, notes):
    """One HF list, page after page until a short page (or max_pages), through the HF parser"""
    url = _hf_endpoint(settings)
    entries, seen = [], set()
    for page in range(settings.max_pages):
        query = {**params, "p": page, "limit": settings.page_size}
        body = client.get(url, params=query)
        where = f"{url}?{urllib.parse.urlencode(query)}"
        try:
            parsed = parse_bytes(
                body, name=where, fmt="hf-json", listing=name, day=day, source=Source(kind="hf-json", url=where)
            )
        except InputError as e:
            raise BadResponseError(f"{where}: {e}") from None
        for entry in parsed.snapshot.entries:
            # A paper can move from one page to the next while we page; keep its first place.
            if entry.key not in seen:
                seen.add(entry.key)
                entries.append(dataclasses.replace(entry, rank=len(entries) + 1))
        if len(parsed.snapshot.entries) < settings.page_size:
            break
    else:
        notes.append(
            f"{url}?{urllib.parse.urlencode(params)}: stopped after max_pages ({settings.max_pages}) "
            f"full pages; kept the first {len(entries)} papers"
        )
    return dataclasses.replace(
        parsed.snapshot,
        entries=tuple(entries),
        fetched_at=fetched_at,
        source=Source(kind="hf-json", url=f"{url}?{urllib.parse.urlencode(params)}"),
        published_nothing=not entries,
    )


def _arxiv(settings, client, name, fetched_at):
    category = name.split(":", 1)[1]
    url = f"{settings.arxiv_base_url.rstrip('/')}/rss/{category}"
    body = client.get(url)
    try:
        parsed = parse_bytes(
            body,
            name=f"{category}.rss",
            fmt="arxiv-rss",
            listing=name,
            source=Source(kind="arxiv-rss", url=url),
            cross_lists=settings.arxiv_cross_lists,
        )
    except InputError as e:
        raise BadResponseError(f"{url}: {e}") from None
    snapshot = dataclasses.replace(parsed.snapshot, fetched_at=fetched_at)
    return snapshot, "no papers published" if snapshot.published_nothing else "list"


def _store_all(store, plan):
    """Write a listing's snapshots all or none: a failed write (a full disk) puts back the files before it"""
    before, stored = {}, []
    try:
        for snapshot, what in plan:
            path = store.path(snapshot.listing, snapshot.date)
            before[path] = path.read_bytes() if path.exists() else None
            path, changed = store.save_if_changed(snapshot)
            stored.append(Stored(snapshot.listing, snapshot.date, len(snapshot.entries), path, what, changed))
    except (DigestError, OSError, ValueError) as e:
        error = e if isinstance(e, DigestError) else BadResponseError(f"cannot store {path}: {e}")
        undone = [s.path for s in stored if s.changed]
        try:
            for written in undone:
                if before[written] is None:
                    written.unlink(missing_ok=True)
                else:
                    write_atomic(written, before[written])
        except (DigestError, OSError) as again:
            raise type(error)(f"{error}; and {written} could not be put back ({again})") from None
        raise error from None
    return tuple(stored)
