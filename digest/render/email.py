"""The newsletter email: an HTML part with inlined CSS and a text part per reader, as MIME bytes

Rendering is per subscriber, so it is built for speed in two phases. Once per digest, every
piece that does not depend on the reader is rendered and has its CSS inlined by css-inline:
the page around the papers, and one fragment per paper card, top-list row and note. Then
each message only picks its fragments and joins strings. The few per-reader values (counts,
preheader, unsubscribe link) are slots: markers left in the inlined HTML and filled by
joining, so css-inline runs once per fragment, never once per message. Which papers a
reader gets is render/selection.py; the MIME bytes are render/mime.py.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass, field

import css_inline
from markupsafe import escape

from digest.render import make_env, templates_dir
from digest.render.mime import Envelope, Prepared, Slots
from digest.render.presentation import byline, entry_links, listing_labels, long_date, plural, short_date, short_summary
from digest.render.selection import Selection, Selector
from digest.text import clean_text

# Gmail clips a message whose HTML is over about 102 KB and hides the rest (footer and
# unsubscribe link included); stay clear of it with room to spare.
HTML_BUDGET = 100_000
# Room for the per-message values and the section titles and notes when estimating a size.
_SLOT_ALLOWANCE = 8_000
PLACEHOLDER_FROM = "digest@example.org"
# A zero-width filler after the preheader, so inboxes do not pad the preview with body text.
PREHEADER_FILLER = "\u034f\u200c\u00a0" * 40
SECTION_NAMES = {"new": "New papers", "trending": "Trending", "top": "Top papers by upvotes"}


def _wrap(text):
    return text if len(text) <= 72 else textwrap.fill(text, 72, break_on_hyphens=False)


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

    def __init__(self, digest, settings, *, title, presentation, listing_names, salt=None, sent_at=None):
        """`settings` is [email], `presentation` [digest] (authors, summary sentences), both as loaded"""
        self.digest = digest
        self.max_papers = settings.max_papers
        self.presentation = presentation
        self.title = clean_text(title) or "Daily Papers digest"
        self.from_address = settings.from_address or PLACEHOLDER_FROM
        self.selector = Selector(digest)
        self.slots = Slots()
        self.envelope = Envelope(
            digest.date,
            self.title,
            self.from_address,
            from_name=settings.from_name,
            list_id=settings.list_id,
            unsubscribe_mailto=settings.unsubscribe_mailto,
            unsubscribe_url=settings.unsubscribe_url,
            unsubscribe_one_click=settings.unsubscribe_one_click,
            salt=salt,
            sent_at=sent_at,
        )
        page = EmailPage(
            title=self.title,
            date=digest.date,
            day_url=settings.day_page(digest.date),
            papers_seen=digest.papers_seen,
            listings=listing_labels(digest.listings, listing_names),
            unsubscribe=bool(settings.unsubscribe_url or settings.unsubscribe_mailto),
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

    @classmethod
    def of(cls, digest, config, *, salt=None, sent_at=None):
        """The renderer of a loaded Config: its title, [email], [digest] and listing names"""
        return cls(
            digest,
            config.email,
            title=config.title,
            presentation=config.digest,
            listing_names=config.site.listing_names,
            salt=salt,
            sent_at=sent_at,
        )

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
            card = PaperCard.of(item, self.presentation, reasons)
            return self._html_parts.paper(card, self.page), self._text_parts.paper(card, self.page)

        return self._fragment(("card", kind, item.key), make)

    def _top_row(self, item):
        def make():
            card = PaperCard.of(item, self.presentation)
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
        return self.selector.select(subscriber, self.max_papers)

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
            sel = sel.keep(len(sel.new) - longer, len(sel.trending) - (not longer))
        text, text_qp = self.shell_text.assemble(values_text, text_body)
        return RenderedEmail(sel, subject, html, text, self.envelope.message(subscriber, subject, html_qp, text_qp))

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
            "unsubscribe_link": self.envelope.unsubscribe_link(sub.email) or "",
        }

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
        return sel.keep(len(new), len(trending))

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
