"""Steps: where a one-day update's time goes, each step timed inside the build (wall, no profiler)

    python bench/steps.py                      # 3 years, 3 runs
    python bench/steps.py --size 10y --runs 5
    python bench/steps.py --size tiny --runs 1 # a smoke run

Builds the history's site once (fresh, without search), imports the next day, then runs the
update `--runs` times, each from a copy of the full build, in a fresh child process whose
build functions are wrapped with timers. Prints each step's fastest, median and slowest
time and the child's whole wall time. A profiler makes Python-heavy steps look several times
dearer than they are; these are the figures to compare. The imported day is removed
afterwards, so the history stays what bench/scale.py expects.

Steps nest: "archive" (collect_archive) holds "history", "topics", "papers" and "days";
the others do not overlap. "rest" is the build's time outside every step named.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from run import SIZES, CommandFailed, digest_cmd, measure, prepare, remove_imported  # noqa: E402

# (label, module, attribute): the functions timed, where the build looks them up.
STEPS = (
    ("state read", "digest.publish.writer", "SiteWriter.__init__"),
    ("archive", "digest.publish.site", "collect_archive"),
    ("history", "digest.incremental", "load_history"),
    ("topics", "digest.topics.book", "TopicBook.apply"),
    ("papers", "digest.incremental", "_paper_slugs"),
    ("days", "digest.incremental", "_compute_days"),
    ("page contexts", "digest.publish.site", "site_pages"),
    ("path checks", "digest.publish.site", "plan_paths"),
    ("sitemaps", "digest.publish.site", "sitemap_files"),
    ("carry", "digest.publish.writer", "SiteWriter.keep_all_but"),
    ("month paths", "digest.publish.site", "month_paths"),
    ("feeds", "digest.render.feeds", "feed_files"),
    ("render", "digest.publish.site", "render_pages"),
    ("state save", "digest.publish.writer", "SiteWriter.finish"),
)
NESTED = {"history", "topics", "papers", "days"}


def _timed(function, label, times):
    """function, adding its wall time to times[label]"""

    def timed(*args, **kwargs):
        begun = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            times[label] += time.perf_counter() - begun

    return timed


def child(data, out):
    """Run one build in this process with its steps timed; print the timings as JSON"""
    import importlib

    start = time.perf_counter()
    import digest.cli

    times = {}
    for label, module, attribute in STEPS:
        owner = importlib.import_module(module)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        times[label] = 0.0
        setattr(owner, name, _timed(getattr(owner, name), label, times))
    times["imports"] = time.perf_counter() - start  # digest's modules the build uses, and theirs
    begun = time.perf_counter()
    try:
        digest.cli.cli(["--data-dir", data, "build", "--out", out, "--no-search"], standalone_mode=False)
    finally:
        times["build"] = time.perf_counter() - begun
        times["rest"] = times["build"] - sum(v for k, v in times.items() if k not in NESTED | {"imports", "build"})
        print(json.dumps(times), file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="3y", help="history (as in bench/scale.py; default 3y)")
    parser.add_argument("--runs", type=int, default=3, help="updates timed (default 3)")
    parser.add_argument("--child", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    days, papers = SIZES[args.size]
    data, one_day, _, tmp = prepare(days, papers, 1, True)
    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"digest-steps-{args.size}-", dir=out))
    runs = []
    try:
        measure(digest_cmd(data, "build", "--out", work / "base", "--no-search"), cwd=BENCH.parent)
        measure(digest_cmd(data, "import", one_day), cwd=BENCH.parent)
        try:
            for _ in range(args.runs):
                shutil.rmtree(work / "site", ignore_errors=True)
                shutil.copytree(work / "base", work / "site", symlinks=True)
                os.sync()  # the copy's writes flushed: they are the bench's, not the update's
                begun = time.perf_counter()
                proc = subprocess.run([sys.executable, __file__, "--child", data, work / "site"],
                                      capture_output=True, text=True, cwd=BENCH.parent)
                wall = time.perf_counter() - begun
                if proc.returncode or "updated" not in proc.stdout:
                    raise CommandFailed(["steps --child"], proc.returncode, proc.stderr or proc.stdout)
                times = json.loads(proc.stderr.strip().splitlines()[-1])
                times["wall"] = wall
                runs.append(times)
        finally:
            remove_imported(data, one_day)
    except CommandFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.size}: one more day without search, {args.runs} runs, seconds")
    print(f"{'step':<16} {'fastest':>8} {'median':>8} {'slowest':>8}")
    for label in ("wall", "imports", "build", *(label for label, _, _ in STEPS), "rest"):
        values = [run[label] for run in runs]
        name = f"  {label}" if label in NESTED else label
        print(f"{name:<16} {min(values):>8.3f} {statistics.median(values):>8.3f} {max(values):>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
