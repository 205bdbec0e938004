"""The day's email out: .eml files to a folder (`digest email`), or to every subscriber over SMTP

Exactly once: every message the server accepts is recorded in the sent ledger
(publish/ledger.py) before the next one is sent, so a re-run sends only the rest.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from digest.errors import DeliveryError, SmtpAuthError, SmtpConnectError, SmtpTlsError
from digest.pipeline import digest_for
from digest.publish.ledger import Ledger, salt_from_env
from digest.publish.smtp import Sender, SmtpTarget, Unconfirmed
from digest.publish.subscribers import load_subscribers
from digest.render.email import EmailRenderer
from digest.render.selection import Subscriber
from digest.store import write_atomic
from digest.text import mask_address

GENERIC_READER = "reader@example.org"


# -- writing .eml files -------------------------------------------------------------------


@dataclass(frozen=True)
class WrittenEmail:
    subscriber: Subscriber
    eml: Path | None  # None: skipped, nothing matches and the reader wants no empty digest
    html: Path | None
    subject: str


def write_emails(config, day=None, out=Path("digest-email"), env=None, *, digest=None):
    """Render the day's email for each subscriber (or one unfiltered edition) as .eml and .html files

    `digest` is the day's Digest when the caller computed it already; else it is computed here.
    """
    subscribers = load_subscribers(config.email, env)
    digest = digest_for(config, day) if digest is None else digest
    renderer = EmailRenderer.of(digest, config, salt=salt_from_env(config.email, env, required=False))
    folder = Path(out) / digest.date.isoformat()
    if subscribers is None:
        subscribers, names = (Subscriber(GENERIC_READER, send_when_empty=True),), ["all"]
    else:
        names = [f"{s.position:03d}" for s in subscribers]
    written = []
    for name, sub in zip(names, subscribers):
        selection = renderer.select(sub)
        if selection.empty and not sub.send_when_empty:
            written.append(WrittenEmail(sub, None, None, renderer.subject(selection)))
            continue
        message = renderer.render(sub, selection)
        eml, html = folder / f"{name}.eml", folder / f"{name}.html"
        write_atomic(eml, message.data)
        write_atomic(html, message.html)
        written.append(WrittenEmail(sub, eml, html, message.subject))
    _remove_stale(folder, {p for w in written for p in (w.eml, w.html) if p})
    return digest.date, tuple(written)


_OUR_FILE = re.compile(r"^(?:\d{3,}|all)\.(?:eml|html)$")


def _remove_stale(folder, keep):
    """Remove the files an earlier run wrote for subscribers who are gone (only our own names)"""
    if folder.is_dir():
        for path in folder.iterdir():
            if _OUR_FILE.match(path.name) and path not in keep:
                path.unlink()


# -- sending --------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What happened to one subscriber in a run"""

    subscriber: Subscriber
    status: str  # sent | already-sent | skipped | failed | unconfirmed | would-send | not-sent
    detail: str = ""
    subject: str = ""
    size: int = 0

    @property
    def who(self):
        return f"#{self.subscriber.position} {mask_address(self.subscriber.email)}"


@dataclass
class SendReport:
    date: dt.date
    dry_run: bool
    outcomes: list = field(default_factory=list)

    def count(self, status):
        return sum(1 for o in self.outcomes if o.status == status)

    def summary(self):
        parts = [
            f"{self.count(s)} {label}"
            for s, label in (
                ("would-send", "to send"),
                ("sent", "sent"),
                ("already-sent", "already sent"),
                ("skipped", "skipped (nothing matches)"),
                ("failed", "failed"),
                ("unconfirmed", "unconfirmed (not sent again)"),
            )
            if self.count(s)
        ]
        return f"{self.date}: " + (", ".join(parts) or "no subscribers")

    def delivery_error(self, hint=""):
        """The DeliveryError a run with refused recipients exits with, or None"""
        failed, unconfirmed = self.count("failed"), self.count("unconfirmed")
        if not failed and not unconfirmed:
            return None
        tried = failed + unconfirmed + self.count("sent")
        if not failed:
            return DeliveryError(
                f"{unconfirmed} of {tried} messages unconfirmed{hint}: a run stopped while sending "
                "them, so the server may have them; not sent again (--resend-unconfirmed sends them)"
            )
        return DeliveryError(f"{failed} of {tried} messages failed{hint}; the others were sent")


def send_digest(
    config,
    day=None,
    *,
    dry_run=False,
    env=None,
    progress=None,
    now=None,
    sleep=time.sleep,
    clock=time.monotonic,
    resend_unconfirmed=False,
    digest=None,
):
    """Send the day's email to every subscriber not in the ledger yet; return a SendReport

    Recipients the server refuses are reported and the others still go out. A connection
    that cannot be made (or re-made after a drop) raises, after recording what was sent.
    `digest` is the day's Digest when the caller computed it already; else it is computed here.
    """
    env = os.environ if env is None else env
    progress = progress or (lambda line: None)
    settings = config.email
    settings.check_sendable(deliver=not dry_run)
    subscribers = load_subscribers(settings, env)
    salt = salt_from_env(settings, env)
    target = None if dry_run else SmtpTarget.from_settings(settings, env)
    digest = digest_for(config, day) if digest is None else digest
    sent_at = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    renderer = EmailRenderer.of(digest, config, salt=salt, sent_at=None if dry_run else sent_at)
    ledger = Ledger(config.data_dir, digest.date, salt)
    report = SendReport(digest.date, dry_run)
    if dry_run:
        ledger.read()
    else:
        ledger.open()
    try:
        sender = None if dry_run else Sender(target, settings.rate_limit, sleep, clock)
        try:
            for sub in subscribers:
                outcome = _deliver(sub, renderer, ledger, sender, sent_at, resend_unconfirmed)
                report.outcomes.append(outcome)
                progress(_line(outcome))
        except (SmtpConnectError, SmtpTlsError, SmtpAuthError) as e:
            done = report.count("sent")
            if done:
                raise type(e)(f"{e}; {done} sent before that are recorded: run again to send the rest") from None
            raise
        finally:
            if sender:
                sender.close()
    finally:
        ledger.close()
    return report


def _deliver(sub, renderer, ledger, sender, sent_at, resend_unconfirmed=False):
    selection = renderer.select(sub)
    if selection.empty and not sub.send_when_empty:
        return Outcome(sub, "skipped", "nothing matches the filters", renderer.subject(selection))
    if sub.email in ledger:
        return Outcome(sub, "already-sent", subject=renderer.subject(selection))
    if ledger.unconfirmed(sub.email) and not resend_unconfirmed:
        return Outcome(
            sub,
            "unconfirmed",
            "an earlier run stopped while sending it; the server may have it",
            renderer.subject(selection),
        )
    message = renderer.render(sub, selection)
    if sender is None:
        return Outcome(sub, "would-send", subject=message.subject, size=len(message.data))
    now = lambda: dt.datetime.now(dt.UTC)  # noqa: E731
    try:
        error = sender.send(
            renderer.from_address, sub.email, message.data, before_data=lambda: ledger.attempt(sub.email, now())
        )
    except Unconfirmed as e:
        return Outcome(
            sub,
            "unconfirmed",
            f"the connection was lost before the server answered ({e}); it may have it",
            message.subject,
            len(message.data),
        )
    if error:
        if ledger.unconfirmed(sub.email):
            ledger.refused(sub.email, now())
        return Outcome(sub, "failed", error, message.subject, len(message.data))
    ledger.record(sub.email, dt.datetime.now(dt.UTC))
    return Outcome(sub, "sent", subject=message.subject, size=len(message.data))


def _line(o):
    label = {
        "sent": "sent",
        "already-sent": "already sent",
        "skipped": "skipped",
        "failed": "FAILED",
        "unconfirmed": "UNCONFIRMED",
        "would-send": "would send",
    }[o.status]
    line = f"{label:<12} {o.who}"
    if o.subject:
        line += f"  {o.subject}"
    if o.size:
        line += f" ({o.size / 1024:.0f} KB)"
    if o.detail:
        line += f": {o.detail}"
    return line
