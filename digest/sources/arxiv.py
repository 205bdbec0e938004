"""arXiv listing feeds (rss.arxiv.org/rss/<category>): the day's announcements as entries"""

from __future__ import annotations

import email.utils
import re

import feedparser

from digest.errors import InputError
from digest.models import make_entry
from digest.text import arxiv_id

# What arxiv:announce_type says about an item; "new" and "cross" are papers first
# announced today, the replace kinds are new versions of old papers.
FIRST_ANNOUNCED = ("new",)
CROSS_LISTED = ("cross",)
_ABSTRACT = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*Abstract:\s*", re.IGNORECASE)
_ID_IN = re.compile(r"(?:oai:arXiv\.org:|arxiv\.org/abs/)(\S+?)(?:v\d+)?$", re.IGNORECASE)


_CATEGORY = re.compile(r"^([A-Za-z0-9.\-]+) updates on arXiv", re.IGNORECASE)


def parse_feed(data, *, cross_lists=False):
    """Parse a feed's bytes: return (listing name or None, announcement day or None, entries, had items)

    Keeps the items announced as new (and cross-lists when asked), in feed order.
    """
    # feedparser reads RSS and Atom in any encoding, and never fetches external entities.
    feed = feedparser.parse(data)
    if not feed.version:
        problem = getattr(feed.get("bozo_exception"), "getMessage", lambda: "")() or "no <rss> or <feed> root"
        raise InputError(f"not an RSS or Atom feed ({problem})")
    kinds = FIRST_ANNOUNCED + (CROSS_LISTED if cross_lists else ())
    entries = []
    for index, item in enumerate(feed.entries, start=1):
        kind = (item.get("arxiv_announce_type") or "new").strip().lower()
        if kind not in kinds:
            continue
        title = item.get("title")
        if not title:
            raise InputError(f"feed item {index}: has no title")
        entries.append(
            make_entry(
                rank=len(entries) + 1,
                title=title,
                id=_item_id(item),
                abstract=_ABSTRACT.sub("", item.get("summary") or "") or None,
                authors=[a.strip() for a in (item.get("author") or "").split(",") if a.strip()],
                published=_day(item.get("published")),
            )
        )
    day = _day(feed.feed.get("published") or feed.feed.get("updated"))
    category = _CATEGORY.match(feed.feed.get("title") or "")
    listing = f"arxiv:{category.group(1)}" if category else None
    return listing, day, tuple(entries), bool(feed.entries)


def _item_id(item):
    for value in (item.get("id"), item.get("link")):
        match = _ID_IN.search(value or "")
        if match and arxiv_id(match.group(1)):
            return arxiv_id(match.group(1))
    return None


def _day(stamp):
    """The calendar day an RFC 822 date names, in its own time zone (arXiv's is US Eastern)"""
    if not stamp:
        return None
    try:
        return email.utils.parsedate_to_datetime(stamp).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return None
