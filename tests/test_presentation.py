"""One presentation layer: the [digest] settings shape the site and the feeds as they do Markdown and email"""

import json

from conftest import HF_DAILY

from digest.config import Config, DigestSettings
from digest.pipeline import import_files
from digest.publish.site import build_site
from digest.store import Store

DAY = "2026-08-21"


def build(tmp_path, name, **digest):
    store = Store(tmp_path / name / "data")
    assert all(o.error is None for o in import_files(store, [HF_DAILY / f"{DAY}.json"]))
    out = tmp_path / name / "site"
    build_site(Config(data_dir=store.root, digest=DigestSettings(**digest)), out,
               base_url="https://example.org/digest/", search=False)
    return out


def test_max_authors_shapes_the_site_cards_and_the_feed_items(tmp_path):
    first = json.loads((HF_DAILY / f"{DAY}.json").read_bytes())[0]["paper"]
    names = [a["name"] for a in first["authors"]]
    assert len(names) > 3  # the real list's first paper has 17 authors
    one = build(tmp_path, "one", max_authors=1)
    three = build(tmp_path, "three")
    day_one = (one / "day" / f"{DAY}.html").read_text()
    day_three = (three / "day" / f"{DAY}.html").read_text()
    assert f"{names[0]} and {len(names) - 1} more" in day_one
    assert f"{names[0]}, {names[1]}, {names[2]} and {len(names) - 3} more" in day_three
    assert f"{names[0]}, {names[1]}" not in day_one
    feed_one = (one / "feeds" / "daily.xml").read_text()
    feed_three = (three / "feeds" / "daily.xml").read_text()
    assert f"{names[0]} and {len(names) - 1} more" in feed_one
    assert f"{names[0]} and {len(names) - 1} more" not in feed_three



def test_a_card_entry_shows_what_the_whole_entry_shows(real_store):
    """Cards of old days are made from CardEntry (memory): byline and summary must not change"""
    from digest.render.presentation import byline, card_entry, short_summary

    entries = [e for _, _, path in real_store.files() for e in real_store.load_path(path).entries]
    assert len(entries) > 300
    cut = 0
    for most in (1, 3, 5):
        for sentences in (1, 2, 4):
            for entry in entries:
                card = card_entry(entry, most, sentences)
                assert byline(card, most) == byline(entry, most), entry.title
                assert short_summary(card, sentences) == short_summary(entry, sentences), entry.title
                assert (card.title, card.links, card.keywords, card.upvotes) == (
                    entry.title, entry.links, entry.keywords, entry.upvotes)
                cut += len(card.authors) < len(entry.authors) or (card.abstract or "") != (entry.abstract or "")
    assert cut > len(entries)  # most entries are really cut


def test_a_long_list_links_its_first_last_and_nearby_pages():
    from digest.render.presentation import pager

    paths = [f"p{n}" for n in range(1, 71)]

    def numbers(number, count=70):
        return [link and link[0] for link in pager(paths[:count], number)]

    assert numbers(1) == [1, 2, 3, None, 70]
    assert numbers(35) == [1, None, 33, 34, 35, 36, 37, None, 70]
    assert numbers(70) == [1, None, 68, 69, 70]
    assert numbers(5) == [1, 2, 3, 4, 5, 6, 7, None, 70]  # page 2 is shown, not a gap for one page
    assert numbers(3, count=5) == [1, 2, 3, 4, 5]
    assert numbers(1, count=1) == [1]
    assert pager(paths, 35)[3] == (34, "p34", "34")
    # The last page's label is `last` when given (a topic's newest page), every other its number.
    assert [link and link[2] for link in pager(paths, 69, last="Newest")] == ["1", None, "67", "68", "69", "Newest"]
    assert pager(paths[:1], 1, last="Newest") == [(1, "p1", "Newest")]


def test_a_long_topic_page_links_its_neighbours_and_ends(tmp_path):
    """A topic of 20 pages: its pages' navigation links the first, the last and two pages each
    side, with rel prev/next, and marks the gaps; every page is reachable from the first"""
    import lxml.html

    import digest.render.pages
    import digest.render.topic_pages

    store = Store(tmp_path / "data")
    import_files(store, sorted(HF_DAILY.glob("*.json")))
    out = tmp_path / "site"
    old = digest.render.topic_pages.TOPIC_PAGE
    digest.render.topic_pages.TOPIC_PAGE = 2
    try:
        build_site(Config(data_dir=store.root), out, base_url="https://example.org/")
    finally:
        digest.render.topic_pages.TOPIC_PAGE = old
    longest = max((out / "topic").iterdir(), key=lambda p: len(list(p.glob("*.html"))) if p.is_dir() else 0)
    count = len(list(longest.glob("*.html"))) + 1
    assert count >= 9
    # Pages are numbered from the oldest, as their paths are: <slug>/7.html is page 7, and the
    # topic's own page (the newest) is labelled "Newest".
    place = count // 2
    middle = lxml.html.fromstring((longest / f"{place}.html").read_bytes())
    items = middle.xpath("//nav[@class='pages']/ul/li")
    texts = [li.text_content() for li in items]
    assert texts == ["1", "…", *map(str, range(place - 2, place + 3)), "…", "Newest"]
    assert middle.xpath("//nav[@class='pages']//a[@rel='prev']")[0].text == str(place - 1)
    assert middle.xpath("//nav[@class='pages']//a[@rel='next']")[0].text == str(place + 1)
    assert middle.xpath("//nav[@class='pages']//span[@aria-current='page']")[0].text == str(place)
    assert middle.xpath("//nav[@class='pages']//a[text()='Newest']/@href") == [f"../../topic/{longest.name}.html"]
    own = lxml.html.fromstring((longest.parent / f"{longest.name}.html").read_bytes())
    assert own.xpath("//nav[@class='pages']//span[@aria-current='page']")[0].text == "Newest"
    # Walking "prev" (to older papers) from the topic's own page reaches every page once.
    seen, page = [], longest.parent / f"{longest.name}.html"
    while page:
        seen.append(page)
        doc = lxml.html.fromstring(page.read_bytes())
        older = doc.xpath("//nav[@class='pages']//a[@rel='prev']/@href")
        page = (page.parent / older[0]).resolve() if older else None
    assert len(seen) == count and len(set(seen)) == count and seen[-1] == (longest / "1.html").resolve()
