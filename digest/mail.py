"""Email at the edges: the subscriber list, .eml files, SMTP delivery and the sent ledger

Exactly once: every message accepted by the server is recorded in the day's ledger
(`<data>/sent/<date>.jsonl`) before the next one is sent, as a salted hash of the
recipient. A run re-started after a crash, a kill or a refused connection skips every
recipient already recorded and sends the rest.

The crash window: just before a message's DATA goes out, an "attempt" line is recorded
(fsynced). A run killed between that line and the server's answer leaves an attempt without
its "recipient" line; the next run does not resend such a message blindly (the server may
have it) but reports it as unconfirmed, and `digest send --resend-unconfirmed` sends it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import re
import smtplib
import ssl
import subprocess
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from digest.errors import DeliveryError, EmailSetupError, LedgerError, SmtpAuthError, SmtpConnectError, SmtpTlsError
from digest.pipeline import digest_for
from digest.render.email import (
    EmailRenderer,
    Subscriber,
    check_address,
    check_unsubscribe,
    mask_address,
    recipient_token,
)
from digest.store import write_atomic

LEDGER_FORMAT = "digest-sent"
LEDGER_VERSION = 1
MIN_SALT = 16
GENERIC_READER = "reader@example.org"
SUBSCRIBER_KEYS = {"email", "name", "keywords", "authors", "organizations", "min_upvotes", "send_when_empty"}
# Waits before each attempt to reconnect after the server dropped the connection: the first
# is immediate (servers often close after N messages), then back off.
RECONNECT_DELAYS = (0.0, 1.0, 3.0)
_RECORD_KINDS = ("recipient", "attempt", "refused")


# -- subscribers --------------------------------------------------------------------------


def load_subscribers(config, env=None):
    """The subscriber list from [email] subscribers_file or the variable named by subscribers_env

    Returns None when neither is configured.
    """
    env = os.environ if env is None else env
    settings = config.email
    if settings.subscribers_file and settings.subscribers_env:
        raise EmailSetupError("[email]: set subscribers_file or subscribers_env, not both")
    if settings.subscribers_env:
        name = settings.subscribers_env
        text = env.get(name)
        if not text or not text.strip():
            raise EmailSetupError(f"the environment variable {name} (named by [email] subscribers_env) is not set")
        return parse_subscribers(text, f"subscribers from ${name}", settings.send_when_empty)
    if settings.subscribers_file:
        path = Path(settings.subscribers_file).expanduser()
        if not path.is_absolute() and config.source_path is not None:
            path = config.source_path.parent / path
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise EmailSetupError(f"{path}: subscribers file not found ([email] subscribers_file)") from None
        except (OSError, UnicodeDecodeError) as e:
            raise EmailSetupError(f"{path}: cannot read the subscribers file ({e})") from None
        if tracked_by_git(path):
            raise EmailSetupError(
                f"{path}: the subscriber list is tracked by git; keep it out of the repository"
                " (git rm --cached it) and, in CI, pass it through subscribers_env"
            )
        return parse_subscribers(text, str(path), settings.send_when_empty)
    return None


def tracked_by_git(path):
    """True when path is in a git repository's index (so it would be committed and pushed)"""
    try:
        result = subprocess.run(
            ["git", "-C", str(path.parent), "ls-files", "--error-unmatch", "--", path.name],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False  # no git: nothing to commit it with
    return result.returncode == 0


def parse_subscribers(text, where, send_when_empty=False):
    """Subscribers from TOML ([[subscribers]] tables) or JSON ({"subscribers": [...]})

    JSON when the first non-blank character is '{' (a TOML document cannot start so).
    """
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as e:
            raise EmailSetupError(f"{where}: invalid JSON ({e})") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise EmailSetupError(f"{where}: invalid TOML ({e})") from None
    if not isinstance(data, dict) or set(data) - {"subscribers"}:
        raise EmailSetupError(f"{where}: expected only a 'subscribers' list ([[subscribers]] in TOML)")
    raw = data.get("subscribers", [])
    if not isinstance(raw, list):
        raise EmailSetupError(f"{where}: 'subscribers' should be a list")
    subscribers, seen = [], {}
    for position, item in enumerate(raw, start=1):
        sub = _subscriber(item, position, f"{where}: subscriber {position}", send_when_empty)
        key = sub.email.lower()
        if key in seen:
            raise EmailSetupError(f"{where}: subscriber {position} has the same address as subscriber {seen[key]}")
        seen[key] = position
        subscribers.append(sub)
    return tuple(subscribers)


def _subscriber(item, position, where, send_when_empty):
    if not isinstance(item, dict):
        raise EmailSetupError(f"{where}: should be a table with at least 'email'")
    unknown = sorted(set(item) - SUBSCRIBER_KEYS)
    if unknown:
        raise EmailSetupError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(SUBSCRIBER_KEYS))})")
    address = item.get("email")
    if not isinstance(address, str):
        raise EmailSetupError(f"{where}: 'email' is missing")
    check_address(address.strip(), where)

    def strings(key):
        value = item.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise EmailSetupError(f"{where}: {key} should be a list of non-empty strings")
        return tuple(v.strip() for v in value)

    name = item.get("name")
    if name is not None and not isinstance(name, str):
        raise EmailSetupError(f"{where}: name should be a string")
    min_upvotes = item.get("min_upvotes", 0)
    if isinstance(min_upvotes, bool) or not isinstance(min_upvotes, int) or min_upvotes < 0:
        raise EmailSetupError(f"{where}: min_upvotes should be a whole number, 0 or more")
    when_empty = item.get("send_when_empty", send_when_empty)
    if not isinstance(when_empty, bool):
        raise EmailSetupError(f"{where}: send_when_empty should be true or false")
    return Subscriber(
        email=address.strip(),
        name=name,
        keywords=strings("keywords"),
        authors=strings("authors"),
        organizations=strings("organizations"),
        min_upvotes=min_upvotes,
        send_when_empty=when_empty,
        position=position,
    )


# -- writing .eml files -------------------------------------------------------------------


@dataclass(frozen=True)
class WrittenEmail:
    subscriber: Subscriber
    eml: Path | None  # None: skipped, nothing matches and the reader wants no empty digest
    html: Path | None
    subject: str


def salt_from_env(settings, env=None, required=True):
    """The ledger salt from the environment; missing or short is an error when required"""
    env = os.environ if env is None else env
    salt = env.get(settings.salt_env) or None
    if salt is not None and len(salt) < MIN_SALT:
        raise EmailSetupError(
            f"the environment variable {settings.salt_env} is too short to be a secret salt"
            f" (at least {MIN_SALT} characters)"
        )
    if salt is None and required:
        raise EmailSetupError(
            f"the environment variable {settings.salt_env} is not set: it holds the secret salt for the sent"
            f" ledger, and nothing is sent without it (set it to a long random string and keep it; see README)"
        )
    return salt


def write_emails(config, day=None, out=Path("digest-email"), env=None):
    """Render the day's email for each subscriber (or one unfiltered edition) as .eml and .html files"""
    subscribers = load_subscribers(config, env)
    digest = digest_for(config, day)
    renderer = EmailRenderer(digest, config, salt=salt_from_env(config.email, env, required=False))
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


# -- the sent ledger ----------------------------------------------------------------------


def _salt_check(salt):
    return hmac.new(salt.encode("utf-8"), b"digest-sent-ledger", hashlib.sha256).hexdigest()[:16]


class Ledger:
    """`<data>/sent/<date>.jsonl`: a header line, then one line per accepted message

    Lines are appended and fsynced one at a time, so a crash can at worst tear the last line,
    which is then dropped (that message is sent again: the server may have it twice, with the
    same Message-ID). Recipients are stored as HMAC-SHA256 of the address with a secret salt.
    """

    def __init__(self, data_dir, day, salt):
        self.folder = Path(data_dir) / "sent"
        self.path = self.folder / f"{day.isoformat()}.jsonl"
        self.day = day
        self.salt = salt
        self.sent = set()
        self.attempted = set()  # DATA began and no answer was recorded: the server may have it
        self._lock = None

    def token(self, address):
        return recipient_token(address, self.salt)

    def __contains__(self, address):
        return self.token(address) in self.sent

    def unconfirmed(self, address):
        """True when a run stopped after this message's DATA began and before the server's answer"""
        token = self.token(address)
        return token in self.attempted and token not in self.sent

    def read(self):
        """Load what was sent (no lock: for a dry run); a damaged ledger is an error, never ignored"""
        if not self.path.exists():
            return self
        try:
            data = self.path.read_bytes()
        except OSError as e:
            raise LedgerError(f"{self.path}: cannot read the sent ledger ({e.strerror})") from None
        complete = data[: data.rfind(b"\n") + 1]  # a torn last line never completed: ignore it
        lines = complete.splitlines()
        if not lines:
            return self
        try:
            header = json.loads(lines[0])
            records = [json.loads(line) for line in lines[1:]]
        except ValueError as e:
            raise LedgerError(f"{self.path}: damaged sent ledger ({e}); fix or move it before sending") from None
        if (
            not isinstance(header, dict)
            or header.get("format") != LEDGER_FORMAT
            or header.get("version") != LEDGER_VERSION
        ):
            raise LedgerError(f"{self.path}: not a digest sent ledger (format {LEDGER_FORMAT} v{LEDGER_VERSION})")
        if header.get("salt_check") != _salt_check(self.salt):
            raise LedgerError(
                f"{self.path}: written with another salt; with this one every recipient would"
                " look unsent. Restore the salt the ledger was written with"
            )
        for index, record in enumerate(records, start=2):
            kind = next((k for k in _RECORD_KINDS if isinstance(record, dict) and k in record), None)
            token = record.get(kind) if kind else None
            if not isinstance(token, str) or not re.fullmatch(r"[0-9a-f]{64}", token):
                raise LedgerError(f"{self.path}: line {index} is not a sent record")
            if kind == "recipient":
                self.sent.add(token)
            elif kind == "attempt":
                self.attempted.add(token)
            else:  # the server refused it: it was not delivered
                self.attempted.discard(token)
        return self

    def open(self):
        """Lock the ledger folder against a second run, read it, and make it ready to append"""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LedgerError(f"{self.folder}: another 'digest send' is running (the sent ledger is locked)") from None
        self._lock = fd
        try:
            self.read()
            if self.path.exists():
                data = self.path.read_bytes()
                if data and not data.endswith(b"\n"):
                    os.truncate(self.path, data.rfind(b"\n") + 1)
        except BaseException:
            self.close()
            raise
        return self

    def record(self, address, when):
        """Append one accepted message and fsync it before anything else is sent"""
        self._append(
            "recipient",
            address,
            when,
            "cannot record a sent message",
            f"{mask_address(address)} got it and may get it again",
        )
        self.sent.add(self.token(address))

    def attempt(self, address, when):
        """Record (fsynced) that this message's DATA is about to go out"""
        self._append(
            "attempt", address, when, "cannot record a sending attempt", f"nothing was sent to {mask_address(address)}"
        )
        self.attempted.add(self.token(address))

    def refused(self, address, when):
        """Record that the server refused the message it was attempting: not delivered"""
        self._append(
            "refused",
            address,
            when,
            "cannot record a refused message",
            f"{mask_address(address)} will show as unconfirmed",
        )
        self.attempted.discard(self.token(address))

    def _append(self, kind, address, when, failure, consequence):
        token = self.token(address)
        lines = []
        if not self.path.exists() or self.path.stat().st_size == 0:
            header = {
                "date": self.day.isoformat(),
                "format": LEDGER_FORMAT,
                "salt_check": _salt_check(self.salt),
                "version": LEDGER_VERSION,
            }
            lines.append(json.dumps(header, sort_keys=True))
        at = "sent_at" if kind == "recipient" else "at"
        lines.append(json.dumps({kind: token, at: when.strftime("%Y-%m-%dT%H:%M:%SZ")}, sort_keys=True))
        try:
            with open(self.path, "ab") as f:
                f.write(("\n".join(lines) + "\n").encode("ascii"))
                f.flush()
                os.fsync(f.fileno())
            if len(lines) == 2:
                _fsync_dir(self.folder)
        except OSError as e:
            raise LedgerError(
                f"{self.path}: {failure} ({e.strerror}); stopped so that nothing goes out unrecorded ({consequence})"
            ) from None

    def close(self):
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


def _fsync_dir(folder):
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- SMTP -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to connect; the password comes from the environment and is never shown"""

    host: str
    port: int
    security: str
    username: str | None = field(repr=False)  # a secret too: never in a message (README lists it)
    password: str | None = field(repr=False)
    ca_file: str | None
    timeout: float

    @property
    def where(self):
        return f"{self.host}:{self.port}"

    def hide(self, text):
        """A server's reply with the username and password taken out, should the server echo them"""
        for secret in (self.username, self.password):
            if secret:
                text = text.replace(secret, "…")
        return text

    @classmethod
    def from_settings(cls, settings, env):
        if not settings.smtp_host:
            raise EmailSetupError("[email] smtp_host is not set: where should the email go?")
        if settings.smtp_security not in ("starttls", "tls"):
            raise EmailSetupError(
                f"[email] smtp_security: {settings.smtp_security!r} should be 'starttls' (port 587)"
                " or 'tls' (implicit TLS, port 465)"
            )
        if not 0 < settings.smtp_port < 65536:
            raise EmailSetupError(f"[email] smtp_port: {settings.smtp_port} is not a port number")
        username = env.get(settings.smtp_username_env) or None
        password = env.get(settings.smtp_password_env) or None
        if username and not password:
            raise EmailSetupError(
                f"the environment variable {settings.smtp_password_env} is not set"
                f" (the password for {settings.smtp_username_env})"
            )
        if settings.smtp_ca_file and not Path(settings.smtp_ca_file).is_file():
            raise EmailSetupError(f"[email] smtp_ca_file: {settings.smtp_ca_file} not found")
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_security,
            username,
            password,
            settings.smtp_ca_file,
            settings.smtp_timeout or None,
        )


def _reply(error):
    """An SMTP reply as one line: '535 5.7.8 Authentication failed'"""
    code = getattr(error, "smtp_code", None)
    text = getattr(error, "smtp_error", b"")
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    text = " ".join(text.split())
    return f"{code} {text}".strip() if code else (text or type(error).__name__)


def _reason(error):
    return " ".join(str(getattr(error, "strerror", None) or error or type(error).__name__).split())


def connect(target):
    """An SMTP connection over TLS (implicit or STARTTLS), logged in when credentials are set"""
    context = ssl.create_default_context(cafile=target.ca_file)
    smtp = None
    try:
        if target.security == "tls":
            smtp = smtplib.SMTP_SSL(target.host, target.port, timeout=target.timeout, context=context)
            smtp.ehlo()
        else:
            smtp = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise SmtpTlsError(
                    f"{target.where} does not offer STARTTLS; refusing to send without TLS"
                    ' (use smtp_security = "tls" for port 465)'
                )
            smtp.starttls(context=context)
            smtp.ehlo()
        if target.username:
            if not smtp.has_extn("auth"):
                raise SmtpAuthError(f"{target.where} offers no login (AUTH) but credentials are set")
            smtp.login(target.username, target.password)
        return smtp
    except (SmtpTlsError, SmtpAuthError):
        _close(smtp)
        raise
    except smtplib.SMTPAuthenticationError as e:
        _close(smtp)
        raise SmtpAuthError(
            f"{target.where} refused the login ({target.hide(_reply(e))}); check the username and password secrets"
        ) from None
    except ssl.SSLCertVerificationError as e:
        _close(smtp)
        raise SmtpTlsError(
            f"{target.where}: TLS certificate not trusted ({e.verify_message};"
            " set [email] smtp_ca_file for a private CA)"
        ) from None
    except ssl.SSLError as e:
        _close(smtp)
        raise SmtpTlsError(
            f"{target.where}: TLS failed ({e.reason or e}); is smtp_security right for this port?"
        ) from None
    except smtplib.SMTPResponseException as e:
        _close(smtp)
        raise SmtpConnectError(f"{target.where} refused the connection ({target.hide(_reply(e))})") from None
    except (OSError, smtplib.SMTPException) as e:
        _close(smtp)
        raise SmtpConnectError(f"cannot connect to {target.where}: {target.hide(_reason(e))}") from None


def _close(smtp):
    if smtp is None:
        return
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


class Dropped(Exception):
    """The connection went away before the message went out: reconnect and try it again"""


class Unconfirmed(Exception):
    """The connection went away after the message went out and before the server answered"""


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
    """
    env = os.environ if env is None else env
    progress = progress or (lambda line: None)
    settings = config.email
    if not settings.from_address:
        raise EmailSetupError("[email] from_address is not set: who is the email from?")
    if not (settings.unsubscribe_mailto or settings.unsubscribe_url):
        raise EmailSetupError(
            "[email] set unsubscribe_mailto or unsubscribe_url: every email must say how to"
            " unsubscribe (List-Unsubscribe)"
        )
    check_unsubscribe(settings)
    subscribers = load_subscribers(config, env)
    if subscribers is None:
        raise EmailSetupError("[email] set subscribers_file or subscribers_env: there is no one to send to")
    salt = salt_from_env(settings, env)
    target = None if dry_run else SmtpTarget.from_settings(settings, env)
    digest = digest or digest_for(config, day)  # the daily run passes the Digest it computed
    sent_at = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    renderer = EmailRenderer(digest, config, salt=salt, sent_at=None if dry_run else sent_at)
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


class Sender:
    """One SMTP connection reused for every message, paced by the rate limit, re-made when dropped"""

    def __init__(self, target, rate_limit, sleep, clock):
        self.target = target
        self.interval = 1.0 / rate_limit if rate_limit else 0.0
        self.sleep = sleep
        self.clock = clock
        self.smtp = None
        self.last = None

    def send(self, sender, recipient, data, before_data=lambda: None):
        """Send one message; return None when accepted, else the server's reason for refusing it

        `before_data` runs just before the message itself goes out. A connection lost after
        that, with no answer, raises Unconfirmed: the message is not tried again.
        """
        reason = None
        for delay in (None, *RECONNECT_DELAYS):
            if delay is not None:  # the connection dropped: wait, then connect again
                self.sleep(delay)
            if self.smtp is None:
                try:
                    self.smtp = connect(self.target)
                except SmtpConnectError as e:
                    if delay is None:
                        raise
                    reason = e
                    continue
            self._pace()
            try:
                return self._send_once(sender, recipient, data, before_data)
            except Dropped as e:
                reason = e
                self._drop()
        raise SmtpConnectError(f"lost the connection to {self.target.where} and could not get it back ({reason})")

    def _pace(self):
        if self.interval and self.last is not None:
            wait = self.last + self.interval - self.clock()
            if wait > 0:
                self.sleep(wait)
        self.last = self.clock()

    def _send_once(self, sender, recipient, data, before_data):
        try:
            self._envelope(sender, recipient, len(data))
            before_data()
            try:
                code, reply = self.smtp.data(data)
            except (smtplib.SMTPServerDisconnected, OSError) as e:
                # The message may have reached the server whole: resending could deliver it twice.
                raise Unconfirmed(_reason(e) or "server disconnected") from None
            if code != 250:
                if code != 421:
                    self.smtp.rset()
                raise smtplib.SMTPDataError(code, reply)
            return None
        except smtplib.SMTPRecipientsRefused as e:
            code, text = next(iter(e.recipients.values()))
            if code == 421:
                raise Dropped(f"{code} {_text(text)}") from None
            return f"refused by the server ({code} {_text(text)})"
        except smtplib.SMTPSenderRefused as e:
            if e.smtp_code == 421:
                raise Dropped(_reply(e)) from None
            raise SmtpAuthError(f"{self.target.where} refused the sender {e.sender!r} ({_reply(e)})") from None
        except smtplib.SMTPDataError as e:
            if e.smtp_code == 421:
                raise Dropped(_reply(e)) from None
            return f"message refused by the server ({_reply(e)})"
        except smtplib.SMTPServerDisconnected as e:
            raise Dropped(_reason(e) or "server disconnected") from None
        except smtplib.SMTPResponseException as e:
            if e.smtp_code == 421:
                raise Dropped(_reply(e)) from None
            return f"refused by the server ({_reply(e)})"
        except OSError as e:
            raise Dropped(_reason(e)) from None

    def _envelope(self, sender, recipient, size):
        """MAIL FROM and RCPT TO, as smtplib.sendmail sends them; refusals raise its exceptions"""
        self.smtp.ehlo_or_helo_if_needed()
        options = [f"size={size}"] if self.smtp.does_esmtp and self.smtp.has_extn("size") else []
        code, reply = self.smtp.mail(sender, options)
        if code != 250:
            if code != 421:
                self.smtp.rset()
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        code, reply = self.smtp.rcpt(recipient)
        if code not in (250, 251):
            if code != 421:
                self.smtp.rset()
            raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})

    def _drop(self):
        try:
            self.smtp.close()
        except OSError:
            pass
        self.smtp = None

    def close(self):
        if self.smtp is not None:
            _close(self.smtp)
            self.smtp = None


def _text(value):
    value = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(value.split())
