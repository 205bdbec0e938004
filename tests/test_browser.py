"""The site in headless Chromium, served under a sub-path from 127.0.0.1: what a reader sees

Needs Debian's chromium (/usr/bin/chromium) and `npm ci` (axe-core); .ci/run installs both.
Screenshots land in test-artifacts/ (git-ignored) for a person to look at.
"""

import functools
import http.server
import threading
from pathlib import Path

import pytest
from conftest import HOSTILE_TITLE, ROOT
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
PREFIX = "/digest/"


class SubPathHandler(http.server.SimpleHTTPRequestHandler):
    """Serve the site only under /digest/, as GitHub project pages do"""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                      ".js": "text/javascript", ".svg": "image/svg+xml"}

    def translate_path(self, path):
        if not path.startswith(PREFIX):
            return str(Path(self.directory) / "__outside_the_sub_path__")
        return super().translate_path("/" + path[len(PREFIX):])

    def log_message(self, format, *args):
        pass


def serve(folder):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SubPathHandler,
                                                                                 directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), "chromium is missing: apt-get install -y chromium (.ci/run does)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site_url(real_site):
    server = serve(real_site)
    yield f"http://127.0.0.1:{server.server_port}{PREFIX}"
    server.shutdown()


@pytest.fixture(scope="module")
def hostile_url(hostile_site):
    server = serve(hostile_site)
    yield f"http://127.0.0.1:{server.server_port}{PREFIX}"
    server.shutdown()


class Watched:
    """A page with every console error, failed request, foreign request and dialog recorded"""

    def __init__(self, browser, base, width=1280, scheme="light"):
        self.page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
        self.problems = []
        host = base.split("/")[2]
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(f"{r.status}: {r.url}"))
        self.page.on("request", lambda r: r.url.split("/")[2] != host and self.problems.append(f"foreign: {r.url}"))
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))

    def goto(self, url):
        self.page.goto(url, wait_until="networkidle")
        return self.page


def test_home_loads_with_no_errors_and_no_failed_requests(browser, site_url):
    watched = Watched(browser, site_url)
    page = watched.goto(site_url)
    assert page.locator("h1").inner_text() == "Daily Papers digest"
    assert page.locator("article.card").count() > 10
    # relative links work under the sub-path: follow one to a paper and back to the archive
    page.locator("article.card h3 a").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(site_url + "paper/")
    page.get_by_role("link", name="Archive").click()
    page.wait_for_load_state("networkidle")
    assert page.url == site_url + "archive.html"
    assert watched.problems == []
    watched.page.close()


def test_paper_page_shows_its_chart(browser, site_url):
    watched = Watched(browser, site_url)
    page = watched.goto(site_url + "paper/2608.13558.html")
    chart = page.locator("svg.chart-up")
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 50
    assert chart.locator("circle").count() == 2
    assert page.locator("svg.chart-rank path.line").count() == 1
    assert watched.problems == []
    watched.page.close()


def search(browser, base, query):
    watched = Watched(browser, base)
    page = watched.goto(base + "search.html")
    page.locator(".pagefind-ui__search-input").fill(query)
    page.locator(".pagefind-ui__result-link").first.wait_for(timeout=15000)
    return watched, [t.strip() for t in page.locator(".pagefind-ui__result-link").all_inner_texts()]


def test_search_finds_a_known_title(browser, site_url):
    watched, titles = search(browser, site_url, "OmniScientist")
    assert any(t.startswith("OmniScientist: An Omni-Modal Omni-Discipline AI Scientist") for t in titles)
    watched.page.locator(".pagefind-ui__result-link").first.click()
    watched.page.wait_for_load_state("networkidle")
    assert "/digest/" in watched.page.url and watched.page.locator("h1").count() == 1
    assert watched.problems == []
    watched.page.close()


def test_hostile_title_is_text_in_the_page_and_in_search(browser, hostile_url):
    watched = Watched(browser, hostile_url)
    page = watched.goto(hostile_url + "paper/2608.99001.html")
    assert page.locator("h1").inner_text() == HOSTILE_TITLE
    assert page.evaluate("document.scripts.length") == 0
    watched.page.close()
    watched, titles = search(browser, hostile_url, "quotes")
    assert HOSTILE_TITLE in titles
    assert watched.page.evaluate("[...document.scripts].every(s => s.src.includes('pagefind') || "
                                 "s.textContent.includes('PagefindUI'))")
    assert watched.problems == []
    watched.page.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["", "day/2026-08-20.html", "paper/2608.13558.html"])
def test_axe_finds_no_wcag2_a_or_aa_violations(browser, site_url, path, scheme):
    assert AXE.is_file(), "axe-core is missing: run `npm ci` (.ci/run does)"
    watched = Watched(browser, site_url, scheme=scheme)
    page = watched.goto(site_url + path)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})")
    violations = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
    assert violations == []
    assert len(result["passes"]) > 10
    watched.page.close()


@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_and_no_sideways_scrolling(browser, site_url, width, scheme):
    ARTIFACTS.mkdir(exist_ok=True)
    for name, path in (("home", ""), ("day", "day/2026-08-20.html"), ("paper", "paper/2608.13558.html"),
                       ("week", "week/2026-W34.html")):
        watched = Watched(browser, site_url, width=width, scheme=scheme)
        page = watched.goto(site_url + path)
        shot = ARTIFACTS / f"{name}-{width}-{scheme}.png"
        page.screenshot(path=str(shot), full_page=name != "week")
        assert shot.stat().st_size > 10_000
        # responsive: nothing wider than the viewport (360 px phones included)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert (background == "rgb(20, 22, 26)") == (scheme == "dark")
        assert watched.problems == []
        watched.page.close()


def test_narrowest_phone_has_no_sideways_scrolling(browser, site_url):
    for path in ("", "day/2026-08-20.html", "paper/2608.13558.html", "archive.html", "search.html"):
        watched = Watched(browser, site_url, width=360)
        page = watched.goto(site_url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
        assert watched.problems == []
        watched.page.close()
