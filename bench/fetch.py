"""Time a full `digest fetch` (all default listings, 7-day window) against local servers

    python bench/fetch.py            # default politeness intervals, then with them at 0
    python bench/fetch.py --repeat 5

Two servers on 127.0.0.1 (one for Hugging Face, one for arXiv, so the two hosts overlap
as they do live) serve the recorded Aug 13-21 2026 lists from ../shared/fixtures (Aug 15
and 16 empty, a weekend), a trending list, and the hand-written arXiv feed of the tests.
Each figure is a fresh child process `python -m digest fetch`, so it includes start-up.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from server import Server  # noqa: E402  (the tests' server, so bench and tests serve alike)

# The shared recorded data beside the checkout, else the repository's verbatim copy.
FIXTURES = Path(os.environ.get("DIGEST_FIXTURES") or next(
    p for p in (ROOT.parent / "shared" / "fixtures", ROOT / "tests" / "fixtures" / "recorded") if p.is_dir()))
RUN_DAY = dt.date(2026, 8, 21)


def publish(hf, arxiv, run_day):
    """Serve every list day up to run_day, upvotes grown by 10 a day since"""
    everything = []
    for n in range(9):
        day = RUN_DAY - dt.timedelta(days=8 - n)
        path = FIXTURES / "hf-daily" / f"{day}.json"
        items = copy.deepcopy(json.loads(path.read_bytes())) if path.exists() else []
        for item in items:
            item["paper"]["upvotes"] += 10 * (run_day - day).days
        hf.sources.daily[day.isoformat()] = items
        everything.extend(items)
    hf.sources.trending = sorted(everything, key=lambda i: -i["paper"]["upvotes"])[:50]
    arxiv.sources.feeds["cs.CL"] = (ROOT / "tests" / "fixtures" / "arxiv-cs.CL.rss").read_bytes()


def timed_fetch(data, config, hf, arxiv, day):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DIGEST_HF_BASE_URL": hf.url, "DIGEST_ARXIV_BASE_URL": arxiv.url}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "digest", "--data-dir", str(data), "--config", str(config),
                           "fetch", "--date", day.isoformat()], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"digest fetch failed ({done.returncode}):\n{done.stderr}")
    return wall, done.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with Server() as hf, Server() as arxiv, tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for label, extra in (("default intervals (HF 0.5 s, arXiv 3 s)", ""),
                             ("intervals 0 (client overhead only)", "hf_min_interval = 0\narxiv_min_interval = 0\n")):
            config = tmp / "digest.toml"
            config.write_text("[fetch]\n" + extra)
            for scenario in ("fresh store: 7 catch-up days + today", "next day: 7-day re-observation + today"):
                walls, requests = [], []
                for n in range(args.repeat):
                    data = tmp / f"data-{len(rows)}-{n}"
                    if scenario.startswith("next day"):
                        publish(hf, arxiv, RUN_DAY - dt.timedelta(days=1))
                        timed_fetch(data, config, hf, arxiv, RUN_DAY - dt.timedelta(days=1))
                    publish(hf, arxiv, RUN_DAY)
                    before = len(hf.sources.log) + len(arxiv.sources.log)
                    wall, out = timed_fetch(data, config, hf, arxiv, RUN_DAY)
                    walls.append(wall)
                    requests.append(len(hf.sources.log) + len(arxiv.sources.log) - before)
                rows.append((label, scenario, requests[0], min(walls), statistics.median(walls)))
        print(out, end="")
    print(f"\n{'intervals':<42} {'run':<42} {'requests':>8} {'best s':>7} {'median s':>9}")
    for label, scenario, count, best, median in rows:
        print(f"{label:<42} {scenario:<42} {count:>8} {best:>7.3f} {median:>9.3f}")


if __name__ == "__main__":
    main()
