"""Tests for parsing the copied text of a papers listing page"""

import dataclasses
import re

import pytest
from conftest import PAGE_TEXT as FIXTURES
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.errors import InputError
from digest.sources.page_text import PageCapture, parse_page_text

DAYS = ("2025-08-19", "2025-10-28", "2026-02-05")
FIRST_TITLE = {
    "2025-08-19": "Generative Marginalization Models",
    "2025-10-28": "Generative Marginalization Models",
    "2026-02-05": "iTransformer: Inverted Transformers Are Effective for Time Series Forecasting",
}
MING = "Ming-UniVision: Joint Image Understanding and Generation with a Unified Continuous Tokenizer"
HEADER_DAY = {"2025-08-19": (8, 19), "2025-10-28": (10, 28), "2026-02-05": (2, 5)}
# Lines a copy may lose: "• N authors", "·", the date, and the organization before "·".
METADATA_LINE = re.compile(
    r"^(?:\s*• \d+ authors?|·|[A-Z][a-z]{2} \d{1,2}(?:, \d{4})?(?: \d+)?|[^\n]+(?=\n·\n))\n",
    re.MULTILINE,
)


def read_fixture(day):
    return (FIXTURES / f"{day}.txt").read_text(encoding="utf-8")


def parse_fixture(day, text=None):
    return parse_page_text(read_fixture(day) if text is None else text, year=int(day[:4]))


def by_title(capture, title):
    (entry,) = [e for e in capture.entries if e.title == title]
    return entry


def body(day, text):
    """Return the text from the first paper's title on, without the header"""
    return text[text.index(FIRST_TITLE[day]):]


def without_metadata(entry):
    return dataclasses.replace(entry, author_count=None, organization=None, published=None, upvotes=None)


# -- the real captures --------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "count", "last_title"),
    [
        ("2025-08-19", 57, "X-Omni: Reinforcement Learning Makes Discrete Autoregressive Image Generative"
         " Models Great Again"),
        ("2025-10-28", 63, "Emergent Semantics Beyond Token Embeddings: Transformer LMs with Frozen Visual"
         " Unicode Representations"),
        ("2026-02-05", 49, "CoMPaSS: Enhancing Spatial Understanding in Text-to-Image Diffusion Models"),
    ],
)
def test_fixture_counts_ranks_first_and_last_titles(day, count, last_title):
    capture = parse_fixture(day)
    assert isinstance(capture, PageCapture)
    assert len(capture.entries) == count
    assert [e.rank for e in capture.entries] == list(range(1, count + 1))
    assert capture.entries[0].title == FIRST_TITLE[day]
    assert capture.entries[-1].title == last_title
    assert capture.header_day == HEADER_DAY[day]
    assert all(e.id is None and e.abstract and len(e.abstract) > 1000 for e in capture.entries)


@pytest.mark.parametrize(
    ("day", "rank", "title"),
    [
        ("2025-08-19", 12, "Hierarchical Autoregressive Transformers: Combining Byte-~and Word-Level Processing"
         " for Robust, Adaptable Language Models"),
        ("2025-08-19", 36, "Man is to Computer Programmer as Woman is to Homemaker? Debiasing Word Embeddings"),
        ("2025-08-19", 44, "How Are LLMs Mitigating Stereotyping Harms? Learning from Search Engine Studies"),
        ("2025-10-28", 24, "Few-Shot Segmentation Without Meta-Learning: A Good Transductive Inference"
         " Is All You Need?"),
        ("2025-10-28", 26, "Using Imperfect Surrogates for Downstream Inference: Design-based Supervised Learning"
         " for Social Science Applications of Large Language Models"),
        ("2025-10-28", 44, "ARC-Encoder: learning compressed text representations for large language models"),
        ("2026-02-05", 15, "Is Mamba Effective for Time Series Forecasting?"),
        ("2026-02-05", 22, "VARGPT: Unified Understanding and Generation in a Visual Autoregressive Multimodal"
         " Large Language Model"),
        ("2026-02-05", 46, MING),
    ],
)
def test_fixture_titles_in_the_middle(day, rank, title):
    assert parse_fixture(day).entries[rank - 1].title == title


def test_capture_without_metadata_leaves_it_unknown():
    capture = parse_fixture("2025-08-19")
    assert {(e.author_count, e.organization, e.published, e.upvotes) for e in capture.entries} == {
        (None, None, None, None)
    }


def test_first_paper_metadata_with_year_and_no_upvotes():
    first = parse_fixture("2025-10-28").entries[0]
    assert (first.title, first.author_count, first.organization) == ("Generative Marginalization Models", 3, None)
    assert (first.published, first.upvotes) == ("2023-10-19", 0)
    assert first.abstract.startswith("We introduce marginalization models (MaMs)")
    assert first.abstract.endswith("Code is at https://github.com/PrincetonLIPS/MaM.")


def test_organization_line_and_date_in_the_capture_year():
    entry = parse_fixture("2025-10-28").entries[1]
    assert entry.rank == 2
    assert entry.title == MING
    assert (entry.organization, entry.author_count) == ("inclusionAI", None)
    assert (entry.published, entry.upvotes) == ("2025-10-07", 3)


@pytest.mark.parametrize(
    ("day", "title", "expected"),
    [
        # "Dec 6, 2023 2": a shown year and upvotes
        ("2025-10-28", "Evaluating and Mitigating Discrimination in Language Model Decisions",
         (9, None, "2023-12-06", 2)),
        # "Mar 20 4": the capture's year and upvotes
        ("2025-10-28", "Bridging Continuous and Discrete Tokens for Autoregressive Visual Generation",
         (7, None, "2025-03-20", 4)),
        # "kyutai Kyutai": organization id, then display name
        ("2025-10-28", "ARC-Encoder: learning compressed text representations for large language models",
         (None, "Kyutai", "2025-10-23", 1)),
        # "• 1 authors" and "Jul 7 1", the last lines of the file (no final newline)
        ("2025-10-28", "Emergent Semantics Beyond Token Embeddings: Transformer LMs with Frozen Visual Unicode"
         " Representations", (1, None, "2025-07-07", 1)),
        # "Jan 4" in a 2026 capture is the capture's year
        ("2026-02-05", "Improving Flexible Image Tokenizers for Autoregressive Image Generation",
         (6, None, "2026-01-04", 0)),
        ("2026-02-05", "Is Mamba Effective for Time Series Forecasting?", (8, None, "2024-03-17", 0)),
        ("2026-02-05", "VA-π: Variational Policy Alignment for Pixel-Aware Autoregressive Generation",
         (7, None, "2025-12-22", 3)),
        # the same paper as "Oct 7 3" on 2025-10-28, shown with its year a year later
        ("2026-02-05", MING, (None, "inclusionAI", "2025-10-07", 3)),
    ],
)
def test_metadata_values(day, title, expected):
    entry = by_title(parse_fixture(day), title)
    assert (entry.author_count, entry.organization, entry.published, entry.upvotes) == expected


def test_dates_without_a_year_are_unknown_without_the_capture_year():
    capture = parse_page_text(read_fixture("2025-10-28"), year=None)
    assert capture.entries[0].published == "2023-10-19"
    assert (capture.entries[1].published, capture.entries[1].upvotes) == (None, 3)
    assert [e.title for e in capture.entries] == [e.title for e in parse_fixture("2025-10-28").entries]


# -- the same page copied differently ----------------------------------------


def no_blank_lines(day, text):
    return "\n".join(line for line in text.split("\n") if line.strip())


def header_missing(day, text):
    return body(day, text)


def header_shortened(day, text):
    month, mday = HEADER_DAY[day]
    return f"Daily Papers\n{_mon(month)} {mday}\n\n" + body(day, text)


def header_glued_in_full(day, text):
    month, mday = HEADER_DAY[day]
    return f"Daily PapersbyAK and the research community{_mon(month)} {mday}" + body(day, text)


def header_glued_banner_only(day, text):
    return "newGet trending papers in your email inbox!SubscribeDaily Papers" + body(day, text)


def header_day_glued_with_space(day, text):
    month, mday = HEADER_DAY[day]
    return f"{_mon(month)} {mday} " + body(day, text)


def windows_spaces_and_bom(day, text):
    return "\ufeff" + "\r\n".join(line + "  \t" for line in text.split("\n"))


def everything_at_once(day, text):
    return windows_spaces_and_bom(day, header_glued_in_full(day, no_blank_lines(day, text)))


def _mon(month):
    return ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")[month - 1]


COPIES = [
    no_blank_lines,
    header_missing,
    header_shortened,
    header_glued_in_full,
    header_glued_banner_only,
    header_day_glued_with_space,
    windows_spaces_and_bom,
    everything_at_once,
]


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("copy", COPIES, ids=lambda f: f.__name__)
def test_copies_of_the_same_page_give_the_same_entries(day, copy):
    original = parse_fixture(day)
    copied = parse_fixture(day, copy(day, read_fixture(day)))
    assert copied.entries == original.entries


@pytest.mark.parametrize(
    ("copy", "header_day"),
    [(header_missing, None), (header_shortened, "same"), (header_glued_in_full, "same"),
     (header_glued_banner_only, None), (header_day_glued_with_space, "same")],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_header_day_of_copies(copy, header_day):
    day = "2025-10-28"
    expected = HEADER_DAY[day] if header_day == "same" else header_day
    assert parse_fixture(day, copy(day, read_fixture(day))).header_day == expected


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("squeeze", [False, True], ids=["blank-lines", "no-blank-lines"])
def test_copies_without_metadata_keep_titles_and_abstracts(day, squeeze):
    text = METADATA_LINE.sub("", read_fixture(day) + "\n")
    assert "·" not in text and " authors" not in text
    if squeeze:
        text = no_blank_lines(day, text)
    expected = tuple(without_metadata(e) for e in parse_fixture(day).entries)
    assert parse_fixture(day, text).entries == expected


def test_question_title_stays_a_title_without_blank_lines():
    text = no_blank_lines("2026-02-05", METADATA_LINE.sub("", read_fixture("2026-02-05") + "\n"))
    entry = parse_fixture("2026-02-05", text).entries[14]
    assert entry.title == "Is Mamba Effective for Time Series Forecasting?"
    assert entry.abstract.startswith("In the realm of time series forecasting (TSF)")


def test_a_new_at_the_start_of_a_title_is_kept():
    capture = parse_page_text("newLISP Models\n\nA long abstract. " + "x" * 400, year=2025)
    assert capture.entries[0].title == "newLISP Models"


# -- bad input ----------------------------------------------------------------

SMALL_PAPER = "A Title\n\nAn abstract that is prose.\n\n  • 3 authors\n·\nOct 19, 2023\n"
LONG = "This abstract is a long paragraph of prose. " * 20


@pytest.mark.parametrize("text", ["", "   \n\n\t\n", "\ufeff", "\r\n\r\n"])
def test_empty_text(text):
    with pytest.raises(InputError, match="empty"):
        parse_page_text(text, year=2025)


@pytest.mark.parametrize(
    "text",
    [
        "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\n"
        "byAK and the research community\n\nOct 28\n",
        "Daily Papers\nOct 28",
    ],
)
def test_header_only_has_no_papers(text):
    with pytest.raises(InputError, match="no papers found in the page text"):
        parse_page_text(text, year=2025)


def test_small_page_parses():
    (entry,) = parse_page_text(SMALL_PAPER, year=2025).entries
    assert (entry.title, entry.abstract, entry.author_count, entry.published, entry.upvotes) == (
        "A Title", "An abstract that is prose.", 3, "2023-10-19", 0
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("A Title\n\n  • 3 authors\n·\nOct 19, 2023\n", "line 1: paper 'A Title' has no abstract"),
        (SMALL_PAPER + "\nA Lonely Title\n", "line 9: paper 'A Lonely Title' has no abstract"),
        (SMALL_PAPER + "Second Title\nkyutai Kyutai\n·\nOct 23 1\n",
         "line 8: paper 'Second Title' has no abstract"),
        (f"First Title\nSecond Title\n{LONG}\n", "line 1: paper 'First Title' has no abstract"),
        (f"{LONG}\nA Title\nAn abstract.\n", "line 1: expected a paper title, found a paragraph"),
        ("·\nOct 19, 2023\nA Title\nAn abstract.\n", "line 1: expected a paper title, found '·'"),
        (SMALL_PAPER + "Oct 20, 2023\n", "line 8: expected a paper title, found 'Oct 20, 2023'"),
    ],
)
def test_titles_without_abstracts_and_stray_lines(text, where):
    with pytest.raises(InputError, match=re.escape(where)):
        parse_page_text(text, year=2025)


def test_missing_abstract_in_a_capture_without_metadata_names_its_title():
    lines = read_fixture("2025-08-19").split("\n")
    assert lines[18].startswith("We present LARP")
    del lines[18]
    with pytest.raises(InputError, match=r"^line 17: paper 'LARP: .*' has no abstract$"):
        parse_fixture("2025-08-19", "\n".join(lines))


def test_missing_abstract_is_found_with_windows_line_endings_and_no_blank_lines():
    lines = [line for line in read_fixture("2025-10-28").split("\n") if line.strip()]
    assert lines[12].startswith("Visual tokenization remains")
    del lines[12]
    with pytest.raises(InputError, match=r"^line 12: paper 'Ming-UniVision: .*' has no abstract$"):
        parse_fixture("2025-10-28", "\r\n".join(lines))


@pytest.mark.parametrize(
    ("date", "message"),
    [
        ("Foo 99, 2023", "line 7: an unreadable date after '·'"),
        ("Feb 30, 2023", "line 7: 'Feb 30, 2023' is not a valid date"),
        ("Feb 29", "line 7: 'Feb 29' is not a valid date"),
        ("Oct 0 3", "line 7: 'Oct 0 3' is not a valid date"),
        ("Next Title", "line 7: no date after '·'"),
    ],
)
def test_bad_date_after_the_dot(date, message):
    text = SMALL_PAPER.replace("Oct 19, 2023", date)
    with pytest.raises(InputError, match=re.escape(message)):
        parse_page_text(text, year=2025)


def test_dot_at_the_end_without_a_date():
    with pytest.raises(InputError, match=re.escape("line 6: '·' is not followed by the paper's date")):
        parse_page_text("A Title\n\nAn abstract.\n\n  • 3 authors\n·\n", year=2025)


def test_dot_right_after_an_abstract_reads_the_abstract_as_an_organization():
    # Above "·" the page shows authors or an organization, never the abstract.
    with pytest.raises(InputError, match=re.escape("line 1: paper 'A Title' has no abstract")):
        parse_page_text("A Title\n\nAn abstract.\n\n·\nOct 7\n", year=2025)


def test_february_29_is_kept_in_a_leap_year_and_unknown_without_a_year():
    text = SMALL_PAPER.replace("Oct 19, 2023", "Feb 29 5")
    assert parse_page_text(text, year=2024).entries[0].published == "2024-02-29"
    assert parse_page_text(text, year=None).entries[0].upvotes == 5
    assert parse_page_text(text, year=None).entries[0].published is None


# -- arbitrary text -----------------------------------------------------------

# Lines shaped like the page's, so random documents reach past the first check.
PAGE_LINES = st.sampled_from([
    "", "new", "Daily Papers", "byAK and the research community", "Oct 28", "Daily PapersOct 28A Title",
    "A Title", "Is It A Question?", "An abstract.", LONG, "  • 3 authors", "• 1 authors", "·",
    "Oct 19, 2023", "Oct 7 3", "Feb 29", "Feb 30, 2023", "Foo 99, 2023", "kyutai Kyutai", "\ufeff", "\x00",
    "Oct 99999999999999999999", "•  99999999999999 authors",
])


def _only_input_errors(text, year):
    try:
        capture = parse_page_text(text, year=year)
    except InputError as e:
        assert str(e)
        return
    assert capture.entries
    assert [e.rank for e in capture.entries] == list(range(1, len(capture.entries) + 1))


@settings(max_examples=300)
@given(text=st.text(), year=st.sampled_from([None, 2025]))
def test_arbitrary_text_raises_only_input_error(text, year):
    _only_input_errors(text, year)


@settings(max_examples=300)
@given(
    lines=st.lists(st.one_of(PAGE_LINES, st.text()), max_size=30),
    line_end=st.sampled_from(["\n", "\r\n", "\r"]),
    year=st.sampled_from([None, 2025]),
)
def test_page_shaped_text_raises_only_input_error(lines, line_end, year):
    _only_input_errors(line_end.join(lines), year)


# -- the page's chrome as other page versions and copies show it (issue 9) ----------

# Banner wordings of other page versions; each is one line of chrome, never a paper.
BANNERS = [
    "Get trending papers in your email inbox!",
    "Get trending papers in your email inbox once a day!",
    "Get trending papers in your inbox!",
    "Get the trending papers in your email inbox",
]


def header_with_banner(day, text, banner):
    month, mday = HEADER_DAY[day]
    return f"new\n\n{banner}\n\nSubscribe\n\nDaily Papers\n\nbyAK and the research community\n\n" \
           f"{_mon(month)} {mday}\n\n" + body(day, text)


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("banner", BANNERS)
def test_banner_worded_differently_is_chrome(day, banner):
    copied = parse_fixture(day, header_with_banner(day, read_fixture(day), banner))
    assert copied.entries == parse_fixture(day).entries
    assert copied.header_day == HEADER_DAY[day]


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("banner", BANNERS)
def test_subscribe_glued_to_the_first_title(day, banner):
    text = read_fixture(day)
    # The real header down to the banner, then the button's text glued to the first title.
    copied = text[:text.index("Get trending")] + banner + "\n\nSubscribe" + body(day, text)
    capture = parse_fixture(day, copied)
    assert capture.entries == parse_fixture(day).entries
    assert capture.entries[0].title == FIRST_TITLE[day]


@pytest.mark.parametrize("day", DAYS)
def test_chrome_in_another_order_and_spelling(day):
    month, mday = HEADER_DAY[day]
    text = read_fixture(day)
    copied = (f"Daily Papers\nby AK and the research community\n{_mon(month)} {mday}\n"
              f"Get trending papers in your inbox!Subscribe" + body(day, text))
    capture = parse_fixture(day, copied)
    assert capture.entries == parse_fixture(day).entries
    assert capture.header_day == HEADER_DAY[day]


@pytest.mark.parametrize("day", DAYS)
def test_banner_between_papers_is_not_a_paper(day):
    text = read_fixture(day)
    original = parse_fixture(day)
    # Where the second paper starts in the real capture, the banner and a glued button.
    second = text.index(original.entries[1].title)
    copied = (text[:second] + "Get trending papers in your email inbox once a day!\n\nSubscribe"
              + text[second:])
    capture = parse_fixture(day, copied)
    assert capture.entries == original.entries
    assert not any("inbox" in e.title or "Subscribe" in e.title for e in capture.entries)


def test_a_title_that_merely_starts_like_chrome_is_kept():
    capture = parse_page_text("Subscribers Matter: A Study\n\nA long abstract. " + "x" * 400, year=2025)
    assert capture.entries[0].title == "Subscribers Matter: A Study"
