"""Feeds as feed readers see them: feedparser, and the XML checked with lxml"""

import ast
import datetime as dt
import email.utils
import json
import re

import feedparser
import pytest
from conftest import BASE_URL, HOSTILE_TITLE, hf_files
from lxml import etree

from digest.config import Config, ConfigError, SiteSettings, load_config
from digest.publish.site import build_site

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
FEEDS = ("daily", "papers")


def raw_papers(path):
    """The `paper` objects of a recorded HF file, read directly (damaged shapes included)"""
    data = json.loads(path.read_text(encoding="utf-8"))
    items = data["data"] if isinstance(data, dict) else data
    return [(ast.literal_eval(i) if isinstance(i, str) else i)["paper"] for i in items]


def raw_new_ids(files, since):
    """{id: paper} of the papers first listed on a day >= since, by the raw files"""
    seen, new = set(), {}
    for path in sorted(files):
        for paper in raw_papers(path):
            if paper["id"] not in seen and path.stem >= since.isoformat():
                new[paper["id"]] = paper
            seen.add(paper["id"])
    return new


LAST_DAY = max(dt.date.fromisoformat(p.stem) for p in hf_files())
# The last feed_days (7) calendar days of the 17 recorded days: every paper new on them.
RECENT_NEW = raw_new_ids(hf_files(), LAST_DAY - dt.timedelta(days=6))


def expected_count(name):
    # daily: the 17 recorded days (fewer than feed_items, 30); papers: every new one of the last 7 days
    return {"daily": len(hf_files()), "papers": len(RECENT_NEW)}[name]


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
    # content is escaped HTML: one text node, no child elements; the description its summary
    content = items[0].find(f"{CONTENT}encoded")
    assert len(content) == 0 and "<a href=" in content.text
    assert len(items[0].find("description")) == 0 and "<" not in items[0].findtext("description")


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


def test_feed_items_setting_caps_every_feed_beyond_feed_days(real_store, tmp_path):
    config = Config(data_dir=real_store.root, site=SiteSettings(feed_items=3, feed_days=0))
    build_site(config, tmp_path / "s", base_url=BASE_URL, search=False)
    for name in FEEDS:
        assert len(feedparser.parse((tmp_path / "s" / "feeds" / f"{name}.xml").read_bytes()).entries) == 3
        assert len(json.loads((tmp_path / "s" / "feeds" / f"{name}.json").read_text())["items"]) == 3


def test_feed_days_keeps_every_paper_of_those_days_above_feed_items(real_store, tmp_path):
    config = Config(data_dir=real_store.root, site=SiteSettings(feed_items=3, feed_days=1))
    build_site(config, tmp_path / "s", base_url=BASE_URL, search=False)
    last = raw_new_ids(hf_files(), LAST_DAY)
    assert len(last) > 3
    papers = feedparser.parse((tmp_path / "s" / "feeds" / "papers.atom").read_bytes()).entries
    assert [e.link.rsplit("/", 1)[1] for e in papers] == [f"{i}.html" for i in last]  # listing order
    # the daily feed: the one day of feed_days, then older days up to feed_items
    daily = feedparser.parse((tmp_path / "s" / "feeds" / "daily.atom").read_bytes()).entries
    assert len(daily) == 3 and daily[0].link.endswith(f"day/{LAST_DAY}.html")


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
    assert daily.bozo == 0 and daily.entries[0].title.endswith("2026: no papers listed")


# --- authors, dates, categories and the edition (issue 10) ----------------------------------

def _fold(text):
    return " ".join((text or "").split())


def test_every_entry_has_an_author_the_papers_own(real_site):
    for name in FEEDS:
        atom = etree.parse(str(real_site / "feeds" / f"{name}.atom")).getroot()
        rss = etree.parse(str(real_site / "feeds" / f"{name}.xml")).getroot()
        assert all(e.findtext(f"{ATOM}author/{ATOM}name") for e in atom.iter(f"{ATOM}entry"))
        assert all(i.findtext(f"{DC}creator") for i in rss.iter("item"))
    atom = etree.parse(str(real_site / "feeds" / "papers.atom")).getroot()
    for entry in atom.iter(f"{ATOM}entry"):
        paper = RECENT_NEW[entry.findtext(f"{ATOM}link") or entry.find(f"{ATOM}link").get("href")
                           .rsplit("/", 1)[1].removesuffix(".html")]
        names = [_fold(a["name"]) for a in paper["authors"]]
        assert [a.findtext(f"{ATOM}name") for a in entry.findall(f"{ATOM}author")] == names[:10]
    daily = etree.parse(str(real_site / "feeds" / "daily.atom")).getroot()
    assert {a.findtext(f"{ATOM}name") for a in daily.iter(f"{ATOM}author")} == {Config().title}


def test_imported_days_are_dated_at_noon_utc_newest_first_a_second_apart(real_site):
    daily = feedparser.parse((real_site / "feeds" / "daily.atom").read_bytes()).entries
    for entry in daily:
        day = dt.date.fromisoformat(entry.link.rsplit("/", 1)[1].removesuffix(".html"))
        assert entry.updated == f"{day}T12:00:00+00:00"  # no fetch time is known for an imported day
    papers = etree.parse(str(real_site / "feeds" / "papers.atom")).getroot().findall(f"{ATOM}entry")
    dates = [dt.datetime.fromisoformat(e.findtext(f"{ATOM}updated")) for e in papers]
    assert all(a > b for a, b in zip(dates, dates[1:]))
    last = [d for d in dates if d.date() == LAST_DAY]
    # the last day's papers in listing order, from noon down, a second each
    assert last == [dt.datetime.combine(LAST_DAY, dt.time(12), dt.UTC) - dt.timedelta(seconds=n)
                    for n in range(len(raw_papers(sorted(hf_files())[-1])))]


OWN_IDS = {"Alpha": "2608.99001", "Beta": "2608.99002", "Gamma": "2608.99003", "Delta": "2608.99004"}


def _own_snapshot(day, fetched_at, papers):
    return {"format": "digest-snapshot", "version": 1, "listing": "hf-daily", "date": day, "fetched_at": fetched_at,
            "source": {"kind": "test", "url": None, "file": None},
            "entries": [{"rank": n, "id": OWN_IDS[title], "title": title, "abstract": f"About {title}.",
                         "authors": [], "upvotes": ups, "links": {}, "keywords": keywords}
                        for n, (title, ups, keywords) in enumerate(papers, start=1)]}


@pytest.fixture
def fetched_store(tmp_path):
    """Two days in the snapshot format: one imported (no fetch time), one fetched at 22:47 UTC"""
    from digest.store import Store

    store = Store(tmp_path / "data")
    days = [_own_snapshot("2026-08-20", None, [("Alpha", 1, ["LLMs"]), ("Beta", 5, ["llms", "agents"])]),
            _own_snapshot("2026-08-21", "2026-08-22T00:47:05+02:00",
                          [("Alpha", 9, ["LLMs"]), ("Gamma", 1, ["agents"]), ("Delta", 2, [])])]
    for raw in days:
        path = tmp_path / f"{raw['date']}.json"
        path.write_text(json.dumps(raw), encoding="utf-8")
        store.save(store.load_path(path))
    return store


def test_fetched_days_are_dated_when_fetched(fetched_store, tmp_path):
    config = Config(data_dir=fetched_store.root, site=SiteSettings(site_id="test.example/site"))
    build_site(config, tmp_path / "a", base_url=BASE_URL, search=False)
    daily = feedparser.parse((tmp_path / "a" / "feeds" / "daily.atom").read_bytes()).entries
    assert [e.updated for e in daily] == ["2026-08-21T22:47:05+00:00", "2026-08-20T12:00:00+00:00"]
    papers = feedparser.parse((tmp_path / "a" / "feeds" / "papers.atom").read_bytes()).entries
    assert [(e.title, e.updated) for e in papers] == [
        ("Gamma", "2026-08-21T22:47:05+00:00"), ("Delta", "2026-08-21T22:47:04+00:00"),
        ("Alpha", "2026-08-20T12:00:00+00:00"), ("Beta", "2026-08-20T11:59:59+00:00")]
    # no author known: the site's title; same data, same bytes
    assert {a.name for e in papers for a in e.authors} == {config.title}
    build_site(config, tmp_path / "b", base_url=BASE_URL, search=False)
    for path in (tmp_path / "a" / "feeds").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / "feeds" / path.name).read_bytes(), path.name


def test_the_daily_item_carries_the_edition_with_plurals_and_categories(fetched_store, tmp_path):
    import lxml.html

    config = Config(data_dir=fetched_store.root)
    build_site(config, tmp_path / "s", base_url=BASE_URL, search=False)
    feed = feedparser.parse((tmp_path / "s" / "feeds" / "daily.atom").read_bytes())
    latest = feed.entries[0]
    assert latest.title == "21 Aug 2026: 2 new papers, 1 trending"
    html = lxml.html.fromstring(latest.content[0].value)
    cards = {h.text_content(): h.getnext() for h in html.iter("h3")}
    assert list(cards) == ["Gamma", "Delta", "Alpha"]  # new in listing order, then trending
    text = " ".join(html.itertext())
    assert re.search(r"\b1 upvote\b", text) and not re.search(r"\b1 upvotes", text)
    assert "Why it's trending: +8 upvotes since" in " ".join(text.split())
    assert "About Gamma." in text  # the summary
    assert html.xpath("//h3/a/@href")[0] == f"{BASE_URL}paper/2608.99003.html"
    # categories: the topics of its papers, most shared first ("LLMs" and "llms" are one)
    assert [t.term for t in latest.tags] == ["agents", "LLMs"]  # one paper each: listing order
    papers = feedparser.parse((tmp_path / "s" / "feeds" / "papers.atom").read_bytes()).entries
    assert {e.title: [t.term for t in e.get("tags", [])] for e in papers} == {
        "Gamma": ["agents"], "Delta": [], "Alpha": ["LLMs"], "Beta": ["LLMs", "agents"]}
    rss = feedparser.parse((tmp_path / "s" / "feeds" / "papers.xml").read_bytes())
    assert [t.term for t in rss.entries[-1].tags] == ["LLMs", "agents"]
    json_items = json.loads((tmp_path / "s" / "feeds" / "papers.json").read_text())["items"]
    assert json_items[-1]["tags"] == ["LLMs", "agents"] and json_items[-1]["authors"] == [{"name": config.title}]


def test_real_daily_item_shows_every_new_paper_as_a_card(real_site):
    import lxml.html

    last = raw_papers(sorted(hf_files())[-1])
    feed = feedparser.parse((real_site / "feeds" / "daily.atom").read_bytes())
    html = lxml.html.fromstring(feed.entries[0].content[0].value)
    links = {a.text_content(): a.get("href") for a in html.xpath("//h3/a")}
    assert list(links) == [_fold(p["title"]) for p in last]  # every paper is new that day, in listing order
    text = _fold(" ".join(html.itertext()))
    for paper in last:
        assert links[_fold(paper["title"])] == f"{BASE_URL}paper/{paper['id']}.html"
        assert _fold(paper.get("ai_summary") or paper["summary"])[:60] in text
        assert f"https://arxiv.org/abs/{paper['id']}" in html.xpath("//a/@href")
    ones = [p for p in last if p["upvotes"] == 1]
    assert ones and len(re.findall(r"\b1 upvote\b", text)) >= len(ones)
    for path in (real_site / "feeds").iterdir():
        assert not re.search(r"\b1 upvotes", path.read_text(encoding="utf-8")), path.name


# --- GUIDs: one per item and site (issue 10) ------------------------------------------------

def _guids(out, name="papers"):
    entries = feedparser.parse((out / "feeds" / f"{name}.atom").read_bytes()).entries
    return {e.link.rsplit("/", 2)[-1]: e.id for e in entries}


def test_two_sites_give_the_same_paper_different_guids(fetched_store, tmp_path):
    for site_id in ("github.com/alice/digest", "github.com/bob/digest"):
        config = Config(data_dir=fetched_store.root, site=SiteSettings(site_id=site_id))
        build_site(config, tmp_path / site_id.split("/")[1], base_url=BASE_URL, search=False)
    for name in FEEDS:
        alice, bob = _guids(tmp_path / "alice", name), _guids(tmp_path / "bob", name)
        assert alice.keys() == bob.keys() and len(alice) >= 2
        assert not set(alice.values()) & set(bob.values())
    assert _guids(tmp_path / "alice")["2608.99001.html"] == "tag:digest,2024:github.com/alice/digest:paper:2608.99001"


def test_a_sites_guids_do_not_change_with_its_base_url(fetched_store, tmp_path):
    builds = {"a": ("https://one.example/", "https://one.example/digest/"),
              "b": ("https://two.example/other/", None)}
    for folder, (configured, override) in builds.items():
        config = Config(data_dir=fetched_store.root, site=SiteSettings(base_url=configured, site_id="me.example/d"))
        build_site(config, tmp_path / folder, base_url=override, search=False)
    for name in FEEDS:
        assert _guids(tmp_path / "a", name) == _guids(tmp_path / "b", name)
    # without a site id, a --base-url override keeps them too (they come from the configured URL)
    config = Config(data_dir=fetched_store.root, site=SiteSettings(base_url="https://one.example/digest/"))
    build_site(config, tmp_path / "c", base_url="https://elsewhere.example/", search=False)
    build_site(config, tmp_path / "d", search=False)
    assert _guids(tmp_path / "c") == _guids(tmp_path / "d")
    assert _guids(tmp_path / "c")["2608.99001.html"] == "tag:digest,2024:one.example/digest:paper:2608.99001"


def test_site_id_defaults_to_the_github_repository(tmp_path):
    assert load_config(env={"GITHUB_REPOSITORY": "alice/digest"}).site.site_id == "github.com/alice/digest"
    assert load_config(env={}).site.site_id is None
    path = tmp_path / "digest.toml"
    path.write_text('[site]\nsite_id = "papers.example/mine"\nfeed_days = 3\n')
    config = load_config(path, env={"GITHUB_REPOSITORY": "alice/digest"})
    assert (config.site.site_id, config.site.feed_days) == ("papers.example/mine", 3)
    path.write_text('[site]\nsite_id = "my site"\n')
    with pytest.raises(ConfigError, match=r"digest.toml: \[site\] site_id 'my site' should be"):
        load_config(path, env={})
