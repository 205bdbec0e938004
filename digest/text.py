"""Small text helpers shared by every stage: cleaning, identity keys, safe links"""

import functools
import re
import unicodedata

# C0/C1 control characters (tab and newline included: they are folded to spaces),
# plus the Unicode line/paragraph separators that break headers and feeds, and lone
# surrogates (JSON can carry "\ud800"; no UTF-8 file, page or feed can hold one).
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_SPACE = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[\W_]+")

# New-style (2007+) ids 0704.0001 / 2510.01234, and old-style archive/YYMMNNN ids,
# each with an optional version suffix that identity ignores.
_ARXIV_NEW = re.compile(r"^(\d{4}\.\d{4,5})(?:v\d+)?$")
_ARXIV_OLD = re.compile(r"^([a-z][a-z.-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$")


def clean_text(value):
    """Return value with control characters removed and white space folded, or None"""
    if value is None:
        return None
    text = _SPACE.sub(" ", CONTROL.sub(" ", str(value))).strip()
    return text or None


@functools.lru_cache(maxsize=1 << 16)
def title_key(title):
    """Key that matches one title however a source spells its case, accents or punctuation"""
    folded = unicodedata.normalize("NFKC", title).casefold()
    return _NON_ALNUM.sub(" ", folded).strip()


def arxiv_id(value):
    """Return the arXiv id without its version, or None when value is not one"""
    if not isinstance(value, str):
        return None
    value = value.strip()
    for pattern in (_ARXIV_NEW, _ARXIV_OLD):
        match = pattern.match(value)
        if match:
            return match.group(1)
    return None


def safe_url(value):
    """Return value when it is an absolute http(s) URL, else None (drops javascript: and the like)"""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if CONTROL.search(url) or " " in url:
        return None
    lower = url.lower()
    if lower.startswith(("https://", "http://")) and len(url) > len("https://"):
        return url
    return None


def mask_address(address):
    """'a…@example.org': enough to recognise a subscriber in a log, not to harvest the address"""
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"
