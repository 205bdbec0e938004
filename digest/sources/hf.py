"""Hugging Face Daily Papers API JSON: every schema generation, and the damaged archive shapes"""

import ast
import collections
import datetime as dt

from digest.errors import InputError
from digest.models import make_entry


def parse_hf_items(items, *, where="item"):
    """Turn the API's list of items into entries, ranked in list order"""
    if not isinstance(items, list):
        raise InputError(f"expected a JSON array of items, got {type(items).__name__}")
    return tuple(_entry(rank, item, where) for rank, item in enumerate(items, start=1))


def salvage_repr_items(strings):
    """Read items stored as Python repr strings (single quotes, True/None), safely"""
    items = []
    for index, text in enumerate(strings, start=1):
        if not isinstance(text, str):
            raise InputError(f"item {index}: expected a string, got {type(text).__name__}")
        try:
            # literal_eval evaluates literals only: no names, calls or attribute access.
            items.append(ast.literal_eval(text))
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError) as e:
            raise InputError(f"item {index}: not a Python literal ({type(e).__name__})") from None
    return items


def unwrap_archive(data):
    """Return the items list of a {"status","date","count","data"} wrapper, and its date"""
    items = data.get("data")
    if not isinstance(items, list):
        raise InputError("wrapper object has no 'data' array")
    day = None
    if isinstance(data.get("date"), str):
        try:
            day = dt.date.fromisoformat(data["date"][:10])
        except ValueError:
            day = None
    return items, day


def listing_day(items):
    """The day the list was published, from the items' submittedOnDailyAt (most common)"""
    days = collections.Counter()
    for item in items:
        paper = item.get("paper") if isinstance(item, dict) else None
        stamp = paper.get("submittedOnDailyAt") if isinstance(paper, dict) else None
        if isinstance(stamp, str):
            try:
                days[dt.date.fromisoformat(stamp[:10])] += 1
            except ValueError:
                continue
    return days.most_common(1)[0][0] if days else None


def _entry(rank, item, where):
    if not isinstance(item, dict):
        raise InputError(f"{where} {rank}: expected an object, got {type(item).__name__}")
    paper = item.get("paper")
    if not isinstance(paper, dict):
        raise InputError(f"{where} {rank}: has no 'paper' object")
    title = _text(paper.get("title")) or _text(item.get("title"))
    if not title:
        raise InputError(f"{where} {rank}: paper has no title")
    authors = paper.get("authors")
    names = [a.get("name") for a in authors if isinstance(a, dict)] if isinstance(authors, list) else []
    organization = _org(paper.get("organization")) or _org(item.get("organization"))
    return make_entry(
        rank=rank,
        title=title,
        id=_text(paper.get("id")),
        abstract=_text(paper.get("summary")) or _text(item.get("summary")),
        authors=[n for n in names if isinstance(n, str)],
        author_count=len(authors) if isinstance(authors, list) else None,
        organization=organization,
        published=_text(paper.get("publishedAt")),
        upvotes=_count(paper.get("upvotes")),
        comments=_count(item.get("numComments")),
        links={"code": paper.get("githubRepo"), "project": paper.get("projectPage")},
        keywords=[k for k in paper.get("ai_keywords") or () if isinstance(k, str)]
        if isinstance(paper.get("ai_keywords"), list)
        else (),
        ai_summary=_text(paper.get("ai_summary")),
        github_stars=_count(paper.get("githubStars")),
    )


def _text(value):
    return value if isinstance(value, str) else None


def _count(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _org(value):
    if not isinstance(value, dict):
        return None
    return _text(value.get("fullname")) or _text(value.get("name"))
