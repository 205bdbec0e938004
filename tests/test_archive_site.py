"""The site built from the whole real archive (580 days): it builds, links resolve, pages validate, topics fold

One import and one build of all of hf-archive, shared by every test here. Expected numbers
come from reading the raw archive files, never from the code under test.
"""

import ast
import json
import re
from collections import Counter, defaultdict

import lxml.html
import pytest
from conftest import BASE_URL, FIXTURES, ROOT
from test_site import html_files, links_resolve, nu_errors

# The archive is in the shared fixtures (not vendored: 580 files); a git worktree in
# <work>/wt/<name> finds them two folders up.
ARCHIVE = next((path for path in (FIXTURES / "hf-archive", ROOT.parents[1] / "shared" / "fixtures" / "hf-archive")
                if path.is_dir()), FIXTURES / "hf-archive")


def raw_items(path):
    """The items of one archive file as the archive holds them (three shapes, see the fixtures README)"""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data["data"]
    return [ast.literal_eval(item) if isinstance(item, str) else item for item in data]


@pytest.fixture(scope="module")
def raw():
    files = sorted(ARCHIVE.glob("*.json"))
    assert files, f"the real archive is missing: {ARCHIVE}"
    return {path.stem: raw_items(path) for path in files}


@pytest.fixture(scope="module")
def archive_site(raw, tmp_path_factory):
    from digest.config import Config
    from digest.pipeline import import_files
    from digest.publish.site import build_site
    from digest.store import Store

    root = tmp_path_factory.mktemp("archive")
    store = Store(root / "data")
    outcomes = import_files(store, sorted(ARCHIVE.glob("*.json")), listing="hf-daily")
    assert [o.error for o in outcomes if o.error] == []
    out = root / "site"
    result = build_site(Config(data_dir=store.root), out, base_url=BASE_URL, search=False)
    return out, result, outcomes


def test_the_whole_archive_builds(raw, archive_site):
    out, result, outcomes = archive_site
    assert len(raw) == 580 and sum(map(len, raw.values())) == 9881
    assert result.days == 580
    assert sorted(p.stem for p in (out / "day").glob("*.html")) == sorted(raw)
    ids = {item["paper"]["id"] for items in raw.values() for item in items}
    assert {p.stem for p in (out / "paper").glob("*.html")} >= {i.replace("/", "_") for i in ids}


def sample(out):
    """A few pages of every kind, the long and the short ones"""
    papers = sorted((out / "paper").glob("*.html"))
    topics = sorted((out / "topic").glob("*.html"), key=lambda p: p.stat().st_size)
    return [out / "index.html", out / "archive.html", out / "topics.html", out / "404.html",
            out / "day" / "2026-08-21.html", out / "day" / "2024-05-27.html",
            out / "week" / "2026-W34.html", out / "month" / "2026-08.html", out / "month" / "2025-03.html",
            out / "month" / "2025-03" / "2.html", *papers[::1000], topics[0], topics[-1],
            out / "topic" / "large-language-model.html", out / "topic" / "large-language-model" / "2.html",
            *sorted((out / "topic").glob("*/*.html"))[:3]]


def test_links_resolve_on_every_page(archive_site):
    out, _, _ = archive_site
    assert links_resolve(out) > 200_000


def test_a_sample_of_each_kind_of_page_passes_the_nu_html_checker(archive_site):
    out, _, _ = archive_site
    files = sample(out)
    assert all(f.is_file() for f in files), [str(f) for f in files if not f.is_file()]
    assert nu_errors(files) == []


def test_the_topics_index_is_small_and_grouped(archive_site):
    out, _, _ = archive_site
    page = out / "topics.html"
    assert page.stat().st_size < 300_000
    tree = lxml.html.fromstring(page.read_bytes())
    jump = tree.xpath("//nav[@class='jump']//a")
    assert [a.text for a in jump][1:4] == ["A", "B", "C"]
    for a in jump:  # each letter of the jump bar leads to its section
        assert tree.xpath(f"//h2[@id='{a.get('href')[1:]}']")[0].text == a.text


def keyword_links(out, raw, keyword):
    """Where each paper page with this exact keyword links it"""
    found = set()
    for items in raw.values():
        for item in items:
            if keyword in (item["paper"].get("ai_keywords") or []):
                page = out / "paper" / (item["paper"]["id"].replace("/", "_") + ".html")
                tree = lxml.html.fromstring(page.read_bytes())
                found |= {a.get("href") for a in tree.xpath("//ul[@class='tags']//a") if a.text == keyword}
    return found


def test_an_acronym_and_its_spellings_lead_to_one_topic(archive_site, raw):
    out, _, _ = archive_site
    links = [keyword_links(out, raw, k) for k in ("LLMs", "large language models", "large language models (LLMs)",
                                                  "large language model")]
    assert all(len(found) == 1 for found in links), links
    assert len(set.union(*links)) == 1
    # Spellings that differ by a hyphen, the first collision, are one topic too.
    hyphen = keyword_links(out, raw, "vision-language models") | keyword_links(out, raw, "vision language models")
    assert hyphen == {"../topic/vision-language-model.html"}


def test_long_topics_are_paginated(archive_site, raw):
    out, _, _ = archive_site
    # papers whose raw keywords are some spelling of "large language model(s)", by page counts
    spelled = {"llm", "llms", "large language model", "large language models", "large language models (llms)"}
    papers = {item["paper"]["id"] for items in raw.values() for item in items
              if spelled & {k.casefold() for k in item["paper"].get("ai_keywords") or []}}
    pages = [out / "topic" / "large-language-model.html",
             *sorted((out / "topic" / "large-language-model").glob("*.html"), key=lambda p: int(p.stem))]
    listed = set()
    for page in pages:
        links = lxml.html.fromstring(page.read_bytes()).xpath("//main/ul[@class='compact']/li/a/@href")
        assert 0 < len(links) <= 100
        listed |= {link.rsplit("/", 1)[1][:-len(".html")].replace("_", "/") for link in links}
    assert listed >= papers
    assert len(pages) == -(-len(listed) // 100)


def test_no_internal_listing_name_reaches_readers(archive_site):
    out, _, _ = archive_site
    leaks = Counter()
    for page in html_files(out):
        text = page.read_text(encoding="utf-8")
        for name in ("hf-daily", "arxiv:", "hf-trending"):
            if name in text:
                leaks[name, page.parent.name] += 1
    assert leaks == Counter()
    assert "Hugging Face Daily Papers" in (out / "index.html").read_text(encoding="utf-8")


def test_a_paper_seen_once_says_so_without_charts(archive_site, raw):
    out, _, _ = archive_site
    days = defaultdict(list)
    for day, items in raw.items():
        for item in items:
            days[item["paper"]["id"]].append((day, item["paper"]["upvotes"]))
    once = sorted(i for i, seen in days.items() if len(seen) == 1)
    twice = sorted(i for i, seen in days.items() if len({d for d, _ in seen}) >= 2)
    assert len(once) > 5000 and twice
    for paper_id in once[::2000]:
        (day, upvotes), = days[paper_id]
        page = (out / "paper" / f"{paper_id.replace('/', '_')}.html").read_text(encoding="utf-8")
        text = " ".join(lxml.html.fromstring(page).text_content().split())
        d = __import__("datetime").date.fromisoformat(day)
        assert f"Seen once, on {d.day} {d:%b %Y} with {upvotes} upvote" in text
        assert "<svg" not in page
    page = (out / "paper" / f"{twice[0].replace('/', '_')}.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "Seen once" not in page
    assert re.search(r"Upvotes from \d+ to \d+", page)
