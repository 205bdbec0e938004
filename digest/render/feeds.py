"""RSS 2.0, Atom and JSON Feed 1.1: one item per daily digest, and one item per new paper

feedgen writes RSS and Atom. Its known bugs are worked around here: Atom entry links
lose `rel` and `type` in 1.0.0 (fixed after serialising), `add_entry` prepends unless
`order="append"`, and `lastBuildDate`/`updated` default to now (every date is pinned to
the data, so two builds of the same data are byte-identical). JSON Feed is plain json.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re

from digest.render import make_env
from digest.render.markdown import LINK_LABELS
from digest.text import safe_url
from digest.render.text import plural, short_date, short_summary

# XML 1.0 forbids these characters even when escaped; titles were cleaned on import,
# but a feed must stay well-formed whatever a snapshot holds.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
ATOM_NS = "http://www.w3.org/2005/Atom"
GUID_PREFIX = "tag:digest,2024:"


def xml_text(value):
    """Text safe inside XML: invalid characters removed (escaping is the serialiser's job)"""
    return _XML_INVALID.sub("", value or "")


def pinned(day):
    """The moment a day's items are dated: midnight UTC of that day"""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.timezone.utc)


class FeedItem:
    """One item of any flavour: stable id, link, title, date and HTML content"""

    __slots__ = ("guid", "url", "title", "date", "html", "summary")

    def __init__(self, guid, url, title, date, html, summary):
        self.guid, self.url, self.title, self.date, self.html, self.summary = guid, url, title, date, html, summary


def paper_links(entry):
    """(label, url) of an entry's links, each checked again: only http(s) reaches a reader"""
    return [(label, url) for kind, label in LINK_LABELS if (url := safe_url(entry.links.get(kind)))]


def _render(template, **context):
    return make_env("html").get_template(template).render(**context)


def daily_items(archive, site, most):
    days = list(reversed(archive.days))[:most]
    items = []
    for day in days:
        d = archive.digests[day]
        url = f"{site.base_url}day/{day}.html"
        title = f"{short_date(day)}: {len(d.new)} new, {len(d.trending)} trending"
        html = _render("site/_feed_day.html", digest=d, papers=archive.papers, base=site.base_url)
        summary = (f"{plural(d.papers_seen, 'paper')}: {len(d.new)} new, {len(d.trending)} trending."
                   if d.papers_seen else "No papers were listed on this day.")
        items.append(FeedItem(f"{GUID_PREFIX}day:{day}", url, title, pinned(day), html, summary))
    return items


def paper_items(archive, site, most):
    """The most recent new papers: newest day first, then in listing order"""
    items = []
    for day in reversed(archive.days):
        for item in archive.digests[day].new:
            paper = archive.papers[item.key]
            url = f"{site.base_url}paper/{paper.slug}.html"
            html = _render("site/_feed_paper.html", entry=paper.entry, links=paper_links(paper.entry))
            items.append(FeedItem(f"{GUID_PREFIX}paper:{paper.slug}", url, paper.entry.title, pinned(day), html,
                                  short_summary(paper.entry, 2) or paper.entry.title))
            if len(items) == most:
                return items
    return items


def _feedgen(site, name, title, description, items, kind):
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    self_url = f"{site.base_url}feeds/{name}.{'atom' if kind == 'atom' else 'xml'}"
    fg.id(f"{GUID_PREFIX}feed:{name}")
    fg.title(xml_text(title))
    # An RSS channel description is HTML to readers, so operator text (the site title in
    # it) is escaped like data; Atom's subtitle is plain text.
    fg.description(xml_text(html.escape(description, quote=False) if kind == "rss" else description))
    if kind != "rss":
        fg.subtitle(xml_text(description))
    # feedgen uses the *last* link added as the RSS channel link: self first, then home.
    fg.link(href=self_url, rel="self")
    fg.link(href=site.base_url, rel="alternate")
    fg.language("en")
    fg.generator("digest")
    # Pinned: feedgen would stamp the time of the build.
    updated = items[0].date if items else pinned(dt.date(1970, 1, 1))
    fg.updated(updated)
    fg.lastBuildDate(updated)
    for item in items:
        fe = fg.add_entry(order="append")
        fe.id(item.guid)
        fe.guid(item.guid, permalink=False)
        fe.title(xml_text(item.title))
        fe.link(href=item.url, rel="alternate", type="text/html")
        fe.published(item.date)
        fe.updated(item.date)
        fe.pubDate(item.date)
        fe.description(xml_text(item.html))
        fe.content(xml_text(item.html), type="html")
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
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1), written with sorted keys"""
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "description": description,
        "home_page_url": site.base_url,
        "feed_url": f"{site.base_url}feeds/{name}.json",
        "language": "en",
        "items": [
            {
                "id": item.guid,
                "url": item.url,
                "title": item.title,
                "content_html": item.html,
                "summary": item.summary,
                "date_published": item.date.isoformat().replace("+00:00", "Z"),
            }
            for item in items
        ],
    }
    return json.dumps(feed, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def feed_files(archive, site, most):
    """Every feed file as (path, bytes): daily and papers, each as RSS, Atom and JSON Feed"""
    flavours = (
        ("daily", f"{site.title}", f"The daily digest of {site.title}: new and trending papers",
         daily_items(archive, site, most)),
        ("papers", f"{site.title}: new papers", f"Every new paper in {site.title}, one item each",
         paper_items(archive, site, most)),
    )
    files = []
    for name, title, description, items in flavours:
        files.append((f"feeds/{name}.xml", _feedgen(site, name, title, description, items, "rss")))
        files.append((f"feeds/{name}.atom", _feedgen(site, name, title, description, items, "atom")))
        files.append((f"feeds/{name}.json", json_feed(site, name, title, description, items).encode("utf-8")))
    return files
