"""digest fetch against a real HTTP server on 127.0.0.1: the recorded fixtures, and scripted faults"""

from __future__ import annotations

import copy
import datetime as dt
import json
import socket

import httpx
import pytest
from conftest import HF_DAILY, ROOT, ForbiddenConnection, tree_hash
from server import Fault, Server, refused_url

import digest.fetch as fetch_module
from digest.config import load_config
from digest.history import load_history
from digest.models import Snapshot, Source, make_entry
from digest.pipeline import with_details
from digest.store import Store

ARXIV_FEED = (ROOT / "tests" / "fixtures" / "arxiv-cs.CL.rss").read_bytes()
DAY = dt.date(2026, 8, 21)
PATH = "/api/daily_papers"


def hf_items(day):
    return json.loads((HF_DAILY / f"{day}.json").read_bytes())


@pytest.fixture
def server():
    with Server() as s:
        yield s


@pytest.fixture
def sleeps(monkeypatch):
    """Every pause the client asks for, recorded instead of taken"""
    recorded = []
    real = fetch_module.make_client
    monkeypatch.setattr(fetch_module, "make_client", lambda settings, **kw: real(settings, sleep=recorded.append, **kw))
    return recorded


def configure(path, server_url, arxiv_url=None, **fetch):
    """Write digest.toml in the working folder: sources on the local server, no waiting"""
    settings = {"hf_base_url": server_url, "arxiv_base_url": arxiv_url or server_url,
                "window_days": 0, "catch_up_days": 0, "hf_min_interval": 0.0, "arxiv_min_interval": 0.0,
                "retries": 3, "backoff": 1.0, "read_timeout": 0.3, "connect_timeout": 0.3, **fetch}
    lines = ["[fetch]"]
    for key, value in settings.items():
        lines.append(f"{key} = {json.dumps(value) if not isinstance(value, bool) else str(value).lower()}")
    path.write_text("\n".join(lines) + "\n")


def snapshot_file(data_dir, listing, day):
    return json.loads((data_dir / "snapshots" / listing.replace(":", "_") / f"{day}.json").read_text())


# --- the recorded fixtures, served -------------------------------------------------------


def test_fetch_stores_the_same_papers_as_importing_the_file(run, server, tmp_path):
    server.sources.daily["2026-08-21"] = hf_items("2026-08-21")
    configure(tmp_path / "digest.toml", server.url, page_size=5)
    result = run("fetch", "--date", "2026-08-21", "--listing", "hf-daily")
    assert "hf-daily 2026-08-21: 17 papers, list" in result.stdout

    imported = tmp_path / "imported"
    run.__class__(imported)("import", HF_DAILY / "2026-08-21.json")
    fetched = snapshot_file(run.data_dir, "hf-daily", "2026-08-21")
    expected = snapshot_file(imported, "hf-daily", "2026-08-21")
    assert fetched["entries"] == expected["entries"]
    assert len(fetched["entries"]) == 17
    assert fetched["fetched_at"].endswith("Z") and fetched["source"]["kind"] == "hf-json"
    # 17 papers in pages of 5: pages 0..3, the last one short, then no more requests.
    pages = [(q["date"], q["p"], q["limit"]) for _, q, _, _ in server.sources.requests(PATH)]
    assert pages == [("2026-08-21", str(p), "5") for p in range(4)]
    agent = server.sources.log[0][2]["User-Agent"]
    assert agent.startswith("digest/") and "https://" in agent


def test_a_page_that_exactly_fills_asks_for_the_next_one(run, server, tmp_path):
    server.sources.daily["2026-08-21"] = hf_items("2026-08-21")[:10]
    configure(tmp_path / "digest.toml", server.url, page_size=5)
    run("fetch", "--date", "2026-08-21", "--listing", "hf-daily")
    assert [q["p"] for _, q, _, _ in server.sources.requests(PATH)] == ["0", "1", "2"]
    assert len(snapshot_file(run.data_dir, "hf-daily", "2026-08-21")["entries"]) == 10


def test_a_list_longer_than_max_pages_is_cut_with_a_warning(run, server, tmp_path):
    server.sources.trending = hf_items("2026-08-21")
    configure(tmp_path / "digest.toml", server.url, page_size=5, max_pages=2)
    result = run("fetch", "--listing", "hf-trending")  # today: only today's trending list can be fetched
    assert "warning: hf-trending: " in result.stderr and "stopped after max_pages (2)" in result.stderr
    assert "kept the first 10 papers" in result.stderr
    assert len(server.sources.requests(PATH)) == 2
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert len(snapshot_file(run.data_dir, "hf-trending", today)["entries"]) == 10


def grow(server, run_day, days, per_day=10):
    """Serve each list day as recorded, with upvotes grown by per_day for every day since"""
    everything = []
    for day in days:
        if day > run_day:
            continue
        items = copy.deepcopy(hf_items(day))
        for item in items:
            item["paper"]["upvotes"] += per_day * (run_day - day).days
        server.sources.daily[day.isoformat()] = items
        everything.extend(items)
    server.sources.trending = sorted(everything, key=lambda i: -i["paper"]["upvotes"])[:20]


def fetch_three_days(run, server, tmp_path, *listings):
    """Daily fetches on Aug 19, 20 and 21 from a server whose upvotes grow by 10 a day

    Each run happens on its own day (its clock set to that day's evening), as the daily job's
    do: for a past day a run would skip the listings that only have today's list.
    """
    days = [dt.date(2026, 8, 19), dt.date(2026, 8, 20), dt.date(2026, 8, 21)]
    configure(tmp_path / "digest.toml", server.url, window_days=7)
    real = fetch_module.fetch
    try:
        for day in days:
            grow(server, day, days)
            evening = dt.datetime(day.year, day.month, day.day, 22, 47, tzinfo=dt.UTC)
            fetch_module.fetch = lambda *a, when=evening, **kw: real(*a, **{**kw, "now": when})
            run("fetch", "--date", day, *(arg for name in listings for arg in ("--listing", name)))
    finally:
        fetch_module.fetch = real


def test_three_daily_runs_with_growing_upvotes_give_trending_papers_with_gains(run, server, tmp_path):
    fetch_three_days(run, server, tmp_path, "hf-daily", "hf-trending")

    digest = json.loads(run("diff", "--date", "2026-08-21", "--json").stdout)
    trending = {t["id"]: t for t in digest["trending"]}
    # ASI-Bench was first on the Aug 19 list (38 upvotes), then re-observed on Aug 20 (48) and 21 (58).
    asi = trending["2608.17271"]
    # Its own listing's entry shows it (hf-trending), not the re-observation of its list.
    assert asi["upvote_gain"] == 10 and asi["listing"] == "hf-trending"
    # On the Aug 19 list and the trending list of Aug 19, 20 and 21: three days on a published list.
    assert asi["reasons"] == ["+10 upvotes since Aug 20", "3rd day on the list"]
    assert asi["rank_climb"] is None  # it lost places on hf-trending: no climb
    assert all(any(r.startswith("+10 upvotes since Aug 20") for r in t["reasons"]) for t in digest["trending"])
    # New on Aug 21 is the Aug 21 list, not the re-observed papers of earlier days.
    assert {i["id"] for i in digest["new"]} == {i["paper"]["id"] for i in hf_items("2026-08-21")}
    # The re-observation stores only what moves; the digest shows the paper whole.
    assert asi["title"] == "ASI-Bench: At the Dawn of Artificial Superintelligence"
    assert asi["authors"][0] == "Junwei Zhou" and asi["links"]["code"] == "https://github.com/apexin-ai/ASI-Bench"
    trending_file = snapshot_file(run.data_dir, "hf-trending", "2026-08-21")["entries"]
    assert asi["upvotes"] == 58 and asi["rank"] == next(e["rank"] for e in trending_file if e["id"] == asi["id"])
    recent = snapshot_file(run.data_dir, "hf-daily-recent", "2026-08-21")["entries"]
    assert all(e["abstract"] is None and e["authors"] == [] for e in recent)
    # The re-observation's moving window is not reported as papers dropping or returning.
    assert not [i for i in digest["returning"] + digest["dropped"] if i["listing"] == "hf-daily-recent"]


def test_a_papers_history_grows_one_observation_per_day(run, server, tmp_path):
    """The README's example: what history holds for one paper after three daily runs"""
    fetch_three_days(run, server, tmp_path, "hf-daily")
    history = load_history(Store(run.data_dir))
    # ASI-Bench: rank 1 of the Aug 19 list with 38 upvotes; +10 a day on the server. On Aug 21
    # five papers of the Aug 20 list have more (92, 74, 59, 59 and 54 recorded, +10 each).
    asi = [tuple(o) for o in history.observations["2608.17271"]]
    assert asi == [
        (dt.date(2026, 8, 19), "hf-daily", 1, 38),
        (dt.date(2026, 8, 20), "hf-daily-recent", 1, 48),
        (dt.date(2026, 8, 21), "hf-daily-recent", 6, 58),
    ]
    assert history.first_seen("2608.17271") == dt.date(2026, 8, 19)
    assert history.listing_days["hf-daily-recent"] == (dt.date(2026, 8, 20), dt.date(2026, 8, 21))
    recent = snapshot_file(run.data_dir, "hf-daily-recent", "2026-08-21")
    assert recent["window"] == ["2026-08-14", "2026-08-20"]
    upvotes = [e["upvotes"] for e in recent["entries"]]
    assert upvotes == sorted(upvotes, reverse=True)


def test_catch_up_fills_missing_days_under_their_own_dates(run, server, tmp_path):
    for day in ("2026-08-17", "2026-08-18", "2026-08-19", "2026-08-20"):
        server.sources.daily[day] = hf_items(day)
    configure(tmp_path / "digest.toml", server.url, catch_up_days=0)
    run("fetch", "--date", "2026-08-17", "--listing", "hf-daily")
    configure(tmp_path / "digest.toml", server.url, catch_up_days=3)
    result = run("fetch", "--date", "2026-08-20", "--listing", "hf-daily")
    assert "hf-daily 2026-08-18: 29 papers, catch-up" in result.stdout
    assert "hf-daily 2026-08-19: 26 papers, catch-up" in result.stdout
    stored = sorted(p.name for p in (run.data_dir / "snapshots" / "hf-daily").iterdir())
    assert stored == ["2026-08-17.json", "2026-08-18.json", "2026-08-19.json", "2026-08-20.json"]
    # Only the missing days of the catch-up range and the run day are asked for.
    asked = [q["date"] for _, q, _, _ in server.sources.requests(PATH)]
    assert asked == ["2026-08-17", "2026-08-18", "2026-08-19", "2026-08-20"]
    # The Aug 18 edition went out without them: the run day's edition announces them, labelled.
    aug18 = json.loads(run("diff", "--date", "2026-08-18", "--json").stdout)
    assert aug18["new"] == []
    aug20 = json.loads(run("diff", "--date", "2026-08-20", "--json").stdout)
    late = {i["id"]: (i.get("late"), i.get("list_day")) for i in aug20["new"]}
    assert {k for k, v in late.items() if v == ("caught-up", "2026-08-18")} == {
        i["paper"]["id"] for i in hf_items("2026-08-18")} - {i["paper"]["id"] for i in hf_items("2026-08-17")}


def test_a_caught_up_day_makes_its_papers_new_on_that_day(run, server, tmp_path):
    for day in ("2026-08-13", "2026-08-14", "2026-08-17"):
        server.sources.daily[day] = hf_items(day)
    server.sources.daily["2026-08-15"] = []  # a weekend: the source publishes nothing
    server.sources.daily["2026-08-16"] = []
    configure(tmp_path / "digest.toml", server.url, catch_up_days=4)
    result = run("fetch", "--date", "2026-08-17", "--listing", "hf-daily")
    assert "hf-daily 2026-08-15: no papers published" in result.stdout
    weekend = snapshot_file(run.data_dir, "hf-daily", "2026-08-15")
    assert weekend["published_nothing"] is True and weekend["entries"] == []
    assert "published_nothing" not in snapshot_file(run.data_dir, "hf-daily", "2026-08-14")
    # Caught up on Aug 17: that edition announces the Aug 14 papers, as from Friday's list.
    aug14 = json.loads(run("diff", "--date", "2026-08-14", "--json").stdout)
    assert aug14["new"] == []
    aug17 = json.loads(run("diff", "--date", "2026-08-17", "--json").stdout)
    ids = lambda day: {i["paper"]["id"] for i in hf_items(day)}
    assert {i["id"] for i in aug17["new"]} == ids("2026-08-13") | ids("2026-08-14") | ids("2026-08-17")
    assert {i["id"] for i in aug17["new"] if i.get("list_day") == "2026-08-14"} == ids("2026-08-14") - ids("2026-08-13")


def test_papers_added_to_a_past_day_after_its_fetch_are_new_in_the_next_edition(run, server, tmp_path):
    items = hf_items("2026-08-20")
    server.sources.daily["2026-08-20"] = items[:5]
    configure(tmp_path / "digest.toml", server.url)
    run("fetch", "--date", "2026-08-20", "--listing", "hf-daily")
    server.sources.daily["2026-08-20"] = items
    server.sources.daily["2026-08-21"] = hf_items("2026-08-21")
    configure(tmp_path / "digest.toml", server.url, window_days=7)
    result = run("fetch", "--date", "2026-08-21", "--listing", "hf-daily")
    assert f"hf-daily 2026-08-20: {len(items)} papers, late additions" in result.stdout
    stored = snapshot_file(run.data_dir, "hf-daily", "2026-08-20")["entries"]
    assert [e["id"] for e in stored] == [i["paper"]["id"] for i in items]
    late = items[7]["paper"]["id"]
    history = load_history(Store(run.data_dir))
    assert history.first_seen(late) == dt.date(2026, 8, 21)
    assert history.first_seen(items[0]["paper"]["id"]) == dt.date(2026, 8, 20)
    aug21 = json.loads(run("diff", "--date", "2026-08-21", "--json").stdout)
    [item] = [i for i in aug21["new"] if i["id"] == late]
    assert (item["late"], item["list_day"], item["listing"]) == ("added", "2026-08-20", "hf-daily")
    # A second run finds nothing more to add and announces the same edition.
    run("fetch", "--date", "2026-08-21", "--listing", "hf-daily")
    assert json.loads(run("diff", "--date", "2026-08-21", "--json").stdout) == aug21


# --- faults: retries counted on the server, data directory unchanged ------------------------


def prepared(run, tmp_path, server_url, **fetch):
    """A data directory that already holds a day, and a config pointing at the server"""
    run("import", HF_DAILY / "2026-08-20.json")
    configure(tmp_path / "digest.toml", server_url, **fetch)
    return tree_hash(run.data_dir)


def fetch_day(run, expect):
    return run("fetch", "--date", "2026-08-21", "--listing", "hf-daily", expect=expect)


def one_line_error(result, *needles):
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("retried: ")]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert all(n in lines[0] for n in needles), lines[0]


def test_connection_refused_retries_then_fails_with_7(run, tmp_path, sleeps):
    before = prepared(run, tmp_path, refused_url())
    result = fetch_day(run, expect=7)
    one_line_error(result, "connection refused", "gave up after 4 tries")
    assert len(sleeps) == 3 and 0.5 <= sleeps[0] <= 1 and 1 <= sleeps[1] <= 2 and 2 <= sleeps[2] <= 4
    assert tree_hash(run.data_dir) == before


def test_read_timeout_retries_then_fails_with_7(run, server, tmp_path, sleeps):
    server.sources.daily["2026-08-21"] = hf_items("2026-08-21")
    server.sources.queue(PATH, *[Fault(stall=1.0, body=b"[]") for _ in range(4)])
    before = prepared(run, tmp_path, server.url)
    one_line_error(fetch_day(run, expect=7), "timed out", "gave up after 4 tries")
    assert len(server.sources.requests(PATH)) == 4
    assert tree_hash(run.data_dir) == before


def test_429_honours_retry_after_then_succeeds(run, server, tmp_path, sleeps):
    server.sources.daily["2026-08-21"] = hf_items("2026-08-21")
    server.sources.queue(PATH, Fault(429, b'{"error":"slow down"}', {"Retry-After": "7"}))
    prepared(run, tmp_path, server.url)
    result = fetch_day(run, expect=0)
    assert "retried: " in result.stderr and "HTTP 429 Too Many Requests; waited 7.0 s" in result.stderr
    assert sleeps == [7.0]
    assert len(server.sources.requests(PATH)) == 2
    assert len(snapshot_file(run.data_dir, "hf-daily", "2026-08-21")["entries"]) == 17


def test_429_with_a_retry_after_too_long_fails_at_once(run, server, tmp_path, sleeps):
    server.sources.queue(PATH, Fault(429, b"{}", {"Retry-After": "3600"}))
    before = prepared(run, tmp_path, server.url)
    one_line_error(fetch_day(run, expect=7), "HTTP 429", "Retry-After asks for 3600 s")
    assert sleeps == [] and len(server.sources.requests(PATH)) == 1
    assert tree_hash(run.data_dir) == before


def test_500_then_success(run, server, tmp_path, sleeps):
    server.sources.daily["2026-08-21"] = hf_items("2026-08-21")
    server.sources.queue(PATH, Fault(500, b"oops"))
    prepared(run, tmp_path, server.url)
    fetch_day(run, expect=0)
    assert len(server.sources.requests(PATH)) == 2
    assert len(sleeps) == 1 and 0.5 <= sleeps[0] <= 1.0
    assert len(snapshot_file(run.data_dir, "hf-daily", "2026-08-21")["entries"]) == 17


def test_5xx_every_time_backs_off_exponentially_then_fails_with_7(run, server, tmp_path, sleeps):
    server.sources.queue(PATH, *[Fault(503, b"busy") for _ in range(4)])
    before = prepared(run, tmp_path, server.url)
    one_line_error(fetch_day(run, expect=7), "HTTP 503 Service Unavailable", "gave up after 4 tries")
    assert len(server.sources.requests(PATH)) == 4
    assert [round(s / (2 ** n), 3) >= 0.5 and s <= 2 ** n for n, s in enumerate(sleeps)] == [True] * 3
    assert tree_hash(run.data_dir) == before


def test_truncated_body_is_retried_then_fails_with_7(run, server, tmp_path, sleeps):
    body = json.dumps(hf_items("2026-08-21")).encode()
    server.sources.queue(PATH, *[Fault(body=body, cut=True) for _ in range(4)])
    before = prepared(run, tmp_path, server.url)
    one_line_error(fetch_day(run, expect=7), "gave up after 4 tries")
    assert len(server.sources.requests(PATH)) == 4
    assert tree_hash(run.data_dir) == before


def test_truncated_body_once_then_whole(run, server, tmp_path, sleeps):
    server.sources.daily["2026-08-21"] = hf_items("2026-08-21")
    server.sources.queue(PATH, Fault(body=json.dumps(hf_items("2026-08-21")).encode(), cut=True))
    prepared(run, tmp_path, server.url)
    fetch_day(run, expect=0)
    assert len(server.sources.requests(PATH)) == 2
    assert len(snapshot_file(run.data_dir, "hf-daily", "2026-08-21")["entries"]) == 17


@pytest.mark.parametrize("body,needle", [
    (b"<!DOCTYPE html><html><body>We'll be right back</body></html>", "invalid JSON"),
    (b'{"error": "Invalid date"}', "a JSON object that is neither"),
    (json.dumps([{"title": "no paper here", "numComments": 0}]).encode(), "item 1: has no 'paper' object"),
    (b'[{"paper": {"id": "2608.1', "truncated JSON"),
], ids=["html", "object", "no-paper", "short-json"])
def test_a_bad_body_fails_with_8_without_retrying(run, server, tmp_path, sleeps, body, needle):
    server.sources.queue(PATH, Fault(200, body))
    before = prepared(run, tmp_path, server.url)
    one_line_error(fetch_day(run, expect=8), "/api/daily_papers?date=2026-08-21", needle)
    assert len(server.sources.requests(PATH)) == 1 and sleeps == []
    assert tree_hash(run.data_dir) == before


def test_404_fails_with_8_without_retrying(run, server, tmp_path, sleeps):
    before = prepared(run, tmp_path, server.url)
    one_line_error(fetch_day(run, expect=8), "HTTP 404 Not Found")
    assert len(server.sources.requests(PATH)) == 1
    assert tree_hash(run.data_dir) == before


def test_an_empty_array_is_a_day_with_no_papers(run, server, tmp_path):
    server.sources.daily["2026-08-21"] = []
    prepared(run, tmp_path, server.url)
    assert "hf-daily 2026-08-21: no papers published" in fetch_day(run, expect=0).stdout
    stored = snapshot_file(run.data_dir, "hf-daily", "2026-08-21")
    assert stored["entries"] == [] and stored["published_nothing"] is True
    assert len(server.sources.requests(PATH)) == 1


def big_items(size):
    items = []
    template = hf_items("2026-08-21")
    while len(json.dumps(items)) < size:
        item = copy.deepcopy(template[len(items) % len(template)])
        item["paper"]["id"] = f"2608.{30000 + len(items)}"
        item["paper"]["summary"] = "A long abstract. " * 400
        items.append(item)
    return items


def test_a_2_mb_response_is_stored_whole(run, server, tmp_path):
    items = big_items(2_000_000)
    server.sources.daily["2026-08-21"] = items
    prepared(run, tmp_path, server.url, page_size=1000)
    assert len(json.dumps(items)) >= 2_000_000
    fetch_day(run, expect=0)
    assert len(snapshot_file(run.data_dir, "hf-daily", "2026-08-21")["entries"]) == len(items)


def test_a_response_over_the_size_limit_fails_with_8(run, server, tmp_path, sleeps):
    server.sources.daily["2026-08-21"] = big_items(2_000_000)
    before = prepared(run, tmp_path, server.url, page_size=1000, max_response_bytes=1_000_000)
    one_line_error(fetch_day(run, expect=8), "over the 1,000,000 byte limit")
    assert len(server.sources.requests(PATH)) == 1 and sleeps == []
    assert tree_hash(run.data_dir) == before


def test_a_listing_fails_as_a_whole_when_one_of_its_days_fails(run, server, tmp_path, sleeps):
    server.sources.daily["2026-08-21"] = hf_items("2026-08-21")
    # Aug 19 is missing from the server (404) while Aug 21 is fine: nothing is written.
    before = prepared(run, tmp_path, server.url, catch_up_days=2)
    one_line_error(fetch_day(run, expect=8), "date=2026-08-19", "HTTP 404")
    assert tree_hash(run.data_dir) == before


def test_partial_failure_stores_the_good_listings_and_exits_9(run, server, tmp_path, sleeps):
    today = dt.datetime.now(dt.UTC).date().isoformat()  # arXiv is fetched only for today
    server.sources.daily[today] = hf_items("2026-08-21")
    prepared(run, tmp_path, server.url, arxiv_url=refused_url())
    result = run("fetch", "--date", today, "--listing", "hf-daily", "--listing", "arxiv:cs.CL", expect=9)
    one_line_error(result, "1 of 2 listings failed", "arxiv:cs.CL", "connection refused")
    assert (run.data_dir / "snapshots" / "hf-daily" / f"{today}.json").exists()
    assert not (run.data_dir / "snapshots" / "arxiv_cs.CL").exists()


def test_an_unknown_listing_is_a_config_error(run, server, tmp_path):
    configure(tmp_path / "digest.toml", server.url)
    one_line_error(run("fetch", "--listing", "hf-weekly", expect=6), "cannot fetch listing 'hf-weekly'")
    assert server.sources.log == []


def test_base_urls_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIGEST_HF_BASE_URL", "http://127.0.0.1:9/")
    settings = fetch_module.fetch_settings(load_config().fetch)
    assert settings.hf_base_url == "http://127.0.0.1:9/"
    monkeypatch.setenv("DIGEST_ARXIV_BASE_URL", "ftp://example.org")
    with pytest.raises(Exception, match="not an http"):
        fetch_module.fetch_settings(load_config().fetch)


# --- arXiv ----------------------------------------------------------------------------------


def test_arxiv_feed_keeps_new_papers_on_the_feeds_day(run, server, tmp_path):
    server.sources.feeds["cs.CL"] = ARXIV_FEED
    configure(tmp_path / "digest.toml", server.url)
    result = run("fetch", "--listing", "arxiv:cs.CL")  # today's feed, whatever day it announces
    assert "arxiv:cs.CL 2026-08-21: 3 papers, list" in result.stdout
    stored = snapshot_file(run.data_dir, "arxiv:cs.CL", "2026-08-21")
    assert [e["id"] for e in stored["entries"]] == ["2608.20202", "2608.20411", "2608.20477"]
    assert stored["entries"][1]["title"] == "Tokenizer Drift in Multilingual Continual Pretraining & How to Measure It"
    assert stored["entries"][0]["abstract"].startswith("Memory has become")
    assert stored["entries"][2]["authors"] == ["Wei Zhang", "Priya Natarajan", "Jonas Berg"]
    assert stored["source"] == {"kind": "arxiv-rss", "url": f"{server.url}/rss/cs.CL", "file": None}
    assert [p for p, *_ in server.sources.log] == ["/rss/cs.CL"]


def test_arxiv_cross_lists_when_configured(run, server, tmp_path):
    server.sources.feeds["cs.CL"] = ARXIV_FEED
    configure(tmp_path / "digest.toml", server.url, arxiv_cross_lists=True)
    run("fetch", "--listing", "arxiv:cs.CL")
    ids = [e["id"] for e in snapshot_file(run.data_dir, "arxiv:cs.CL", "2026-08-21")["entries"]]
    assert ids == ["2608.20202", "2608.19799", "2608.20411", "2608.20477"]


def test_an_empty_arxiv_feed_is_a_day_with_no_papers(run, server, tmp_path):
    head, _, _ = ARXIV_FEED.partition(b"<item>")
    server.sources.feeds["cs.CL"] = head.replace(b"Fri, 21 Aug 2026", b"Sat, 22 Aug 2026") + b"</channel></rss>"
    configure(tmp_path / "digest.toml", server.url)
    assert "arxiv:cs.CL 2026-08-22: no papers published" in run("fetch", "--listing", "arxiv:cs.CL").stdout


def test_html_instead_of_a_feed_fails_with_8(run, server, tmp_path):
    server.sources.queue("/rss/cs.CL", Fault(200, b"<html><body>Service notice</body></html>"))
    before = prepared(run, tmp_path, server.url)
    one_line_error(run("fetch", "--listing", "arxiv:cs.CL", expect=8), "/rss/cs.CL", "not an RSS or Atom feed")
    assert tree_hash(run.data_dir) == before


def test_requests_to_one_host_keep_the_minimum_interval(run, server, tmp_path):
    server.sources.feeds["cs.CL"] = ARXIV_FEED
    server.sources.feeds["cs.LG"] = ARXIV_FEED
    configure(tmp_path / "digest.toml", server.url, arxiv_min_interval=0.3)
    run("fetch", "--listing", "arxiv:cs.CL", "--listing", "arxiv:cs.LG")
    starts = [t for *_, t in server.sources.log]
    assert len(starts) == 2 and starts[1] - starts[0] >= 0.29


# --- the guard --------------------------------------------------------------------------------


def test_the_guard_refuses_any_host_but_127_0_0_1():
    with pytest.raises(ForbiddenConnection):
        socket.create_connection(("10.255.255.1", 80), timeout=0.1)
    with pytest.raises(ForbiddenConnection):
        httpx.get("https://huggingface.co/api/daily_papers")


# --- the added snapshot fields ------------------------------------------------------------


def test_added_fields_round_trip_and_are_checked(run, server, tmp_path):
    server.sources.daily["2026-08-21"] = []
    configure(tmp_path / "digest.toml", server.url)
    run("fetch", "--date", "2026-08-21", "--listing", "hf-daily")
    path = run.data_dir / "snapshots" / "hf-daily" / "2026-08-21.json"
    store = Store(run.data_dir)
    assert store.load_path(path).published_nothing is True
    # Stored again, byte for byte the same; importing it keeps the mark.
    before = path.read_bytes()
    store.save(store.load_path(path))
    assert path.read_bytes() == before
    copy_dir = tmp_path / "copy"
    run.__class__(copy_dir)("import", path)
    assert json.loads((copy_dir / "snapshots" / "hf-daily" / "2026-08-21.json").read_text())["published_nothing"]
    # A mark that contradicts the entries is a damaged file, not silently accepted.
    damaged = json.loads(before)
    damaged["entries"] = snapshot_file(tmp_path / "copy", "hf-daily", "2026-08-21")["entries"] + [
        {"rank": 1, "title": "A paper", "id": None}]
    path.write_text(json.dumps(damaged))
    with pytest.raises(Exception, match="published_nothing"):
        store.load_path(path)
    damaged = {**json.loads(before), "window": ["2026-08-20", "2026-08-14"]}
    path.write_text(json.dumps(damaged))
    with pytest.raises(Exception, match="ends before it starts"):
        store.load_path(path)


def test_a_re_observed_paper_without_its_list_day_stays_slim(tmp_path):
    day = dt.date(2026, 8, 21)
    recent = Snapshot("hf-daily-recent", day, (make_entry(rank=1, title="Lost list", id="2608.00001", upvotes=5),),
                      Source(kind="hf-json"), window=(day - dt.timedelta(days=7), day - dt.timedelta(days=1)))
    assert with_details(Store(tmp_path), recent) == recent


def test_import_reads_an_arxiv_feed_file(run):
    # The listing comes from the feed's title ("cs.CL updates on arXiv.org").
    result = run("import", ROOT / "tests" / "fixtures" / "arxiv-cs.CL.rss")
    assert "3 papers, arxiv:cs.CL 2026-08-21" in result.stdout
    stored = snapshot_file(run.data_dir, "arxiv:cs.CL", "2026-08-21")
    assert stored["source"]["kind"] == "arxiv-rss" and stored["entries"][0]["id"] == "2608.20202"


def test_the_site_shows_re_observed_papers_whole_with_their_history(run, server, tmp_path):
    import lxml.html

    fetch_three_days(run, server, tmp_path, "hf-daily")
    run("build", "--out", tmp_path / "site", "--no-search")
    page = lxml.html.fromstring((tmp_path / "site" / "paper" / "2608.17271.html").read_bytes())
    text = page.text_content()
    # The newest sighting is a slim re-observation; the page still has the list's details.
    assert "Junwei Zhou" in text and page.xpath("//h2[@id='abstract-title']")
    rows = page.xpath("//table[@class='seen']/tbody/tr")
    assert [r.xpath("td")[3].text_content() for r in rows] == ["38", "48", "58"]
    # The site's day JSON agrees with digest diff, trending reasons included.
    site_day = json.loads((tmp_path / "site" / "2026-08-21.json").read_text())
    diff_day = json.loads(run("diff", "--date", "2026-08-21", "--json").stdout)
    assert [(t["id"], t["reasons"]) for t in site_day["trending"]] == \
        [(t["id"], t["reasons"]) for t in diff_day["trending"]]
    assert site_day["dropped"] == diff_day["dropped"]
