"""Keywords canonicalised into topics (pure: values in, values out)

Papers carry free-text keywords ("vision-language models", "Vision Language Model",
"LLMs", "large language models (LLMs)"). A topic is every keyword with the same canonical
key, and that key is the topic's page name: two keywords that would share a page are one
topic by construction.

The key of a keyword is its ASCII slug (case, hyphens, spaces and punctuation folded), its
last word made singular by a few conservative English rules (models -> model, strategies
-> strategy, analyses -> analysis), and, when the archive spells an acronym out somewhere
("large language models (LLMs)"), the acronym alone ("LLMs") takes the expansion's key.
Spellings that differ only by case are one keyword (a "fold"), keyed as its most used spelling.

`digest.topics.book.TopicBook` keeps all of it as rows keyed by keyword, topic key and acronym,
and changes only the rows of the keywords whose papers changed: a day's update costs its own
papers' keywords, not the archive's 160,000 spellings (3 years of real-shaped keywords).
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from digest.archive import _short_hash, slugify

TOPIC_MIN_PAPERS = 2  # a keyword of one paper has no topic page (its paper page shows it unlinked)
SLUG_MOST = 80

# Words that end in s (or -ies, -ches) without being the plural the rules in singular() expect.
_NOT_PLURAL = frozenset(
    {
        "series",
        "species",
        "lens",
        "news",
        "canvas",
        "atlas",
        "alias",
        "bias",
        "chaos",
        "kudos",
        "ethos",
        "pathos",
        "always",
        "perhaps",
        "towards",
        "caches",
        "niches",
        "movies",
        "cookies",
        "lies",
        "ties",
        "pies",
        "dies",
    }
)
_PAREN = re.compile(r"^(?P<outer>[^()]*\S)\s*\((?P<inner>[^()]+)\)$")
_ACRONYM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-+&.]{0,11}$")


class Topic(NamedTuple):
    """A topic: its page name, the name shown, the keys of its papers, its other spellings"""

    slug: str
    name: str
    keys: tuple  # paper keys, in the order papers were given
    aliases: tuple  # the other spellings, most common first


def singular(word):
    """A conservative English singular of one lower-case word ('models' -> 'model')

    Only plain plurals change: -s (models, LLMs), -ies (strategies), -yses and -theses
    (analyses, hypotheses), -sses, -ches and -shes (processes, approaches). Words that end
    in s without being plurals (loss, corpus, analysis, robotics, series) stay as they are.
    """
    if len(word) < 4 or not word.isalpha() or word in _NOT_PLURAL or not word.endswith("s"):
        return word
    if word.endswith(("yses", "theses")):
        return word[:-2] + "is"
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is", "ics", "xes")):
        return word
    return word[:-1]


@functools.cache
def topic_key(keyword):
    """The canonical key of a keyword, without acronyms resolved: its topic page's name"""
    # Only a keyword that ends in ")" spells an acronym out: the pattern is tried on those only.
    match = _PAREN.match(keyword.strip()) if ")" in keyword else None
    if match and _is_acronym(match["inner"]) and not _is_acronym(match["outer"]):
        keyword = match["outer"]  # "large language models (LLMs)" is about large language models
    elif match and _is_acronym(match["outer"]) and not _is_acronym(match["inner"]):
        keyword = match["inner"]  # "GRPO (Group Relative Policy Optimization)" too
    words = slugify(keyword, most=10_000).split("-")
    if words == [""]:
        return f"topic-{_short_hash(keyword.casefold())}"  # no ASCII letters left to name a page
    words[-1] = singular(words[-1])
    return "-".join(words)[:SLUG_MOST].strip("-")


def _is_acronym(text):
    text = text.strip()
    return bool(_ACRONYM.match(text)) and sum(c.isupper() for c in text) >= 2


@functools.cache
def _acronym_pair(keyword):
    """(acronym key, expansion key) when the keyword spells an acronym out, else None"""
    match = _PAREN.match(keyword.strip()) if ")" in keyword else None
    if not match:
        return None
    outer, inner = match["outer"], match["inner"]
    if _is_acronym(outer) and not _is_acronym(inner):
        outer, inner = inner, outer
    elif not (_is_acronym(inner) and not _is_acronym(outer)):
        return None
    acronym, expansion = topic_key(inner), topic_key(outer)
    # Conservative: the acronym starts with the expansion's first letter (LLM, large ...).
    if acronym[:1] != expansion[:1] or acronym == expansion:
        return None
    return acronym, expansion
