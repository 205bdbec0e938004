"""The feeds of the whole real archive (580 days): the W3C Feed Validation Service's own code
finds no error, and the papers feed keeps every paper of the last feed_days days

Needs ../shared/fixtures/hf-archive and ../shared/tools/feedvalidator beside the repository
(or DIGEST_FIXTURES=<shared>/fixtures; not vendored: 59 MB); skipped, saying so, where they
are absent.
"""

import datetime as dt
import os
import re
import sys
from pathlib import Path

import pytest
from conftest import BASE_URL, FIXTURES, Run
from lxml import etree
from test_feeds import ATOM, DC, raw_new_ids, raw_papers

from digest.config import Config
from digest.topics import topic_key

ARCHIVE = FIXTURES / "hf-archive"
# Beside the shared fixtures (../shared/tools), or where DIGEST_FEEDVALIDATOR says.
VALIDATOR = Path(os.environ.get("DIGEST_FEEDVALIDATOR") or FIXTURES.parent / "tools" / "feedvalidator")
FEED_FILES = ("daily.xml", "daily.atom", "papers.xml", "papers.atom")

pytestmark = pytest.mark.skipif(not ARCHIVE.is_dir(), reason=f"the real archive is not at {ARCHIVE}")


@pytest.fixture(scope="module")
def archive_feeds(tmp_path_factory):
    """The feeds of the whole archive, imported as a new user would (`digest import --listing hf-daily`)

    They are what `digest build` writes (digest.publish.site calls feed_files this way);
    the site itself is built over the whole archive by the site's own tests.
    """
    from digest.incremental import collect_archive
    from digest.render.feeds import feed_files
    from digest.render.pages import _site_info

    root = tmp_path_factory.mktemp("archive")
    Run(root / "data")("import", "--listing", "hf-daily", *sorted(ARCHIVE.glob("*.json")))
    config = Config(data_dir=root / "data")
    files = feed_files(collect_archive(config), _site_info(config, BASE_URL), config.site)
    out = root / "feeds"
    out.mkdir()
    for path, data in files:
        (root / path).write_bytes(data)
    return out


def validate(data, url):
    """(errors, warnings) the feed validator logs for a feed, each as its text message"""
    if str(VALIDATOR) not in sys.path:
        sys.path.insert(0, str(VALIDATOR))
    import feedvalidator
    from feedvalidator import logging as events
    from feedvalidator.formatter.text_plain import Formatter

    try:
        logged = feedvalidator.validateString(data, firstOccurrenceOnly=1, base=url)["loggedEvents"]
    except events.ValidationFailure as failure:
        logged = [failure.event]
    errors = [e for e in logged if isinstance(e, events.Error)]
    warnings = [e for e in logged if isinstance(e, events.Warning)]
    return list(Formatter(errors)), list(Formatter(warnings))


@pytest.mark.skipif(not VALIDATOR.is_dir(), reason=f"the feed validator is not at {VALIDATOR}")
@pytest.mark.parametrize("name", FEED_FILES)
def test_the_w3c_feed_validator_finds_no_error_or_warning(archive_feeds, name):
    errors, warnings = validate((archive_feeds / name).read_bytes(), f"{BASE_URL}feeds/{name}")
    assert errors == []
    assert warnings == []


@pytest.mark.skipif(not VALIDATOR.is_dir(), reason=f"the feed validator is not at {VALIDATOR}")
def test_the_validator_does_catch_a_missing_author():
    # the check the issue failed on, so that a silent validator cannot pass the test above
    feed = (b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            b'<title>t</title><id>tag:x,2024:f</id><updated>2026-01-01T00:00:00Z</updated>'
            b'<link rel="self" href="https://example.org/digest/feeds/x.atom"/>'
            b'<entry><title>e</title><id>tag:x,2024:e</id><updated>2026-01-01T00:00:00Z</updated>'
            b'<link href="https://example.org/e"/><content type="html">c</content></entry></feed>')
    errors, _ = validate(feed, f"{BASE_URL}feeds/x.atom")
    assert any("Missing entry element: author" in e for e in errors)


@pytest.fixture(scope="module")
def recent_raw():
    """{id: raw paper} of every paper first listed in the archive's last 7 days, by the raw files"""
    files = sorted(ARCHIVE.glob("*.json"))
    return raw_new_ids(files, dt.date.fromisoformat(files[-1].stem) - dt.timedelta(days=6))


def test_the_papers_feed_holds_every_paper_of_the_last_seven_days(archive_feeds, recent_raw):
    assert len(recent_raw) > Config().site.feed_items  # more than feed_items: the days decide
    root = etree.parse(str(archive_feeds / "papers.atom")).getroot()
    links = [e.find(f"{ATOM}link").get("href") for e in root.iter(f"{ATOM}entry")]
    assert len(links) == len(set(links)) and set(links) == {f"{BASE_URL}paper/{key}.html" for key in recent_raw}


def test_every_item_has_an_author_categories_and_correct_plurals(archive_feeds, recent_raw):
    for name in ("daily", "papers"):
        atom = etree.parse(str(archive_feeds / f"{name}.atom")).getroot()
        rss = etree.parse(str(archive_feeds / f"{name}.xml")).getroot()
        assert all(e.findtext(f"{ATOM}author/{ATOM}name") for e in atom.iter(f"{ATOM}entry"))
        assert all(i.findtext(f"{DC}creator") for i in rss.iter("item"))
        for path in (archive_feeds / f"{name}.xml", archive_feeds / f"{name}.atom", archive_feeds / f"{name}.json"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"\b1 (upvotes|comments|papers)\b", text), path.name
        dates = [e.text for e in atom.iter(f"{ATOM}updated", f"{ATOM}published")] + \
            [e.text for e in rss.iter("pubDate", "lastBuildDate")]
        assert len(dates) > 60 and not [d for d in dates if "00:00:00" in d]  # not midnight
    # a paper's categories are its keywords, one per topic: spellings of one topic ("DiT",
    # "diffusion transformer") are one category, named as the topic is
    papers = etree.parse(str(archive_feeds / "papers.atom")).getroot().findall(f"{ATOM}entry")
    with_keywords = folded = 0
    for entry in papers:
        raw = recent_raw[entry.find(f"{ATOM}link").get("href").rsplit("/", 1)[1].removesuffix(".html")]
        keywords = {k.casefold() for k in raw.get("ai_keywords") or ()}
        terms = {c.get("term").casefold() for c in entry.findall(f"{ATOM}category")}
        assert bool(terms) == bool(keywords) and len(terms) <= len(keywords)
        # at most one per canonical key (acronyms learnt across the archive fold some further)
        assert len(terms) <= len({topic_key(k) for k in keywords})
        folded += len(terms - keywords)
        with_keywords += bool(keywords)
    assert with_keywords > 100
    assert folded < with_keywords  # most keywords are their own topic's name
    # an edition's categories: up to 8 of its papers' keywords, when they have any (some real
    # days have none: keywords came later)
    tagged = 0
    for entry in etree.parse(str(archive_feeds / "daily.atom")).getroot().findall(f"{ATOM}entry"):
        day = entry.find(f"{ATOM}link").get("href").rsplit("/", 1)[1].removesuffix(".html")
        raw = raw_papers(ARCHIVE / f"{day}.json")
        count = len(entry.findall(f"{ATOM}category"))
        assert (1 <= count <= 8) if any(p.get("ai_keywords") for p in raw) else count == 0, day
        tagged += count > 0
    assert tagged >= 5


def test_a_49_paper_day_then_the_next_keeps_all_49_in_the_papers_feed(tmp_path):
    import feedparser

    from digest.publish.site import build_site

    files = sorted(ARCHIVE.glob("*.json"))
    big, after = ARCHIVE / "2026-06-01.json", ARCHIVE / "2026-06-02.json"
    # 35 days before it: more than feed_items (30), so the second build is a daily update
    before = files[files.index(big) - 35:files.index(big)]
    expected = raw_new_ids([*before, big], dt.date(2026, 6, 1))
    assert len(expected) == 49 and len(raw_papers(big)) == 49  # a 49-paper day, every paper new
    run = Run(tmp_path / "data")
    run("import", "--listing", "hf-daily", *before, big)
    config = Config(data_dir=tmp_path / "data")
    out = tmp_path / "site"
    build_site(config, out, base_url=BASE_URL, search=False)
    run("import", "--listing", "hf-daily", after)
    result = build_site(config, out, base_url=BASE_URL, search=False)
    assert result.updated  # the daily update, from the last build's state
    ids = {e.link.rsplit("/", 1)[1].removesuffix(".html")
           for e in feedparser.parse((out / "feeds" / "papers.atom").read_bytes()).entries}
    assert set(expected) <= ids
    assert set(raw_new_ids([*before, big, after], dt.date(2026, 6, 2))) <= ids
