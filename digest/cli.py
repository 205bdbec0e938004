"""Command line: thin commands that parse options, call one core function and print"""

from __future__ import annotations

import errno
import json
import sys
from pathlib import Path

import click

from digest import __version__
from digest.errors import DigestError, FileSystemError


class Day(click.DateTime):
    """A YYYY-MM-DD option value, as a date"""

    name = "date"

    def __init__(self):
        super().__init__(["%Y-%m-%d"])

    def get_metavar(self, param, ctx=None):
        return "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        return super().convert(value, param, ctx).date()


DATE = Day()


class Context:
    """Global options, with the config loaded on first use"""

    def __init__(self, config_path, data_dir):
        self.config_path = config_path
        self.data_dir = data_dir
        self._config = None

    @property
    def config(self):
        if self._config is None:
            from digest.config import load_config

            self._config = load_config(self.config_path, self.data_dir)
        return self._config


pass_ctx = click.make_pass_decorator(Context)


def fail(error):
    """Turn a DigestError into a one-line message and its exit code"""
    exc = click.ClickException(str(error))
    exc.exit_code = error.exit_code
    return exc


class Commands(click.Group):
    """The command group, and the one place an error that escaped a command becomes one line

    A DigestError raised outside a command's own try (a write after rendering) and any
    OSError (a full disk, permission denied, a name too long, a read-only file system)
    end as `Error: <file>: <reason>` and their exit code, never as a traceback.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except DigestError as e:
            raise fail(e) from e
        except OSError as e:
            if e.errno == errno.EPIPE:
                raise  # click's own handling: a closed pipe (digest diff | head) is not an error
            raise fail(FileSystemError.of(e)) from e


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="DIGEST_DATA_DIR",
    help="Where snapshots live (default: ./data, env DIGEST_DATA_DIR).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: ./digest.toml when present).",
)
@click.version_option(__version__, prog_name="digest")
@click.pass_context
def cli(ctx, data_dir, config_path):
    """Turn daily snapshots of trending research papers into a newsletter

    \b
        digest import ../fixtures/hf-daily/*.json
        digest diff --date 2026-08-21
        digest markdown -o today.md
        digest demo
    """
    ctx.obj = Context(config_path, data_dir)


@cli.command("import")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--listing", help="Listing to store under (default: the file's own, else hf-daily).")
@click.option("--date", "day", type=DATE, help="Day of the snapshot (default: from the file name, else the content).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "hf-json", "page-text", "snapshot", "arxiv-rss"]),
    default="auto",
    show_default=True,
    help="Input format; auto recognises it from the content.",
)
@click.option(
    "--git",
    "git_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="A git repository of daily HF API files: replay every committed version at its commit time.",
)
@click.option(
    "--path",
    "pattern",
    default="*.json",
    show_default=True,
    help="With --git: the files to read (a git pathspec; names must be YYYY-MM-DD.json).",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Replace a day that holds another kind of source's data (and say what was replaced).",
)
@pass_ctx
def import_(ctx, files, listing, day, fmt, git_dir, pattern, replace):
    """Import snapshot files (HF API JSON, page captures, our own snapshots)

    One snapshot per listing and day: importing a day again from the same kind of source
    replaces it; data of another kind (a page capture over the API's list) is refused
    unless --replace. Page captures go to their own listing, hf-papers-page. A bad file
    is reported on one line and the others are still imported.

    \b
        digest import ../shared/fixtures/hf-daily/*.json
        digest import --date 2025-10-28 capture.txt
        digest import --git ../hf-archive --path 'data/*.json'
    """
    from digest.models import check_listing
    from digest.pipeline import import_files
    from digest.store import Store

    if git_dir is not None:
        return _import_git(ctx, git_dir, pattern, files)
    if not files:
        raise click.UsageError("give files to import, or --git DIR")

    try:
        if listing is not None:
            check_listing(listing)  # once, before any file: a bad name is the call's fault, not a file's
        outcomes = import_files(Store(ctx.config.data_dir), files, fmt=fmt, listing=listing, day=day, replace=replace)
    except DigestError as e:
        raise fail(e) from e
    failed = 0
    for o in outcomes:
        for warning in o.warnings:
            click.echo(f"warning: {warning}", err=True)
        if o.error:
            failed += 1
            click.echo(f"error: {o.file}: {o.error}", err=True)
        else:
            verb = f"replaced {o.replaced_other} in" if o.replaced_other else "replaced" if o.replaced else "stored"
            click.echo(f"{o.file}: {o.count} papers, {o.listing} {o.day} ({verb} {o.path})")
    if failed:
        from digest.errors import InputError

        raise fail(InputError(f"{failed} of {len(outcomes)} files could not be imported"))


def _import_git(ctx, git_dir, pattern, files):
    from digest.gitimport import import_git
    from digest.store import Store

    if files:
        raise click.UsageError("--git reads the repository: give no files with it")
    try:
        result = import_git(
            Store(ctx.config.data_dir),
            ctx.config.fetch,
            git_dir,
            pattern,
            progress=lambda line: click.echo(line, err=True),
        )
    except DigestError as e:
        raise fail(e) from e
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"{git_dir}: {result.commits} commits, {result.versions} file versions replayed, "
        f"{result.written} snapshot files written"
    )


@cli.command()
@click.option("--date", "day", type=DATE, help="Day to diff (default: the latest stored day).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary.")
@pass_ctx
def diff(ctx, day, as_json):
    """Show what is new, trending, returning, dropped and top on a day

    \b
        digest diff --date 2026-08-21 --json
    """
    from digest.pipeline import digest_for

    try:
        result = digest_for(ctx.config, day)
    except DigestError as e:
        raise fail(e) from e
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        # Imported here: the summary pulls in Jinja, which --json has no use for.
        from digest.render.markdown import render_summary

        click.echo(render_summary(result), nl=False)


@cli.command()
@click.option("--date", "day", type=DATE, help="Day to render (default: the latest stored day).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@pass_ctx
def markdown(ctx, day, output):
    """Write the day's digest as Markdown

    \b
        digest markdown --date 2026-08-21 -o 2026-08-21.md
    """
    from digest.pipeline import digest_for
    from digest.render.markdown import render_markdown
    from digest.store import write_atomic

    try:
        text = render_markdown(digest_for(ctx.config, day), ctx.config)
    except DigestError as e:
        raise fail(e) from e
    if output:
        write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("digest-demo"),
    show_default=True,
    help="Folder to write the demo into.",
)
def demo(out):
    """Build the demo from the bundled sample history, offline

    Needs no network and no config: a digest.toml in the working folder is ignored.

    \b
        digest demo --out /tmp/demo
    """
    from digest.demo import run_demo

    try:
        result = run_demo(out)
    except DigestError as e:
        raise fail(e) from e
    click.echo(f"Imported {result.snapshots} sample snapshots into {result.data_dir}")
    for label, path in result.outputs:
        click.echo(f"  {label:<10} {path}")


# --- fetch (issue 3) ---------------------------------------------------------------


@cli.command()
@click.option("--date", "day", type=DATE, help="The run's day: the newest list day to fetch (default: today, UTC).")
@click.option(
    "--listing",
    "listings",
    multiple=True,
    help="Listing to fetch (repeatable; default: [fetch] listings in digest.toml).",
)
@pass_ctx
def fetch(ctx, day, listings):
    """Fetch today's listings, missed days and the recent window into the store

    \b
        digest fetch
        digest fetch --date 2026-08-21 --listing hf-daily --listing arxiv:cs.CL
    """
    import datetime as dt

    from digest.fetch import fetch as fetch_listings
    from digest.fetch import fetch_settings
    from digest.models import check_listing
    from digest.store import Store

    try:
        for listing in listings:
            check_listing(listing)
        settings = fetch_settings(ctx.config.fetch)
        day = day or dt.datetime.now(dt.UTC).date()
        report = fetch_listings(Store(ctx.config.data_dir), settings, day, listings=listings or None)
    except DigestError as e:
        raise fail(e) from e
    for url, seconds, why in report.retries:
        click.echo(f"retried: {url}: {why}; waited {seconds:.1f} s", err=True)
    for result in report.results:
        for warning in result.warnings:
            click.echo(f"warning: {result.listing}: {warning}", err=True)
        if result.skipped:
            click.echo(f"{result.listing}: {result.skipped}")
        for s in result.stored:
            count = "no papers published" if s.what == "no papers published" else f"{s.count} papers, {s.what}"
            click.echo(f"{s.listing} {s.day}: {count} ({s.path})")
    try:
        report.raise_for_failures()
    except DigestError as e:
        raise fail(e) from e


# --- email (issue 5) ---------------------------------------------------------------


@cli.command()
@click.option("--date", "day", type=DATE, help="Day to render (default: the latest stored day).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("digest-email"),
    show_default=True,
    help="Folder to write <date>/<subscriber>.eml and .html into.",
)
@pass_ctx
def email(ctx, day, out):
    """Render the day's email as .eml files, with an .html preview beside each

    One file per subscriber, with only that subscriber's papers. Without a subscriber
    list in the config, writes one unfiltered edition (all.eml). Files are named by the
    subscriber's place in the list, never by address.

    \b
        digest email --date 2026-08-20 --out outbox
    """
    from digest.publish.outbox import write_emails

    try:
        day, written = write_emails(ctx.config, day, out)
    except DigestError as e:
        raise fail(e) from e
    for w in written:
        click.echo(
            f"{w.eml}  {w.subject}"
            if w.eml
            else f"skipped #{w.subscriber.position}: nothing matches the subscriber's filters"
        )


@cli.command()
@click.option("--date", "day", type=DATE, help="Day to send (default: the latest stored day).")
@click.option("--dry-run", is_flag=True, help="Print who would receive what; connect to nothing, send nothing.")
@click.option(
    "--resend-unconfirmed",
    is_flag=True,
    help="Also send again the messages an earlier run was stopped in the middle of (the server may "
    "have them: their readers may get two).",
)
@pass_ctx
def send(ctx, day, dry_run, resend_unconfirmed):
    """Send the day's email to every subscriber over SMTP, each exactly once

    Recipients already in the day's sent ledger are skipped, so a re-run (or a run after a
    crash) sends only the rest. Addresses are shown masked (a…@example.org).

    \b
        digest send --dry-run
        digest send --date 2026-08-20
    """
    from digest.publish.outbox import send_digest

    try:
        report = send_digest(
            ctx.config, day, dry_run=dry_run, progress=click.echo, resend_unconfirmed=resend_unconfirmed
        )
    except DigestError as e:
        raise fail(e) from e
    click.echo(report.summary())
    error = report.delivery_error(
        hint=" (see UNCONFIRMED above)" if not report.count("failed") else " (see FAILED above)"
    )
    if error:
        raise fail(error)


# --- site and feeds -------------------------------------------------------------------


@cli.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("site"),
    show_default=True,
    help="Folder to build the site into (created; only files that changed are rewritten).",
)
@click.option(
    "--base-url",
    help="Absolute URL the site is published at, for canonical links, feeds and the "
    "sitemap (default: [site] base_url in the config).",
)
@click.option(
    "--search/--no-search",
    default=None,
    help="Build the static search index with pagefind (default: [site] search, on).",
)
@pass_ctx
def build(ctx, out, base_url, search):
    """Build the static site and its feeds from every stored day

    \b
        digest build --out site --base-url https://example.org/digest/
    """
    from digest.publish.site import build_site

    try:
        result = build_site(ctx.config, out, base_url=base_url, search=search)
    except DigestError as e:
        raise fail(e) from e
    except OSError as e:
        raise fail(FileSystemError.of(e, within=out)) from e
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"Built {result.pages} pages ({result.days} days, {result.papers} papers) in {result.out}: "
        f"{len(result.written)} files written, {result.files - len(result.written)} unchanged, "
        f"{len(result.removed)} removed{', updated' if result.updated else ''}"
        f"{', search indexed' if result.indexed else ''}"
    )


@cli.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("site"),
    show_default=True,
    help="The built site to serve.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port on 127.0.0.1 (0 picks a free one).",
)
def serve(folder, port):
    """Preview the built site on 127.0.0.1 (Ctrl-C stops)

    \b
        digest serve --dir site --port 8000
    """
    from digest.publish.serve import serve as make_server

    try:
        server = make_server(folder, port)
    except DigestError as e:
        raise fail(e) from e
    host, bound = server.server_address[:2]
    click.echo(f"Serving {folder} at http://{host}:{bound}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.")
    finally:
        server.server_close()


# --- run (issue 6) -------------------------------------------------------------------


@cli.command("run")
@click.option("--date", "day", type=DATE, help="The run's day (default: today, UTC); for backfills.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("site"),
    show_default=True,
    help="Folder to build the site into.",
)
@click.option("--base-url", help="Absolute URL the site is published at (default: [site] base_url).")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the report as one JSON object (with the papers the edition announces).",
)
@pass_ctx
def run_(ctx, day, out, base_url, as_json):
    """Fetch, build the site and feeds, and send the email: the daily job, with a report

    Every step runs that can: a failed fetch still rebuilds the site from the stored data.
    The email goes out only after a complete fetch, when [email] smtp_host is set. The
    report goes to standard output and, when GITHUB_STEP_SUMMARY is set, with the day's
    digest to that file. Exits with the code of the first step that failed.

    \b
        digest run
        digest run --date 2026-08-21 --base-url https://you.github.io/digest/
        digest run --json
    """
    import os

    from digest.run import append_step_summary, run_daily

    def progress(line):
        click.echo(line, err=True)

    try:
        report = run_daily(ctx.config, day, out=out, base_url=base_url, progress=progress, send_progress=progress)
    except DigestError as e:
        raise fail(e) from e
    except OSError as e:
        raise fail(FileSystemError.of(e, within=out)) from e
    for url, seconds, why in report.fetch.retries if report.fetch else ():
        click.echo(f"retried: {url}: {why}; waited {seconds:.1f} s", err=True)
    for result in report.fetch.results if report.fetch else ():
        for warning in result.warnings:
            click.echo(f"warning: {result.listing}: {warning}", err=True)
    for warning in report.site.warnings if report.site else ():
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        import json

        click.echo(json.dumps(report.to_dict(), sort_keys=True, ensure_ascii=False))
    else:
        click.echo(report.text(), nl=False)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        append_step_summary(summary, report)
    if report.error:
        raise fail(report.error)


def main():
    cli(prog_name="digest")


if __name__ == "__main__":
    sys.exit(main())
