"""Rebuild digest/sample/ from the recorded fixtures (run by hand; the output is committed)

    python scripts/make_sample.py ../shared/fixtures/hf-daily
"""

import sys
from pathlib import Path

from digest.sources import parse_bytes
from digest.store import dump_json, listing_dir, write_atomic

# The last recorded week: seven listing days, two papers listed twice (so the demo trends).
DAYS = ["2026-08-13", "2026-08-14", "2026-08-17", "2026-08-18", "2026-08-19", "2026-08-20", "2026-08-21"]
SAMPLE = Path(__file__).resolve().parents[1] / "digest" / "sample"


def main(fixtures):
    for day in DAYS:
        path = Path(fixtures) / f"{day}.json"
        snapshot = parse_bytes(path.read_bytes(), name=path.name).snapshot
        out = SAMPLE / listing_dir(snapshot.listing) / f"{day}.json"
        write_atomic(out, dump_json(snapshot.to_dict()))
        print(f"{out}: {len(snapshot.entries)} papers")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures/hf-daily")
