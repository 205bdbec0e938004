"""The static site, built from the real fixtures: valid HTML, links that resolve, safe text, reproducible"""

import contextlib
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import urllib.parse

import lxml.html
import pytest
from conftest import BASE_URL, HOSTILE_TITLE, ROOT, hf_files, tree_hash

from digest.archive import paper_slug
from digest.config import Config
from digest.errors import SiteError
from digest.models import Entry, Observation
from digest.publish.site import build_site
from digest.render.chart import paper_chart

VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def html_files(site):
    return sorted(p for p in site.rglob("*.html") if "pagefind" not in p.relative_to(site).parts)


def test_site_has_every_kind_of_page(real_site):
    for path in ("index.html", "archive.html", "topics.html", "search.html", "404.html", "sitemap.xml",
                 "robots.txt", "favicon.svg", "style.css", "day/2026-08-21.html", "week/2026-W34.html",
                 "month/2026-08.html", "paper/2608.13558.html", "2026-08-21.json", "pagefind/pagefind-ui.js",
                 "feeds/daily.xml", "feeds/daily.atom", "feeds/daily.json", "feeds/papers.xml",
                 "feeds/papers.atom", "feeds/papers.json"):
        assert (real_site / path).is_file(), path
    days = sorted(p.stem for p in (real_site / "day").glob("*.html"))
    # one page per stored day (the 17 fixtures are 17 days), and its JSON beside the home page
    assert len(days) == len(hf_files()) == 17
    assert sorted(p.stem for p in real_site.glob("????-??-??.json")) == days
    assert len(list((real_site / "topic").glob("*.html"))) > 10


def test_every_html_file_passes_the_nu_html_checker(real_site, hostile_site):
    files = html_files(real_site) + html_files(hostile_site)
    assert nu_errors(files) == []
    assert len(files) > 300


def nu_errors(files):
    """The Nu HTML checker's errors on the files, as 'folder/file: message' lines"""
    assert VNU.is_file(), "vnu.jar is missing: run `npm ci` (.ci/run does)"
    result = subprocess.run(["java", "-jar", str(VNU), "--format", "json", "--errors-only", *map(str, files)],
                            capture_output=True, text=True, timeout=600)
    messages = json.loads(result.stderr or result.stdout)["messages"]
    return [f"{m.get('url', '').rsplit('/', 2)[-2:]}: {m['message']}" for m in messages if m["type"] == "error"]


def _references(page):
    tree = lxml.html.fromstring(page.read_bytes())
    for element, attribute in (("a", "href"), ("link", "href"), ("script", "src"), ("img", "src")):
        for node in tree.iter(element):
            if node.get(attribute) is not None:
                yield node, node.get(attribute)
    for node in tree.iter("meta"):
        if node.get("property") == "og:url":
            yield node, node.get("content")


def test_every_internal_link_and_asset_resolves(real_site, hostile_site):
    assert links_resolve(real_site) + links_resolve(hostile_site) > 5000


def links_resolve(site, files=None):
    """Check every internal link and asset of the site's pages (or of `files`); how many were checked"""
    checked = 0
    ids = {}

    def ids_of(page):
        if page not in ids:
            ids[page] = set(lxml.html.fromstring(page.read_bytes()).xpath("//@id"))
        return ids[page]

    for page in files or html_files(site):
        rel = page.relative_to(site).as_posix()
        for node, url in _references(page):
            parts = urllib.parse.urlsplit(url)
            if url.startswith(BASE_URL):
                target_path = url[len(BASE_URL):]
            elif parts.scheme in ("http", "https", "mailto"):
                # only links to papers' own pages leave the site, never an asset
                assert node.tag == "a", f"{rel}: {node.tag} loads {url} from another host"
                continue
            else:
                assert not parts.scheme and not parts.netloc and not url.startswith("/"), \
                    f"{rel}: {url} is not relative"
                target_path = urllib.parse.urljoin("/" + rel, parts.path)[1:] if parts.path else rel
            target_path = urllib.parse.unquote(urllib.parse.urlsplit(target_path).path)
            if target_path in ("", ".") or target_path.endswith("/"):
                target_path += "index.html"
            target = (site / target_path).resolve()
            assert target.is_file() and site.resolve() in target.parents, f"{rel}: {url} does not resolve"
            if parts.fragment and target.suffix == ".html":
                assert parts.fragment in ids_of(target), f"{rel}: {url} has no #{parts.fragment}"
            checked += 1
    return checked


def test_pages_link_the_feeds_and_carry_meta(real_site):
    for page in (real_site / "index.html", real_site / "paper" / "2608.13558.html",
                 real_site / "day" / "2026-08-20.html"):
        tree = lxml.html.fromstring(page.read_bytes())
        alternates = tree.xpath("//link[@rel='alternate']")
        assert {a.get("type") for a in alternates} == {"application/rss+xml", "application/atom+xml",
                                                        "application/feed+json"}
        assert len(alternates) == 6
        canonical = tree.xpath("//link[@rel='canonical']/@href")[0]
        rel = page.relative_to(real_site).as_posix()
        assert canonical == BASE_URL + ("" if rel == "index.html" else rel)
        assert tree.xpath("//meta[@property='og:title']/@content")
        assert tree.xpath("//meta[@name='twitter:card']/@content") == ["summary"]
        assert tree.xpath("//section[@id='subscribe']//a[contains(@href, 'feeds/daily.atom')]")


def test_paper_page_shows_everything_known(real_site):
    tree = lxml.html.fromstring((real_site / "paper" / "2608.13558.html").read_bytes())
    text = tree.text_content()
    assert "OmniScientist" in tree.xpath("//h1")[0].text_content()
    assert "Bobo Li, Hao Fei, Tianjie Ju, Mong-Li Lee, Wynne Hsu" in text
    assert "National University of Singapore" in text
    assert tree.xpath("//h2[@id='abstract-title']") and tree.xpath("//h2[@id='tldr-title']")
    links = tree.xpath("//p[contains(@class, 'links')]/a/@href")
    assert "https://arxiv.org/abs/2608.13558" in links and "https://arxiv.org/pdf/2608.13558" in links
    # seen on Aug 14 (2 upvotes) and Aug 20 (54): two table rows, two points per chart
    rows = tree.xpath("//table[@class='seen']/tbody/tr")
    assert [r.xpath("td")[3].text_content() for r in rows] == ["2", "54"]
    assert len(tree.xpath("//svg[@class='chart-up']/circle")) == 2
    assert tree.xpath("//svg[@class='chart-up']/path/@d")


def test_chart_points_follow_the_history():
    day = dt.date(2026, 8, 1)
    obs = (Observation(day, "hf-daily", 5, 10), Observation(day + dt.timedelta(days=2), "hf-daily", 1, 30),
           Observation(day + dt.timedelta(days=4), "hf-daily", 3, None))
    chart = paper_chart(obs)
    # upvotes: the highest (30) sits at the top of the plot, 10 one third of the way up
    [(x1, y1, _), (x2, y2, _)] = chart.upvotes
    assert y2 == 26 and x1 == 40 and x2 == pytest.approx(40 + 544 / 2)
    assert y1 == pytest.approx(26 + 80 * (1 - 10 / 30), abs=0.1)
    # rank 1 is drawn at the top, the worst rank (5) at the bottom
    assert [p[1] for p in chart.ranks] == [106, 26, 66]
    assert chart.upvote_path.startswith("M40") and chart.upvote_path.count("L") == 1


def test_a_chart_starts_at_two_days():
    day = dt.date(2026, 8, 1)
    assert paper_chart((Observation(day, "hf-daily", 3, 163),)) is None
    # two listings on one day are still one day: nothing to draw a line through
    assert paper_chart((Observation(day, "hf-daily", 3, 163), Observation(day, "hf-trending", 9, 160))) is None
    chart = paper_chart((Observation(day, "hf-daily", 3, 163), Observation(day + dt.timedelta(days=1), "hf-daily", 2, 170)))
    assert len(chart.upvotes) == 2 and [t for _, t in chart.x_labels] == ["1 Aug 2026", "2 Aug 2026"]


def test_home_shows_the_latest_digest(real_site):
    tree = lxml.html.fromstring((real_site / "index.html").read_bytes())
    assert "Friday, 21 August 2026" in tree.text_content()
    assert "EnvHarness: Awakening Static Worlds for Agent Learning" in tree.text_content()
    assert tree.xpath("//h2[@id='trending-title']")


def test_day_pages_link_previous_and_next(real_site):
    tree = lxml.html.fromstring((real_site / "day" / "2026-08-20.html").read_bytes())
    assert tree.xpath("//a[@rel='prev']/@href") == ["../day/2026-08-19.html"]
    assert tree.xpath("//a[@rel='next']/@href") == ["../day/2026-08-21.html"]
    # OmniScientist trends on Aug 20 with its reasons (README's worked example)
    reasons = " ".join(tree.xpath("//p[@class='reasons']//text()"))
    assert "+52 upvotes since Aug 14 (8.7 a day)" in reasons


def test_week_rollup_shows_top_papers_and_gainers_as_cards(real_site):
    tree = lxml.html.fromstring((real_site / "week" / "2026-W34.html").read_bytes())
    cards = tree.xpath("//section[h2[@id='gainers-title']]/article")
    gains = [int(re.search(r"Gained in this period: \+(\d+) upvote", c.text_content())[1]) for c in cards]
    assert gains == sorted(gains, reverse=True) and gains
    tops = tree.xpath("//section[h2[@id='top-title']]/article")
    peaks = [int(re.search(r"Peak in this period: (\d+) upvote", c.text_content())[1]) for c in tops]
    assert peaks == sorted(peaks, reverse=True) and len(peaks) == 10 and min(peaks) >= max(gains)
    assert all(c.xpath(".//p[@class='summary']") for c in tops)
    # Aug 17-21 are week 34; OmniScientist had 2 upvotes before it (Aug 14) and 54 in it
    titles = [c.xpath(".//h3")[0].text_content() for c in tops + cards]
    omni = next(i for i, t in enumerate(titles) if t.startswith("OmniScientist"))
    assert (peaks + gains)[omni] == (54 if omni < len(peaks) else 52)
    # every day of the week is counted, and every paper not in a card is in the list below
    assert len(tree.xpath("//table[@class='day-counts']/tbody/tr")) == 5
    assert tree.xpath("//a[@rel='prev']/@href") == ["../week/2026-W33.html"]


def test_day_json_is_the_digest(real_site):
    data = json.loads((real_site / "2026-08-20.json").read_text())
    assert data["date"] == "2026-08-20"
    assert [t["id"] for t in data["trending"]] == ["2608.13558"]


SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def test_sitemap_and_robots(real_site):
    from lxml import etree

    index = etree.parse(str(real_site / "sitemap.xml"))
    assert index.getroot().tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
    sitemaps = index.xpath("//s:sitemap/s:loc/text()", namespaces=SITEMAP_NS)
    # one sitemap per month of the 17 fixture days (a page is in the month of its last change)
    months = ["2024-05", "2024-12", "2025-01", "2025-03", "2025-10", "2026-08"]
    assert sitemaps == [f"{BASE_URL}sitemap/{month}.xml" for month in months]
    assert index.xpath("//s:sitemap/s:lastmod/text()", namespaces=SITEMAP_NS) == [
        "2024-05-28", "2024-12-11", "2025-01-10", "2025-03-11", "2025-10-07", "2026-08-21"]
    locs = []
    for url in sitemaps:
        locs += etree.parse(str(real_site / url.removeprefix(BASE_URL))).xpath("//s:loc/text()", namespaces=SITEMAP_NS)
    assert len(locs) == len(set(locs))
    # every page is listed once (the home page as the base URL), but the 404 page
    pages = {BASE_URL + str(p.relative_to(real_site)) for p in html_files(real_site)}
    assert set(locs) == (pages - {BASE_URL + "404.html", BASE_URL + "index.html"}) | {BASE_URL}
    assert f"Sitemap: {BASE_URL}sitemap.xml" in (real_site / "robots.txt").read_text()


def test_the_sitemap_is_one_file_per_month_of_at_most_the_protocols_50000_urls():
    from lxml import etree

    from digest.render.pages import SiteInfo
    from digest.render.sitemap import MOST_URLS, sitemap_files

    assert MOST_URLS == 50_000
    site = SiteInfo("s", "https://example.org/a&b/", None, (), False)
    paths = [("index.html", "2026-08-21"), ("paper/2607.1.html", "2026-07-30"), ("404.html", None),
             ("paper/2608.1.html", "2026-08-20"), ("paper/2608.2.html", "2026-08-01"), ("day/2026-07-30.html", "2026-07-30")]
    files = dict(sitemap_files(paths, site, most=2))
    assert list(files) == ["sitemap.xml", "sitemap/2026-07.xml", "sitemap/2026-08.xml", "sitemap/2026-08-2.xml"]
    index = etree.fromstring(files["sitemap.xml"].encode())
    assert index.xpath("//s:loc/text()", namespaces=SITEMAP_NS) == [
        "https://example.org/a&b/sitemap/2026-07.xml", "https://example.org/a&b/sitemap/2026-08.xml",
        "https://example.org/a&b/sitemap/2026-08-2.xml"]
    # each sitemap's last change is its newest page's
    assert index.xpath("//s:lastmod/text()", namespaces=SITEMAP_NS) == ["2026-07-30", "2026-08-21", "2026-08-01"]

    def urls(name):
        tree = etree.fromstring(files[name].encode())
        return list(zip(tree.xpath("//s:loc/text()", namespaces=SITEMAP_NS),
                        tree.xpath("//s:lastmod/text()", namespaces=SITEMAP_NS), strict=True))

    assert urls("sitemap/2026-07.xml") == [("https://example.org/a&b/paper/2607.1.html", "2026-07-30"),
                                           ("https://example.org/a&b/day/2026-07-30.html", "2026-07-30")]
    assert urls("sitemap/2026-08.xml") == [("https://example.org/a&b/", "2026-08-21"),
                                           ("https://example.org/a&b/paper/2608.1.html", "2026-08-20")]
    assert urls("sitemap/2026-08-2.xml") == [("https://example.org/a&b/paper/2608.2.html", "2026-08-01")]
    assert all("a&amp;b" in text and "a&b" not in text for text in files.values())


def test_hostile_text_is_harmless_everywhere(hostile_site):
    home = (hostile_site / "index.html").read_text()
    assert "No papers were published on this day" in home
    for path in list(hostile_site.rglob("*.html")):
        if "pagefind" in path.parts:
            continue
        text = path.read_text()
        # present only escaped, as text: never as markup
        assert "<script>alert" not in text and "<img src=x" not in text and "<svg onload" not in text, path
        assert "javascript:" not in text.lower(), path
        tree = lxml.html.fromstring(text)
        assert not [a for node in tree.iter() for a in node.attrib if a.lower().startswith("on")], path
        assert not [n for n in tree.iter("b", "img", "svg") if n.tag == "b" or "alert" in str(n.attrib)]
        # the only scripts are our own (search)
        for script in tree.iter("script"):
            assert "alert(" not in (script.text or "") and "pagefind" in (script.get("src") or script.text or "").lower()
    page = lxml.html.fromstring((hostile_site / "paper" / "2608.99001.html").read_bytes())
    assert page.xpath("//h1")[0].text_content() == HOSTILE_TITLE
    assert "$\\mathcal{O}(n^2)$ & \\textbf{bold}" in page.text_content()
    assert page.xpath("//p[contains(@class, 'links')]/a/text()") == ["Hugging Face", "arXiv", "PDF"]
    day = json.loads((hostile_site / "2026-08-20.json").read_text())
    assert day["new"][0]["title"] == HOSTILE_TITLE
    assert "code" not in day["new"][0]["links"] and "project" not in day["new"][0]["links"]
    controls = day["new"][1]["title"]
    assert not re.search("[\x00-\x1f\x7f\u2028]", controls) and controls.startswith("Bell form feed")
    # the search index is built from the escaped pages: pagefind holds the title as text
    assert list((hostile_site / "pagefind").glob("*/pagefind-entry.json"))  # one index per month


def test_links_are_checked_again_at_render():
    from digest.render.pages import Page, SiteInfo

    entry = Entry(rank=1, title="t", links={"code": "javascript:alert(1)", "hf": "https://huggingface.co/x",
                                            "project": "data:text/html,x"})
    page = Page("index.html", "site/home.html", "t", "d", SiteInfo("s", BASE_URL, None, (), False))
    assert page.links(entry) == [("Hugging Face", "https://huggingface.co/x")]


def test_two_builds_are_byte_identical(real_store, tmp_path):
    for name in ("a", "b"):
        build_site(Config(data_dir=real_store.root), tmp_path / name, base_url=BASE_URL)
    assert tree_hash(tmp_path / "a") == tree_hash(tmp_path / "b")


def test_rebuild_after_one_more_day_rewrites_only_what_changed(real_store, tmp_path):
    from digest.store import Store

    store = Store(tmp_path / "data")
    files = sorted((real_store.snapshots / "hf-daily").glob("*.json"))
    for path in files[:-1]:
        store.save(store.load_path(path))
    config = Config(data_dir=store.root)
    out = tmp_path / "site"
    first = build_site(config, out, base_url=BASE_URL)
    assert len(first.written) == first.files
    untouched = out / "paper" / "2405.14906.html"
    stamp = untouched.stat().st_mtime_ns
    again = build_site(config, out, base_url=BASE_URL)
    assert again.written == () and again.removed == () and not again.indexed

    latest = store.load_path(files[-1])
    store.save(latest)
    result = build_site(config, out, base_url=BASE_URL)
    touched = {f"paper/{paper_slug(e.id)}.html" for e in latest.entries}
    allowed = touched | {"index.html", "day/2026-08-21.html", "day/2026-08-20.html", "week/2026-W34.html",
                         "month/2026-08.html", "2026-08-21.json", "archive.html", "sitemap.xml", "sitemap/2026-08.xml",
                         "topics.html"}
    new_topics = {p for p in result.written if p.startswith("topic/")} - set(first.written)
    allowed |= {p for p in result.written if p.startswith(("feeds/", "topic/"))}
    # the month's other pages (its compact list runs over several) hold the new day's papers too
    allowed |= {p for p in result.written if p.startswith("month/2026-08/")}
    for path in set(result.written) - allowed:
        # an older paper changes only when one of its keywords became a topic (a second paper has it)
        links = lxml.html.parse(str(out / path)).xpath("//ul[@class='tags']//a/@href")
        assert {link.replace("../", "") for link in links} & new_topics, path
    assert "day/2026-08-21.html" in result.written and touched <= set(result.written)
    assert untouched.stat().st_mtime_ns == stamp
    assert result.indexed
    # and the incremental result is the same as a fresh build, file for file
    fresh = build_site(config, tmp_path / "fresh", base_url=BASE_URL)
    assert fresh.files == result.files
    assert same_files(out, tmp_path / "fresh")

    # an edited old day: its pages, the papers on it and every later day that depends on it change
    import json as _json

    path = store.path("hf-daily", dt.date(2025, 10, 2))
    data = _json.loads(path.read_text())
    data["entries"][0]["title"] = "An edited title"
    path.write_text(_json.dumps(data))
    edited = build_site(config, out, base_url=BASE_URL)
    assert "day/2025-10-02.html" in edited.written and "week/2025-W40.html" in edited.written
    assert "An edited title" in (out / "day" / "2025-10-02.html").read_text()
    build_site(config, tmp_path / "fresh2", base_url=BASE_URL)
    assert same_files(out, tmp_path / "fresh2")


def test_render_workers_write_what_one_process_writes(real_store, tmp_path, monkeypatch):
    """Pages dealt to forked workers, day JSON files in a run each: the same bytes as one process"""
    import functools
    import os

    from digest.publish import writer

    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: a build never forks render workers")
    config = Config(data_dir=real_store.root)
    monkeypatch.setattr(writer, "PARALLEL_FROM", 10**9)
    alone = build_site(config, tmp_path / "alone", base_url=BASE_URL)

    pids = tmp_path / "pids"
    pids.mkdir()
    share = writer._render_share

    @functools.wraps(share)
    def recorded(index, workers):
        (pids / str(os.getpid())).write_text(str(index))
        return share(index, workers)

    monkeypatch.setattr(writer, "_render_share", recorded)
    monkeypatch.setattr(writer, "PARALLEL_FROM", 1)
    forked = build_site(config, tmp_path / "forked", base_url=BASE_URL)
    # every worker took a share (not the parent: it only waits), and each file was written once
    assert len(list(pids.iterdir())) == min(os.cpu_count(), 4) and str(os.getpid()) not in os.listdir(pids)
    assert sorted(forked.written) == sorted(alone.written) and len(set(forked.written)) == len(forked.written)
    assert sum(p.endswith(".json") and p[:4].isdigit() for p in forked.written) == len(hf_files())
    assert same_files(tmp_path / "alone", tmp_path / "forked")


def test_each_render_worker_takes_one_run_of_paper_pages_and_every_page_once():
    """Paper pages (in order of last sighting) go in one run per worker, so a worker reads each
    day's whole entries once; the other pages are dealt in turn; nothing is left out or doubled"""
    from types import SimpleNamespace

    from digest.publish.writer import _share

    pages = [SimpleNamespace(kind="paper", n=n) for n in range(7)]
    pages[2:2] = [SimpleNamespace(kind="day", n=n) for n in range(100, 105)]
    files = [(f"{n}.json", None, None) for n in range(5)]
    shares = [_share(pages, files, index, 2) for index in range(2)]
    (first, first_files), (second, second_files) = shares
    assert [p.n for p in first] == [100, 102, 104, 0, 1, 2, 3]
    assert [p.n for p in second] == [101, 103, 4, 5, 6]
    assert [f[0] for f in first_files + second_files] == [f[0] for f in files]
    # Five workers for seven paper pages: runs of two, so the last worker gets none; still every page once.
    shares = [_share(pages, files, index, 5) for index in range(5)]
    assert [p.n for p in shares[-1][0] if p.kind == "paper"] == []
    assert sorted(p.n for mine, _ in shares for p in mine) == sorted(p.n for p in pages)
    assert sum(len(mine) for mine, _ in shares) == len(pages)


def same_files(a, b):
    """Every file of two builds is byte-identical (the manifests aside: they record history)"""
    def files(root):
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
                if p.is_file() and not p.name.startswith(".digest-build")}
    fa, fb = files(a), files(b)
    assert sorted(fa) == sorted(fb)
    assert [name for name in fa if fa[name] != fb[name]] == []
    return True


def small_feeds(root, **site):
    """A config whose feeds show two items, so an update reads a few of the 17 fixture days, not all"""
    from digest.config import SiteSettings

    return Config(data_dir=root, site=SiteSettings(**{"feed_items": 2, "search": False, **site}))


def partial_store(real_store, folder, drop=1):
    """A store holding every fixture day but the last `drop`; returns it and the fixture files"""
    from digest.store import Store

    store = Store(folder)
    files = sorted((real_store.snapshots / "hf-daily").glob("*.json"))
    for path in files[:len(files) - drop]:
        store.save(store.load_path(path))
    return store, files


def test_updates_build_what_a_fresh_build_builds(real_store, tmp_path):
    store, files = partial_store(real_store, tmp_path / "data")
    config = small_feeds(store.root)
    out = tmp_path / "site"
    first = build_site(config, out, base_url=BASE_URL)
    assert not first.updated

    def same_as_fresh(step, config=config):
        build_site(config, tmp_path / step, base_url=BASE_URL)
        return same_files(out, tmp_path / step)

    # one more day: computed from the last build's state, and the same files as a fresh build
    store.save(store.load_path(files[-1]))
    added = build_site(config, out, base_url=BASE_URL)
    assert added.updated and "day/2026-08-21.html" in added.written and "2026-08-21.json" in added.written
    assert "day/2025-10-02.html" not in added.written
    assert same_as_fresh("fresh-added")
    nothing = build_site(config, out, base_url=BASE_URL)
    assert nothing.updated and nothing.written == () and nothing.removed == ()

    # a day deleted in the middle: its page and JSON go, its neighbours link around it
    store.path("hf-daily", dt.date(2026, 8, 18)).unlink()
    deleted = build_site(config, out, base_url=BASE_URL)
    assert deleted.updated
    assert {"day/2026-08-18.html", "2026-08-18.json"} <= set(deleted.removed)
    assert "day/2026-08-19.html" in deleted.written
    assert same_as_fresh("fresh-deleted")

    # an old day edited: the update starts there
    path = store.path("hf-daily", dt.date(2026, 8, 14))
    data = json.loads(path.read_text())
    data["entries"][0]["title"] = "An edited title"
    path.write_text(json.dumps(data))
    edited = build_site(config, out, base_url=BASE_URL)
    assert edited.updated and "An edited title" in (out / "day" / "2026-08-14.html").read_text()
    assert same_as_fresh("fresh-edited")

    # a changed setting changes every page's build key: everything is computed again
    more = small_feeds(store.root, feed_items=3)
    changed = build_site(more, out, base_url=BASE_URL)
    assert not changed.updated
    assert same_as_fresh("fresh-setting", more)


def test_an_update_counts_the_pages_of_the_periods_it_builds_only(real_store, tmp_path, monkeypatch):
    from digest.render import pages

    monkeypatch.setattr(pages, "ROLLUP_PAGE", 3)  # weeks and months of several pages each
    store, files = partial_store(real_store, tmp_path / "data")
    config = small_feeds(store.root)
    out = tmp_path / "site"
    build_site(config, out, base_url=BASE_URL)
    assert list((out / "week").glob("*/2.html")) and list((out / "month").glob("*/2.html"))
    counted = []
    rest = pages._rest
    monkeypatch.setattr(pages, "_rest", lambda archive, days: counted.append(days[0]) or rest(archive, days))
    store.save(store.load_path(files[-1]))
    added = build_site(config, out, base_url=BASE_URL)
    # The periods built have their pages counted from the pages made; the others' counts come
    # from the last build's state: no period's papers are ranked again just to count its pages.
    assert added.updated and counted == []
    assert {p for p in added.written if p.startswith(("week/", "month/"))}
    build_site(config, tmp_path / "fresh", base_url=BASE_URL)
    assert same_files(out, tmp_path / "fresh")


def _tamper(out, store, table):
    """Change a paper's title (table papers) or a topic's name (topic_list) in the saved state: a
    well-formed row whose MAC no longer matches"""
    import sqlite3

    with contextlib.closing(sqlite3.connect(out / ".digest-build.sqlite")) as db, db:
        if table == "papers":
            title = json.loads(store.path("hf-daily", dt.date(2026, 8, 13)).read_text())["entries"][0]["title"]
        else:
            (listed,) = db.execute("SELECT value FROM topic_list").fetchone()
            title = next(iter(json.loads(listed).values()))[0]
        quoted = json.dumps(title)
        changed = db.execute(f"UPDATE {table} SET value = replace(value, ?1, '\"Tampered title\"') WHERE instr(value, ?1)",
                             (quoted,)).rowcount
    assert changed == 1


# A row the update reads (the topics' list) makes it build everything; a row it does not read
# (an old paper's) never reaches a page.
@pytest.mark.parametrize("damage, updated", [("tampered", False), ("tampered, unread", True), ("truncated", False),
                                             ("missing page", False), ("other data", True), ("damaged hashes", True)])
def test_a_damaged_or_stale_state_is_not_trusted(real_store, tmp_path, damage, updated):
    store, files = partial_store(real_store, tmp_path / "data")
    config = small_feeds(store.root)
    out = tmp_path / "site"
    build_site(config, out, base_url=BASE_URL)
    store.save(store.load_path(files[-1]))
    state = out / ".digest-build.sqlite"
    if damage.startswith("tampered"):
        _tamper(out, store, "topic_list" if damage == "tampered" else "papers")
    elif damage == "truncated":
        state.write_bytes(state.read_bytes()[:1000])
    elif damage == "missing page":
        (out / "paper" / f"{paper_slug('2405.14906')}.html").unlink()
    elif damage == "other data":
        # another folder whose old day differs: the update starts at that day
        shutil.copytree(store.root, tmp_path / "copy")
        config = small_feeds(tmp_path / "copy")
        path = tmp_path / "copy" / "snapshots" / "hf-daily" / "2026-08-14.json"
        data = json.loads(path.read_text())
        data["entries"][0]["title"] = "A title only the copy has"
        path.write_text(json.dumps(data))
    else:
        damaged = {"version": 3, "files": {"snapshots/hf-daily/2026-08-14.json": [[1, 2], "x", {}]}}
        (store.root / ".cache" / "history-index.json").write_text(json.dumps(damaged))
    result = build_site(config, out, base_url=BASE_URL)
    assert result.updated == updated
    pages = "".join(p.read_text() for p in out.rglob("*.html"))
    assert "Tampered title" not in pages and ("A title only the copy has" in pages) == (damage == "other data")
    build_site(config, tmp_path / "fresh", base_url=BASE_URL)
    assert same_files(out, tmp_path / "fresh")


def test_an_update_completes_re_observations_like_a_fresh_build(real_store, tmp_path):
    import dataclasses

    from digest.models import make_entry

    store, files = partial_store(real_store, tmp_path / "data")
    listed = store.load("hf-daily", dt.date(2026, 8, 19))
    # what fetch stores on 2026-08-20 for the days before: slim entries, fresh upvotes
    slim = tuple(make_entry(rank=i, title=e.title, id=e.id, upvotes=(e.upvotes or 0) + 5)
                 for i, e in enumerate(listed.entries, start=1))
    store.save(dataclasses.replace(listed, listing="hf-daily-recent", date=dt.date(2026, 8, 20), entries=slim,
                                   window=(dt.date(2026, 8, 19), dt.date(2026, 8, 19))))
    config = small_feeds(store.root)
    out = tmp_path / "site"
    build_site(config, out, base_url=BASE_URL)
    store.save(store.load_path(files[-1]))
    result = build_site(config, out, base_url=BASE_URL)
    assert result.updated and "day/2026-08-21.html" in result.written
    build_site(config, tmp_path / "fresh", base_url=BASE_URL)
    assert same_files(out, tmp_path / "fresh")
    # The re-observed papers keep their details: the Aug 19 list's first paper, +5 upvotes.
    first = listed.entries[0]
    page = (out / "paper" / f"{paper_slug(first.id)}.html").read_text()
    assert first.authors[0] in page and f">{first.upvotes + 5}<" in page


def test_build_refuses_a_foreign_folder_and_a_bad_base_url(real_store, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(SiteError, match="not built by digest"):
        build_site(Config(data_dir=real_store.root), tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    with pytest.raises(SiteError, match="not an absolute http"):
        build_site(Config(data_dir=real_store.root), tmp_path / "x", base_url="javascript:alert(1)")


def test_build_and_serve_commands(real_store, tmp_path):
    out = tmp_path / "cli-site"
    run = subprocess.run([sys.executable, "-m", "digest", "--data-dir", str(real_store.root), "build",
                          "--out", str(out), "--base-url", "https://example.org/x", "--no-search"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert re.match(r"Built \d+ pages \(17 days, \d+ papers\) in .*: \d+ files written, 0 unchanged", run.stdout)
    assert not (out / "pagefind").exists()
    assert '<link rel="canonical" href="https://example.org/x/">' in (out / "index.html").read_text()
    bad = subprocess.run([sys.executable, "-m", "digest", "--data-dir", str(tmp_path / "empty"), "build",
                          "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 5 and bad.stderr.startswith("Error: no snapshots")

    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    import signal

    # Ctrl-C as a terminal sends it: a test run started in the background (`cmd &` in a
    # script) has SIGINT ignored, and Python then installs no KeyboardInterrupt for it.
    server = subprocess.Popen([sys.executable, "-m", "digest", "serve", "--dir", str(out), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for _ in range(100):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        assert b"<h1>Daily Papers digest</h1>" in body
    finally:
        server.send_signal(signal.SIGINT)
        out_text, _ = server.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/" in out_text and "Stopped." in out_text
    missing = subprocess.run([sys.executable, "-m", "digest", "serve", "--dir", str(tmp_path / "none")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 10 and "run 'digest build" in missing.stderr
    shutil.rmtree(out)


@pytest.mark.parametrize("table,message", [
    ('base_url = "ftp://example.org/"', "base_url 'ftp://example.org/' is not an absolute http(s) URL"),
    ('subscribe_url = "javascript:alert(1)"', "should be an http(s) link or a mailto: address"),
    ("feed_items = 0", "feed_items must be at least 1"),
])
def test_site_settings_are_checked(tmp_path, table, message):
    from digest.config import load_config
    from digest.errors import ConfigError

    path = tmp_path / "digest.toml"
    path.write_text(f"[site]\n{table}\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path)


def test_subscribe_link_is_on_every_page(real_store, tmp_path):
    from digest.config import SiteSettings

    config = Config(data_dir=real_store.root, site=SiteSettings(subscribe_url="mailto:digest@example.org"))
    build_site(config, tmp_path / "s", base_url=BASE_URL, search=False)
    pages = html_files(tmp_path / "s")
    assert all('href="mailto:digest@example.org"' in p.read_text() for p in pages)
    assert not (tmp_path / "s" / "search.html").exists()
    assert "search.html" not in (tmp_path / "s" / "index.html").read_text()


def test_old_entries_cut_to_cards_change_no_output(real_store, tmp_path, monkeypatch):
    """A build keeps the entries of old days cut to what cards show (its memory must not grow
    with every abstract) and reads them whole again for paper pages, feeds and day JSON: a
    build that cuts all but the last day writes the same bytes as one that cuts nothing"""
    import digest.entries
    from digest.incremental import collect_archive
    from digest.models import CardEntry

    store, files = partial_store(real_store, tmp_path / "data")
    config = small_feeds(store.root, feed_items=1, feed_days=1)
    monkeypatch.setattr(digest.entries, "FULL_DAYS", 10_000)
    build_site(config, tmp_path / "whole", base_url=BASE_URL)
    monkeypatch.setattr(digest.entries, "FULL_DAYS", 0)
    archive = collect_archive(config, store)
    cut = [d for d in archive.digests.values() if any(type(i.entry) is CardEntry for i in d.new)]
    assert len(cut) == len(archive.days) - 1  # every day but the last
    assert sum(type(p.entry) is CardEntry for p in archive.papers.values()) > 100
    out = tmp_path / "cut"
    build_site(config, out, base_url=BASE_URL)
    assert same_files(out, tmp_path / "whole")

    # An update that adds a day, and one that edits an old day's abstract, cut the same way.
    store.save(store.load_path(files[-1]))
    assert build_site(config, out, base_url=BASE_URL).updated
    monkeypatch.setattr(digest.entries, "FULL_DAYS", 10_000)
    build_site(config, tmp_path / "whole-added", base_url=BASE_URL)
    assert same_files(out, tmp_path / "whole-added")
    monkeypatch.setattr(digest.entries, "FULL_DAYS", 0)
    path = store.path("hf-daily", dt.date(2026, 8, 14))
    data = json.loads(path.read_text())
    data["entries"][0]["abstract"] = "An edited abstract. It has a second sentence. And a third one here."
    path.write_text(json.dumps(data))
    assert build_site(config, out, base_url=BASE_URL).updated
    page = (out / "paper" / f"{paper_slug(data['entries'][0]['id'])}.html").read_text()
    assert "And a third one here." in page  # the page shows the whole abstract, not the card's cut
    monkeypatch.setattr(digest.entries, "FULL_DAYS", 10_000)
    build_site(config, tmp_path / "whole-edited", base_url=BASE_URL)
    assert same_files(out, tmp_path / "whole-edited")


def update_one_day(real_store, tmp_path, monkeypatch, context, record):
    """Build all but the last fixture day, add it and update, recording what `record(args,
    kwargs)` gives for each `context` (a page class of digest.render.pages or topic_pages) the update makes:
    (store, config, out, the archive before, after, the update's BuildResult, what was recorded)"""
    import digest.render.pages
    import digest.render.topic_pages
    from digest.incremental import collect_archive

    store, files = partial_store(real_store, tmp_path / "data")
    config = small_feeds(store.root)
    out = tmp_path / "site"
    build_site(config, out, base_url=BASE_URL)
    before = collect_archive(config, store)
    store.save(store.load_path(files[-1]))
    after = collect_archive(config, store)
    made = []
    module = digest.render.topic_pages if context.startswith("Topic") else digest.render.pages
    cls = getattr(module, context)
    monkeypatch.setattr(module, context, lambda *a, **k: made.append(record(a, k)) or cls(*a, **k))
    update = build_site(config, out, base_url=BASE_URL)
    monkeypatch.setattr(module, context, cls)
    return store, config, out, before, after, update, made


def test_a_topic_page_keeps_its_papers_when_new_ones_arrive(real_store, tmp_path, monkeypatch):
    """A topic's pages are counted from its oldest paper: an update that adds papers to a
    topic rewrites its newest page (its own), not every page of the topic"""
    import re

    import digest.render.topic_pages
    from digest.incremental import collect_archive

    monkeypatch.setattr(digest.render.topic_pages, "TOPIC_PAGE", 3)
    store, config, out, before, after, update, made = update_one_day(
        real_store, tmp_path, monkeypatch, "TopicPage", lambda a, k: a[0])
    # Topics that gain a paper without starting a new page or changing their name, and have older pages.
    grown = [slug for slug, t in after.topics.items() if slug in before.topics
             and len(t.keys) > len(before.topics[slug].keys) and len(before.topics[slug].keys) > 3
             and -(-len(t.keys) // 3) == -(-len(before.topics[slug].keys) // 3)
             and (t.name, t.aliases) == (before.topics[slug].name, before.topics[slug].aliases)]
    assert grown
    assert update.updated
    for slug in grown:
        assert f"topic/{slug}.html" in update.written
        old = [p for p in update.written if p.startswith(f"topic/{slug}/")]
        # An older page changes only when one of its papers was seen again (its last day, its peak).
        moved = {k for k in before.topics[slug].keys if after.papers[k].observations != before.papers[k].observations}
        assert not old or moved, (slug, old)
    # Contexts are made only for the pages of touched topics that may change, not for every
    # page of every topic the new day touched (as before: 2,912 pages of 39 topics at 3 years).
    touched_pages = sum(-(-len(after.topics[s].keys) // 3) for s in {p.split("/")[1].removesuffix(".html") for p in made})
    assert 0 < len(made) < touched_pages, (len(made), touched_pages)
    # The newest page lists the newest papers first; an older page the oldest three, newest first.
    topic = after.topics[grown[0]]
    order = sorted(topic.keys, key=lambda k: (after.papers[k].first_seen, k))
    own = (out / "topic" / f"{grown[0]}.html").read_text()
    oldest = (out / "topic" / grown[0] / "1.html").read_text()
    def titles(html):
        listed = html.split('<ul class="compact">', 1)[1].split("</ul>", 1)[0]
        return re.findall(r'<li><a href="[^"]+">([^<]+)</a>', listed)

    from html import unescape
    assert [unescape(t) for t in titles(oldest)] == [after.papers[k].entry.title for k in reversed(order[:3])]
    newest = order[(len(order) - 1) // 3 * 3:]
    assert [unescape(t) for t in titles(own)] == [after.papers[k].entry.title for k in reversed(newest)]
    assert f"{len(order)} papers on this topic, newest first" in own and "papers on this topic" not in oldest
    build_site(config, tmp_path / "fresh", base_url=BASE_URL)
    assert same_files(out, tmp_path / "fresh")

    # Papers that leave a topic shift its later pages: a day deleted in the middle, then an
    # old paper's keywords edited so that it leaves its topics. Each update equals a fresh build.
    store.path("hf-daily", dt.date(2026, 8, 18)).unlink()
    assert build_site(config, out, base_url=BASE_URL).updated
    build_site(config, tmp_path / "fresh-deleted", base_url=BASE_URL)
    assert same_files(out, tmp_path / "fresh-deleted")
    path = store.path("hf-daily", dt.date(2026, 8, 21))  # the last day: its entries are the papers' latest
    data = json.loads(path.read_text())
    before = collect_archive(config, store)
    edited = next(e for e in data["entries"]
                  if any(e["id"] in t.keys and len(t.keys) > 3 for t in before.topics.values()))
    edited["keywords"] = ["a keyword of its own"]
    path.write_text(json.dumps(data))
    after = collect_archive(config, store)
    left = [s for s, t in before.topics.items() if edited["id"] in t.keys and len(t.keys) > 3]
    assert left and all(s not in after.topics or edited["id"] not in after.topics[s].keys for s in left)
    assert build_site(config, out, base_url=BASE_URL).updated
    build_site(config, tmp_path / "fresh-edited", base_url=BASE_URL)
    assert same_files(out, tmp_path / "fresh-edited")


def test_a_topic_that_begins_a_new_page_rewrites_only_its_last_pages(real_store, tmp_path, monkeypatch):
    """Pages are numbered from the oldest and the newest is labelled "Newest": when an update
    begins a topic's new page, its older pages keep their bytes (their navigation does not name
    the page count), except those next to the end and those listing a paper seen again"""
    import digest.render.topic_pages

    monkeypatch.setattr(digest.render.topic_pages, "TOPIC_PAGE", 2)
    _, config, out, before, after, update, made = update_one_day(
        real_store, tmp_path, monkeypatch, "TopicPage", lambda a, k: a[0])
    assert update.updated
    checked = 0
    for slug, topic in after.topics.items():
        if slug not in before.topics or (topic.name, topic.aliases) != (before.topics[slug].name, before.topics[slug].aliases):
            continue
        old_count, count = -(-len(before.topics[slug].keys) // 2), -(-len(topic.keys) // 2)
        if count <= old_count or old_count < 6:
            continue
        checked += 1
        written = {int(p.rsplit("/", 1)[1].removesuffix(".html")) for p in update.written
                   if p.startswith(f"topic/{slug}/")}
        order = sorted(topic.keys, key=lambda k: (after.papers[k].first_seen, k))
        moved = {n for n in range(1, count) for k in order[(n - 1) * 2 : n * 2]
                 if k in before.papers and after.papers[k].observations != before.papers[k].observations}
        # The page that was the newest moves to its number; the navigation of the pages near
        # the end changes (two links each side, and a gap of one page is shown as that page);
        # no other page changes unless its papers did.
        assert old_count in written
        assert written <= moved | set(range(old_count - 4, count)), (slug, sorted(written), sorted(moved))
        assert len(written) < old_count - 1
        # nor are the others' contexts made (rendered to the same bytes): their layouts are the last build's
        contexts = {int(p.rsplit("/", 1)[1].removesuffix(".html")) for p in made if p.startswith(f"topic/{slug}/")}
        assert contexts <= moved | set(range(old_count - 4, count)), (slug, sorted(contexts))
    assert checked
    build_site(config, tmp_path / "fresh", base_url=BASE_URL)
    assert same_files(out, tmp_path / "fresh")


def test_an_update_leaves_the_papers_of_the_day_before_alone(real_store, tmp_path, monkeypatch):
    """A new day makes the day before's page again (its "next" link), not its papers' pages:
    only the papers seen on the new day (and those whose keywords changed topic) get contexts"""
    _, config, out, before, after, update, made = update_one_day(
        real_store, tmp_path, monkeypatch, "PaperPage", lambda a, k: k["paper"].key)
    assert update.updated and "day/2026-08-20.html" in update.written
    new_day, day_before = after.days[-1], after.days[-2]
    assert set(after.seen[new_day]) <= set(made)

    def topic_of(archive, keyword):
        slug = archive.topic_index.get(keyword.casefold())
        return slug and (slug, archive.topics[slug].name)

    only_before = set(after.seen[day_before]) - set(after.seen[new_day])
    assert only_before
    for key in only_before & set(made):
        # made only because one of its keywords changed topic with the new day
        assert any(topic_of(before, k) != topic_of(after, k) for k in after.papers[key].entry.keywords), key
    assert len(only_before - set(made)) > len(only_before) // 2
    build_site(config, tmp_path / "fresh", base_url=BASE_URL)
    assert same_files(out, tmp_path / "fresh")


def test_a_topic_change_makes_its_papers_pages_but_not_their_weeks_and_months(real_store, tmp_path, monkeypatch):
    """Weeks and months show no keywords: a paper whose page changes only because a keyword
    of it changed topic with the new day (a one-paper keyword a new paper now shares) does
    not make its weeks and months be read and rendered again"""
    from digest.archive import iso_week, month_of

    _, config, out, before, after, update, made = update_one_day(
        real_store, tmp_path, monkeypatch, "RollupPage", lambda a, k: "/".join(a[0].removesuffix(".html").split("/")[:2]))
    assert update.updated

    def topic_of(archive, keyword):
        slug = archive.topic_index.get(keyword.casefold())
        return slug and (slug, archive.topics[slug].name)

    new_day, day_before = after.days[-1], after.days[-2]
    seen = set(after.seen[new_day]) | set(after.seen[day_before])
    retopic_only = {
        key
        for key, paper in after.papers.items()
        if key not in seen and any(topic_of(before, k) != topic_of(after, k) for k in paper.entry.keywords)
    }
    # The periods of the days built, and of every sighting of a paper seen on them.
    days = {new_day, day_before} | {o.day for key in seen for o in after.papers[key].observations}
    theirs = {f"week/{iso_week(d)}" for d in days} | {f"month/{month_of(d)}" for d in days}
    elsewhere = {
        name
        for key in retopic_only
        for o in after.papers[key].observations
        for name in (f"week/{iso_week(o.day)}", f"month/{month_of(o.day)}")
    } - theirs
    assert len(elsewhere) >= 3, elsewhere  # papers of older periods, touched by a topic change only
    assert not elsewhere & set(made), elsewhere & set(made)
    assert set(made) >= {f"week/{iso_week(new_day)}", f"month/{month_of(new_day)}"}
    assert any(f"paper/{after.papers[key].slug}.html" in update.written for key in retopic_only)
    build_site(config, tmp_path / "fresh", base_url=BASE_URL)
    assert same_files(out, tmp_path / "fresh")
