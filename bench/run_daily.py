"""Time `digest run` (fetch -> site -> email) over the sample week and over a 3-year history

    python bench/run_daily.py                    # both scenarios, 1,100 days x 50 papers
    python bench/run_daily.py --days 60          # a quick run
    python bench/run_daily.py --only sample

Everything is local: an HTTP server on 127.0.0.1 stands for Hugging Face and arXiv (the
tests' server), and aiosmtpd with TLS for the SMTP server. Each figure is one fresh child
process `python -m digest run`, interpreter start-up included, installation and data
generation excluded. Its standard error is read as it comes, so the time between the
progress lines gives each step's share.

Scenarios:
- sample: the bundled sample's week (the recorded Aug 13-21 2026 lists it was made from,
  served as the API returns them), on an empty data folder, as a fork's first run; then
  the same day again (nothing new).
- history: a synthetic 3-year history (bench/generate.py) already stored; the run day's
  list and the 7 re-observed days are served. Run once with no site/ folder (as in CI,
  where the checkout has none), then the next day with site/ kept (a local operator).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(BENCH))
from generate import START, generate, hf_items, listing_days  # noqa: E402
from server import Server  # noqa: E402
from smtp_server import HOST, PASSWORD, USER, SmtpServer, make_certificate  # noqa: E402

# The shared recorded data beside the checkout, else the repository's verbatim copy.
FIXTURES = Path(os.environ.get("DIGEST_FIXTURES") or next(
    p for p in (ROOT.parent / "shared" / "fixtures", ROOT / "tests" / "fixtures" / "recorded") if p.is_dir()))
SAMPLE_DAY = dt.date(2026, 8, 21)
SUBSCRIBERS = 20
STEPS = (("fetching", "fetch"), ("computing", "digest"), ("building", "site"), ("sending", "email"))


def timed_run(folder, hf, arxiv, day, smtp_env, base_url="https://example.org/digest/"):
    """Run `digest run` in a child; return (wall seconds, {step: seconds}, stdout)"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "GITHUB_"))}
    env.update(PYTHONPATH=str(ROOT), DIGEST_HF_BASE_URL=hf.url, DIGEST_ARXIV_BASE_URL=arxiv.url, **smtp_env)
    marks = []
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "digest", "run", "--date", day.isoformat(),
                             "--base-url", base_url], cwd=folder, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    err = []
    for line in proc.stderr:
        marks.append((time.perf_counter() - start, line))
        err.append(line)
    out = proc.stdout.read()
    proc.wait()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"digest run failed ({proc.returncode}):\n{out}{''.join(err)}")
    steps, order = {}, []
    for t, line in marks:
        for prefix, step in STEPS:
            if line.startswith(prefix):
                order.append((step, t))
    for (step, t), nxt in zip(order, order[1:] + [("end", wall)]):
        steps[step] = nxt[1] - t
    steps["start-up"] = order[0][1] if order else wall
    return wall, steps, out


def config_text(smtp, cert):
    return ('title = "Daily Papers"\n[email]\nfrom_address = "papers@digest.example.org"\n'
            'unsubscribe_mailto = "unsubscribe@digest.example.org"\nsubscribers_env = "DIGEST_SUBSCRIBERS"\n'
            f'smtp_host = "{HOST}"\nsmtp_port = {smtp.port}\nsmtp_ca_file = "{cert}"\nrate_limit = 0\n')


def smtp_environment():
    people = [{"email": f"reader{n}@example.org"} for n in range(SUBSCRIBERS)]
    return {"DIGEST_SUBSCRIBERS": json.dumps({"subscribers": people}), "DIGEST_LEDGER_SALT": "bench-salt-0123456789abcdef",
            "DIGEST_SMTP_USERNAME": USER, "DIGEST_SMTP_PASSWORD": PASSWORD}


def serve_sample(hf):
    everything = []
    for n in range(9):
        day = SAMPLE_DAY - dt.timedelta(days=8 - n)
        path = FIXTURES / "hf-daily" / f"{day}.json"
        items = copy.deepcopy(json.loads(path.read_bytes())) if path.exists() else []
        hf.sources.daily[day.isoformat()] = items
        everything.extend(items)
    hf.sources.trending = sorted(everything, key=lambda i: -i["paper"]["upvotes"])[:50]


def serve_history(hf, days, papers, seed, upto):
    """Serve the synthetic lists of the 8 days up to `upto` (the run day and its window)"""
    lists = {day: listed for day, listed in listing_days(days + 2, papers, seed) if day > upto - dt.timedelta(8)
             and day <= upto}
    for day, listed in lists.items():
        hf.sources.daily[day.isoformat()] = hf_items(day, listed)
    hf.sources.trending = hf_items(upto, lists[upto])


def row(label, wall, steps, out):
    parts = "  ".join(f"{k} {steps[k]:.2f}" for k in ("start-up", "fetch", "digest", "site", "email") if k in steps)
    site = next((line.split("site", 1)[1].strip() for line in out.splitlines() if line.strip().startswith("site ")), "")
    mail = next((line.split("email", 1)[1].strip() for line in out.splitlines() if line.strip().startswith("email ")),
                "")
    print(f"{label:<52} {wall:7.2f} s   ({parts})")
    print(f"{'':<52} site: {site}")
    print(f"{'':<52} email: {mail}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1100)
    parser.add_argument("--papers", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=["sample", "history"])
    args = parser.parse_args()
    warnings.filterwarnings("ignore", "Requiring AUTH")
    warnings.filterwarnings("ignore", ".*login_data is deprecated")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {sys.platform}; "
          f"{SUBSCRIBERS} subscribers; default fetch intervals (HF 0.5 s, arXiv 3 s)")
    # Two servers, as two hosts: each keeps its own politeness interval, as live.
    with tempfile.TemporaryDirectory() as tmp, Server() as hf, Server() as arxiv:
        tmp = Path(tmp)
        cert, _ = make_certificate(tmp)
        with SmtpServer(cert, _) as smtp:
            env = smtp_environment()
            arxiv.sources.feeds["cs.CL"] = (ROOT / "tests" / "fixtures" / "arxiv-cs.CL.rss").read_bytes()
            if args.only in (None, "sample"):
                folder = tmp / "sample"
                folder.mkdir()
                (folder / "digest.toml").write_text(config_text(smtp, cert))
                serve_sample(hf)
                row("sample week, first run (fresh data, 8 list days)", *timed_run(folder, hf, arxiv, SAMPLE_DAY, env))
                row("sample week, same day again (nothing new)", *timed_run(folder, hf, arxiv, SAMPLE_DAY, env))
            if args.only in (None, "history"):
                folder = tmp / "history"
                folder.mkdir()
                (folder / "digest.toml").write_text(config_text(smtp, cert))
                t = time.perf_counter()
                generate(args.days, args.papers, args.seed, folder / "data")
                print(f"generated {args.days} days x {args.papers} papers in {time.perf_counter() - t:.1f} s "
                      "(not timed below)")
                day = START + dt.timedelta(days=args.days)
                serve_history(hf, args.days, args.papers, args.seed, day)
                row(f"{args.days}-day history, next day, no site/ (as in CI)", *timed_run(folder, hf, arxiv, day, env))
                serve_history(hf, args.days, args.papers, args.seed, day + dt.timedelta(days=1))
                row(f"{args.days}-day history, day after, site/ kept",
                    *timed_run(folder, hf, arxiv, day + dt.timedelta(days=1), env))
                shutil.rmtree(folder / "site", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
