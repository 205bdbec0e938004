"""The newsletter email: each subscriber's selection, an HTML part with inlined CSS, a text part, MIME bytes

Rendering is per subscriber, so it is built for speed in two phases. Once per digest, every
piece that does not depend on the reader is rendered and has its CSS inlined by css-inline:
the page around the papers, and one fragment per paper card, top-list row and note. Then
each message only picks its fragments and joins strings. The few per-reader values (counts,
preheader, unsubscribe link) are slots: markers left in the inlined HTML and filled by
joining, so css-inline runs once per fragment, never once per message.
"""

from __future__ import annotations

import binascii
import datetime as dt
import functools
import hashlib
import hmac
import re
import secrets
import textwrap
from dataclasses import dataclass, field
from email import policy as email_policy
from email.headerregistry import Address
from email.utils import format_datetime
from urllib.parse import quote

import css_inline
from markupsafe import Markup, escape

from digest.errors import EmailSetupError
from digest.render import make_env, templates_dir
from digest.render.text import byline, entry_links, listing_labels, long_date, plural, short_date, short_summary
from digest.text import clean_text, safe_url, title_key

# Gmail clips a message whose HTML is over about 102 KB and hides the rest (footer and
# unsubscribe link included); stay clear of it with room to spare.
HTML_BUDGET = 100_000
# Room for the per-message values and the section titles and notes when estimating a size.
_SLOT_ALLOWANCE = 8_000
PLACEHOLDER_FROM = "digest@example.org"
# A zero-width filler after the preheader, so inboxes do not pad the preview with body text.
PREHEADER_FILLER = "\u034f\u200c\u00a0" * 40
SECTION_NAMES = {"new": "New papers", "trending": "Trending", "top": "Top papers by upvotes"}


@dataclass(frozen=True)
class Subscriber:
    """One reader and what they want; with no interests at all, every paper matches

    keywords, authors and organizations are interests: a paper matches when it matches any
    of them (or when none is given), and has at least min_upvotes.
    """

    email: str
    name: str | None = None
    keywords: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    min_upvotes: int = 0
    send_when_empty: bool | None = None  # None: [email] send_when_empty
    position: int = 1  # 1-based place in the subscriber list (for file names and reports)

    @property
    def filtered(self):
        return bool(self.keywords or self.authors or self.organizations or self.min_upvotes)

    def describe(self):
        """The reader's filters in words, for the footer ('why you get this')"""
        parts = []
        if self.keywords:
            parts.append("about " + ", ".join(self.keywords))
        if self.authors:
            parts.append("by " + ", ".join(self.authors))
        if self.organizations:
            parts.append("from " + ", ".join(self.organizations))
        text = " or ".join(parts)
        if self.min_upvotes:
            text = (text + " " if text else "") + f"with at least {plural(self.min_upvotes, 'upvote')}"
        return text


def mask_address(address):
    """'a…@example.org': enough to recognise a subscriber in a log, not to harvest the address"""
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"


def recipient_token(address, salt, day=None):
    """A salted hash of an address (and a day): the ledger's key and the Message-ID's local part"""
    message = address.strip().lower() if day is None else f"{day.isoformat()}\n{address.strip().lower()}"
    return hmac.new(salt.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def domain_of(address):
    return address.rpartition("@")[2].lower()


def slug(text):
    return title_key(text).replace(" ", "-") or "digest"


# -- selecting each reader's papers ------------------------------------------------------


def _words(text):
    """Text as ' word word … ' (case-folded, punctuation as spaces) for word-aligned matching"""
    return " " + title_key(text or "") + " "


@dataclass(frozen=True)
class Selection:
    """What one reader's email shows: per section the papers shown, and how many were left out"""

    subscriber: Subscriber
    new: tuple
    trending: tuple
    top: tuple
    matched_new: int
    matched_trending: int
    hidden_new: int = 0
    hidden_trending: int = 0

    @property
    def empty(self):
        return not (self.matched_new or self.matched_trending or self.top)


class Selector:
    """Filters a digest's papers for many subscribers; each term is matched against each paper once"""

    def __init__(self, digest):
        self.digest = digest
        items = {}
        for item in (*digest.new, *(t.item for t in digest.trending), *digest.top):
            items.setdefault(item.key, item)
        self.items = items
        self._text = {
            k: _words(" ".join((i.entry.title, i.entry.abstract or "", " ".join(i.entry.keywords))))
            for k, i in items.items()
        }
        self._authors = {k: [_words(a) for a in i.entry.authors] for k, i in items.items()}
        self._orgs = {k: _words(i.entry.organization) for k, i in items.items()}

    # One matcher per day's render, dropped with it: caching on the method cannot leak past it.
    @functools.cache  # noqa: B019
    def _keyword(self, term):
        # A keyword matches at the start of a word: "robot" finds "robotics", "LLM" finds "LLMs".
        needle = " " + title_key(term)
        return frozenset(k for k, text in self._text.items() if needle.strip() and needle in text)

    @functools.cache  # noqa: B019
    def _author(self, term):
        needle = _words(term)
        return frozenset(k for k, names in self._authors.items() if needle.strip() and any(needle in n for n in names))

    @functools.cache  # noqa: B019
    def _organization(self, term):
        needle = _words(term)
        return frozenset(k for k, org in self._orgs.items() if needle.strip() and needle in org)

    def matching(self, sub):
        """Keys of the papers this subscriber wants"""
        if sub.keywords or sub.authors or sub.organizations:
            keys = set()
            for term in sub.keywords:
                keys |= self._keyword(term)
            for term in sub.authors:
                keys |= self._author(term)
            for term in sub.organizations:
                keys |= self._organization(term)
        else:
            keys = set(self.items)
        if sub.min_upvotes:
            keys = {k for k in keys if (self.items[k].entry.upvotes or 0) >= sub.min_upvotes}
        return keys

    def select(self, sub, max_papers):
        """The papers of one reader's email: matching ones, at most max_papers cards in all"""
        keys = self.matching(sub)
        new = tuple(i for i in self.digest.new if i.key in keys)
        trending = tuple(t for t in self.digest.trending if t.item.key in keys)
        top = tuple(i for i in self.digest.top if i.key in keys)
        # Trending keeps a fair share of the cards on a day with many new papers.
        shown_trending = min(len(trending), max(max_papers - len(new), max_papers // 3))
        shown_new = min(len(new), max_papers - shown_trending)
        return Selection(
            sub,
            new[:shown_new],
            trending[:shown_trending],
            top,
            len(new),
            len(trending),
            len(new) - shown_new,
            len(trending) - shown_trending,
        )


# -- rendering ----------------------------------------------------------------------------


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


def _wrap(text):
    return text if len(text) <= 72 else textwrap.fill(text, 72, break_on_hyphens=False)


def quoted_printable(text):
    """UTF-8 text as quoted-printable with CRLF line ends (binascii: C speed)"""
    return binascii.b2a_qp(text.replace("\r", "").encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


@dataclass(frozen=True)
class PaperCard:
    """What a paper card shows, cleaned for any output (control characters gone)"""

    title: str
    url: str | None
    byline: str
    summary: str
    reasons: str
    links: tuple
    late: str = ""  # Item.late_label: a paper announced after its list's day

    @classmethod
    def of(cls, item, settings, reasons=()):
        e = item.entry
        links = tuple(entry_links(e))
        parts = byline(e, settings.max_authors)
        return cls(
            title=clean_text(e.title) or "(untitled)",
            url=links[0][1] if links else None,
            byline=" · ".join(clean_text(p) for p in parts if clean_text(p)),
            summary=clean_text(short_summary(e, settings.summary_sentences)) or "",
            reasons=" · ".join(clean_text(r) for r in reasons if clean_text(r)),
            links=links,
            late=item.late_label or "",
        )


@dataclass(frozen=True)
class EmailPage:
    """The one context object of the email templates: the values shared by every reader"""

    title: str
    date: dt.date
    day_url: str | None
    papers_seen: int
    listings: str
    unsubscribe: bool
    slot: Slots
    preheader_filler: str = PREHEADER_FILLER

    @property
    def long_date(self):
        return long_date(self.date)

    @property
    def short_date(self):
        return short_date(self.date)


@dataclass(frozen=True)
class RenderedEmail:
    """One reader's message: its parts and its bytes"""

    selection: Selection
    subject: str
    html: str
    text: str
    data: bytes = field(repr=False)


class EmailRenderer:
    """Renders one day's digest for any number of subscribers"""

    def __init__(self, digest, config, *, salt=None, sent_at=None):
        self.digest = digest
        self.config = config
        self.settings = config.email
        self.salt = salt
        self.title = clean_text(config.title) or "Daily Papers digest"
        self.from_address = self.settings.from_address or PLACEHOLDER_FROM
        check_address(self.from_address, "[email] from_address")
        self.domain = domain_of(self.from_address)
        self.selector = Selector(digest)
        self.slots = Slots()
        self.day_url = day_url(self.settings, digest.date)
        self.unsubscribe_url = self.settings.unsubscribe_url
        self.unsubscribe_mailto = self.settings.unsubscribe_mailto
        check_unsubscribe(self.settings)
        self._personal_unsubscribe = bool(self.unsubscribe_url and "{email}" in self.unsubscribe_url)
        page = EmailPage(
            title=self.title,
            date=digest.date,
            day_url=self.day_url,
            papers_seen=digest.papers_seen,
            listings=listing_labels(digest.listings, config.site.listing_names),
            unsubscribe=bool(self.unsubscribe_url or self.unsubscribe_mailto),
            slot=self.slots,
        )
        self.page = page
        css = (templates_dir() / "email.css").read_text(encoding="utf-8")
        self.css = css
        self._inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=True)
        self._fragment_inliner = css_inline.CSSInliner(load_remote_stylesheets=False)
        html_env, text_env = make_env("html"), make_env("text")
        self.shell_html = self._prepare(self._inliner.inline(html_env.get_template("email.html.j2").render(page=page)))
        self.shell_text = self._prepare(text_env.get_template("email.txt.j2").render(page=page))
        self._html_parts = html_env.get_template("_email_parts.html.j2").module
        self._text_parts = text_env.get_template("_email_parts.txt.j2").module
        self._cache = {}
        # Headers that are the same in every message are folded once.
        self._h_from, self._h_date, self._h_list, self._h_mime = self._static_headers(sent_at)

    # Fragments: each rendered and inlined once, on first use.

    def _prepare(self, text):
        return Prepared(text, self.slots)

    def _fragment(self, key, make):
        found = self._cache.get(key)
        if found is None:
            html, text = make()
            found = self._cache[key] = (
                Prepared(self._fragment_inliner.inline_fragment(str(html), self.css), self.slots, whole_lines=True),
                Prepared(str(text), self.slots, whole_lines=True),
            )
        return found

    def _card(self, kind, item, reasons=()):
        def make():
            card = PaperCard.of(item, self.config.digest, reasons)
            return self._html_parts.paper(card, self.page), self._text_parts.paper(card, self.page)

        return self._fragment(("card", kind, item.key), make)

    def _top_row(self, item):
        def make():
            card = PaperCard.of(item, self.config.digest)
            votes = item.entry.upvotes
            return (self._html_parts.top_row(card, votes, self.page), self._text_parts.top_row(card, votes, self.page))

        return self._fragment(("top", item.key), make)

    def _part(self, name, *args):
        return self._fragment(
            (name, *args),
            lambda: (
                getattr(self._html_parts, name)(*args, self.page),
                getattr(self._text_parts, name)(*args, self.page),
            ),
        )

    # Per message.

    def select(self, subscriber):
        return self.selector.select(subscriber, self.settings.max_papers)

    def render(self, subscriber, selection=None):
        """The reader's email as a RenderedEmail: both parts and the message's bytes"""
        sel = self._fit(selection or self.select(subscriber))
        subject = self.subject(sel)
        values = self._values(sel, subject)
        values_html = {name: escape(value) for name, value in values.items()}
        # Plain text lines stay short; HTML wraps by itself.
        values_text = {**values, **{k: _wrap(values[k]) for k in ("dek", "why")}}
        while True:
            html_body, text_body = self._body(sel)
            html, html_qp = self.shell_html.assemble(values_html, html_body)
            if len(html.encode("utf-8")) <= HTML_BUDGET or not (sel.new or sel.trending):
                break
            # The estimate was short (very long slot values): one card fewer, measured again.
            longer = len(sel.new) >= len(sel.trending)
            sel = self._keep(sel, len(sel.new) - longer, len(sel.trending) - (not longer))
        text, text_qp = self.shell_text.assemble(values_text, text_body)
        return RenderedEmail(sel, subject, html, text, self._mime(subscriber, subject, html_qp, text_qp))

    def subject(self, sel):
        return f"{sel.matched_new} new · {sel.matched_trending} trending — {self.title}, {short_date(self.digest.date)}"

    def _values(self, sel, subject):
        sub = sel.subscriber
        first = (sel.new or tuple(t.item for t in sel.trending) or sel.top or (None,))[0]
        if first is None:
            preheader = "Nothing matches your filters today." if sub.filtered else "No papers today."
        else:
            others = sel.matched_new + sel.matched_trending - 1
            preheader = clean_text(first.entry.title) + (f" — and {plural(others, 'more paper')}" if others > 0 else "")
        described = clean_text(sub.describe()) or ""
        dek = f"{plural(self.digest.papers_seen, 'paper')} on {self.page.listings} on {long_date(self.digest.date)}."
        if sub.filtered:
            dek += f" Showing those {described}." if described else ""
        why = f"You receive this because you subscribed to {self.title}"
        why += f", for papers {described}." if described else "."
        return {
            "subject": subject,
            "headline": f"{sel.matched_new} new · {sel.matched_trending} trending",
            "dek": dek,
            "preheader": preheader,
            "why": why,
            "unsubscribe_link": self.unsubscribe_link(sub.email) or "",
        }

    def unsubscribe_link(self, address):
        """Where the footer's unsubscribe link points: the https URL when configured, else mailto"""
        if self.unsubscribe_url:
            return self.unsubscribe_url.replace("{email}", quote(address, safe=""))
        if self.unsubscribe_mailto:
            return f"mailto:{self.unsubscribe_mailto}?subject=unsubscribe"
        return None

    def _sections(self, sel):
        """(kind, fragments, hidden count) per section of the email"""
        yield "new", [self._card("new", i) for i in sel.new], sel.hidden_new
        yield "trending", [self._card("trending", t.item, t.reasons) for t in sel.trending], sel.hidden_trending
        yield "top", [self._top_row(i) for i in sel.top], 0

    def _fit(self, sel):
        """Move cards into 'and N more' until the HTML is within the budget (an estimate from sizes)"""
        new = [(i, self._card("new", i)[0].size) for i in sel.new]
        trending = [(t, self._card("trending", t.item, t.reasons)[0].size) for t in sel.trending]
        size = (
            self.shell_html.size
            + _SLOT_ALLOWANCE
            + sum(self._top_row(i)[0].size for i in sel.top)
            + sum(s for _, s in new)
            + sum(s for _, s in trending)
        )
        while size > HTML_BUDGET and (new or trending):
            size -= (new if len(new) >= len(trending) else trending).pop()[1]
        return self._keep(sel, len(new), len(trending))

    @staticmethod
    def _keep(sel, new, trending):
        if new == len(sel.new) and trending == len(sel.trending):
            return sel
        return Selection(
            sel.subscriber,
            sel.new[:new],
            sel.trending[:trending],
            sel.top,
            sel.matched_new,
            sel.matched_trending,
            sel.matched_new - new,
            sel.matched_trending - trending,
        )

    def _body(self, sel):
        """The sections as (text, quoted-printable) pieces, for the HTML part and the text part"""
        html, text = [], []
        filtered = sel.subscriber.filtered
        if sel.empty:
            nothing_html, nothing_text = self._part("nothing", filtered)
            return [nothing_html.piece()], [nothing_text.piece()]
        for kind, frags, hidden in self._sections(sel):
            count = {"new": sel.matched_new, "trending": sel.matched_trending, "top": len(sel.top)}[kind]
            head_html, head_text = self._part("section_head", kind, SECTION_NAMES[kind])
            heading = f"{SECTION_NAMES[kind].upper()} ({count})"
            values = {"count": str(count), "rule": "-" * len(heading)}
            html.append(head_html.piece(values))
            text.append(head_text.piece(values))
            if not frags:
                note_html, note_text = self._part("empty_note", kind, filtered)
                html.append(note_html.piece())
                text.append(note_text.piece())
            for rank, (frag_html, frag_text) in enumerate(frags, start=1):
                html.append(frag_html.piece({"rank": str(rank)} if frag_html.names else None))
                text.append(frag_text.piece({"rank": f"{rank:>2}"} if frag_text.names else None))
            if hidden:
                more_html, more_text = self._part("more", kind)
                label = f"And {hidden} more {'new' if kind == 'new' else 'trending'} "
                label += "paper" if hidden == 1 else "papers"
                html.append(more_html.piece({"label": escape(label)}))
                text.append(more_text.piece({"label": label}))
        return html, text

    # MIME

    def _static_headers(self, sent_at):
        """The headers every reader's message shares, folded once: (From, Date, List-*, MIME-Version)"""
        when = sent_at or dt.datetime.combine(self.digest.date, dt.time(0, 0), tzinfo=dt.UTC)
        from_name = clean_text(self.settings.from_name) or self.title
        list_id = self.settings.list_id or f"{slug(self.title)}.{self.domain}"
        unsubscribe = b"" if self._personal_unsubscribe else _headers(self._unsubscribe_headers(None))
        return (
            _header("From", str(Address(display_name=from_name, addr_spec=self.from_address))),
            _header("Date", format_datetime(when)),
            _header("List-Id", f"{_quoted(self.title)} <{clean_text(list_id)}>") + unsubscribe,
            _header("MIME-Version", "1.0"),
        )

    def _unsubscribe_headers(self, address):
        targets = []
        if self.unsubscribe_mailto:
            targets.append(f"<mailto:{self.unsubscribe_mailto}?subject=unsubscribe>")
        if self.unsubscribe_url:
            targets.append(f"<{self.unsubscribe_url.replace('{email}', quote(address or '', safe=''))}>")
        if targets:
            yield "List-Unsubscribe", ", ".join(targets)
        if self.settings.unsubscribe_one_click:
            yield "List-Unsubscribe-Post", "List-Unsubscribe=One-Click"

    def message_id(self, address):
        token = recipient_token(address, self.salt or "", self.digest.date)[:32]
        return f"<{self.digest.date:%Y%m%d}.{token}@{self.domain}>", token

    def _mime(self, sub, subject, html_qp, text_qp):
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


# -- settings checks ----------------------------------------------------------------------

_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$"
)


def check_address(address, what):
    """An address we can put in a header and an SMTP envelope: plain ASCII, one @, no spaces"""
    if not isinstance(address, str) or not _ADDRESS.match(address) or ".." in address:
        shown = repr(mask_address(address) if isinstance(address, str) and "@" in address else address)
        raise EmailSetupError(f"{what}: {shown} is not an email address (ASCII, like name@example.org)")
    return address


def day_url(settings, day):
    """The site's page of the day ('view in browser'), or None without a base_url"""
    if not settings.base_url:
        return None
    base = settings.base_url.rstrip("/")
    try:
        url = settings.day_url.format(base_url=base, date=day.isoformat())
    except (KeyError, IndexError, ValueError) as e:
        raise EmailSetupError(
            f"[email] day_url: {settings.day_url!r} can only use {{base_url}} and {{date}} ({e})"
        ) from None
    if not safe_url(url):
        raise EmailSetupError(f"[email] base_url/day_url: {url!r} is not an http(s) URL")
    return url


def check_unsubscribe(settings):
    """The unsubscribe settings make sense: an https URL, a mailto address, one-click only with https"""
    if settings.unsubscribe_mailto:
        check_address(settings.unsubscribe_mailto, "[email] unsubscribe_mailto")
    url = settings.unsubscribe_url
    if url is not None:
        probe = url.replace("{email}", "x")
        if not probe.lower().startswith("https://") or not safe_url(probe) or any(c in probe for c in '<>,"'):
            raise EmailSetupError(f"[email] unsubscribe_url: {url!r} is not an https URL")
    if settings.unsubscribe_one_click and not url:
        raise EmailSetupError(
            "[email] unsubscribe_one_click needs unsubscribe_url: an https endpoint that"
            " accepts the POST (a static site cannot)"
        )
