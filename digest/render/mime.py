"""MIME bytes of the newsletter: slots, quoted-printable pieces encoded once, headers folded once

A day's messages differ in a few values only, so everything else is encoded once: text with
slots (markers filled per message by joining strings), quoted-printable pieces joined as
bytes, and the headers every reader's message shares. The output is the bytes email's SMTP
policy would give, much faster.
"""

from __future__ import annotations

import binascii
import datetime as dt
import functools
import hashlib
import hmac
import re
import secrets
from email import policy as email_policy
from email.headerregistry import Address
from email.utils import format_datetime
from urllib.parse import quote

from markupsafe import Markup

from digest.archive import slugify
from digest.text import clean_text


def recipient_token(address, salt, day=None):
    """A salted hash of an address (and a day): the ledger's key and the Message-ID's local part"""
    message = address.strip().lower() if day is None else f"{day.isoformat()}\n{address.strip().lower()}"
    return hmac.new(salt.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def domain_of(address):
    return address.rpartition("@")[2].lower()


def quoted_printable(text):
    """UTF-8 text as quoted-printable with CRLF line ends (binascii: C speed)"""
    return binascii.b2a_qp(text.replace("\r", "").encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


class Slots:
    """Markers for the values of a prepared page that differ per message"""

    def __init__(self):
        # Random per process so that no paper title or config value can forge a marker; the
        # markers never reach the output, so the output stays deterministic.
        self.nonce = secrets.token_hex(8)
        self.pattern = re.compile(rf"@@{self.nonce}:(\w+)@@")

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return Markup(f"@@{self.nonce}:{name}@@")


class Prepared:
    """A rendered (and CSS-inlined) text with slots, filled per message by joining strings

    Filled pieces are also kept quoted-printable encoded: QP works line by line, so pieces
    that start and end on a line boundary can be encoded once and joined as bytes.
    """

    def __init__(self, text, slots, whole_lines=False):
        if whole_lines and not text.endswith("\n"):
            text += "\n"
        pieces = slots.pattern.split(text)
        self.static = pieces[0::2]
        self.names = pieces[1::2]
        self.size = sum(len(s.encode("utf-8")) for s in self.static)
        self._encoded = {}
        for name, before in zip(self.names, self.static):
            if name == "body" and not before.endswith("\n"):
                raise ValueError("a body slot must start a line (quoted-printable pieces are whole lines)")

    def fill(self, values=None):
        if not self.names:
            return self.static[0]
        out = [self.static[0]]
        for name, static in zip(self.names, self.static[1:]):
            out.append(values[name])
            out.append(static)
        return "".join(out)

    def piece(self, values=None):
        """(text, quoted-printable bytes) of the filled piece, cached per distinct values"""
        key = tuple(values.items()) if values else ()
        found = self._encoded.get(key)
        if found is None:
            text = self.fill(values)
            found = self._encoded[key] = (text, quoted_printable(text))
        return found

    def assemble(self, values, body):
        """Fill the slots and put the body pieces in the body slot: (text, quoted-printable bytes)"""
        texts, encoded, segment = [], [], [self.static[0]]
        for name, static in zip(self.names, self.static[1:]):
            if name == "body":
                text = "".join(segment)
                texts.append(text)
                encoded.append(quoted_printable(text))
                for piece_text, piece_encoded in body:
                    texts.append(piece_text)
                    encoded.append(piece_encoded)
                segment = [static]
            else:
                segment += (values[name], static)
        text = "".join(segment)
        texts.append(text)
        encoded.append(quoted_printable(text))
        return "".join(texts), b"".join(encoded)


class Envelope:
    """The headers and MIME structure of one day's messages, the same for every reader but To

    Takes the values it shows (checked when the settings were loaded); the headers that
    every message shares are folded once.
    """

    def __init__(
        self,
        day,
        title,
        from_address,
        *,
        from_name=None,
        list_id=None,
        unsubscribe_mailto=None,
        unsubscribe_url=None,
        unsubscribe_one_click=False,
        salt=None,
        sent_at=None,
    ):
        self.day = day
        self.title = title
        self.from_address = from_address
        self.domain = domain_of(from_address)
        self.salt = salt
        self.unsubscribe_mailto = unsubscribe_mailto
        self.unsubscribe_url = unsubscribe_url
        self.unsubscribe_one_click = unsubscribe_one_click
        self._personal_unsubscribe = bool(unsubscribe_url and "{email}" in unsubscribe_url)
        when = sent_at or dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.UTC)
        from_name = clean_text(from_name) or title
        # RFC 2919: the List-Id's label is a dot-atom, so the title is folded to ASCII.
        list_id = list_id or f"{slugify(title) or 'digest'}.{self.domain}"
        unsubscribe = b"" if self._personal_unsubscribe else _headers(self._unsubscribe_headers(None))
        self._h_from = _header("From", str(Address(display_name=from_name, addr_spec=from_address)))
        self._h_date = _header("Date", format_datetime(when))
        self._h_list = _header("List-Id", f"{_quoted(title)} <{clean_text(list_id)}>") + unsubscribe
        self._h_mime = _header("MIME-Version", "1.0")

    def unsubscribe_link(self, address):
        """Where the footer's unsubscribe link points: the https URL when configured, else mailto"""
        if self.unsubscribe_url:
            return self.unsubscribe_url.replace("{email}", quote(address, safe=""))
        if self.unsubscribe_mailto:
            return f"mailto:{self.unsubscribe_mailto}?subject=unsubscribe"
        return None

    def _unsubscribe_headers(self, address):
        targets = []
        if self.unsubscribe_mailto:
            targets.append(f"<mailto:{self.unsubscribe_mailto}?subject=unsubscribe>")
        if self.unsubscribe_url:
            targets.append(f"<{self.unsubscribe_url.replace('{email}', quote(address or '', safe=''))}>")
        if targets:
            yield "List-Unsubscribe", ", ".join(targets)
        if self.unsubscribe_one_click:
            yield "List-Unsubscribe-Post", "List-Unsubscribe=One-Click"

    def message_id(self, address):
        token = recipient_token(address, self.salt or "", self.day)[:32]
        return f"<{self.day:%Y%m%d}.{token}@{self.domain}>", token

    def message(self, sub, subject, html_qp, text_qp):
        """One reader's message as bytes: headers, then the text and HTML parts (quoted-printable)"""
        message_id, token = self.message_id(sub.email)
        boundary = f"=_digest_{token}"  # "=_" never occurs in quoted-printable text
        unsubscribe = _headers(self._unsubscribe_headers(sub.email)) if self._personal_unsubscribe else b""
        return b"".join(
            (
                self._h_from,
                _header("To", _to(sub)),
                _header("Subject", clean_text(subject)),
                self._h_date,
                _header("Message-ID", message_id),
                self._h_list,
                unsubscribe,
                self._h_mime,
                f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n'.encode("ascii"),
                _part(boundary, "plain", text_qp),
                _part(boundary, "html", html_qp),
                f"--{boundary}--\r\n".encode("ascii"),
            )
        )


_SIMPLE_NAME = re.compile(r"[A-Za-z0-9]+(?: [A-Za-z0-9]+)*")


def _to(sub):
    """The To value; a name with anything but letters, digits and spaces is quoted by email's Address"""
    name = clean_text(sub.name)
    if not name:
        return sub.email
    if _SIMPLE_NAME.fullmatch(name):
        return f"{name} <{sub.email}>"
    return str(Address(display_name=name, addr_spec=sub.email))


def _headers(pairs):
    return b"".join(_header(name, value) for name, value in pairs)


def _part(boundary, subtype, encoded):
    head = (
        f'--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    return head.encode("ascii") + encoded + b"\r\n"


# A header value that needs no encoding or folding: printable ASCII words, one line.
_PLAIN_HEADER = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")


def _header(name, value):
    """One header, folded and encoded as RFC 5322 and 2047 want it (email's SMTP policy)"""
    if len(name) + 2 + len(value) <= 78 and "=?" not in value and _PLAIN_HEADER.fullmatch(value):
        return f"{name}: {value}\r\n".encode("ascii")
    return _folded_header(name, value)


@functools.lru_cache(maxsize=4096)
def _folded_header(name, value):
    # header_store_parse refuses a value with a line break: no header injection gets through.
    _, header = email_policy.SMTP.header_store_parse(name, value)
    return header.fold(policy=email_policy.SMTP).encode("ascii")


def _quoted(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
