"""Pure: what is new, trending, returning, dropped and top on a day, from the History"""

from __future__ import annotations

from digest.models import Digest, Item, Trend


def make_digest(day, history, today, previous, trending, top_items):
    """Compute the Digest of `day`

    today: listing -> Snapshot on `day`; previous: listing -> that listing's latest
    earlier Snapshot (or None); trending: TrendingSettings; top_items: how many top papers.
    """
    seen = {}  # identity -> Items of that paper today, in (listing, rank) order
    for listing in sorted(today):
        for entry in today[listing].entries:
            seen.setdefault(history.key_of(entry), []).append(Item(history.key_of(entry), listing, entry))
    # A paper on several listings shows its best-ranked entry among those that know its
    # upvotes: an arXiv listing knows no upvotes and no AI summary.
    best = {key: min(items, key=lambda i: (i.entry.upvotes is None, i.entry.rank, i.listing))
            for key, items in seen.items()}
    by_place = sorted(best.values(), key=lambda i: (i.listing, i.entry.rank, i.key))

    new = tuple(i for i in by_place if history.first_seen(i.key) == day)
    new_keys = {i.key for i in new}
    trends = [t for key, items in seen.items() if key not in new_keys
              if (t := _trend(day, history, best[key], items, previous, trending))]
    trends.sort(key=lambda t: (-t.score, -(t.item.entry.upvotes or 0), t.item.key))
    returning, dropped = _comings_and_goings(day, history, today, previous)
    top = sorted(best.values(), key=lambda i: (-(i.entry.upvotes if i.entry.upvotes is not None else -1),
                                              i.entry.rank, i.listing, i.key))
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


def _trend(day, history, item, items, previous, settings):
    """Score a paper seen before; None when it did not gain upvotes or climb"""
    observations = history.observations[item.key]
    earlier = [o for o in observations if o.day < day]
    if not earlier:
        return None
    days_seen = len({o.day for o in observations if o.day <= day})
    last_day = earlier[-1].day
    gain = _gain([i.entry.upvotes for i in items], [o.upvotes for o in earlier if o.day == last_day])
    gap = (day - last_day).days

    climb, climb_listing, climb_gap = None, None, 1
    for i in items:
        before = previous.get(i.listing)
        if before is None:
            continue
        rank_before = next((e.rank for e in before.entries if history.key_of(e) == i.key), None)
        if rank_before is not None and (climb is None or rank_before - i.entry.rank > climb):
            climb, climb_listing = rank_before - i.entry.rank, i.listing
            climb_gap = (day - before.date).days

    if not ((gain or 0) > 0 or (climb or 0) > 0):
        return None
    score = (settings.upvote_weight * max(gain or 0, 0) / gap
             + settings.rank_weight * max(climb or 0, 0) / climb_gap
             + settings.persistence_weight * (days_seen - 1))
    if score < settings.min_score:
        return None
    reasons = []
    if gain and gain > 0:
        rate = f" ({gain / gap:.1f} a day)" if gap > 1 else ""
        reasons.append(f"+{gain} {'upvote' if gain == 1 else 'upvotes'} since {_short_date(last_day)}{rate}")
    if climb and climb > 0:
        reasons.append(f"up {climb} {'place' if climb == 1 else 'places'} on {climb_listing}")
    if days_seen > 1:
        reasons.append(f"{_ordinal(days_seen)} day on the list")
    return Trend(item=item, score=round(score, 2), reasons=tuple(reasons), upvote_gain=gain,
                 rank_climb=climb, days_seen=days_seen)


def _comings_and_goings(day, history, today, previous):
    """Papers back on a listing after an absence, and papers gone from it since its last snapshot"""
    returning, dropped = [], []
    for listing in sorted(today):
        before = previous.get(listing)
        # A re-observation snapshot (one with a window) gains and loses papers as its
        # window moves, which says nothing about the papers themselves.
        if before is None or today[listing].window:
            continue
        keys_before = {history.key_of(e) for e in before.entries}
        keys_now = set()
        for entry in today[listing].entries:
            key = history.key_of(entry)
            keys_now.add(key)
            if key not in keys_before and history.first_seen(key) < day:
                returning.append(Item(key, listing, entry))
        dropped.extend(Item(history.key_of(e), listing, e) for e in before.entries
                       if history.key_of(e) not in keys_now)
    return _unique(returning), _unique(dropped)


def _unique(items):
    """Items in order, one per (listing, paper): a listing may show a paper twice"""
    seen, kept = set(), []
    for item in items:
        if (item.listing, item.key) not in seen:
            seen.add((item.listing, item.key))
            kept.append(item)
    return tuple(kept)


def _gain(now, before):
    now = [u for u in now if u is not None]
    before = [u for u in before if u is not None]
    return max(now) - max(before) if now and before else None


def _short_date(day):
    return f"{day:%b} {day.day}"


def _ordinal(n):
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
