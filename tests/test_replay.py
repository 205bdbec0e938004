"""Live operation replayed: every fetch of hf-replay, in order, through `digest fetch` and `digest diff`

The local server answers each list day with the latest version fetched so far (a
placeholder `1` or a day not fetched yet: `[]`), as the README of the fixture says. The
expected numbers are read from the raw files here, never from what the code outputs.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import re
import subprocess

import pytest
from conftest import FIXTURES
from server import Server

REPLAY = FIXTURES / "hf-replay"
STIV, MCEVAL, ACDIT, BROWSERGYM = "2412.07730", "2406.07436", "2412.07720", "2412.05467"


def fetches():
    """(fetch folder name, its UTC day, {list day: raw bytes}) in the order they happened"""
    out = []
    for folder in sorted(p for p in REPLAY.iterdir() if p.is_dir()):
        out.append((folder.name, dt.date.fromisoformat(folder.name[:10]),
                    {f.stem: f.read_bytes() for f in sorted(folder.glob("*.json"))}))
    return out


def raw_papers(data):
    """paper id -> upvotes in one raw response (proper JSON or Python-repr strings; placeholder: none)"""
    value = json.loads(data)
    if not isinstance(value, list):
        return {}
    items = [ast.literal_eval(v) if isinstance(v, str) else v for v in value]
    return {i["paper"]["id"]: i["paper"]["upvotes"] for i in items}


def write_config(tmp_path):
    path = tmp_path / "digest.toml"
    path.write_text('[fetch]\nlistings = ["hf-daily"]\nhf_min_interval = 0\narxiv_min_interval = 0\n'
                    'retries = 0\n')
    return path


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    """Replay every fetch; return (editions by day, announced per run, raw history, data dir, config, server)"""
    from click.testing import CliRunner

    from digest.cli import cli

    tmp = tmp_path_factory.mktemp("replay")
    config, data = write_config(tmp), tmp / "data"
    runner = CliRunner()

    def cmd(*args):
        result = runner.invoke(cli, ["--config", str(config), "--data-dir", str(data), *map(str, args)],
                               catch_exceptions=False)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout

    editions, runs, history = {}, [], []  # history: (fetch day, list day, {id: upvotes}) per raw file
    with Server() as server:
        mp = pytest.MonkeyPatch()
        mp.setenv("DIGEST_HF_BASE_URL", server.url)
        try:
            for name, day, files in fetches():
                for list_day, raw in files.items():
                    server.sources.raw_daily[list_day] = b"[]" if raw.strip() == b"1" else raw
                    history.append((day, dt.date.fromisoformat(list_day), raw_papers(raw)))
                # Days not fetched yet are answered with [] too.
                for n in range(8):
                    server.sources.raw_daily.setdefault((day - dt.timedelta(days=n)).isoformat(), b"[]")
                cmd("fetch", "--date", day)
                edition = json.loads(cmd("diff", "--date", day, "--json"))
                editions[day] = edition
                runs.append((name, day, edition))
            again = json.loads(cmd("diff", "--date", day, "--json"))
            cmd("fetch", "--date", day)
            rerun = json.loads(cmd("diff", "--date", day, "--json"))
        finally:
            mp.undo()
    cmd.data = data
    return editions, runs, history, (again, rerun), cmd


def test_every_trend_has_a_real_gain_that_matches_the_raw_files(replay):
    editions, _, history, *_ = replay
    trends = [(day, t) for day, e in editions.items() for t in e["trending"]]
    assert trends, "the replay has real re-observations: something must trend"
    for day, t in trends:
        assert t["upvote_gain"] and t["upvote_gain"] >= 3, (day, t["id"], t["reasons"])
        assert t["rank_climb"] is None, (day, t["id"], t["reasons"])  # hf-daily does not rank across days
        assert not any("place" in r or "day on the list" in r for r in t["reasons"]), t["reasons"]
        # The last real observation before the edition's day, and the one of that day.
        before = [(f, ups[t["id"]]) for f, _, ups in history if t["id"] in ups and f < day]
        now = [ups[t["id"]] for f, _, ups in history if t["id"] in ups and f <= day][-1]
        assert t["upvotes"] == now, (day, t["id"])
        assert t["upvote_gain"] == now - before[-1][1], (day, t["id"])
        # "since" names the first fetch that showed the earlier count (an unchanged copy is no news).
        since = before[-1][0]
        for f, ups in reversed(before):
            if ups != before[-1][1]:
                break
            since = f
        [reason] = [r for r in t["reasons"] if "upvotes since" in r]
        assert reason.startswith(f"+{now - before[-1][1]} upvotes since {since:%b} {since.day}"), reason


@pytest.mark.parametrize("paper, list_day, first, second", [
    (STIV, "2024-12-11", "2024-12-11T17-08-18Z", "2024-12-12T10-18-58Z"),
    (MCEVAL, "2024-06-12", "2024-06-12T17-06-41Z", "2024-06-13T03-50-01Z"),
])
def test_the_real_gains_of_stiv_and_mceval_trend(replay, paper, list_day, first, second):
    editions, *_ = replay
    before = raw_papers((REPLAY / first / f"{list_day}.json").read_bytes())[paper]
    after = raw_papers((REPLAY / second / f"{list_day}.json").read_bytes())[paper]
    assert after > before
    day = dt.date.fromisoformat(second[:10])
    [trend] = [t for t in editions[day]["trending"] if t["id"] == paper]
    assert trend["upvote_gain"] == after - before and trend["upvotes"] == after
    first_day = dt.date.fromisoformat(first[:10])
    assert trend["reasons"][0] == f"+{after - before} upvotes since {first_day:%b} {first_day.day}"


@pytest.mark.parametrize("paper, folder, list_day, weekday", [
    (ACDIT, "2024-12-12T10-18-58Z", "2024-12-11", "Wednesday"),
    (BROWSERGYM, "2024-12-13T02-39-47Z", "2024-12-12", "Thursday"),
])
def test_a_late_addition_is_announced_once_by_the_next_edition(replay, paper, folder, list_day, weekday):
    editions, runs, *_ = replay
    # It is in no earlier version of its list: the raw files say so.
    earlier = [f for f in sorted(REPLAY.iterdir()) if f.is_dir() and f.name < folder and (f / f"{list_day}.json").exists()]
    assert earlier and all(paper not in raw_papers((f / f"{list_day}.json").read_bytes()) for f in earlier)
    assert paper in raw_papers((REPLAY / folder / f"{list_day}.json").read_bytes())
    announced = [day for day, e in editions.items() for i in e["new"] if i["id"] == paper]
    assert announced == [dt.date.fromisoformat(folder[:10])]
    [item] = [i for i in editions[announced[0]]["new"] if i["id"] == paper]
    assert item["late"] == "added" and item["list_day"] == list_day and item["listing"] == "hf-daily"
    # Every run of that day carries it, and the runs before it do not.
    carrying = [name for name, _, e in runs if any(i["id"] == paper for i in e["new"])]
    assert carrying and carrying[0] == folder


def test_every_served_paper_is_announced_exactly_once(replay):
    editions, _, history, *_ = replay
    served = {}
    for fetch_day, _, ups in history:
        for paper in ups:
            served.setdefault(paper, fetch_day)
    announced = {}
    for day, e in editions.items():
        for item in e["new"]:
            announced.setdefault(item["id"], []).append(day)
    assert set(announced) == set(served)
    assert {p: days for p, days in announced.items() if len(days) > 1} == {}
    # Each in the edition of the day it was first fetched.
    assert {p: days[0] for p, days in announced.items()} == served


def test_running_a_day_again_announces_nothing_new(replay):
    editions, runs, _, (again, rerun), _ = replay
    last = runs[-1][2]
    assert again == last and rerun == last


def test_the_edition_labels_a_late_paper_once(replay):
    editions, *_, cmd = replay
    [item] = [i for i in editions[dt.date(2024, 12, 12)]["new"] if i["id"] == ACDIT]
    text = cmd("markdown", "--date", "2024-12-12")
    assert "*Added to Wednesday's list (2024-12-11) since the last edition*" in text
    assert text.count(item["title"]) == 1


def test_the_email_shows_each_paper_in_one_card_and_labels_the_late_one(replay, tmp_path):
    editions, *_, cmd = replay
    cmd("email", "--date", "2024-12-12", "--out", tmp_path / "out")
    [html] = (tmp_path / "out").rglob("*.html")
    text = html.read_text()
    edition = editions[dt.date(2024, 12, 12)]
    cards = re.findall(r'<p class="paper-title"[^>]*>(.*?)</p>', text, re.S)
    assert len(cards) == len(edition["new"]) + len(edition["trending"])
    assert len(set(cards)) == len(cards)  # top is a ranking line, never a second card
    assert text.count("Added to Wednesday") == 1
    assert re.search(r"Added to Wednesday(&#39;|&#x27;|')s list \(2024-12-11\) since the last edition", text)


def git(repo, *args, when=None):
    env = {**os.environ, "GIT_AUTHOR_NAME": "archive", "GIT_AUTHOR_EMAIL": "archive@example.org",
           "GIT_COMMITTER_NAME": "archive", "GIT_COMMITTER_EMAIL": "archive@example.org"}
    if when:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def history_of(data):
    """What a store says about papers, fetch times and sources aside: each snapshot's content"""
    out = {}
    for path in sorted((data / "snapshots").rglob("*.json")):
        value = json.loads(path.read_text())
        out[path.relative_to(data).as_posix()] = {k: v for k, v in value.items() if k not in ("fetched_at", "source")}
    return out


def test_import_git_gives_the_replays_history_and_twice_changes_nothing(replay, tmp_path):
    from conftest import tree_hash

    *_, cmd = replay
    repo = tmp_path / "archive"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for name, _, files in fetches():
        for list_day, raw in files.items():
            (repo / "data").mkdir(exist_ok=True)
            (repo / "data" / f"{list_day}.json").write_bytes(raw)
        when = dt.datetime.strptime(name, "%Y-%m-%dT%H-%M-%SZ").strftime("%Y-%m-%dT%H:%M:%S+0000")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"fetch {name}", when=when)
    data = tmp_path / "data"
    config = write_config(tmp_path)

    def imp():
        from click.testing import CliRunner

        from digest.cli import cli

        result = CliRunner().invoke(cli, ["--config", str(config), "--data-dir", str(data), "import", "--git",
                                          str(repo), "--path", "data/*.json"], catch_exceptions=False)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result.stdout

    out = imp()
    assert f"{len(fetches())} commits" in out
    assert history_of(data) == history_of(cmd.data)
    before = tree_hash(data / "snapshots")
    imp()
    assert tree_hash(data / "snapshots") == before


def test_top_is_the_editions_own_list_and_hf_daily_reports_no_comings_and_goings(replay):
    editions, _, history, *_ = replay
    for day, e in editions.items():
        assert e["returning"] == [] and e["dropped"] == [], day  # a per-day list drops its whole yesterday
        own = {}
        for fetched, list_day, ups in history:
            if list_day == day and fetched <= day:
                own = ups  # the day's list as last fetched on that day
        assert {i["id"] for i in e["top"]} <= set(own), day
        assert [i["upvotes"] for i in e["top"]] == sorted((i["upvotes"] for i in e["top"]), reverse=True)
        assert len(e["top"]) == min(10, len(own)), day
