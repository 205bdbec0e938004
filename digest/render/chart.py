"""The inline SVG chart of a paper's upvotes and rank (coordinates only; the template draws it)"""

from __future__ import annotations

from dataclasses import dataclass

from digest.render.presentation import plural, short_date


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
    """Points for a paper's upvote and rank history, one point per day (best rank that day)

    None for a paper seen on one day only: one dot says less than a sentence (the page says
    "Seen once, on ..." instead).
    """
    per_day = {}
    for o in observations:
        ups, rank = per_day.get(o.day, (None, None))
        if o.upvotes is not None:
            ups = o.upvotes if ups is None else max(ups, o.upvotes)
        rank = o.rank if rank is None else min(rank, o.rank)
        per_day[o.day] = (ups, rank)
    days = sorted(per_day)
    if len(days) < 2:
        return None
    first, last = days[0], days[-1]
    span = max((last - first).days, 1)
    left, right, top, bottom = 40, 16, 26, 24
    inner_w, inner_h = width - left - right, height - top - bottom

    def x(day):
        return left + inner_w * (day - first).days / span

    up_values = [per_day[d][0] for d in days if per_day[d][0] is not None]
    up_max = max(up_values + [1])
    rank_max = max(per_day[d][1] for d in days)
    ups = tuple(
        (
            round(x(d), 1),
            round(top + inner_h * (1 - per_day[d][0] / up_max), 1),
            f"{short_date(d)}: {plural(per_day[d][0], 'upvote')}",
        )
        for d in days
        if per_day[d][0] is not None
    )
    ranks = tuple(
        (
            round(x(d), 1),
            round(top + inner_h * ((per_day[d][1] - 1) / max(rank_max - 1, 1)), 1),
            f"{short_date(d)}: rank {per_day[d][1]}",
        )
        for d in days
    )

    def path(points):
        return " ".join(f"{'M' if n == 0 else 'L'}{px},{py}" for n, (px, py, _) in enumerate(points))

    labels = [(round(x(first), 1), short_date(first)), (round(x(last), 1), short_date(last))]
    if up_values:
        desc = (
            f"Upvotes from {up_values[0]} to {up_values[-1]} (peak {max(up_values)}) "
            f"over {plural(len(days), 'day')} seen; best rank {min(per_day[d][1] for d in days)}."
        )
    else:
        desc = f"No upvote counts recorded; best rank {min(per_day[d][1] for d in days)}."
    return Chart(width, height, ups, ranks, path(ups), path(ranks), tuple(labels), up_max, rank_max, desc)
