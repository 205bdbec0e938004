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
