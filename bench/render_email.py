"""Time rendering the email for many subscribers, each with their own filters, to bytes

    python bench/render_email.py                        # 10,000 subscribers, a 60-paper day
    python bench/render_email.py --subscribers 1000 --papers 30

The history is synthetic (bench/generate.py, 14 days); the subscriber list is written as
a TOML file and read through the same loader `digest send` uses. The rendering runs in a
fresh child process, so its peak memory is its own: load config and subscribers, compute
the digest, then render every subscriber's message to bytes (nothing is sent or written).
A missed target is reported, not fatal.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generate import KEYWORDS, ORGANIZATIONS, generate

TARGET = (10.0, 300)  # seconds wall, MB peak RSS, for 10,000 messages
RSS_PER_MB = 1024 * 1024 if sys.platform == "darwin" else 1024
TERMS = ("agent", "robot", "video", "diffusion", "reasoning", "benchmark", "retrieval", "memory", "code",
         "alignment", "speech", "3D", "quantization", "world model")


def subscribers_toml(count, seed):
    """count subscribers: a third with no filters, the rest with keywords, organizations, upvote floors"""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        lines = ["[[subscribers]]", f'email = "reader{n}@example.org"', f'name = "Reader {n}"']
        kind = n % 3
        if kind == 1:
            terms = rng.sample(TERMS + tuple(KEYWORDS), rng.randint(1, 3))
            lines.append("keywords = [" + ", ".join(json.dumps(t) for t in terms) + "]")
        elif kind == 2:
            lines.append("organizations = [" + json.dumps(rng.choice(ORGANIZATIONS)) + "]")
            lines.append(f"min_upvotes = {rng.choice((0, 5, 20))}")
            lines.append("send_when_empty = true")
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def child(data, config_path):
    """Render every subscriber's message to bytes; print the figures as JSON"""
    import resource

    from digest.config import load_config
    from digest.pipeline import digest_for
    from digest.publish.subscribers import load_subscribers
    from digest.render.email import EmailRenderer

    start = time.perf_counter()
    config = load_config(config_path, data)
    subscribers = load_subscribers(config.email)
    digest = digest_for(config)
    setup = time.perf_counter()
    renderer = EmailRenderer.of(digest, config, salt="bench-salt-0123456789")
    rendered = skipped = total = largest_html = 0
    for sub in subscribers:
        selection = renderer.select(sub)
        if selection.empty and not sub.send_when_empty:
            skipped += 1
            continue
        message = renderer.render(sub, selection)
        rendered += 1
        total += len(message.data)
        largest_html = max(largest_html, len(message.html.encode("utf-8")))
    end = time.perf_counter()
    print(json.dumps({
        "setup_s": setup - start, "render_s": end - setup, "total_s": end - start, "rendered": rendered,
        "skipped": skipped, "bytes": total, "largest_html": largest_html,
        "new": len(digest.new), "trending": len(digest.trending), "top": len(digest.top),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / RSS_PER_MB,
    }))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000, help="subscribers (default: 10000)")
    parser.add_argument("--papers", type=int, default=60, help="papers listed each day (default: 60)")
    parser.add_argument("--days", type=int, default=14, help="days of history (default: 14)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument("--child", nargs=2, metavar=("DATA", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child)
    with tempfile.TemporaryDirectory(prefix="digest-bench-email-") as tmp:
        tmp = Path(tmp)
        generate(args.days, args.papers, args.seed, out=tmp / "data")
        (tmp / "subscribers.toml").write_text(subscribers_toml(args.subscribers, args.seed))
        (tmp / "digest.toml").write_text(
            'title = "Daily Papers"\n[email]\nfrom_address = "papers@example.org"\n'
            'base_url = "https://example.org/papers"\nunsubscribe_mailto = "unsubscribe@example.org"\n'
            'unsubscribe_url = "https://example.org/unsubscribe?email={email}"\n'
            'subscribers_file = "subscribers.toml"\n')
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                                        os.environ.get("PYTHONPATH")]))}
        wall = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, "--child", str(tmp / "data"), str(tmp / "digest.toml")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - wall
        out, err = proc.stdout.read(), proc.stderr.read()
        if status != 0:
            sys.stderr.write(err.decode())
            return 1
        figures = json.loads(out)
    peak = usage.ru_maxrss / RSS_PER_MB
    cpu = usage.ru_utime + usage.ru_stime  # fairer than wall time when other jobs share the cores
    scale = args.subscribers / 10_000
    target_s, target_mb = TARGET[0] * scale, TARGET[1]
    print(f"day: {figures['new']} new, {figures['trending']} trending, {figures['top']} top"
          f" ({args.days} days x {args.papers} papers, seed {args.seed})")
    print(f"subscribers: {args.subscribers} ({figures['rendered']} rendered, {figures['skipped']} skipped:"
          f" nothing matched)")
    print(f"messages: {figures['bytes'] / 1e6:.1f} MB in all, {figures['bytes'] / max(figures['rendered'], 1) / 1024:.1f}"
          f" KB average, largest HTML part {figures['largest_html'] / 1024:.1f} KB")
    print()
    print(f"{'step':<44}{'wall s':>8}{'cpu s':>7}{'peak MB':>9}  target")
    print(f"{'child process (start-up to last message)':<44}{wall:>8.2f}{cpu:>7.2f}{peak:>9.1f}"
          f"  <= {target_s:g} s, <= {target_mb} MB  {'PASS' if wall <= target_s and peak <= target_mb else 'MISS'}")
    print(f"{'  load config, subscribers, digest':<44}{figures['setup_s']:>8.2f}")
    print(f"{'  render to bytes':<44}{figures['render_s']:>8.2f}"
          f"  ({figures['render_s'] / max(figures['rendered'], 1) * 1e3:.3f} ms a message)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
