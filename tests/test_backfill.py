"""Backfills store only what belongs to the day: a past day fetches hf-daily by date and
skips the listings that only publish today's list (hf-trending, arXiv), saying so"""

import datetime as dt
import json
import re

import pytest
from conftest import HF_DAILY, ROOT
from server import Server

from digest.fetch import past_day_skip

ARXIV_FEED = (ROOT / "tests" / "fixtures" / "arxiv-cs.CL.rss").read_bytes()
PAST = dt.date(2026, 8, 21)  # the recorded day: long past by the real clock


@pytest.fixture
def sources(run, tmp_path, monkeypatch):
    """The local server publishing every recorded list by date, a trending list and an arXiv feed"""
    assert PAST < dt.datetime.now(dt.UTC).date()
    with Server() as server:
        for path in HF_DAILY.glob("2026-08-*.json"):
            server.sources.daily[path.stem] = json.loads(path.read_bytes())
        for n in range(1, 32):
            server.sources.daily.setdefault(f"2026-08-{n:02d}", [])
        server.sources.trending = json.loads((HF_DAILY / "2026-08-21.json").read_bytes())[:5]
        server.sources.feeds["cs.CL"] = ARXIV_FEED
        monkeypatch.setenv("DIGEST_HF_BASE_URL", server.url)
        monkeypatch.setenv("DIGEST_ARXIV_BASE_URL", server.url)
        (tmp_path / "digest.toml").write_text(
            '[fetch]\nlistings = ["hf-daily", "hf-trending", "arxiv:cs.CL"]\n'
            "hf_min_interval = 0\narxiv_min_interval = 0\nretries = 0\n", encoding="utf-8")
        yield server


def stored(data_dir):
    return sorted(p.relative_to(data_dir / "snapshots").as_posix() for p in (data_dir / "snapshots").rglob("*.json"))


def test_run_for_a_past_day_stores_no_arxiv_or_trending_snapshot(run, tmp_path, sources):
    result = run("run", "--date", PAST, "--out", tmp_path / "site")
    files = stored(run.data_dir)
    assert f"hf-daily/{PAST}.json" in files and f"hf-daily-recent/{PAST}.json" in files
    assert not [f for f in files if f.startswith(("hf-trending/", "arxiv"))]
    # never asked for: the trending list and the arXiv feed are today's, not PAST's
    assert not [q for path, q, *_ in sources.sources.log if path.startswith("/rss/") or q.get("sort") == "trending"]
    out = result.stdout
    for name in ("hf-trending", "arxiv:cs.CL"):
        assert re.search(f"\\n  fetch {name} +skipped: only today's list of {name} can be fetched, not {PAST}'s\\n", out)
    assert "result" in out and out.rstrip().endswith("OK")
    # the home page shows the backfilled day, not an arXiv day filed under it
    assert f"day/{PAST}.html" in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")


def test_fetch_for_a_past_day_skips_current_listings_with_a_note(run, sources):
    result = run("fetch", "--date", PAST, "--listing", "hf-trending", "--listing", "arxiv:cs.CL")
    assert result.stdout.splitlines() == [
        f"hf-trending: skipped: only today's list of hf-trending can be fetched, not {PAST}'s",
        f"arxiv:cs.CL: skipped: only today's list of arxiv:cs.CL can be fetched, not {PAST}'s"]
    assert not (run.data_dir / "snapshots").exists() or stored(run.data_dir) == []
    assert sources.sources.log == []


def test_today_fetches_every_listing(run, sources):
    today = dt.datetime.now(dt.UTC).date()
    sources.sources.daily[today.isoformat()] = []
    run("fetch", "--listing", "hf-trending", "--listing", "arxiv:cs.CL")
    files = stored(run.data_dir)
    assert f"hf-trending/{today}.json" in files
    assert [f for f in files if f.startswith("arxiv_cs.CL/")]  # under the day its feed announces


def test_which_listings_a_past_day_can_fetch():
    today = dt.date(2026, 8, 22)
    assert past_day_skip("hf-daily", dt.date(2026, 1, 1), today) is None
    assert past_day_skip("hf-trending", today, today) is None and past_day_skip("arxiv:cs.LG", today, today) is None
    assert past_day_skip("hf-trending", dt.date(2026, 8, 21), today).startswith("skipped: only today's list")
    assert "arxiv:cs.LG" in past_day_skip("arxiv:cs.LG", dt.date(2026, 8, 21), today)
