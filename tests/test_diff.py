"""History and diff: new, trending, returning, dropped and top as DESIGN.md defines them"""

import datetime as dt
import json

import pytest
from conftest import HF_DAILY, PAGE_TEXT, hf_files

from digest.config import Config
from digest.models import Snapshot, Source, make_entry
from digest.pipeline import digest_for
from digest.store import Store

D = dt.date


def snap(store, listing, day, papers):
    """Store a snapshot of (id or title, upvotes) pairs in rank order"""
    entries = []
    for rank, (name, upvotes) in enumerate(papers, start=1):
        is_id = name[:1].isdigit()
        entries.append(make_entry(rank=rank, id=name if is_id else None,
                                  title=f"Paper {name}" if is_id else name, upvotes=upvotes))
    store.save(Snapshot(listing=listing, date=day, entries=tuple(entries), source=Source(kind="test")))


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "data")


def digest(store, day):
    return digest_for(Config(data_dir=store.root), day)


def ids(items):
    return [i.id or i.key for i in items]


def test_first_snapshot_makes_everything_new_and_nothing_trending(store):
    snap(store, "hf-daily", D(2026, 1, 5), [("2601.00001", 5), ("2601.00002", 9)])
    d = digest(store, D(2026, 1, 5))
    assert ids(d.new) == ["2601.00001", "2601.00002"]
    assert d.trending == () and d.returning == () and d.dropped == ()
    assert ids(d.top) == ["2601.00002", "2601.00001"]


def test_trending_needs_a_gain_or_a_climb_and_says_why(store):
    snap(store, "hf-trending", D(2026, 1, 5), [("2601.00001", 5), ("2601.00002", 9), ("2601.00003", 1)])
    snap(store, "hf-trending", D(2026, 1, 6), [("2601.00002", 9), ("2601.00001", 17), ("2601.00004", 2),
                                               ("2601.00003", 1)])
    d = digest(store, D(2026, 1, 6))
    assert ids(d.new) == ["2601.00004"]
    [trend] = d.trending  # 00002 and 00003 neither gained nor climbed
    assert trend.item.id == "2601.00001"
    # It fell one place: not a signal, so not stated.
    assert trend.upvote_gain == 12 and trend.rank_climb is None and trend.days_seen == 2
    # 1.0 * 12 upvotes / 1 day + 0.25 * (2 - 1) days on the trending list
    assert trend.score == 12.25
    assert trend.reasons == ("+12 upvotes since Jan 5", "2nd day on the list")


def test_a_gain_below_the_threshold_is_no_trend(store):
    snap(store, "hf-trending", D(2026, 1, 5), [("2601.00001", 5), ("2601.00002", 9)])
    snap(store, "hf-trending", D(2026, 1, 6), [("2601.00001", 7), ("2601.00002", 12)])
    [trend] = digest(store, D(2026, 1, 6)).trending  # +2 is below min_upvote_gain (3)
    assert trend.item.id == "2601.00002" and trend.upvote_gain == 3


def test_velocities_are_per_day_across_a_gap(store):
    snap(store, "hf-trending", D(2026, 1, 2), [("2601.00007", 9), ("2601.00008", 9), ("2601.00009", 1),
                                               ("2601.00001", 3)])
    snap(store, "hf-trending", D(2026, 1, 5), [("2601.00001", 15), ("2601.00007", 9), ("2601.00008", 9),
                                               ("2601.00009", 1)])
    [trend] = digest(store, D(2026, 1, 5)).trending
    # +12 upvotes over 3 days = 4/day; up 3 places over 3 days; 2nd day on the list.
    assert trend.score == round(4 + 0.5 * 3 / 3 + 0.25, 2)
    assert trend.reasons == ("+12 upvotes since Jan 2 (4.0 a day)", "up 3 places on hf-trending",
                             "2nd day on the list")


def test_a_per_day_list_has_no_climbs_returning_or_dropped(store):
    snap(store, "hf-daily", D(2026, 1, 1), [("2601.00007", 9), ("2601.00008", 9), ("2601.00009", 1),
                                            ("2601.00001", 3)])
    snap(store, "hf-daily", D(2026, 1, 2), [("2601.00001", 3), ("2601.00005", 1)])
    d = digest(store, D(2026, 1, 2))
    assert d.trending == () and d.returning == () and d.dropped == ()


def test_an_unchanged_count_is_no_evidence_and_the_gain_spans_it(store):
    # Re-served copies repeat 10 upvotes on Jan 2 and 3: the 30 gained show on Jan 4 over 3 days.
    for day, ups in ((1, 10), (2, 10), (3, 10), (4, 40)):
        snap(store, "hf-trending", D(2026, 1, day), [("2601.00001", ups)])
    assert digest(store, D(2026, 1, 3)).trending == ()
    [trend] = digest(store, D(2026, 1, 4)).trending
    assert trend.reasons[0] == "+30 upvotes since Jan 1 (10.0 a day)"


def test_returning_and_dropped_compare_with_the_listings_previous_snapshot(store):
    snap(store, "hf-trending", D(2026, 1, 1), [("2601.00001", 1), ("2601.00002", 1), ("2601.00003", 1)])
    snap(store, "hf-trending", D(2026, 1, 2), [("2601.00001", 1), ("2601.00003", 1), ("2601.00004", 1)])
    snap(store, "hf-trending", D(2026, 1, 3), [("2601.00002", 1), ("2601.00004", 1), ("2601.00005", 1)])
    d = digest(store, D(2026, 1, 3))
    assert ids(d.new) == ["2601.00005"]
    assert ids(d.returning) == ["2601.00002"]
    assert ids(d.dropped) == ["2601.00001", "2601.00003"]
    assert [i.entry.rank for i in d.dropped] == [1, 2]  # their ranks on the day they were last seen


def test_a_listing_that_published_nothing_is_quiet(store):
    snap(store, "hf-daily", D(2026, 1, 2), [("2601.00001", 1)])
    snap(store, "hf-daily", D(2026, 1, 3), [])
    snap(store, "hf-trending", D(2026, 1, 3), [("2601.00001", 5)])
    d = digest(store, D(2026, 1, 3))
    assert d.quiet == ("hf-daily",) and d.papers_seen == 1
    assert digest(store, D(2026, 1, 2)).quiet == ()


def test_a_listing_without_a_snapshot_today_drops_nothing(store):
    snap(store, "hf-trending", D(2026, 1, 1), [("2601.00001", 1)])
    snap(store, "hf-daily", D(2026, 1, 1), [("2601.00002", 1)])
    snap(store, "hf-trending", D(2026, 1, 2), [("2601.00003", 1)])
    d = digest(store, D(2026, 1, 2))
    assert d.listings == ("hf-trending",)
    assert ids(d.dropped) == ["2601.00001"]


def test_a_paper_on_two_listings_is_one_paper(store):
    snap(store, "hf-daily", D(2026, 1, 1), [("2601.00001", 4), ("2601.00002", 3)])
    snap(store, "hf-trending", D(2026, 1, 1), [("2601.00002", 3)])
    d = digest(store, D(2026, 1, 1))
    assert ids(d.new) == ["2601.00001", "2601.00002"]
    assert d.papers_seen == 2 and len(d.top) == 2
    assert [i.listing for i in d.new] == ["hf-daily", "hf-trending"]  # best rank wins: 1st on trending


def test_a_paper_on_several_listings_shows_the_entry_that_knows_its_upvotes(store):
    snap(store, "arxiv:cs.CL", D(2026, 1, 1), [("2601.00002", None)])
    snap(store, "hf-daily", D(2026, 1, 1), [("2601.00001", 4), ("2601.00002", 3)])
    [_, item] = digest(store, D(2026, 1, 1)).new
    assert (item.listing, item.entry.rank, item.entry.upvotes) == ("hf-daily", 2, 3)


def test_title_key_alias_joins_a_title_only_source_with_a_later_id(store):
    snap(store, "hf-page", D(2026, 1, 1), [("Attention Is All You Need", 10)])
    # The same paper as the API names it: an id, and its title spelled a little differently.
    entry = make_entry(rank=1, id="1706.03762", title="Attention is all you need!", upvotes=25)
    store.save(Snapshot("hf-daily", D(2026, 1, 2), (entry,), Source(kind="test")))
    d = digest(store, D(2026, 1, 2))
    assert d.new == ()
    [trend] = d.trending
    assert trend.item.id == "1706.03762" and trend.upvote_gain == 15


def test_hf_fixtures_papers_listed_twice_are_new_once(run):
    run("import", *hf_files())
    new_on = {}
    for path in hf_files():
        data = json.loads(run("diff", "--date", path.stem, "--json").stdout)
        for item in data["new"]:
            assert item["id"] not in new_on, f"{item['id']} new on {new_on.get(item['id'])} and {path.stem}"
            new_on[item["id"]] = path.stem
    assert new_on["2608.12313"] == "2026-08-13"
    assert new_on["2608.13558"] == "2026-08-14"
    aug19 = json.loads(run("diff", "--date", "2026-08-19", "--json").stdout)
    [trend] = aug19["trending"]
    assert trend["id"] == "2608.12313"
    # 2 upvotes on Aug 13, 27 on Aug 19: +25 over 6 days.
    # On two days' lists: that is two days on a published list.
    assert trend["reasons"] == ["+25 upvotes since Aug 13 (4.2 a day)", "2nd day on the list"]
    assert trend["score"] == round(25 / 6 + 0.25, 2)
    assert aug19["returning"] == [] and aug19["dropped"] == []  # hf-daily is a per-day list


def test_page_captures_in_date_order_give_11_new_on_oct_28(run):
    run("import", *sorted(PAGE_TEXT.glob("*.txt")))
    data = json.loads(run("diff", "--date", "2025-10-28", "--json").stdout)
    assert len(data["new"]) == 11
    assert data["new"][0]["id"] is None and data["new"][0]["key"].startswith("title:")


def test_diff_json_shape_and_determinism(run):
    run("import", *hf_files()[-3:])
    first = run("diff", "--json").stdout
    assert first == run("diff", "--json").stdout
    data = json.loads(first)
    assert list(data) == ["date", "listings", "papers_seen", "quiet", "new", "trending", "returning", "dropped",
                          "top"]
    assert data["date"] == "2026-08-21"
    for item in data["new"] + data["top"]:
        assert {"id", "title", "listing", "rank", "upvotes"} <= item.keys()
    assert [i["upvotes"] for i in data["top"]] == sorted((i["upvotes"] for i in data["top"]), reverse=True)


def test_diff_summary_is_readable(run):
    run("import", *hf_files()[-6:])  # from Aug 14, when OmniScientist was first listed
    out = run("diff", "--date", "2026-08-20").stdout
    assert out.splitlines()[0] == "2026-08-20: 15 papers on hf-daily"
    assert "14 new, 1 trending" in out
    assert "OmniScientist" in out and "+52 upvotes since Aug 14 (8.7 a day)" in out


def test_diff_errors_without_data_or_on_an_unknown_day(run):
    assert "no snapshots in" in run("diff", expect=5).stderr
    run("import", HF_DAILY / "2026-08-21.json")
    result = run("diff", "--date", "2026-08-22", expect=5)
    assert result.stderr.strip() == (f"Error: no snapshot on 2026-08-22 in {run.data_dir / 'snapshots'}"
                                     " (days stored: 2026-08-21 to 2026-08-21)")


def test_damaged_snapshot_in_the_store_is_named(run):
    run("import", HF_DAILY / "2026-08-21.json")
    path = run.data_dir / "snapshots" / "hf-daily" / "2026-08-21.json"
    path.write_text(path.read_text()[:100])
    result = run("diff", expect=4)
    assert str(path) in result.stderr and "damaged snapshot file" in result.stderr
    assert "Traceback" not in result.stderr


def test_index_cache_follows_changes_to_snapshot_files(run):
    run("import", HF_DAILY / "2026-08-20.json", HF_DAILY / "2026-08-21.json")
    assert len(json.loads(run("diff", "--json").stdout)["new"]) == 17
    assert (run.data_dir / ".cache" / "history-index.json").exists()
    (run.data_dir / "snapshots" / "hf-daily" / "2026-08-20.json").unlink()
    run("import", "--date", "2026-08-20", HF_DAILY / "2026-08-21.json")  # same papers the day before
    assert json.loads(run("diff", "--json").stdout)["new"] == []
