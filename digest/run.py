"""The daily run: fetch (with catch-up), build the site and feeds, send the email; one report

Each step runs when it can and its failure is recorded, not raised, so a failed fetch still
rebuilds the site from the data that exists (the workflow then deploys it) and the run
still ends with the failed step's exit code. The email goes out only after a complete
fetch and a built site: a digest missing a listing would be sent once and never again,
and its "view in browser" link must point at a page that exists. A run that sends nothing
can be repeated for the same day; the sent ledger keeps anyone from getting it twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from digest.errors import DigestError, NoDataError

STEPS = ("fetch", "digest", "site", "email")


@dataclass(frozen=True)
class Failure:
    """A step that failed, and why"""

    step: str  # one of STEPS
    error: DigestError


@dataclass(frozen=True)
class RunReport:
    """What one `digest run` did, step by step; rendered as text and as Markdown"""

    day: dt.date
    fetch: object = None  # digest.fetch.FetchReport
    digest: object = None  # digest.models.Digest of the run's day, when it has data
    markdown: str | None = None  # the day's digest as Markdown
    site: object = None  # digest.publish.site.BuildResult
    site_out: Path | None = None
    send: object = None  # digest.publish.outbox.SendReport
    notes: tuple[tuple[str, str], ...] = ()  # (step, why it did nothing) for steps that had nothing to do
    failures: tuple[Failure, ...] = ()

    @property
    def error(self):
        """The error the run exits with: the first failed step's kind, naming every failure"""
        if not self.failures:
            return None
        first = self.failures[0].error
        text = "; ".join(f"{f.step}: {f.error}" for f in self.failures)
        error = DigestError(text)
        error.exit_code = first.exit_code
        return error

    def note(self, step):
        return next((why for s, why in self.notes if s == step), None)

    def failure(self, step):
        return next((f.error for f in self.failures if f.step == step), None)

    # -- rendering --------------------------------------------------------------------------

    def fetch_rows(self):
        """(listing, what was stored or the error) per fetched listing"""
        rows = []
        for result in self.fetch.results if self.fetch else ():
            if result.error or result.skipped:
                rows.append((result.listing, result.skipped or f"FAILED: {result.error}"))
                continue
            groups = {}
            for s in result.stored:
                groups.setdefault(s.what, []).append(s)
            parts = [_stored_text(result.listing, what, group) for what, group in groups.items()]
            rows.append((result.listing, "; ".join(parts) or "nothing stored"))
        return rows

    def lines(self):
        """The report as (label, text) pairs, the same for the terminal and the step summary"""
        out = []
        if self.fetch is None:
            out.append(("fetch", self.note("fetch") or f"FAILED: {self.failure('fetch')}"))
        for listing, text in self.fetch_rows():
            out.append((f"fetch {listing}", text))
        if self.fetch and self.fetch.retries:
            out.append(("fetch retries", f"{len(self.fetch.retries)} (each is on standard error)"))
        if self.digest is not None:
            d = self.digest
            out.append(("digest", f"{d.papers_seen} papers seen, {len(d.new)} new, {len(d.trending)} trending"))
        else:
            out.append(("digest", self.note("digest") or f"FAILED: {self.failure('digest')}"))
        if self.site is not None:
            s = self.site
            out.append(
                (
                    "site",
                    f"{s.pages} pages ({s.days} days, {s.papers} papers) in {s.out}: "
                    f"{len(s.written)} files written, {s.files - len(s.written)} unchanged, "
                    f"{len(s.removed)} removed{', updated' if s.updated else ''}"
                    f"{', search indexed' if s.indexed else ''}",
                )
            )
            out.extend(("site warning", warning) for warning in s.warnings)
        else:
            out.append(("site", f"FAILED: {self.failure('site')}"))
        if self.send is not None:
            r = self.send
            out.append(
                (
                    "email",
                    f"{r.count('sent')} sent, {r.count('already-sent')} already sent, "
                    f"{r.count('skipped')} skipped (nothing matches), {r.count('failed')} failed",
                )
            )
            for o in r.outcomes:
                if o.status == "failed":
                    out.append(("email FAILED", f"{o.who}: {o.detail}"))
        else:
            out.append(("email", self.note("email") or f"FAILED: {self.failure('email')}"))
        error = self.error
        failed = ", ".join(f"{f.step} failed" for f in self.failures)
        out.append(("result", f"FAILED (exit {error.exit_code}): {failed}" if error else "OK"))
        return out

    def to_dict(self):
        """The report as one JSON-ready object (`digest run --json`), for operators and tests

        "announced" is exactly what the run's edition carries: the ids (the key of a paper
        without one) of its new and trending papers, as `digest diff --json` lists them.
        """
        error = self.error
        d, s, r = self.digest, self.site, self.send
        fetch = (
            None
            if self.fetch is None
            else [
                {
                    "listing": res.listing,
                    "error": str(res.error) if res.error else None,
                    "warnings": list(res.warnings),
                    "stored": [
                        {
                            "listing": x.listing,
                            "day": x.day.isoformat(),
                            "count": x.count,
                            "what": x.what,
                            "changed": x.changed,
                        }
                        for x in res.stored
                    ],
                }
                for res in self.fetch.results
            ]
        )
        return {
            "day": self.day.isoformat(),
            "result": "failed" if error else "ok",
            "exit_code": error.exit_code if error else 0,
            "fetch": fetch,
            "retries": len(self.fetch.retries) if self.fetch else 0,
            "digest": None
            if d is None
            else {"papers_seen": d.papers_seen, "new": len(d.new), "trending": len(d.trending)},
            "announced": {
                "new": [i.id or i.key for i in d.new] if d else [],
                "trending": [t.item.id or t.item.key for t in d.trending] if d else [],
            },
            "site": None
            if s is None
            else {
                "out": str(s.out),
                "pages": s.pages,
                "files": s.files,
                "written": len(s.written),
                "removed": len(s.removed),
                "indexed": s.indexed,
            },
            "email": None
            if r is None
            else {status: r.count(status) for status in ("sent", "already-sent", "skipped", "failed")},
            "notes": {step: why for step, why in self.notes},
            "failures": [
                {"step": f.step, "error": str(f.error), "exit_code": f.error.exit_code} for f in self.failures
            ],
        }

    def text(self):
        """The report for the terminal"""
        pairs = self.lines()
        width = max(len(label) for label, _ in pairs)
        lines = [f"digest run {self.day}"] + [f"  {label:<{width}}  {text}" for label, text in pairs]
        return "\n".join(lines) + "\n"

    def summary_markdown(self):
        """The report as Markdown for a GitHub job summary, followed by the day's digest"""
        error = self.error
        head = f"## digest run {self.day}: {f'failed (exit {error.exit_code})' if error else 'OK'}\n\n"
        rows = "| step | result |\n| --- | --- |\n" + "".join(
            f"| {_cell(label)} | {_cell(text)} |\n" for label, text in self.lines()
        )
        body = f"\n{self.markdown}" if self.markdown else ""
        return head + rows + body + "\n"


def _stored_text(listing, what, group):
    """One kind of stored snapshot of a listing: 'catch-up 2026-08-14…2026-08-20: 4 days, 93 papers'"""
    first, last = group[0], group[-1]
    other = f" {first.listing}" if first.listing != listing else ""
    papers = sum(s.count for s in group)
    if len(group) == 1:
        text = f"{what} {first.day}{other}" + ("" if what == "no papers published" else f": {papers} papers")
    else:
        text = f"{what} {first.day}…{last.day}{other}: {len(group)} days" + (
            "" if what == "no papers published" else f", {papers} papers"
        )
    unchanged = sum(1 for s in group if not s.changed)
    if unchanged:
        text += " (unchanged)" if unchanged == len(group) else f" ({unchanged} unchanged)"
    return text


def _cell(text):
    """Text safe inside a Markdown table cell"""
    return " ".join(str(text).split()).replace("|", "\\|")


def email_configured(config):
    """True when the config asks for email to be sent: an SMTP host is set"""
    return bool(config.email.smtp_host)


def run_daily(
    config,
    day=None,
    *,
    out=Path("site"),
    base_url=None,
    search=None,
    listings=None,
    env=None,
    now=None,
    progress=None,
    send_progress=None,
):
    """Fetch, build and send for `day` (default: today in UTC); return a RunReport

    A step's DigestError is recorded in the report and the other steps still run; only a
    wrong [fetch] setting, which stops every step, is raised (ConfigError, exit 6).
    """
    from digest.fetch import fetch, fetch_settings
    from digest.store import Store

    env = os.environ if env is None else env
    progress = progress or (lambda line: None)
    now = now or dt.datetime.now(dt.UTC)
    day = day or now.date()
    report = dict(day=day, site_out=Path(out))
    notes, failures = [], []
    settings = fetch_settings(config.fetch, env)  # a bad [fetch] setting stops the run here (exit 6)

    progress(f"fetching {', '.join(listings or settings.listings)} for {day}")
    try:
        report["fetch"] = fetch(Store(config.data_dir), settings, day, listings=listings, now=now)
        report["fetch"].raise_for_failures()
    except DigestError as e:
        failures.append(Failure("fetch", e))
    fetched = not failures

    # The history is loaded and the day's Digest computed once: the report, the site and the
    # email get the same values.
    progress(f"computing the digest of {day}")
    history = None
    try:
        history = _history(config)
        report["digest"], report["markdown"] = _day_digest(config, day, history)
    except NoDataError as e:
        notes.append(("digest", f"no digest: {e}"))
    except DigestError as e:
        failures.append(Failure("digest", e))
    digests = {day: report["digest"]} if report.get("digest") else None

    site_url = base_url or _configured_site_url(config)
    if site_url and not config.email.base_url:
        # The email's "view in browser" link points at the site this run builds.
        config = dataclasses.replace(config, email=dataclasses.replace(config.email, base_url=site_url.rstrip("/")))
    progress(f"building the site into {out}")
    try:
        report["site"] = _build_site(config, out, base_url, search, history, digests)
    except DigestError as e:
        failures.append(Failure("site", e))

    if not email_configured(config):
        notes.append(("email", "not configured ([email] smtp_host is not set)"))
    elif not fetched:
        notes.append(
            (
                "email",
                f"not sent: the fetch failed; run again for {day} once it works (whoever got it already is skipped)",
            )
        )
    elif report.get("digest") is None:
        notes.append(("email", f"not sent: nothing stored on {day}"))
    elif report.get("site") is None:
        notes.append(("email", "not sent: the site was not built, so its link would be broken"))
    else:
        from digest.publish.outbox import send_digest

        progress(f"sending the email of {day}")
        try:
            report["send"] = send_digest(config, day, env=env, progress=send_progress, digest=report["digest"])
            error = report["send"].delivery_error()
            if error:
                failures.append(Failure("email", error))
        except DigestError as e:
            failures.append(Failure("email", e))
    return RunReport(**report, notes=tuple(notes), failures=tuple(failures))


def _configured_site_url(config):
    """[site] base_url when the operator set one (the default is the local preview's)"""
    site = config.site
    return None if site.base_url == type(site)().base_url else site.base_url


def _history(config):
    """The History of the data folder; a damaged file is left out here as in the site (whose step names it)"""
    from digest.history import load_history
    from digest.store import Store

    return load_history(Store(config.data_dir), skip=())


def _day_digest(config, day, history):
    """The Digest of the run's day and its Markdown (NoDataError when nothing is stored that day)"""
    from digest.pipeline import digest_for
    from digest.render.markdown import render_markdown

    digest = digest_for(config, day, history=history)
    return digest, render_markdown(digest, config)


def _build_site(config, out, base_url, search, history, digests):
    from digest.publish.site import build_site

    return build_site(config, out, base_url=base_url, search=search, history=history, digests=digests)


def append_step_summary(path, report):
    """Append the run report and the day's digest to a GitHub job summary file"""
    with open(path, "a", encoding="utf-8") as f:
        f.write(report.summary_markdown())
