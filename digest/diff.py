"""Pure: what is new, trending, returning, dropped and top on a day, from the History"""

from __future__ import annotations

from digest.models import RECENT_SUFFIX, Digest, Item, Trend


def ranks_across_days(listing):
    """True when a listing's order ranks the same population from one day to the next

    A trending list or a captured trending page does; a per-day list (hf-daily, an arXiv
    feed) holds other papers every day, and a re-observation window loses its oldest day
    each day, so places climbed there say nothing about a paper.
    """
    return not (listing == "hf-daily" or listing.startswith("arxiv") or listing.endswith(RECENT_SUFFIX))


def make_digest(day, history, today, previous, trending, top_items, load=None):
    """Compute the Digest of `day`: the edition of that day

    today: listing -> Snapshot on `day`; previous: listing -> that listing's latest
    earlier Snapshot (or None); trending: TrendingSettings; top_items: how many top papers.
    New is every paper whose edition this is (history.first_seen): the day's own lists and
    papers a fetch on this day added to earlier lists (labelled late). `load(listing, day)`
    reads the earlier list of a late paper that no snapshot of the day shows (a window
    shorter than the catch-up); without it such papers are left out.
    """
    seen = {}  # identity -> Items of that paper today, in (listing, rank) order
    for listing in sorted(today):
        for entry in today[listing].entries:
            seen.setdefault(history.key_of(entry), []).append(Item(history.key_of(entry), listing, entry))
    # A paper on several listings shows its best-ranked entry among those that know its
    # upvotes: an arXiv listing knows no upvotes and no AI summary. Its own list beats a
    # re-observation of it.
    best = {
        key: min(
            items, key=lambda i: (i.entry.upvotes is None, i.listing.endswith(RECENT_SUFFIX), i.entry.rank, i.listing)
        )
        for key, items in seen.items()
    }
    by_place = sorted(best.values(), key=lambda i: (i.listing, i.entry.rank, i.key))

    new = tuple(_announced(i, history) for i in by_place if history.first_seen(i.key) == day)
    new += _late_unseen(day, history, seen, load)
    new_keys = {i.key for i in new}
    trends = [
        t
        for key, items in seen.items()
        if key not in new_keys
        if (t := _trend(day, history, best[key], items, previous, trending))
    ]
    trends.sort(key=lambda t: (-t.score, -(t.item.entry.upvotes or 0), t.item.key))
    returning, dropped = _comings_and_goings(day, history, today, previous)
    # Top is the day's own papers: a re-observation of earlier lists belongs on the week page.
    own = [i for i in best.values() if not i.listing.endswith(RECENT_SUFFIX)]
    top = sorted(
        own, key=lambda i: (-(i.entry.upvotes if i.entry.upvotes is not None else -1), i.entry.rank, i.listing, i.key)
    )
    return Digest(
        date=day,
        listings=tuple(sorted(today)),
        new=new,
        trending=tuple(trends[: trending.max_items]),
        returning=returning,
        dropped=dropped,
        top=tuple(top[:top_items]),
        papers_seen=len(best),
        quiet=tuple(name for name in sorted(today) if not today[name].entries and not today[name].window),
    )


def _announced(item, history):
    """The item as the edition announces it: a late paper under its own list, labelled"""
    late = history.announcement(item.key)
    if late is None:
        return item
    return Item(item.key, late.listing, item.entry, list_day=late.list_day, late=late.late)


def _late_unseen(day, history, seen, load):
    """Items announced on `day` from earlier lists that no snapshot of `day` shows, in list order"""
    wanted = sorted(
        (a.listing, a.list_day, key) for key, a in (history.late or {}).items() if a.day == day and key not in seen
    )
    if not wanted or load is None:
        return ()
    found = []
    for listing, list_day in dict.fromkeys((listing, d) for listing, d, _ in wanted):
        snapshot = load(listing, list_day)
        keys = {key for lst, d, key in wanted if (lst, d) == (listing, list_day)}
        for entry in snapshot.entries if snapshot else ():
            key = history.key_of(entry)
            if key in keys:
                keys.discard(key)
                found.append(_announced(Item(key, listing, entry), history))
    return tuple(found)


def _trend(day, history, item, items, previous, settings):
    """Score a paper seen before; None without a real signal above the [trending] thresholds

    The signals: upvotes gained since the last observation that showed another count (an
    identical re-served copy is no new evidence, so the gain is spread over the days since
    that count was first seen), and places climbed on a listing that ranks across days.
    """
    earlier = [o for o in history.observations[item.key] if o.day < day]
    if not earlier:
        return None
    gain, since = _gain(day, [i.entry.upvotes for i in items], earlier)
    gap = (day - since).days if since else 1

    climb, climb_listing, climb_gap = None, None, 1
    for i in items:
        before = previous.get(i.listing)
        if before is None or not ranks_across_days(i.listing):
            continue
        rank_before = next((e.rank for e in before.entries if history.key_of(e) == i.key), None)
        if rank_before is not None and (climb is None or rank_before - i.entry.rank > climb):
            climb, climb_listing = rank_before - i.entry.rank, i.listing
            climb_gap = (day - before.date).days

    real_gain = gain is not None and gain >= settings.min_upvote_gain
    real_climb = climb is not None and climb >= settings.min_rank_climb
    if not (real_gain or real_climb):
        return None
    # Days on a published list: a re-observation of a list is not another day on it.
    days_on = len(
        {o.day for o in history.observations[item.key] if o.day <= day and not o.listing.endswith(RECENT_SUFFIX)}
    )
    score = (
        settings.upvote_weight * (gain / gap if real_gain else 0)
        + settings.rank_weight * (climb / climb_gap if real_climb else 0)
        + settings.persistence_weight * (days_on - 1)
    )
    if score < settings.min_score:
        return None
    reasons = []
    if real_gain:
        rate = f" ({gain / gap:.1f} a day)" if gap > 1 else ""
        reasons.append(f"+{gain} {'upvote' if gain == 1 else 'upvotes'} since {_short_date(since)}{rate}")
    if real_climb:
        reasons.append(f"up {climb} {'place' if climb == 1 else 'places'} on {climb_listing}")
    if days_on > 1:
        reasons.append(f"{_ordinal(days_on)} day on the list")
    return Trend(
        item=item,
        score=round(score, 2),
        reasons=tuple(reasons),
        upvote_gain=gain if real_gain else None,
        rank_climb=climb if real_climb else None,
        days_seen=days_on,
    )


def _comings_and_goings(day, history, today, previous):
    """Papers back on a ranking listing after an absence, and papers gone from it since its last snapshot

    Only a listing that ranks across days (ranks_across_days) says anything by losing a
    paper: a per-day list always "drops" the whole previous day's list.
    """
    returning, dropped = [], []
    for listing in sorted(today):
        before = previous.get(listing)
        if before is None or today[listing].window or not ranks_across_days(listing):
            continue
        keys_before = {history.key_of(e) for e in before.entries}
        keys_now = set()
        for entry in today[listing].entries:
            key = history.key_of(entry)
            keys_now.add(key)
            if key not in keys_before and history.first_seen(key) < day:
                returning.append(Item(key, listing, entry))
        dropped.extend(Item(history.key_of(e), listing, e) for e in before.entries if history.key_of(e) not in keys_now)
    return _unique(returning), _unique(dropped)


def _unique(items):
    """Items in order, one per (listing, paper): a listing may show a paper twice"""
    seen, kept = set(), []
    for item in items:
        if (item.listing, item.key) not in seen:
            seen.add((item.listing, item.key))
            kept.append(item)
    return tuple(kept)


def _gain(day, now, earlier):
    """(upvotes gained since the last other count, the day that count was first seen), or (None, None)

    `earlier`: the paper's observations before `day`, in day order. Observations that
    repeat the last count (a re-served copy, a re-observation of an unchanged list) are not
    new evidence: the gain is measured from the first of them.
    """
    now = [u for u in now if u is not None]
    counted = [o for o in earlier if o.upvotes is not None]
    if not now or not counted:
        return None, None
    last_day = counted[-1].day
    last = max(o.upvotes for o in counted if o.day == last_day)
    since = last_day
    for o in reversed(counted):
        if o.day == last_day:
            continue
        if o.upvotes != last:
            break
        since = o.day
    return max(now) - last, since


def _short_date(day):
    return f"{day:%b} {day.day}"


def _ordinal(n):
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
