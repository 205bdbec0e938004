"""Search in shards: one per month, one per week of the recent month, merged in the browser,
found under a sub-path

Real recorded days across three months; Chromium (/usr/bin/chromium) as in
test_browser.py, serving the site under /digest/.
"""

import hashlib
import json
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from conftest import HF_DAILY, Run
from test_browser import PREFIX, Watched, browser, serve  # noqa: F401  (browser is a fixture)

ARCHIVE = HF_DAILY
OLD_DAYS = ("2024-05-27", "2024-05-28", "2025-10-01", "2025-10-02", "2025-10-03", "2025-10-06", "2025-10-07")
CURRENT_DAYS = ("2026-08-13", "2026-08-14", "2026-08-17", "2026-08-18", "2026-08-19")
NEXT_DAY = "2026-08-20"


def raw(day):
    return json.loads((ARCHIVE / f"{day}.json").read_text(encoding="utf-8"))


def shard_hashes(site):
    """month -> {file: sha256} of every file in each shard folder"""
    found = {}
    for folder in sorted(p for p in (site / "pagefind").iterdir() if p.is_dir()):
        found[folder.name] = {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                              for p in folder.rglob("*") if p.is_file()}
    return found


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    root = tmp_path_factory.mktemp("sharded")
    run = Run(root / "data")
    run("import", *[ARCHIVE / f"{day}.json" for day in OLD_DAYS + CURRENT_DAYS])
    site = root / "site"
    first = run("build", "--out", site, "--base-url", "https://example.org/digest/")
    return run, site, first.stdout


def test_one_shard_per_month_of_first_day(sharded):
    _, site, report = sharded
    assert "search indexed" in report and ", updated" not in report
    # Old months are one shard each; the last month, not settled, one per week of it
    # (the 13th and 14th are its days 8 to 14, the 17th to 19th its days 15 to 21).
    assert sorted(shard_hashes(site)) == ["2024-05", "2025-10", "2026-08.2", "2026-08.3"]
    listed = json.loads((site / "pagefind" / "shards.json").read_text())
    assert listed["order"] == ["2026-08.3", "2026-08.2", "2025-10", "2024-05"]
    for name in ("pagefind-ui.js", "pagefind-ui.css"):
        assert (site / "pagefind" / name).is_file()
    # no scratch tree left behind; the one dotfile is the pages' hashes (not served)
    assert [p.name for p in (site / "pagefind").iterdir() if p.name.startswith(".")] == [".pages.json"]


def search(browser, base, query):
    watched = Watched(browser, base)
    page = watched.goto(base + "search.html")
    page.locator(".pagefind-ui__search-input").fill(query)
    page.locator(".pagefind-ui__result").first.wait_for(timeout=15000)
    page.wait_for_timeout(300)
    results = []
    for result in page.locator(".pagefind-ui__result").all():
        link = result.locator(".pagefind-ui__result-link")
        results.append((link.inner_text().strip(), link.get_attribute("href"), result.inner_text()))
    return watched, results


@pytest.mark.parametrize("day", [OLD_DAYS[1], CURRENT_DAYS[-1]])
def test_a_title_finds_its_paper_from_an_old_and_the_current_shard(browser, sharded, day):  # noqa: F811
    _, site, _ = sharded
    entry = raw(day)[0]["paper"]
    # its first day is `day` and its peak upvotes the most it had on any imported day
    seen = [e["paper"]["upvotes"] for d in OLD_DAYS + CURRENT_DAYS for e in raw(d) if e["paper"]["id"] == entry["id"]]
    assert not [d for d in OLD_DAYS + CURRENT_DAYS if d < day and any(e["paper"]["id"] == entry["id"] for e in raw(d))]
    server = serve(site)
    try:
        base = f"http://127.0.0.1:{server.server_port}{PREFIX}"
        watched, results = search(browser, base, entry["title"])
        title, href, text = results[0]
        assert title == entry["title"].strip()
        assert href == f"{PREFIX}paper/{entry['id']}.html"
        assert f"day: {day}" in text.lower() and f"upvotes: {max(seen)}" in text.lower()
        watched.page.locator(".pagefind-ui__result-link").first.click()
        watched.page.wait_for_load_state("networkidle")
        assert watched.page.url == base + f"paper/{entry['id']}.html"
        assert watched.problems == []
        watched.page.close()
    finally:
        server.shutdown()


def test_a_search_can_be_linked_to_and_its_address_follows_the_search_box(browser, sharded):  # noqa: F811
    _, site, _ = sharded
    old, current = raw(OLD_DAYS[1])[0]["paper"], raw(CURRENT_DAYS[-1])[0]["paper"]
    server = serve(site)
    try:
        base = f"http://127.0.0.1:{server.server_port}{PREFIX}"
        watched = Watched(browser, base)
        page = watched.goto(base + "search.html?" + urlencode({"q": old["title"]}))
        # opened on the search of its address, nothing typed: the old shard's paper first
        page.locator(".pagefind-ui__result").first.wait_for(timeout=15000)
        assert page.locator(".pagefind-ui__search-input").input_value() == old["title"]
        first = page.locator(".pagefind-ui__result-link").first
        assert first.get_attribute("href") == f"{PREFIX}paper/{old['id']}.html"
        # typing another search puts it in the address (a link to it, a bookmark)
        page.locator(".pagefind-ui__search-input").fill(current["title"])
        page.wait_for_function("location.search.length > 3")
        assert parse_qs(urlsplit(page.url).query) == {"q": [current["title"].strip()]}
        page.wait_for_function(
            "t => document.querySelector('.pagefind-ui__result-link')?.textContent.trim() === t",
            arg=current["title"].strip(), timeout=15000,
        )
        # and Clear takes it out again
        page.locator(".pagefind-ui__search-clear").click()
        page.wait_for_function("location.search === ''")
        assert page.url == base + "search.html"
        assert watched.problems == []
        page.close()
    finally:
        server.shutdown()


def test_a_new_day_rebuilds_only_the_current_shard(sharded):
    run, site, _ = sharded
    ids = {e["paper"]["id"] for e in raw(NEXT_DAY)}
    # preconditions from the raw files: the new day lists no paper first seen in an older
    # month, and one of the 13th or 14th (the week before): that week's shard is rebuilt too.
    assert not ids & {e["paper"]["id"] for d in OLD_DAYS for e in raw(d)}
    assert ids & {e["paper"]["id"] for d in CURRENT_DAYS[:2] for e in raw(d)}
    before = shard_hashes(site)
    result = run("import", ARCHIVE / f"{NEXT_DAY}.json")
    result = run("build", "--out", site, "--base-url", "https://example.org/digest/")
    assert "search indexed" in result.stdout
    after = shard_hashes(site)
    assert after["2024-05"] == before["2024-05"] and after["2025-10"] == before["2025-10"]
    assert after["2026-08.3"] != before["2026-08.3"] and after["2026-08.2"] != before["2026-08.2"]
    # and a build with nothing new indexes nothing
    again = run("build", "--out", site, "--base-url", "https://example.org/digest/")
    assert "search indexed" not in again.stdout and shard_hashes(site) == after


def inodes(site):
    """shard file ('2024-05/pagefind.js') -> its inode number"""
    return {p.relative_to(site / "pagefind").as_posix(): p.stat().st_ino for p in (site / "pagefind").rglob("*") if p.is_file()}


def test_a_page_that_changed_only_by_its_topic_links_leaves_its_shard_alone(tmp_path):
    """A new paper that shares a keyword with an old one makes that keyword a topic: the old
    paper's page gains a link, which pagefind does not index, so the old month's shard is not
    built again; the index is the one a fresh build makes"""
    run = Run(tmp_path / "data")
    run("import", *[ARCHIVE / f"{day}.json" for day in OLD_DAYS + CURRENT_DAYS])
    site = tmp_path / "site"
    run("build", "--out", site)
    pages = {p: p.read_bytes() for p in (site / "paper").glob("*.html")}
    old = inodes(site)
    run("import", ARCHIVE / f"{NEXT_DAY}.json")
    update = run("build", "--out", site)
    assert "search indexed" in update.stdout  # (a full build: the feeds show every one of these days)
    old_ids = {e["paper"]["id"] for d in OLD_DAYS for e in raw(d)}
    relinked = [p for p, raw_page in pages.items() if p.stem in old_ids and p.read_bytes() != raw_page]
    assert relinked  # precondition: old papers' pages gained (or lost) a topic link
    for page in relinked:
        assert b"topic/" in page.read_bytes() or b"topic/" in pages[page]
    new = inodes(site)
    # A shard built again is a new folder of new files (_index_shard): other inode numbers.
    for month in ("2024-05", "2025-10"):
        kept = {k: v for k, v in new.items() if k.startswith(month + "/")}
        assert kept and all(old.get(k) == v for k, v in kept.items()), month
    assert any(k.startswith("2026-08") and old.get(k) != v for k, v in new.items())
    fresh = tmp_path / "fresh"
    run("build", "--out", fresh)
    assert shard_hashes(fresh) == shard_hashes(site)


def test_a_month_left_by_every_paper_loses_its_shard(tmp_path):
    run = Run(tmp_path / "data")
    run("import", ARCHIVE / f"{OLD_DAYS[0]}.json", ARCHIVE / f"{CURRENT_DAYS[0]}.json")
    site = tmp_path / "site"
    run("build", "--out", site)
    assert sorted(shard_hashes(site)) == ["2024-05", "2026-08.2"]
    for stored in (tmp_path / "data" / "snapshots").glob(f"*/{OLD_DAYS[0]}.json"):
        stored.unlink()
    run("build", "--out", site)
    assert sorted(shard_hashes(site)) == ["2026-08.2"]
    assert json.loads((site / "pagefind" / "shards.json").read_text())["order"] == ["2026-08.2"]
    assert Path(site / "pagefind" / "pagefind-ui.js").is_file()


def test_a_settled_month_makes_way_for_one_shard(tmp_path):
    """Fourteen days after a month ends, its week shards become one month shard (and the
    week shards and their folders go)"""
    import datetime as dt

    from digest.publish.search import shard_of_day

    assert shard_of_day(dt.date(2026, 7, 31), dt.date(2026, 8, 13)) == "2026-07.5"
    assert shard_of_day(dt.date(2026, 7, 31), dt.date(2026, 8, 14)) == "2026-07"
    assert shard_of_day(dt.date(2026, 8, 8), dt.date(2026, 8, 20)) == "2026-08.2"
    assert shard_of_day(dt.date(2024, 2, 29), dt.date(2024, 3, 14)) == "2024-02"
    assert shard_of_day(dt.date(2024, 12, 31), dt.date(2025, 1, 13)) == "2024-12.5"
    run = Run(tmp_path / "data")
    run("import", *[ARCHIVE / f"{day}.json" for day in ("2025-10-01", "2025-10-02", "2025-10-03")])
    site = tmp_path / "site"
    run("build", "--out", site)
    assert sorted(shard_hashes(site)) == ["2025-10.1"]
    run("import", *[ARCHIVE / f"{day}.json" for day in ("2026-08-13",)])
    run("build", "--out", site)
    assert sorted(shard_hashes(site)) == ["2025-10", "2026-08.2"]
    listed = json.loads((site / "pagefind" / "shards.json").read_text())
    assert listed["order"] == ["2026-08.2", "2025-10"] and sorted(listed["shards"]) == ["2025-10", "2026-08.2"]
    assert not (site / "pagefind" / "2025-10.1").exists()
