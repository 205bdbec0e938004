"""Arbitrary text and JSON into every importer: only DigestError may escape"""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.errors import DigestError
from digest.sources import FORMATS, parse_bytes

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(
        st.sampled_from(["paper", "title", "id", "upvotes", "authors", "summary", "data", "status", "date",
                         "format", "version", "listing", "entries", "rank", "links", "name", "x"]),
        children, max_size=6),
    max_leaves=30,
)
# Shapes close to the real ones reach deeper into the importers than random JSON does.
ITEM = st.fixed_dictionaries({"paper": st.dictionaries(
    st.sampled_from(["id", "title", "summary", "upvotes", "authors", "publishedAt", "organization",
                     "ai_keywords", "githubRepo", "submittedOnDailyAt"]), JSON, max_size=8)})
SNAPSHOT = st.fixed_dictionaries({
    "format": st.just("digest-snapshot"), "version": st.just(1),
    "listing": st.sampled_from(["hf-daily", "bad name", 3]), "date": st.sampled_from(["2026-01-01", "x", None]),
    "entries": st.lists(st.dictionaries(st.sampled_from(["rank", "title", "id", "upvotes", "links", "authors"]),
                                        JSON, max_size=6), max_size=3),
})


def check(data, fmt, name="2026-01-02.json"):
    try:
        parsed = parse_bytes(data, name=name, fmt=fmt)
    except DigestError:
        return
    assert parsed.snapshot.date is not None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(), fmt=st.sampled_from(FORMATS))
def test_arbitrary_text(text, fmt):
    check(text.encode("utf-8", "surrogatepass"), fmt, name="2026-01-02.txt")


@settings(max_examples=300)
@given(data=st.binary(), fmt=st.sampled_from(FORMATS))
def test_arbitrary_bytes(data, fmt):
    check(data, fmt)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(value=JSON | st.lists(ITEM, max_size=4) | SNAPSHOT | st.lists(st.text(max_size=40), max_size=3),
       fmt=st.sampled_from(FORMATS))
def test_arbitrary_json(value, fmt):
    check(json.dumps(value).encode(), fmt)


# --- page names: the fast paths agree with the general definitions ----------------------


def slug_by_definition(text, most=60):
    """slugify as its docstring defines it, for every text: NFKD, ASCII only, casefolded, dashed"""
    import re
    import unicodedata

    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:most].strip("-")


@settings(max_examples=500)
@given(text=st.text() | st.text(alphabet=st.characters(max_codepoint=127)))
def test_slugify_of_ascii_text_skips_only_what_changes_nothing(text):
    from digest.archive import slugify

    assert slugify(text) == slug_by_definition(text)


@settings(max_examples=500)
@given(outer=st.text(max_size=30), inner=st.text(max_size=12), sep=st.sampled_from(["", " ", "  "]))
def test_only_a_keyword_with_a_closing_parenthesis_can_spell_an_acronym_out(outer, inner, sep):
    """topic_key and _acronym_pair try their pattern only on keywords holding ")": no other can match"""
    from digest.topics import _PAREN

    for keyword in (outer, f"{outer}{sep}({inner})", f"{outer}{sep}({inner}) ", inner):
        if ")" not in keyword:
            assert _PAREN.match(keyword.strip()) is None


# --- topics: a book changed paper by paper is the book made of all the papers at once --------

# Few words, so that papers share keywords; case variants, plurals, acronyms spelled out both
# ways and an acronym spelled out by two expansions, so that folds, keys and expansions move.
KEYWORDS = st.sampled_from([
    "LLM", "LLMs", "llms", "large language models (LLMs)", "Large Language Models (LLMs)",
    "large language model", "LLMs (large language models)", "language models (LLMs)",
    "GRPO", "GRPO (Group Relative Policy Optimization)", "group relative policy optimization",
    "RL", "reinforcement learning (RL)", "Reinforcement Learning", "robot learning (RL)",
    "Vision-Language Models", "vision language model", "VLM", "diffusion", "Diffusion", "agents",
    "Straße", "strasse", "AMH", "absolute memory human (AMH)", "Absolute Memory Human (Amh)",
])
PAPER_KEYS = st.sampled_from([f"25{m:02d}.0{n:04d}" for m in range(1, 4) for n in range(6)] + ["title:a paper"])
# A paper's keywords (maybe none), or None: the paper is gone.
CHANGE = st.tuples(PAPER_KEYS, st.none() | st.lists(KEYWORDS, max_size=5).map(tuple))


def _json_rows(rows):
    """A book's rows as the build state keeps them: JSON text, read back as new values"""
    return {table: {key: json.dumps(value, sort_keys=True) for key, value in found.items()} for table, found in rows.items()}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=st.lists(CHANGE, max_size=12), steps=st.lists(st.lists(CHANGE, max_size=6), min_size=1, max_size=4),
       least=st.sampled_from([1, 2, 3]))
def test_a_topic_book_changed_paper_by_paper_equals_one_made_of_every_paper(first, steps, least):
    from digest.topics.book import TopicBook

    papers = {}
    stored = {}  # table -> key -> JSON text: the rows the last "build" saved
    for changes in [first, *steps]:
        book = TopicBook(lambda table, keys, stored=stored: {k: json.loads(stored[table][k]) for k in keys
                                                             if k in stored.get(table, {})}, min_papers=least)
        now = dict(papers)
        for key, keywords in changes:
            if keywords is None:
                now.pop(key, None)
            else:
                now[key] = keywords
        made = [(key, papers.get(key, ()), now.get(key, ())) for key in sorted(papers.keys() | now.keys())
                if papers.get(key, ()) != now.get(key, ())]
        whole_before = TopicBook(min_papers=least)
        whole_before.fill(sorted(papers.items()))
        slugs, relinked = book.apply(made)
        whole = TopicBook(min_papers=least)
        whole.fill(sorted(now.items()))
        for table, found in _json_rows(book.changed_rows()).items():
            for key, value in found.items():
                if value == "null":
                    stored.setdefault(table, {}).pop(key, None)
                else:
                    stored.setdefault(table, {})[key] = value
        # The rows kept are the rows of a book made of every paper at once.
        stored = {table: rows for table, rows in stored.items() if rows}
        assert stored == {t: rows for t, rows in _json_rows(whole.every_row()).items() if rows}
        topics, index = whole.every_topic()
        old_topics, old_index = whole_before.every_topic()
        # Every topic that changed is among the slugs given, and is what the book makes of its rows.
        changed = {s for s in topics.keys() | old_topics.keys() if topics.get(s) != old_topics.get(s)}
        assert changed <= slugs
        assert all(book.topic(slug) == topics.get(slug) for slug in slugs)
        # Every paper whose keyword links changed is among the papers given (or changed itself).
        moved = {key for key in now.keys() | papers.keys()
                 for k in now.get(key, ()) + papers.get(key, ())
                 if index.get(k.casefold()) != old_index.get(k.casefold())}
        assert moved <= relinked | {key for key, _, _ in made}
        folds = {k.casefold() for keywords in now.values() for k in keywords}
        assert book.links(folds) == {fold: slug for fold, slug in index.items() if fold in folds}
        papers = now
