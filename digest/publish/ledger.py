"""The sent ledger: who got the day's email, recorded before the next message goes out

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

import fcntl
import hashlib
import hmac
import json
import os
import re
from pathlib import Path

from digest.errors import EmailSetupError, LedgerError
from digest.render.mime import recipient_token
from digest.text import mask_address

LEDGER_FORMAT = "digest-sent"
LEDGER_VERSION = 1
MIN_SALT = 16
_RECORD_KINDS = ("recipient", "attempt", "refused")


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
