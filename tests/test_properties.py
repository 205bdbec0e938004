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
