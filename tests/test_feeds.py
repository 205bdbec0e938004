"""Feeds as feed readers see them: feedparser, and the XML checked with lxml"""

import datetime as dt
import email.utils
import json

import feedparser
import pytest
from lxml import etree

from conftest import BASE_URL, HOSTILE_TITLE
from digest.config import Config, SiteSettings
from digest.publish.site import build_site

ATOM = "{http://www.w3.org/2005/Atom}"
FEEDS = ("daily", "papers")


def expected_count(name):
    # 17 recorded days; 30 items at most (the default feed_items)
    return {"daily": 17, "papers": 30}[name]


@pytest.mark.parametrize("name", FEEDS)
@pytest.mark.parametrize("ext", ["xml", "atom"])
def test_feedparser_reads_every_feed(real_site, name, ext):
    # feedparser 6.0 reads RSS and Atom only; the JSON Feed is checked field by field below
    parsed = feedparser.parse((real_site / "feeds" / f"{name}.{ext}").read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == {"xml": "rss20", "atom": "atom10"}[ext]
    assert len(parsed.entries) == expected_count(name)
    assert all(e.link.startswith(BASE_URL) for e in parsed.entries)
    assert all(e.published_parsed for e in parsed.entries)


@pytest.mark.parametrize("name", FEEDS)
def test_rss_is_well_formed_with_unique_guids_and_rfc822_dates(real_site, name):
    root = etree.parse(str(real_site / "feeds" / f"{name}.xml")).getroot()
    channel = root.find("channel")
    assert channel.findtext("link") == BASE_URL
    [self_link] = channel.findall(f"{ATOM}link[@rel='self']")
    assert self_link.get("href") == f"{BASE_URL}feeds/{name}.xml"
    items = channel.findall("item")
    guids = [i.findtext("guid") for i in items]
    assert len(set(guids)) == len(guids) == expected_count(name)
    assert all(g.startswith("tag:digest,2024:") for g in guids)
    dates = [email.utils.parsedate_to_datetime(i.findtext("pubDate")) for i in items]
    assert dates == sorted(dates, reverse=True)
    assert all(d.tzinfo is not None for d in dates)
    # pinned to the data, never to the clock
    assert email.utils.parsedate_to_datetime(channel.findtext("lastBuildDate")) == dates[0]
    # content is escaped HTML: one text node, no child elements
    description = items[0].find("description")
    assert len(description) == 0 and "<a href=" in description.text


@pytest.mark.parametrize("name", FEEDS)
def test_atom_has_self_link_content_types_and_one_alternate_per_entry(real_site, name):
    root = etree.parse(str(real_site / "feeds" / f"{name}.atom")).getroot()
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == f"{BASE_URL}feeds/{name}.atom"
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == expected_count(name)
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == len(ids)
    for entry in entries:
        alternates = [link for link in entry.findall(f"{ATOM}link") if link.get("rel", "alternate") == "alternate"]
        assert len(alternates) == 1
        assert alternates[0].get("rel") == "alternate" and alternates[0].get("type") == "text/html"
        content = entry.find(f"{ATOM}content")
        assert content.get("type") in ("text", "html", "xhtml")
        assert content.get("type") == "html" and len(content) == 0
        for tag in ("updated", "published"):
            value = entry.findtext(f"{ATOM}{tag}")
            assert dt.datetime.fromisoformat(value).tzinfo is not None  # RFC 3339: with an offset
    assert root.findtext(f"{ATOM}updated") == entries[0].findtext(f"{ATOM}updated")


@pytest.mark.parametrize("name", FEEDS)
def test_json_feed_has_every_required_field(real_site, name):
    feed = json.loads((real_site / "feeds" / f"{name}.json").read_text())
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] and feed["feed_url"] == f"{BASE_URL}feeds/{name}.json"
    assert feed["home_page_url"] == BASE_URL
    assert len(feed["items"]) == expected_count(name)
    ids = [item["id"] for item in feed["items"]]
    assert len(set(ids)) == len(ids)
    for item in feed["items"]:
        assert isinstance(item["id"], str) and (item.get("content_html") or item.get("content_text"))
        assert dt.datetime.fromisoformat(item["date_published"].replace("Z", "+00:00"))


def test_the_three_flavours_agree(real_site):
    rss = feedparser.parse((real_site / "feeds" / "papers.xml").read_bytes())
    atom = feedparser.parse((real_site / "feeds" / "papers.atom").read_bytes())
    feed = json.loads((real_site / "feeds" / "papers.json").read_text())
    assert [e.id for e in rss.entries] == [e.id for e in atom.entries] == [i["id"] for i in feed["items"]]
    assert [e.title for e in rss.entries] == [i["title"] for i in feed["items"]]


def test_a_paper_keeps_its_guid_when_days_are_added(real_store, tmp_path):
    from digest.store import Store

    files = sorted((real_store.snapshots / "hf-daily").glob("*.json"))
    store = Store(tmp_path / "data")
    for path in files[:-1]:
        store.save(store.load_path(path))
    config = Config(data_dir=store.root, site=SiteSettings(feed_items=50))
    build_site(config, tmp_path / "before", base_url=BASE_URL, search=False)
    for path in files[-1:]:
        store.save(store.load_path(path))
    build_site(config, tmp_path / "after", base_url=BASE_URL, search=False)
    before = {e.link: e.id for e in feedparser.parse((tmp_path / "before" / "feeds" / "papers.atom")
                                                      .read_bytes()).entries}
    after = {e.link: e.id for e in feedparser.parse((tmp_path / "after" / "feeds" / "papers.atom")
                                                     .read_bytes()).entries}
    shared = before.keys() & after.keys()
    assert len(shared) > 20 and all(before[link] == after[link] for link in shared)


def test_feed_items_setting_caps_every_feed(real_store, tmp_path):
    config = Config(data_dir=real_store.root, site=SiteSettings(feed_items=3))
    build_site(config, tmp_path / "s", base_url=BASE_URL, search=False)
    for name in FEEDS:
        assert len(feedparser.parse((tmp_path / "s" / "feeds" / f"{name}.xml").read_bytes()).entries) == 3
        assert len(json.loads((tmp_path / "s" / "feeds" / f"{name}.json").read_text())["items"]) == 3


def test_hostile_titles_stay_text_and_the_xml_well_formed(hostile_site):
    for ext in ("xml", "atom"):
        data = (hostile_site / "feeds" / f"papers.{ext}").read_bytes()
        etree.fromstring(data)  # raises on a control character or broken markup
        parsed = feedparser.parse(data)
        assert parsed.bozo == 0
        titles = [e.title for e in parsed.entries]
        assert HOSTILE_TITLE in titles
        assert any(t.startswith("Bell form feed") for t in titles)
        assert b"<script>" not in data and b"javascript:" not in data.lower()
    feed = json.loads((hostile_site / "feeds" / "papers.json").read_text())
    item = next(i for i in feed["items"] if i["title"] == HOSTILE_TITLE)
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in item["content_html"]
    assert "javascript:" not in item["content_html"].lower()
    daily = feedparser.parse((hostile_site / "feeds" / "daily.atom").read_bytes())
    assert daily.bozo == 0 and daily.entries[0].title.endswith("0 new, 0 trending")
