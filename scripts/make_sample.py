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
from digest.fetch import fetch
from digest.store import Store

# Dec 5 to the evening fetch of Dec 12: Thursday's edition has STIV's +25 and ACDiT, added to
# Wednesday's list after its first fetch.
FIRST, LAST = "2024-12-05T17-08-25Z", "2024-12-12T17-08-22Z"
SAMPLE = Path(__file__).resolve().parents[1] / "digest" / "sample"


class ReplayClient:
    """Answers /api/daily_papers?date=DAY with the latest version of DAY fetched so far"""

    def __init__(self):
        self.served, self.pauses = {}, []

    def get(self, url, params=None):
        params = params or {}
        if int(params.get("p", 0)) > 0:
            return b"[]"
        body = self.served.get(params.get("date"), b"[]")
        return b"[]" if body.strip() == b"1" else body  # a placeholder: the live API answers []

    def close(self):
        pass


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
        now = dt.datetime.strptime(folder.name, "%Y-%m-%dT%H-%M-%SZ").replace(tzinfo=dt.timezone.utc)
        report = fetch(store, settings, now.date(), client=client, now=now)
        report.raise_for_failures()
        print(f"{folder.name}: " + ", ".join(f"{s.listing} {s.day} {s.what}" for r in report.results
                                             for s in r.stored))
    shutil.copytree(store.snapshots, SAMPLE)
    shutil.rmtree(store.root)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures/hf-replay")
