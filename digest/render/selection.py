"""Each reader's selection: who they are, what they asked for, and the papers of their email

A paper matches a reader when it matches any of their interests (keywords, authors,
organizations) and has at least their min_upvotes; a reader with no interests gets every
paper. The Selector matches each term against each paper once, for any number of readers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from digest.render.presentation import plural
from digest.text import title_key


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

    def keep(self, new, trending):
        """This selection with only the first `new` new and `trending` trending cards shown"""
        if new == len(self.new) and trending == len(self.trending):
            return self
        return Selection(
            self.subscriber,
            self.new[:new],
            self.trending[:trending],
            self.top,
            self.matched_new,
            self.matched_trending,
            self.matched_new - new,
            self.matched_trending - trending,
        )


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
