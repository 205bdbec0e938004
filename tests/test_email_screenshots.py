"""The HTML part as a reader sees it: headless Chromium at 600 px and 375 px, light and dark

Screenshots go to test-artifacts/ (git-ignored) to be looked at. Needs Debian's chromium
(.ci/run installs it); without it these tests fail, they do not skip.
"""

import datetime as dt

import pytest
from conftest import HF_DAILY, ROOT
from playwright.sync_api import sync_playwright

from digest.config import Config, EmailSettings
from digest.history import load_history
from digest.pipeline import digest_for, import_files
from digest.render.email import EmailRenderer
from digest.render.selection import Subscriber
from digest.store import Store

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("data"))
    # The week the demo's sample was once made of (the sample is now a replayed December week).
    import_files(store, [HF_DAILY / f"2026-08-{d}.json" for d in ("13", "14", "17", "18", "19", "20")])
    config = Config(data_dir=store.root, title="Daily Papers", email=EmailSettings(
        from_address="papers@digest.example.org", base_url="https://example.org/papers",
        unsubscribe_mailto="unsubscribe@digest.example.org"))
    digest = digest_for(config, dt.date(2026, 8, 20), history=load_history(store))
    return EmailRenderer.of(digest, config).render(Subscriber("ada@example.org", "Ada")).html


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def open_page(browser, html, width, scheme):
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    # No network: the email must not need any (set_content loads nothing but this HTML).
    page.route("**/*", lambda route: route.abort())
    page.set_content(html)
    return page


@pytest.mark.parametrize("width", [600, 375])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshot_fits_the_screen(browser, html, width, scheme):
    page = open_page(browser, html, width, scheme)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"email-{width}-{scheme}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    box = page.locator("table.container").bounding_box()
    assert box["width"] <= 600 and box["x"] >= 0
    if width == 375:
        assert box["width"] == 375  # edge to edge on a phone
    assert page.locator(".preheader").bounding_box() is None  # hidden
    background = page.evaluate("getComputedStyle(document.querySelector('table.container')).backgroundColor")
    assert background == ("rgb(22, 27, 34)" if scheme == "dark" else "rgb(255, 255, 255)")
    title = page.locator(".paper-title a").first
    assert title.inner_text().startswith("Zetta ζ")
    page.close()


def test_the_look_does_not_depend_on_the_style_element(browser, html):
    # Gmail and others drop or rewrite <style>: without it, the page must look the same
    # (at 600 px in light mode, where no @media block applies).
    page = open_page(browser, html, 600, "light")
    before = page.screenshot(full_page=True)
    page.evaluate("document.querySelectorAll('style').forEach(s => s.remove())")
    assert page.evaluate("document.querySelectorAll('style').length") == 0
    after = page.screenshot(full_page=True)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "email-600-light-without-style.png").write_bytes(after)
    assert before == after
    page.close()
