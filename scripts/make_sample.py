"""Rebuild digest/sample/ from hf-replay (run by hand; the output is committed)

    python scripts/make_sample.py ../shared/fixtures/hf-replay

The sample is the store that live operation built over a real week of December 2024: each
fetch of the archive replayed, in order, through the real `digest fetch` code (fetch.fetch)
with a client that answers each list day with the latest version fetched so far, as the
replay's README says. So the demo's days carry real re-observations (upvotes that grew
between fetches) and a paper added late to an earlier day's list.
"""

import dataclasses
import datetime as dt
import shutil
import sys
from pathlib import Path

from digest.config import FetchSettings
from digest.gitimport import ReplayClient, replay_fetch
from digest.store import Store

# Dec 5 to the evening fetch of Dec 12: Thursday's edition has STIV's +25 and ACDiT, added to
# Wednesday's list after its first fetch.
FIRST, LAST = "2024-12-05T17-08-25Z", "2024-12-12T17-08-22Z"
SAMPLE = Path(__file__).resolve().parents[1] / "digest" / "sample"


def main(replay):
    folders = [p for p in sorted(Path(replay).iterdir()) if p.is_dir() and FIRST <= p.name <= LAST]
    shutil.rmtree(SAMPLE, ignore_errors=True)
    store = Store(SAMPLE.parent / ".sample-build")
    shutil.rmtree(store.root, ignore_errors=True)
    client = ReplayClient()
    base = FetchSettings(listings=("hf-daily",), hf_base_url="https://huggingface.co")
    # No catch-up: the days before the first fetch are not in the replay, and every later day is.
    settings = dataclasses.replace(base, catch_up_days=0)
    for folder in folders:
        for path in sorted(folder.glob("*.json")):
            client.served[path.stem] = path.read_bytes()
        now = dt.datetime.strptime(folder.name, "%Y-%m-%dT%H-%M-%SZ").replace(tzinfo=dt.UTC)
        report = replay_fetch(store, settings, client, now)
        print(f"{folder.name}: " + ", ".join(f"{s.listing} {s.day} {s.what}" for r in report.results
                                             for s in r.stored))
    shutil.copytree(store.snapshots, SAMPLE)
    shutil.rmtree(store.root)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures/hf-replay")
