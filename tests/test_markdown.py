"""Markdown digest: sections, links, shortened authors, summaries, escaped titles"""

import datetime as dt

from conftest import HF_DAILY, assert_golden, hf_files

from digest.config import Config
from digest.models import Digest, Item, Trend, make_entry
from digest.render.markdown import render_markdown
from digest.render.presentation import md_escape, short_authors, short_summary


def test_golden_markdown_for_a_real_day(run):
    # Aug 14 to Aug 20 of the recorded archive: 14 new papers and one trending (OmniScientist).
    run("import", *hf_files()[-6:-1])
    out = run("markdown", "--date", "2026-08-20").stdout
    assert_golden("2026-08-20.md", out)


def test_markdown_writes_a_file_atomically(run, tmp_path):
    run("import", HF_DAILY / "2026-08-21.json")
    target = tmp_path / "out" / "today.md"
    result = run("markdown", "-o", target)
    assert result.stdout == "" and f"wrote {target}" in result.stderr
    text = target.read_text()
    assert text.startswith("# Daily Papers digest — Friday, 21 August 2026\n")
    assert "## New papers (17)" in text and "## Trending (0)" in text and "## Top papers by upvotes" in text


def test_hostile_and_special_titles_are_escaped():
    title = "Cost *and* _speed_ [of] |pipes| $x^2$ <script>alert(1)</script> & ![img](x)"
    assert md_escape(title) == (r"Cost \*and\* \_speed\_ \[of\] \|pipes\| \$x^2\$ \<script\>alert(1)\</script\>"
                                r" \& \!\[img\](x)")
    entry = make_entry(rank=1, id="2601.00001", title=title, abstract="One. Two.", upvotes=1)
    item = Item("2601.00001", "hf-daily", entry)
    digest = Digest(date=dt.date(2026, 1, 1), listings=("hf-daily",), new=(item,),
                    trending=(Trend(item, 2.0, ("+1 upvote since Dec 31 | [x]",), 1, None, 2),),
                    returning=(), dropped=(), top=(item,), papers_seen=1)
    text = render_markdown(digest, Config())
    assert "<script>" not in text and "|pipes|" not in text
    assert r"**Why it's trending:** +1 upvote since Dec 31 \| \[x\]" in text
    # Inside the top table the escaped pipe keeps the row at three cells.
    row = next(line for line in text.splitlines() if line.startswith("| 1 |"))
    assert row.replace(r"\|", "").count("|") == 4


def test_authors_are_shortened_sensibly():
    def authors(names, count=None):
        return short_authors(make_entry(rank=1, title="t", authors=names, author_count=count))

    assert authors(["Ada"]) == "Ada"
    assert authors(["Ada", "Bo"]) == "Ada and Bo"
    assert authors(["Ada", "Bo", "Cy"]) == "Ada, Bo and Cy"
    assert authors(["Ada", "Bo", "Cy", "Di"]) == "Ada, Bo, Cy and Di"
    assert authors(["Ada", "Bo", "Cy", "Di", "Ed"]) == "Ada, Bo, Cy and 2 more"
    assert authors(["Ada", "Bo", "Cy"], 9) == "Ada, Bo, Cy and 6 more"
    assert authors([], 7) == "7 authors"
    assert authors([], None) == ""


def test_summary_prefers_the_ai_summary_else_the_first_two_sentences():
    abstract = ("We study e.g. cats et al. in detail. Results are strong, i.e. good. "
                "A third sentence is dropped. A fourth too.")
    plain = make_entry(rank=1, title="t", abstract=abstract)
    assert short_summary(plain) == "We study e.g. cats et al. in detail. Results are strong, i.e. good."
    assert short_summary(make_entry(rank=1, title="t", abstract=abstract, ai_summary="AI says so.")) == "AI says so."
    long = make_entry(rank=1, title="t", abstract="word " * 200)
    assert len(short_summary(long)) <= 401 and short_summary(long).endswith("…")


def test_a_quiet_day_says_so():
    digest = Digest(date=dt.date(2026, 8, 22), listings=("hf-daily",), new=(), trending=(), returning=(),
                    dropped=(), top=(), papers_seen=0, quiet=("hf-daily",))
    lines = render_markdown(digest, Config()).splitlines()
    assert lines[2:5] == ["0 papers on Hugging Face Daily Papers: **0 new**, **0 trending**.", "",
                          "*Hugging Face Daily Papers published no papers on this day.*"]
    # [site] listing_names renames a listing for readers
    from digest.config import SiteSettings

    named = render_markdown(digest, Config(site=SiteSettings(listing_names={"hf-daily": "HF papers"})))
    assert named.splitlines()[2] == "0 papers on HF papers: **0 new**, **0 trending**."
    assert "No paper is new today." in lines and "No papers today." in lines
