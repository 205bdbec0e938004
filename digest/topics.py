"""Keywords canonicalised into topics (pure: values in, values out)

Papers carry free-text keywords ("vision-language models", "Vision Language Model",
"LLMs", "large language models (LLMs)"). A topic is every keyword with the same canonical
key, and that key is the topic's page name: two keywords that would share a page are one
topic by construction.

The key of a keyword is its ASCII slug (case, hyphens, spaces and punctuation folded), its
last word made singular by a few conservative English rules (models -> model, strategies
-> strategy, analyses -> analysis), and, when the archive spells an acronym out somewhere
("large language models (LLMs)"), the acronym alone ("LLMs") takes the expansion's key.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from itertools import chain
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


def make_topics(papers, min_papers=TOPIC_MIN_PAPERS, known=None):
    """(slug -> Topic, casefolded keyword -> slug) from (paper key, keywords) pairs

    Only topics of `min_papers` papers or more are kept; the index maps each keyword of a
    kept topic to its slug. Topics come in slug order.

    known: spelling -> (topic_key, _acronym_pair) of that spelling, as a build worked them out
    before (they depend on the spelling alone); the spellings it lacks are added to it.
    Worked out anew, they were 40 % of make_topics on the real archive's 43,600 spellings.
    """
    papers = tuple(papers)
    known = {} if known is None else known
    every = list(chain.from_iterable(keywords for _, keywords in papers))
    times_used = Counter(every)  # each spelling: how many times papers use it
    spelled = defaultdict(Counter)  # acronym key -> Counter of expansion keys
    for keyword, times in times_used.items():
        made = known.get(keyword)
        if made is None:
            made = known[keyword] = (topic_key(keyword), _acronym_pair(keyword))
        pair = made[1]
        if pair:
            spelled[pair[0]][pair[1]] += times
    # Each acronym takes its most common expansion (ties: the first in key order).
    expand = {acronym: min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0] for acronym, counts in spelled.items()}
    # An expansion that is itself an acronym of something else is not followed: one step only.
    # A keyword's topic is decided by the first spelling of its casefold met: the distinct
    # spellings in the order they are first met (a Counter keeps that order) decide it, once
    # each, and the papers' 290,000 keywords (at 3 years) are only counted and looked up.
    slug_of, spelled_as, spellings = {}, {}, defaultdict(list)  # spellings: slug -> its spellings
    for keyword in times_used:
        folded = keyword.casefold()
        slug = slug_of.get(folded)
        if slug is None:
            slug = known[keyword][0]
            slug = slug_of[folded] = expand.get(slug, slug)
        spelled_as[keyword] = slug
        spellings[slug].append(keyword)
    members = defaultdict(list)
    slug_of_keyword = spelled_as.__getitem__
    for key, keywords in papers:
        for slug in dict.fromkeys(map(slug_of_keyword, keywords)):
            members[slug].append(key)
    topics = {}
    # Most keywords are one paper's (in the real archive, 36,000 of 41,000 slugs): only the
    # kept ones are sorted and named.
    for slug in sorted(slug for slug, keys in members.items() if len(keys) >= min_papers):
        names = sorted(((name, times_used[name]) for name in spellings[slug]), key=lambda kv: (-kv[1], kv[0]))
        # Spellings that differ only by case are one alias, spelled its most common way.
        aliases = {}
        for name, _ in names:
            aliases.setdefault(name.casefold(), name)
        aliases = tuple(aliases.values())[1:]
        topics[slug] = Topic(slug, names[0][0], tuple(members[slug]), aliases)
    index = {folded: slug for folded, slug in slug_of.items() if slug in topics}
    return topics, index
