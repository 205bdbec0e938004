"""RSS 2.0, Atom and JSON Feed 1.1: one item per daily edition, and one item per new paper

Each feed holds every item of the last `[site] feed_days` days (so a reader who looks once
in that time misses nothing, however many papers a day brings), and at least the latest
`[site] feed_items` items.

Items are dated when their edition was made: the latest fetch time of the day's snapshots,
else (an imported day, whose fetch time is unknown) noon UTC of the day, which falls on the
same calendar day for readers from UTC-11 to UTC+11. Dates then decrease by at least a
second from one item to the next, in feed order (a day's papers in listing order): readers
that sort by date keep that order, and no two Atom entries share an `updated` value.

GUIDs are tag: URIs made from the site id (`[site] site_id`, else `github.com/<owner/repo>`
from GITHUB_REPOSITORY, else the configured base URL's host and path) and the item's own
name: the same on every build, different between two sites.

feedgen writes RSS and Atom. Its known bugs are worked around here: Atom entry links
lose `rel` and `type` in 1.0.0 (fixed after serialising), `add_entry` prepends unless
`order="append"`, and `lastBuildDate`/`updated` default to now (every date is pinned to
the data, so two builds of the same data are byte-identical). JSON Feed is plain JSON (orjson).
"""

from __future__ import annotations

import datetime as dt
import html
import re
import urllib.parse
from collections import Counter
from typing import NamedTuple

import orjson
from markupsafe import escape

from digest.render import make_env
from digest.render.contexts import DayFeedItem, FeedCard, PaperFeedItem
from digest.render.presentation import byline, entry_links, plural, short_date, short_summary
from digest.topics.book import want_links

# XML 1.0 forbids these characters even when escaped; titles were cleaned on import,
# but a feed must stay well-formed whatever a snapshot holds.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
ATOM_NS = "http://www.w3.org/2005/Atom"
GUID_SCHEME = "tag:digest,2024:"
UTC = dt.UTC
EDITION_TIME = dt.time(12, 0)  # an edition's time when its fetch time is unknown (an imported day)
FEED_AUTHORS = 10  # authors named per paper item (its content gives the whole byline)
DAY_CATEGORIES = 8  # categories of a daily item: its papers' most frequent topics


def xml_text(value):
    """Text safe inside XML: invalid characters removed (escaping is the serialiser's job)"""
    return _XML_INVALID.sub("", value or "")


def edition_time(day, stamps=()):
    """When a day's edition was made: its latest snapshot fetch, else noon UTC of the day"""
    times = []
    for stamp in stamps:
        try:
            moment = dt.datetime.fromisoformat(stamp)
        except ValueError:
            continue  # a hand-made snapshot's stamp: the day's pinned time will do
        if moment.tzinfo is not None:
            times.append(moment.astimezone(UTC).replace(microsecond=0))
    return max(times) if times else dt.datetime.combine(day, EDITION_TIME, tzinfo=UTC)


def site_id(settings):
    """The site's part of every GUID: [site] site_id, else the configured base URL's host and path

    The base URL is a fallback only: a site that moves without a site_id gets new GUIDs,
    and its readers see every item once more.
    """
    if settings.site_id:
        return settings.site_id
    parts = urllib.parse.urlsplit(settings.base_url)
    return urllib.parse.quote(f"{parts.netloc}{parts.path}".rstrip("/").casefold(), safe="/:.-_~")


class FeedItem(NamedTuple):
    """One item of any flavour: stable id, link, title, date, HTML content, authors and categories"""

    guid: str
    url: str
    title: str
    date: dt.datetime
    html: str
    summary: str
    authors: tuple
    categories: tuple


def topic_names(archive, keywords):
    """The topics of some keywords, each once: a keyword's topic name when it is a topic"""
    names = {}
    for keyword in keywords:
        slug = archive.topic_index.get(keyword.casefold())
        topic = archive.topic_list.get(slug) if slug else None
        name = topic[0] if topic else keyword
        names.setdefault(name.casefold(), name)
    return tuple(names.values())


def _render(template, page):
    """A feed item's HTML content from its one context object"""
    return make_env("html").get_template(template).render(page=page)


def _recent_days(archive, settings):
    """The days of the feeds, newest first: every day of the last feed_days, then the older ones"""
    days = list(reversed(archive.days))
    start = days[0] - dt.timedelta(days=settings.feed_days - 1) if days else None
    return [day for day in days if day >= start], [day for day in days if day < start]


def daily_items(archive, site, settings, editions=None):
    """One item per edition: the last feed_days days, and at least feed_items editions

    An edition's HTML is a function of its day's digest (and of the settings and templates,
    which the build key holds): one the last build rendered for the same day key
    (archive.editions) is used as it is. editions: filled with day -> (day key, HTML).
    """
    recent, older = _recent_days(archive, settings)
    days = recent + older[: max(settings.feed_items - len(recent), 0)]
    guid = f"{GUID_SCHEME}{site_id(settings)}:day:"
    items = []
    for day in days:
        d = archive.digests[day]
        url = f"{site.base_url}day/{day}.html"
        key = archive.day_keys.get(day)
        kept = archive.editions.get(day)
        if key is not None and kept is not None and kept[0] == key:
            html = kept[1]
        else:
            content = DayFeedItem(
                digest=d,
                new=tuple(_card(archive, site, item) for item in d.new),
                trending=tuple(_card(archive, site, t.item, t.reasons) for t in d.trending),
                url=url,
                listings=site.listings(d.listings),
            )
            html = _render("site/_feed_day.html", content)
        if editions is not None and key is not None:
            editions[day] = (key, html)
        items.append(
            FeedItem(
                f"{guid}{day}",
                url,
                _day_title(d),
                edition_time(day, archive.fetched.get(day, ())),
                html,
                _day_summary(site, d),
                (site.title,),
                _day_categories(archive, d),
            )
        )
    return _descending(items)


def _day_categories(archive, d):
    """The topics most of the edition's papers share: by how many papers have one, then in listing order"""
    topics = Counter(
        topic for item in (*d.new, *(t.item for t in d.trending)) for topic in topic_names(archive, item.entry.keywords)
    )
    # Counter keeps first-seen order, and sorted() is stable: ties stay in listing order.
    return tuple(sorted(topics, key=lambda t: -topics[t])[:DAY_CATEGORIES])


def _day_title(d):
    """'21 Aug 2026: 17 new papers, 3 trending'"""
    parts = [plural(len(d.new), "new paper")] if d.new else []
    if d.trending:
        parts.append(f"{len(d.trending)} trending" if d.new else f"{plural(len(d.trending), 'paper')} trending")
    if not parts:
        parts = ["no new papers" if d.papers_seen else "no papers listed"]
    return f"{short_date(d.date)}: {', '.join(parts)}"


def _day_summary(site, d):
    if not d.papers_seen:
        return "No papers were listed on this day."
    return f"{plural(d.papers_seen, 'paper')} on {site.listings(d.listings)}: {len(d.new)} new, {len(d.trending)} trending."


def _card(archive, site, item, reasons=()):
    paper = archive.papers[item.key]
    url = f"{site.base_url}paper/{paper.slug}.html"
    return FeedCard(
        item.entry.title,
        url,
        tuple(byline(item.entry, site.max_authors)),
        tuple(reasons),
        short_summary(item.entry, site.summary_sentences),
        (("Paper page", url), *entry_links(item.entry)),
    )


def paper_items(archive, site, settings):
    """Every new paper of the last feed_days days, and at least feed_items: newest day first, in listing order"""
    recent, older = _recent_days(archive, settings)
    guid = f"{GUID_SCHEME}{site_id(settings)}:paper:"
    items = []
    for day in recent + older:
        if day not in recent and len(items) >= settings.feed_items:
            break
        made = edition_time(day, archive.fetched.get(day, ()))
        for item in archive.digests[day].new:
            if day not in recent and len(items) >= settings.feed_items:
                break
            paper = archive.papers[item.key]
            entry = archive.entry_of(paper)
            url = f"{site.base_url}paper/{paper.slug}.html"
            content = PaperFeedItem(
                entry=entry,
                byline=tuple(byline(entry, site.max_authors)),
                links=tuple(entry_links(entry)),
                day=short_date(day),
                listing=site.listing(item.listing),
            )
            html = _render("site/_feed_paper.html", content)
            authors = tuple(entry.authors[:FEED_AUTHORS]) or (entry.organization or site.title,)
            items.append(
                FeedItem(
                    f"{guid}{paper.slug}",
                    url,
                    entry.title,
                    made,
                    html,
                    short_summary(entry, site.summary_sentences) or entry.title,
                    authors,
                    topic_names(archive, entry.keywords),
                )
            )
    return _descending(items)


def _descending(items):
    """Items dated at least a second apart, in feed order: each no later than its edition"""
    out = []
    for item in items:
        if out and item.date >= out[-1].date:
            item = item._replace(date=out[-1].date - dt.timedelta(seconds=1))
        out.append(item)
    return out


def _xml_item(item):
    """The item with its text made safe inside XML (xml_text), once for both XML flavours"""
    return item._replace(
        title=xml_text(item.title),
        html=xml_text(item.html),
        summary=xml_text(item.summary),
        authors=tuple(map(xml_text, item.authors)),
        categories=tuple(map(xml_text, item.categories)),
    )


def _feedgen(site, feed_id, name, title, description, items, kind):
    """RSS or Atom of `items`, whose text is safe in XML already (_xml_item)"""
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    if kind == "rss":
        fg.load_extension("dc", atom=False, rss=True)  # dc:creator: RSS <author> wants an email address
    self_url = f"{site.base_url}feeds/{name}.{'atom' if kind == 'atom' else 'xml'}"
    fg.id(feed_id)
    fg.title(xml_text(title))
    # An RSS channel description is HTML to readers, so operator text (the site title in
    # it) is escaped like data; Atom's subtitle is plain text.
    fg.description(xml_text(html.escape(description, quote=False) if kind == "rss" else description))
    if kind != "rss":
        fg.subtitle(xml_text(description))
    fg.author({"name": xml_text(site.title)})
    # feedgen uses the *last* link added as the RSS channel link: self first, then home.
    fg.link(href=self_url, rel="self")
    fg.link(href=site.base_url, rel="alternate")
    fg.language("en")
    fg.generator("digest")
    # Pinned: feedgen would stamp the time of the build.
    updated = items[0].date if items else dt.datetime(1970, 1, 1, tzinfo=UTC)
    fg.updated(updated)
    fg.lastBuildDate(updated)
    for item in items:
        fe = fg.add_entry(order="append")
        fe.id(item.guid)
        fe.guid(item.guid, permalink=False)
        fe.title(item.title)
        fe.link(href=item.url, rel="alternate", type="text/html")
        fe.published(item.date)
        fe.updated(item.date)
        fe.pubDate(item.date)
        fe.content(item.html, type="html")
        if kind == "rss":
            # The description is the short summary (RSS reads it as HTML: escaped), the
            # edition is content:encoded: the whole HTML once, not twice.
            fe.description(str(escape(item.summary)))
            fe.dc.dc_creator(list(item.authors))
        else:
            fe.summary(item.summary)
            fe.author([{"name": a} for a in item.authors])
        if item.categories:
            # One call: feedgen maps every category to RSS again on each call.
            fe.category([{"term": category} for category in item.categories])
    if kind == "rss":
        return fg.rss_str(pretty=True)
    return _fix_atom_links(fg.atom_str(pretty=True))


def _fix_atom_links(data):
    """feedgen 1.0.0 drops rel and type from entry links: every entry has one, the alternate"""
    from lxml import etree

    root = etree.fromstring(data)
    for link in root.iterfind(f"{{{ATOM_NS}}}entry/{{{ATOM_NS}}}link"):
        link.set("rel", "alternate")
        link.set("type", "text/html")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def json_feed(site, name, title, description, items):
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1) as UTF-8 bytes, written with sorted keys"""
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "description": description,
        "home_page_url": site.base_url,
        "feed_url": f"{site.base_url}feeds/{name}.json",
        "language": "en",
        "authors": [{"name": site.title}],
        "items": [
            {
                "id": item.guid,
                "url": item.url,
                "title": item.title,
                "content_html": item.html,
                "summary": item.summary,
                "date_published": item.date.isoformat().replace("+00:00", "Z"),
                "authors": [{"name": a} for a in item.authors],
                "tags": list(item.categories),
            }
            for item in items
        ],
    }
    # orjson: the same text as json.dumps(sort_keys=True, indent=2, ensure_ascii=False), 5x faster
    # (the standard library's indenting encoder is pure Python: a tenth of a day's update).
    return orjson.dumps(feed, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)


def feed_files(archive, site, settings, editions=None):
    """Every feed file as (path, bytes): daily and papers, each as RSS, Atom and JSON Feed

    settings: the [site] settings (feed_items, feed_days, site_id, base_url). editions: filled
    with the daily items' HTML, day -> (day key, HTML), for the next build (daily_items).
    """
    # Items are categorised by the topics of their papers' keywords: an update reads those
    # links in one go, not one keyword at a time.
    recent, older = _recent_days(archive, settings)
    want_links(
        archive.topic_index,
        (
            keyword
            for day in recent + older[: max(settings.feed_items - len(recent), 0)]
            if day in archive.digests
            for item in (*archive.digests[day].new, *(t.item for t in archive.digests[day].trending))
            for keyword in item.entry.keywords
        ),
    )
    flavours = (
        (
            "daily",
            f"{site.title}",
            f"The daily digest of {site.title}: new and trending papers",
            daily_items(archive, site, settings, editions),
        ),
        (
            "papers",
            f"{site.title}: new papers",
            f"Every new paper in {site.title}, one item each",
            paper_items(archive, site, settings),
        ),
    )
    files = []
    for name, title, description, items in flavours:
        feed_id = f"{GUID_SCHEME}{site_id(settings)}:feed:{name}"
        xml_items = [_xml_item(item) for item in items]
        files.append((f"feeds/{name}.xml", _feedgen(site, feed_id, name, title, description, xml_items, "rss")))
        files.append((f"feeds/{name}.atom", _feedgen(site, feed_id, name, title, description, xml_items, "atom")))
        files.append((f"feeds/{name}.json", json_feed(site, name, title, description, items)))
    return files
