"""Visible text of a Hugging Face papers listing page, as copied from a browser"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from digest.errors import InputError
from digest.models import Entry, make_entry
from digest.text import clean_text

# Copies keep one page line per text line, but may drop the blank lines between
# blocks, so blank lines carry no meaning here and lines are numbered as an editor
# shows them (only \r\n, \r and \n end a line).
_LINE_END = re.compile(r"\r\n|\r|\n")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = "|".join(_MONTHS)

# Bounded digit runs: int() refuses strings of thousands of digits.
_AUTHORS = re.compile(r"^•\s*(\d{1,6}) authors?$")
_DOT = "·"
_DATE = re.compile(rf"^({_MONTH}) (\d{{1,2}})(?:, (\d{{4}}))?(?: (\d{{1,9}}))?$")
# Text in the date position that is shaped like a date but is not one ("Foo 99, 2023").
_DATE_SHAPED = re.compile(r"^\w+ \d+(?:, \d+)?(?: \d+)?$")
_HEADER_DAY = re.compile(rf"^({_MONTH}) (\d{{1,2}})")

# The page's chrome: the parts of the banner above the papers, worded differently
# between page versions ("Get trending papers in your email inbox!", "... once a day!",
# "by AK" with or without a space) and glued to each other or to the first title when
# a copy drops the line breaks ("SubscribeGenerative Marginalization Models").
_CHROME = re.compile(
    r"(?:(?:Get|Receive|Sign up for)\b[^\n]{0,80}?\binbox\b(?: once a day| every day| daily)?[!.]?"
    # The button glues to any first title ("SubscribeiTransformer: ..."), but not to
    # the endings that make another word ("Subscribers", "Subscribed").
    r"|Subscribe(?!(?:s|d|rs?|ing)\b)"
    r"|(?:Hugging Face )?Daily Papers"
    r"|by ?AK and the research community)",
    re.IGNORECASE,
)
# The "new" badge is a common word, so it counts as chrome only when nothing else
# or more chrome follows it (a first title may start with "new...").
_BADGE = "new"
# Titles are one short line; abstracts are paragraphs (over 1,300 characters in
# every fixture). The longest arXiv titles stay well under this many characters.
TITLE_MAX = 300


@dataclass(frozen=True)
class PageCapture:
    """The papers a page capture lists, ranked in page order, and its header day"""

    entries: tuple[Entry, ...]
    header_day: tuple[int, int] | None


@dataclass(frozen=True)
class _Line:
    number: int
    text: str
    kind: str  # "authors", "dot", "date" or "text"


def parse_page_text(text: str, *, year: int | None) -> PageCapture:
    """Parse the copied text of a papers page; year completes dates shown without one"""
    lines = _numbered_lines(text)
    if not lines:
        raise InputError("the page text is empty")
    header_day, lines = _split_header(lines)
    tokens = [_Line(number, line, _kind(line)) for number, line in lines]
    entries = _read_papers(tokens, year)
    if not entries:
        raise InputError("no papers found in the page text")
    return PageCapture(entries=entries, header_day=header_day)


def _numbered_lines(text):
    """Return (line number, cleaned text) for every non-blank line"""
    numbered = []
    for number, raw in enumerate(_LINE_END.split(text.removeprefix("\ufeff")), start=1):
        line = clean_text(raw.replace("\ufeff", ""))
        if line:
            numbered.append((number, line))
    return numbered


def _kind(line):
    """Name what a line is by its shape alone; organizations need their neighbours"""
    if _AUTHORS.match(line):
        return "authors"
    if line == _DOT:
        return "dot"
    if _DATE.match(line):
        return "date"
    return "text"


def _split_header(lines):
    """Strip the page chrome above the first paper and anywhere it stands as its own lines

    Above the first paper the chrome and the day may come in any order, on their own lines
    or glued together and to the first title. Below it, a line that is all banner (a copy
    that repeats it, or a layout that moves it) is dropped too, and a "Subscribe" glued to
    the title after it is cut off. A paper's own lines never match: the banner's wording is
    specific, and the day and the badge count only inside the chrome.
    """
    day, kept, in_chrome = None, [], True
    for number, line in lines:
        rest, found = _strip_chrome(line) if in_chrome else (line, None)
        if in_chrome and not kept:
            day = day or found
        if not in_chrome and _is_chrome_line(line):
            rest, in_chrome = "", True
        if rest:
            kept.append((number, rest))
            in_chrome = False
    return day, kept


def _is_chrome_line(line):
    """Tell whether a whole line is banner text (not the day, not the badge alone)"""
    rest, _ = _strip_chrome(line, day=False)
    return not rest and line != _BADGE


def _strip_chrome(line, *, day=True):
    """Return the line without its leading chrome, and the header day if the chrome holds one"""
    rest, found = line, None
    while rest:
        match = _CHROME.match(rest)
        if match:
            rest = rest[match.end() :].lstrip()
            continue
        if _is_badge(rest):
            rest = rest[len(_BADGE) :].lstrip()
            continue
        shown, after = _header_day_prefix(rest) if day and not found else (None, rest)
        if shown is None:
            break
        found, rest = shown, after
    return rest, found


def _is_badge(text):
    """Tell whether text starts with the badge "new", not with a word that begins with it"""
    if not text.startswith(_BADGE):
        return False
    after = text[len(_BADGE) :].lstrip()
    return not after or bool(_CHROME.match(after)) or after.startswith(_BADGE) or _header_day_prefix(after)[0]


def _header_day_prefix(text):
    """Split a leading "Mon D" off text; a glued title may follow ("Oct 28Generative")"""
    # The day takes two digits when it can, so "Oct 23D Title" reads as Oct 23: a
    # one-digit day glued to a title that starts with a digit cannot be told apart.
    match = _HEADER_DAY.match(text)
    if not match:
        return None, text
    rest = text[match.end() :]
    month = _MONTHS.index(match.group(1)) + 1
    day = int(match.group(2))
    # "Oct 19, 2023" is a paper's date, not the header's day.
    if rest.startswith(",") or not _is_day(2000, month, day):
        return None, text
    return (month, day), rest.lstrip()


def _is_day(year, month, day):
    """Tell whether year, month and day make a calendar date"""
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _read_papers(tokens, year):
    """Read papers as title, abstract, then optional metadata, in page order"""
    entries = []
    index = 0
    while index < len(tokens):
        title, abstract = _title_and_abstract(tokens, index)
        meta, index = _read_metadata(tokens, index + 2, year)
        entries.append(make_entry(rank=len(entries) + 1, title=title.text, abstract=abstract.text, **meta))
    return tuple(entries)


def _title_and_abstract(tokens, index):
    """Return the title and abstract lines at index, or raise saying which is missing

    Papers always show a title then an abstract, so text lines pair up in order and
    no guess about wording is needed (a title ending in "?" is still a title). Shape
    only checks the pairing: titles are short (at most TITLE_MAX characters), abstracts
    are paragraphs. A long line where a title belongs, or a short line followed by a
    long one where an abstract belongs, means a paper lost its abstract; raising there
    beats shifting every later title and abstract by one line.
    """
    title = tokens[index]
    if title.kind != "text":
        raise InputError(f"line {title.number}: expected a paper title, found {title.text!r}")
    if len(title.text) > TITLE_MAX:
        raise InputError(
            f"line {title.number}: expected a paper title, found a paragraph of"
            f" {len(title.text)} characters (an abstract with no title?)"
        )
    if not _has_abstract(tokens, index):
        raise InputError(f"line {title.number}: paper {title.text!r} has no abstract")
    return title, tokens[index + 1]


def _has_abstract(tokens, index):
    """Tell whether the line after the title at index can be that title's abstract"""
    abstract, after = _at(tokens, index + 1), _at(tokens, index + 2)
    if abstract is None or abstract.kind != "text":
        return False
    if after is None:
        return True
    # A text line followed by "·" is an organization, part of the metadata.
    if after.kind == "dot":
        return False
    # A short line followed by a paragraph is the next title, not this abstract.
    return not (len(abstract.text) <= TITLE_MAX and after.kind == "text" and len(after.text) > TITLE_MAX)


def _read_metadata(tokens, index, year):
    """Read the optional lines after an abstract: authors or organization, "·", date"""
    meta = {"author_count": None, "organization": None, "published": None, "upvotes": None}
    token = _at(tokens, index)
    if token and token.kind == "authors":
        meta["author_count"] = int(_AUTHORS.match(token.text).group(1))
        index += 1
    elif token and token.kind == "text" and _at(tokens, index + 1, "dot"):
        meta["organization"] = _organization(token.text)
        index += 1
    dot = _at(tokens, index, "dot")
    if dot:
        index += 1
        if not _at(tokens, index, "date"):
            _raise_missing_date(dot, _at(tokens, index))
    date = _at(tokens, index, "date")
    if date:
        meta["published"], meta["upvotes"] = _paper_date(date, year)
        index += 1
    return meta, index


def _at(tokens, index, kind=None):
    """Return the token at index (if of the given kind), else None"""
    if index >= len(tokens) or (kind and tokens[index].kind != kind):
        return None
    return tokens[index]


def _organization(line):
    """Return the display name from an organization line ("kyutai Kyutai" gives "Kyutai")"""
    # The page shows the organization's id, then its display name.
    _, _, name = line.partition(" ")
    return name or line


def _raise_missing_date(dot, token):
    """Raise an InputError saying what stands where the date after "·" belongs"""
    if token is None:
        raise InputError(f"line {dot.number}: '·' is not followed by the paper's date")
    what = "an unreadable date" if _DATE_SHAPED.match(token.text) else "no date"
    raise InputError(
        f"line {token.number}: {what} after '·' (expected e.g. 'Oct 7 3' or 'Oct 19, 2023'), found {token.text!r}"
    )


def _paper_date(token, year):
    """Return (YYYY-MM-DD or None, upvotes) from a date line ("Dec 6, 2023 2", "Oct 7")"""
    month_name, day, shown_year, upvotes = _DATE.match(token.text).groups()
    month = _MONTHS.index(month_name) + 1
    # Without a shown year the page means its own year, which only the caller knows;
    # check the day against a leap year so "Feb 29" is not refused before then.
    year = int(shown_year) if shown_year else year
    if not _is_day(year or 2000, month, int(day)):
        raise InputError(f"line {token.number}: {token.text!r} is not a valid date")
    published = dt.date(year, month, int(day)).isoformat() if year else None
    # The page shows no count for a paper without upvotes.
    return published, (int(upvotes) if upvotes else 0)
