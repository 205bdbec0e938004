"""The sitemap: an index (`sitemap.xml`) of one sitemap per month of last change, and robots.txt

The sitemaps protocol allows at most 50,000 URLs per sitemap (sitemaps.org/protocol.html); an
arXiv-sized archive has 170,000 pages. Each page goes in `sitemap/<YYYY-MM>.xml` by the month
of its last change (a paper's last sighting, a day's date; the pages that change every day,
such as the home page and the topics, are in the newest month), split in files of at most
50,000 URLs when a month has more. A day's update rewrites the newest month's sitemap, those
of the months its re-listed papers left, and the index; every other file keeps its bytes.
"""

from __future__ import annotations

from html import escape

INDEX = "sitemap.xml"
FOLDER = "sitemap"
MOST_URLS = 50_000  # per sitemap file (the protocol's limit)
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'
_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def sitemap_files(paths, site, most=MOST_URLS, others=None):
    """[(site path, XML text)] of the index and each month's sitemap, for `paths` as
    site_paths gives them: (path, last change as a date or ISO text, or None for a page left out)

    others: month -> (number of pages, newest date) of the months whose pages `paths` leaves
    out (an update's untouched months, pages.month_paths): the index names their files, which
    the update keeps. A month of more than `most` pages must be in `paths` (its files' dates
    depend on how its pages split).
    """
    # Site paths are plain names (letters, digits, '.', '_', '-', '/': writer.plan_paths
    # checked each before this is called), so only the base URL needs escaping: once, not 170,000 times.
    # html.escape without quotes is xml.sax.saxutils.escape (& < >), which imports urllib.request,
    # http.client and ssl: 40 ms of every build's start.
    base = escape(site.base_url, quote=False)
    months = {}  # "YYYY-MM" -> [(lastmod, path)], in site_paths' order
    texts = {}  # a date -> its ISO text: many pages share one
    for path, lastmod in paths:
        if lastmod is not None:
            text = texts.get(lastmod)
            if text is None:
                text = texts[lastmod] = str(lastmod)
            months.setdefault(text[:7], []).append((text, "" if path == "index.html" else path))
    files = []
    listed = []
    for month, (count, newest) in (others or {}).items():
        if month not in months:
            if count > most:
                raise ValueError(f"the sitemap of {month} has {count} pages: it must be made, not kept")
            months[month] = newest  # kept as it is: only named in the index
    for month, rows in sorted(months.items()):
        if not isinstance(rows, list):
            listed.append(f"<sitemap><loc>{base}{FOLDER}/{month}.xml</loc><lastmod>{rows}</lastmod></sitemap>")
            continue
        for n, start in enumerate(range(0, len(rows), most), start=1):
            chunk = rows[start : start + most]
            name = f"{FOLDER}/{month}{'' if n == 1 else f'-{n}'}.xml"
            urls = [f"<url><loc>{base}{path}</loc><lastmod>{lastmod}</lastmod></url>" for lastmod, path in chunk]
            files.append((name, "\n".join([_HEAD, f"<urlset {_NS}>", *urls, "</urlset>"]) + "\n"))
            newest = max(lastmod for lastmod, _ in chunk)
            listed.append(f"<sitemap><loc>{base}{name}</loc><lastmod>{newest}</lastmod></sitemap>")
    index = "\n".join([_HEAD, f"<sitemapindex {_NS}>", *listed, "</sitemapindex>"]) + "\n"
    return [(INDEX, index), *files]


def robots_txt(site):
    return f"User-agent: *\nAllow: /\n\nSitemap: {site.base_url}{INDEX}\n"
