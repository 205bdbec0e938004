"""Time `digest diff --json` and `digest import` over a synthetic history and print a table

    python bench/run.py                      # 1,100 days x 50 papers, in a temp dir
    python bench/run.py --days 30 --papers 10
    python bench/run.py --keep               # generate once into bench/out/, reuse it later

Every figure comes from a fresh child process running the installed CLI, so it includes
interpreter start-up and imports, as a user sees them. A missed target is reported, not
fatal: the exit status is non-zero only when a command fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from generate import LISTING, START

BENCH = Path(__file__).resolve().parent
DIFF_TARGET = (1.0, 300)  # seconds wall, MB peak RSS
IMPORT_TARGET = (0.3, None)
IMPORT_FOLDER = "bench-import"  # inside the data dir, beside snapshots/, so the store ignores it
# The synthetic histories of bench/scale.py and bench/steps.py: label -> (days, papers a day).
SIZES = {"tiny": (40, 10), "1y": (365, 50), "3y": (1100, 50), "10y": (3650, 50), "arxiv": (1100, 200)}

# ru_maxrss is in kilobytes on Linux and in bytes on macOS.
RSS_PER_MB = 1024 * 1024 if sys.platform == "darwin" else 1024


@dataclass(frozen=True)
class Run:
    """Wall seconds and peak resident memory of one child process, and what it printed"""

    wall: float
    rss_mb: float
    stdout: bytes


@dataclass(frozen=True)
class Row:
    """One line of the results table"""

    step: str
    wall: float
    rss_mb: float
    target: tuple[float | None, float | None] = (None, None)

    def verdict(self):
        wall, rss = self.target
        if wall is None and rss is None:
            return "-"
        ok = (wall is None or self.wall <= wall) and (rss is None or self.rss_mb <= rss)
        return "PASS" if ok else "MISS"

    def target_text(self):
        wall, rss = self.target
        parts = ([f"<= {wall:g} s"] if wall is not None else []) + ([f"<= {rss} MB"] if rss is not None else [])
        return ", ".join(parts) or "-"


class CommandFailed(Exception):
    """A benchmarked command exited non-zero"""

    def __init__(self, args, code, stderr):
        super().__init__(f"{' '.join(map(str, args))} exited with {code}\n{stderr}")
        self.code = code


def measure(args, cwd):
    """Run args in a fresh process; return its wall time, peak RSS and output, or raise CommandFailed"""
    # Files, not pipes: a child that fills a pipe nobody reads would block until killed.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([str(a) for a in args], stdout=out, stderr=err, cwd=cwd)
        # wait4 reports this child's own rusage; RUSAGE_CHILDREN would keep the maximum over all children.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise CommandFailed(args, proc.returncode, err.read().decode("utf-8", "replace"))
        return Run(wall, usage.ru_maxrss / RSS_PER_MB, out.read())


def digest_cmd(data, *args):
    return [sys.executable, "-m", "digest", "--data-dir", data, *args]


def compile_code():
    """Compile digest's modules to bytecode, as `pip install` does: a child run from the
    checkout with PYTHONDONTWRITEBYTECODE set (as on some machines) would otherwise compile
    every module again at each start, 30-40 ms that no installed copy pays"""
    import compileall

    compileall.compile_dir(BENCH.parent / "digest", quiet=1)


def prepare(days, papers, seed, keep):
    """Return (data dir, HF JSON of the next day, generation Row or None, temp dir to remove or None)"""
    compile_code()
    next_day = START + dt.timedelta(days=days)
    if keep:
        name = f"history-{days}x{papers}" + (f"-seed{seed}" if seed != 1 else "")
        data, tmp = BENCH / "out" / name, None
    else:
        tmp = Path(tempfile.mkdtemp(prefix="digest-bench-"))
        data = tmp / "history"
    one_day = data / IMPORT_FOLDER / f"{next_day}.json"
    if one_day.exists():
        return data, one_day, None, tmp
    # The extra day is written last, so a folder without it is a run that was cut short.
    shutil.rmtree(data, ignore_errors=True)
    run = measure([sys.executable, BENCH / "generate.py", "--days", days, "--papers", papers,
                   "--seed", seed, "--out", data, "--one-day", one_day], cwd=BENCH)
    return data, one_day, Row("generate history", run.wall, run.rss_mb), tmp


def remove_imported(data, one_day):
    """Remove the stored copy of the day `import` took from bench-import/ (the history as generated)"""
    for stored in (Path(data) / "snapshots").glob(f"*/{one_day.name}"):
        stored.unlink()


def size_mb(folder):
    """Apparent size of the files under folder, in MB"""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file()) / 1e6


def check_diff(run, day):
    """Fail loudly when diff printed something other than the digest of `day`"""
    try:
        result = json.loads(run.stdout)
    except ValueError as e:
        raise CommandFailed(["diff"], 0, f"diff --json printed something that is not JSON ({e})") from None
    if result.get("date") != day.isoformat():
        raise CommandFailed(["diff"], 0, f"diff printed the digest of {result.get('date')}, expected {day}")
    return result


def bench_diff(data, day, repeat):
    """Rows for diff with no index cache, then with it: best and median of `repeat` each"""
    args = digest_cmd(data, "diff", "--date", day.isoformat(), "--json")
    cold = []
    for _ in range(repeat):
        shutil.rmtree(data / ".cache", ignore_errors=True)
        cold.append(measure(args, cwd=data))
    warm = [measure(args, cwd=data) for _ in range(repeat)]
    result = [check_diff(run, day) for run in cold + warm][-1]
    return [*spread("diff --json cold", cold, DIFF_TARGET),
            *spread("diff --json warm", warm, DIFF_TARGET)], result


def spread(step, runs, target):
    """Rows for the fastest run and the median of runs (wall and memory medians taken apart)"""
    best = min(runs, key=lambda r: r.wall)
    n = len(runs)
    return [Row(f"{step}, best of {n}", best.wall, best.rss_mb, target),
            Row(f"{step}, median of {n}", statistics.median(r.wall for r in runs),
                statistics.median(r.rss_mb for r in runs), target)]


def bench_import(data, one_day, repeat):
    """Rows for importing one more day, the stored file removed before each run"""
    stored = data / "snapshots" / LISTING / one_day.name
    runs = []
    for _ in range(repeat):
        stored.unlink(missing_ok=True)
        runs.append(measure(digest_cmd(data, "import", one_day), cwd=data))
    # Leave the history as generated, so a kept folder gives the same figures next time.
    stored.unlink(missing_ok=True)
    return spread("import one day", runs, IMPORT_TARGET)


def print_table(rows):
    print("cold: no .cache/ in the data dir, so the history index is rebuilt; warm: the index is there")
    print(f"{'step':<34} {'wall s':>7} {'peak MB':>8}  {'target':<20} result")
    for row in rows:
        print(f"{row.step:<34} {row.wall:>7.3f} {row.rss_mb:>8.1f}  {row.target_text():<20} {row.verdict()}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1100, help="days of history (default: 1100)")
    parser.add_argument("--papers", type=int, default=50, help="papers listed each day (default: 50)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the history (default: 1)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (default: 3)")
    parser.add_argument("--keep", action="store_true",
                        help="generate into bench/out/history-DAYSxPAPERS[-seedN] and reuse it when present")
    args = parser.parse_args(argv)
    if args.days < 1 or args.papers < 1 or args.repeat < 1:
        parser.error("--days, --papers and --repeat must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    latest = START + dt.timedelta(days=args.days - 1)
    tmp = None
    try:
        data, one_day, generated, tmp = prepare(args.days, args.papers, args.seed, args.keep)
        snapshots_mb, import_mb = size_mb(data / "snapshots"), one_day.stat().st_size / 1e6
        startup = measure(digest_cmd(data, "--version"), cwd=data)
        diff_rows, result = bench_diff(data, latest, args.repeat)
        index_mb = size_mb(data / ".cache")
        import_rows = bench_import(data, one_day, args.repeat)
    except CommandFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return e.code or 1
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"digest benchmark: {args.days} days x {args.papers} papers, {START} to {latest}, seed {args.seed}")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {sys.platform}")
    print(f"data: {snapshots_mb:.1f} MB of snapshots, {index_mb:.1f} MB index cache, {import_mb:.2f} MB import file")
    if not generated:
        print(f"history: reused {data} (delete it to generate again)")
    print(f"diff of {latest}: {result['papers_seen']} papers, {len(result['new'])} new, "
          f"{len(result['trending'])} trending, {len(result['returning'])} returning, {len(result['dropped'])} dropped")
    print()
    rows = [*([generated] if generated else []), Row("start-up (digest --version)", startup.wall, startup.rss_mb),
            *diff_rows, *import_rows]
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
