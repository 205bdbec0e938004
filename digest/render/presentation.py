"""The presentation of every renderer: links, bylines, summaries, dates, listing names, Markdown escaping"""

from __future__ import annotations

import datetime as dt
import functools
import re
import sys

from digest.models import CardEntry
from digest.text import safe_url

# Characters that change meaning anywhere in a Markdown line (emphasis, links, tables,
# HTML, entities, math in renderers that support it), and "!" only where it opens an image.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|$~&]|!(?=\[))")
# Sentence ends, but not after common abbreviations (e.g., i.e., et al., vs., Fig.).
_SENTENCE_END = re.compile(
    r"(?<=[.!?])(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bal\.)(?<!\bvs\.)(?<!\bFig\.)(?<!\bEq\.)\s+(?=[A-Z0-9\"'(\[])"
)
_MAX_SUMMARY = 400
# An entry's links, in the order and with the names every renderer shows them.
LINK_LABELS = (("hf", "Hugging Face"), ("arxiv", "arXiv"), ("pdf", "PDF"), ("code", "Code"), ("project", "Project"))


def md_escape(value):
    """Escape text for Markdown so that titles like `*`, `_`, `[`, `|`, `$` show as written"""
    return _MD_SPECIAL.sub(r"\\\1", value or "")


def md_url(url):
    """A URL safe inside a Markdown link's parentheses"""
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def short_authors(entry, most=3):
    """'A, B, C and D', or 'A, B, C and 12 more'; '7 authors' when only the count is known"""
    names = list(entry.authors)
    if not names:
        return plural(entry.author_count, "author") if entry.author_count else ""
    total = max(entry.author_count or 0, len(names))
    # "and 1 more" saves nothing over the name itself.
    if total <= most + 1 and total == len(names):
        return names[0] if total == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return ", ".join(names[:most]) + f" and {total - most} more"


def byline(entry, most=3):
    """The parts of a paper's byline: authors, organization, upvotes, comments (those known)"""
    parts = [short_authors(entry, most), entry.organization]
    if entry.upvotes is not None:
        parts.append(plural(entry.upvotes, "upvote"))
    if entry.comments:
        parts.append(plural(entry.comments, "comment"))
    return [p for p in parts if p]


def entry_links(entry):
    """(label, url) of an entry's links, each checked again: only http(s) reaches a reader"""
    return [(label, url) for kind, label in LINK_LABELS if (url := safe_url(entry.links.get(kind)))]


def short_summary(entry, sentences=2):
    """The AI summary when the source has one, else the abstract's first sentences"""
    text = entry.ai_summary or entry.abstract or ""
    if not entry.ai_summary:
        text = " ".join(_SENTENCE_END.split(text)[:sentences])
    if len(text) > _MAX_SUMMARY:
        text = text[:_MAX_SUMMARY].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return text


def card_entry(entry, most=3, sentences=2):
    """The entry cut to what `byline(entry, most)` and `short_summary(entry, sentences)` use,
    which give the same text for it as for the whole entry (a CardEntry)"""
    if type(entry) is CardEntry:
        return entry
    authors = entry.authors[: most + 1]
    abstract = None
    if not entry.ai_summary and entry.abstract:
        # short_summary splits at sentence ends and joins with a space: cut the same way,
        # the text splits into the same sentences again.
        abstract = " ".join(_SENTENCE_END.split(entry.abstract)[:sentences])
    return CardEntry(
        rank=entry.rank,
        title=entry.title,
        id=entry.id,
        abstract=abstract,
        authors=authors,
        author_count=max(entry.author_count or 0, len(entry.authors)) or None,
        organization=entry.organization,
        published=entry.published,
        upvotes=entry.upvotes,
        comments=entry.comments,
        links=entry.links,
        # Topics repeat across thousands of papers: one string each.
        keywords=tuple(map(sys.intern, entry.keywords)),
        ai_summary=entry.ai_summary,
        github_stars=entry.github_stars,
    )


def long_date(day):
    """'Friday, 21 August 2026'"""
    return f"{day:%A}, {day.day} {day:%B %Y}"


# A site has a few thousand distinct days; formatting each once saves a second on a big build.
@functools.cache
def short_date(day):
    """'21 Aug 2026'"""
    return f"{day.day} {day:%b %Y}"


@functools.lru_cache(maxsize=8192)
def _day_shown(day):
    return day.isoformat(), short_date(day)  # a few thousand days, on a hundred thousand rows


@functools.lru_cache(maxsize=8192)
def _upvotes_shown(count):
    return plural(count, "upvote")


def topic_rows(papers):
    """What a topic page shows of each of `papers`: (page name, title, last day seen as
    YYYY-MM-DD, that day as shown, peak upvotes as shown or None)"""
    rows = []
    for paper in papers:
        peak = paper.peak_upvotes
        rows.append(
            (
                paper.slug,
                paper.entry.title,
                *_day_shown(paper.last_seen),
                None if peak is None else _upvotes_shown(peak),
            )
        )
    return tuple(rows)


def week_label(name):
    """'Week 34 of 2026 (17 Aug 2026 – 23 Aug 2026)' for '2026-W34'"""
    year, week = name.split("-W")
    monday = dt.date.fromisocalendar(int(year), int(week), 1)
    return f"Week {int(week)} of {year} ({short_date(monday)} – {short_date(monday + dt.timedelta(days=6))})"


def month_label(name):
    """'August 2026' for '2026-08'"""
    return f"{dt.date.fromisoformat(name + '-01'):%B %Y}"


def plural(count, noun):
    """'1 paper', '3 papers'"""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


PAGER_AROUND = 2  # page links shown on each side of the current page


def pager(paths, number, last=None, around=PAGER_AROUND):
    """(page number, path, label) of the page links a long list shows, None for a gap: the
    first and the last page, and `around` pages on each side of page `number` (from 1); a
    page's label is its number, the last page's `last` when given

    A gap stands for two pages or more; a single page left out is shown instead. A topic of
    7,000 papers has 70 pages: every page linking every other made each page's navigation
    a list of 70 links. A topic's pages are numbered from its oldest and the last, its
    newest, is labelled "Newest": when a topic begins a new page, only the pages near the
    end change, not the navigation of every page.
    """
    count = len(paths)
    shown = sorted({1, count} | set(range(max(1, number - around), min(count, number + around) + 1)))
    links = []
    for n in shown:
        if links and n - links[-1][0] == 2:
            links.append((n - 1, paths[n - 2], str(n - 1)))
        elif links and n - links[-1][0] > 2:
            links.append(None)
        links.append((n, paths[n - 1], last if last is not None and n == count else str(n)))
    return links


def shown_links(paths, number, last=None):
    """What page `number`'s navigation shows: each link's path, label and relation to the page
    (not the page numbers: with `last`, the last page's number, the page count, is not shown)"""
    if len(paths) < 2:
        return ()
    relation = {number - 1: "prev", number: "current", number + 1: "next"}
    return tuple(link and (link[1], link[2], relation.get(link[0], "")) for link in pager(paths, number, last))


# What readers see for a listing: internal names (hf-daily, arxiv:cs.CL) never reach them.
LISTING_NAMES = {
    "hf-daily": "Hugging Face Daily Papers",
    "hf-daily-recent": "Hugging Face Daily Papers",
    "hf-trending": "Hugging Face trending papers",
    "hf-papers-page": "Hugging Face papers page",
}


def listing_labels(listings, names=None):
    """Listings' names for readers, joined with commas, each name once"""
    return ", ".join(dict.fromkeys(listing_label(listing, names) for listing in listings))


def listing_label(listing, names=None):
    """A listing's name for readers: configured, else known, else derived ('arxiv:cs.CL' -> 'arXiv cs.CL')"""
    if names and listing in names:
        return names[listing]
    if listing in LISTING_NAMES:
        return LISTING_NAMES[listing]
    if listing.startswith("arxiv:"):
        return f"arXiv {listing[len('arxiv:') :]}"
    if listing.endswith("-recent"):
        return listing_label(listing[: -len("-recent")], names)
    return listing
