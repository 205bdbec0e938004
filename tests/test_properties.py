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
