"""Hostile servers on 127.0.0.1 (slowloris, redirects elsewhere, loops, bad gzip, every httpx
error) and hostile operator text in the feeds

Each server fault ends in a one-line error with its exit code, within the deadlines, and
the data folder is as it was (all or nothing per listing).
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
from conftest import HF_DAILY, tree_hash
from server import Fault, Server
from test_fetch import PATH, fetch_day, hf_items, one_line_error, prepared

from digest.errors import BadResponseError, NetworkError
from digest.http import Client, Policy


@pytest.fixture
def server():
    with Server() as s:
        yield s


@pytest.fixture
def other():
    """A second server: another port is another origin"""
    with Server() as s:
        yield s


def test_a_slowloris_body_ends_within_the_fetch_deadline_with_7(run, server, tmp_path):
    body = json.dumps(hf_items("2026-08-21")).encode()
    server.sources.queue(PATH, *[Fault(body=body, trickle=0.2) for _ in range(10)])
    # read_timeout is far longer than the pause between bytes: only the deadlines stop it.
    before = prepared(run, tmp_path, server.url, read_timeout=5.0, request_deadline=1.0, fetch_deadline=2.0,
                      backoff=0.1)
    started = time.monotonic()
    result = fetch_day(run, expect=7)
    took = time.monotonic() - started
    one_line_error(result, "hf-daily", "deadline")
    assert took < 2.0 + 1.5, took  # the fetch deadline plus the time of one short read
    assert tree_hash(run.data_dir) == before


def test_a_slow_request_is_cut_at_its_deadline_and_retried(run, server, tmp_path):
    items = hf_items("2026-08-21")
    server.sources.daily["2026-08-21"] = items
    server.sources.queue(PATH, Fault(body=json.dumps(items).encode(), trickle=0.2))
    prepared(run, tmp_path, server.url, read_timeout=5.0, request_deadline=1.0, fetch_deadline=20.0, backoff=0.1)
    result = fetch_day(run, expect=0)
    assert "took longer than request_deadline (1 s)" in result.stderr
    assert len(server.sources.requests(PATH)) == 2
    stored = json.loads((run.data_dir / "snapshots" / "hf-daily" / "2026-08-21.json").read_text())
    assert len(stored["entries"]) == len(items)


def test_one_slow_day_stores_none_of_the_listings_days(run, server, tmp_path):
    for day in ("2026-08-19", "2026-08-20", "2026-08-21"):
        server.sources.daily[day] = hf_items(day) if (HF_DAILY / f"{day}.json").exists() else []
    body = json.dumps(hf_items("2026-08-21")).encode()
    before = prepared(run, tmp_path, server.url, catch_up_days=2, read_timeout=5.0, request_deadline=0.5,
                      fetch_deadline=1.5, backoff=0.1)
    # The run day's list trickles; the catch-up days before it answered at once.
    server.sources.queue(PATH, Fault(body=json.dumps([]).encode()),
                         *[Fault(body=body, trickle=0.2) for _ in range(10)])
    one_line_error(fetch_day(run, expect=7), "deadline")
    assert tree_hash(run.data_dir) == before


def test_a_redirect_to_another_port_is_not_followed(run, server, other, tmp_path):
    other.sources.daily["2026-08-21"] = hf_items("2026-08-21")
    server.sources.queue(PATH, Fault(302, headers={"Location": other.url + PATH + "?date=2026-08-21"}))
    before = prepared(run, tmp_path, server.url)
    one_line_error(fetch_day(run, expect=8), f"redirected to {other.url}", "not followed", "redirect_origins")
    assert other.sources.requests() == []
    assert tree_hash(run.data_dir) == before


def test_a_redirect_to_an_allowed_origin_is_followed(run, server, other, tmp_path):
    items = hf_items("2026-08-21")
    other.sources.daily["2026-08-21"] = items
    server.sources.queue(PATH, Fault(302, headers={"Location": other.url + PATH + "?date=2026-08-21"}))
    prepared(run, tmp_path, server.url, redirect_origins=[other.url])
    fetch_day(run, expect=0)
    assert len(other.sources.requests(PATH)) == 1
    stored = json.loads((run.data_dir / "snapshots" / "hf-daily" / "2026-08-21.json").read_text())
    assert len(stored["entries"]) == len(items)


def test_a_redirect_on_the_same_origin_is_followed(run, server, tmp_path):
    items = hf_items("2026-08-21")
    server.sources.daily["2026-08-21"] = items
    server.sources.queue("/moved", Fault(301, headers={"Location": PATH + "?date=2026-08-21&p=0&limit=50&moved=1"}))
    server.sources.queue(PATH, Fault(307, headers={"Location": "/moved"}))
    prepared(run, tmp_path, server.url)
    fetch_day(run, expect=0)
    assert [r[0] for r in server.sources.requests()] == [PATH, "/moved", PATH]


def test_a_redirect_loop_is_a_one_line_error(run, server, tmp_path):
    server.sources.queue(PATH, Fault(302, headers={"Location": "/a"}))
    server.sources.queue("/a", Fault(302, headers={"Location": "/b"}))
    server.sources.queue("/b", Fault(302, headers={"Location": "/a"}))
    before = prepared(run, tmp_path, server.url)
    one_line_error(fetch_day(run, expect=8), "redirect loop")
    assert tree_hash(run.data_dir) == before


def test_too_many_redirects_is_a_one_line_error(run, server, tmp_path):
    for n in range(10):
        server.sources.queue(PATH if n == 0 else f"/r{n}", Fault(302, headers={"Location": f"/r{n + 1}"}))
    before = prepared(run, tmp_path, server.url, max_redirects=3)
    one_line_error(fetch_day(run, expect=8), "more than 3 redirects")
    assert [r[0] for r in server.sources.requests()] == [PATH, "/r1", "/r2", "/r3"]
    assert tree_hash(run.data_dir) == before


def test_an_invalid_gzip_body_is_a_one_line_error(run, server, tmp_path):
    server.sources.queue(PATH, Fault(200, b"this is not gzip", {"Content-Encoding": "gzip"}))
    before = prepared(run, tmp_path, server.url)
    one_line_error(fetch_day(run, expect=8), "cannot be decoded")
    assert len(server.sources.requests(PATH)) == 1
    assert tree_hash(run.data_dir) == before


def test_a_bad_redirect_location_is_a_one_line_error(run, server, tmp_path):
    server.sources.queue(PATH, Fault(302, headers={"Location": "http://[::1"}))
    before = prepared(run, tmp_path, server.url)
    result = fetch_day(run, expect=None)
    assert result.exit_code in (7, 8)
    one_line_error(result)
    assert tree_hash(run.data_dir) == before


def every_httpx_error():
    """Every concrete exception class httpx raises, found by walking its hierarchy"""
    found, todo = [], [httpx.HTTPError, httpx.InvalidURL, httpx.CookieConflict, httpx.StreamError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted({c for c in found if c.__module__.startswith("httpx")}, key=lambda c: c.__name__)


@pytest.mark.parametrize("error", every_httpx_error(), ids=lambda c: c.__name__)
def test_every_httpx_error_becomes_a_digest_error(error):
    def raising(request):
        if issubclass(error, httpx.HTTPStatusError):
            raise error("boom", request=request, response=httpx.Response(500, request=request))
        if issubclass(error, httpx.RequestError):
            raise error("boom", request=request)
        try:
            raise error("boom")
        except TypeError:  # the stream errors take no message
            raise error() from None

    client = Client(Policy(retries=1), transport=httpx.MockTransport(raising), sleep=lambda s: None)
    with client, pytest.raises((NetworkError, BadResponseError)) as caught:
        client.get("http://127.0.0.1:9/x")
    assert "\n" not in str(caught.value) and str(caught.value).startswith("http://127.0.0.1:9/x: ")


# --- operator-set text is escaped like data ---------------------------------------------------

EVIL_TITLE = '<script>alert("title")</script> & <b>Digest</b>'


def test_a_script_title_stays_text_in_every_feed(real_store, tmp_path):
    import feedparser
    from lxml import etree

    from digest.config import Config
    from digest.publish.site import build_site

    out = tmp_path / "site"
    build_site(Config(data_dir=real_store.root, title=EVIL_TITLE), out, base_url="https://example.org/d/",
               search=False)
    atom = "{http://www.w3.org/2005/Atom}"
    for name in ("daily", "papers"):
        rss = etree.parse(str(out / "feeds" / f"{name}.xml")).getroot().find("channel")
        # RSS descriptions are HTML to readers: once the XML is read, it must still be escaped text.
        assert "<script" not in rss.findtext("description") and "&lt;script&gt;" in rss.findtext("description")
        assert EVIL_TITLE in rss.findtext("title")  # a title is plain text, shown as it is
        parsed = feedparser.parse((out / "feeds" / f"{name}.xml").read_bytes())
        assert "<script" not in parsed.feed.subtitle and "alert" in parsed.feed.subtitle
        root = etree.parse(str(out / "feeds" / f"{name}.atom")).getroot()
        for tag in ("title", "subtitle"):
            element = root.find(atom + tag)
            assert element.get("type", "text") == "text" and EVIL_TITLE in element.text
        feed = json.loads((out / "feeds" / f"{name}.json").read_text())
        # JSON Feed's title and description are plain text by the spec; no field carries it as HTML.
        assert EVIL_TITLE in feed["title"] and EVIL_TITLE in feed["description"]
        assert all("<script>alert(\"title\")" not in item["content_html"] for item in feed["items"])
