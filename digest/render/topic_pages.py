"""The topics' pages: the topics index, and each topic's papers a hundred a page (contexts only)

A topic's pages are counted from its oldest paper and its own page is the newest, so a new
paper changes its newest page, not every page; `topic_layout` says what places papers on a
page, so an update makes only the pages of a touched topic whose layout or papers changed.
"""

from __future__ import annotations

import functools
from collections import defaultdict

from digest.archive import want_papers
from digest.render.contexts import TopicEntry, TopicPage, TopicsPage, fingerprint_of, text_digest
from digest.render.presentation import plural, shown_links

TOPIC_PAGE = 100  # papers per page of a topic
TOPICS_POPULAR = 30  # topics in the "most papers" group of the topics index


def page_count(total, size):
    return max(1, -(-total // size))


def _topic_inputs(topic, total, n, links, listed):
    """A topic page's fingerprint, made when it is written (as _rollup_inputs)"""
    # A topic page shows its name, aliases, its papers' titles, last day seen and peak
    # upvotes, and the pages' links; only the newest shows the total, which every new paper changes.
    rows = [(p.slug, p.entry.title, p.last_seen, p.peak_upvotes) for p in listed]
    return fingerprint_of((topic.name, topic.aliases, total, n, links, rows))


def topics_index(topic_list, site):
    """The topics index: the most popular topics, then every topic of [site] topics_min_papers or more by letter

    topic_list: slug -> (name, number of papers) of every topic kept.
    """
    least = site.topics_min_papers
    listed = [TopicEntry(slug, name, count) for slug, (name, count) in topic_list.items() if count >= least]
    popular = sorted(listed, key=lambda t: (-t.paper_count, t.name.casefold(), t.slug))[:TOPICS_POPULAR]
    letters = defaultdict(list)
    for topic in sorted(listed, key=lambda t: (t.name.casefold(), t.slug)):
        first = topic.slug[0]
        letters[first.upper() if first.isalpha() else "0–9"].append(topic)
    groups = sorted(letters.items(), key=lambda kv: (kv[0] != "0–9", kv[0]))
    return TopicsPage(
        "topics.html",
        "site/topics.html",
        "Topics",
        f"Topics of the papers in {site.title}",
        site,
        kind="topics",
        popular=tuple(popular),
        letters=tuple((letter, tuple(ts)) for letter, ts in groups),
        least=least,
        count=len(listed),
        total=len(topic_list),
    )


def topic_path(slug, n, count):
    """The n-th page of a topic's papers counted from its oldest: the newest page is the topic's own"""
    return f"topic/{slug}.html" if n == count else f"topic/{slug}/{n}.html"


def topic_layout(topic, n, keys, links):
    """What places papers on a topic page: the topic's names, the page's number, its keys and
    its navigation's links (which hold the page count only near the newest page)

    An update makes a page of a touched topic only when its layout differs from the last
    build's or one of its papers was touched: the other papers' titles, last sightings and
    upvotes, all the page shows of them, are the last build's.
    """
    # The keys joined, not their list's repr: 7 us a page instead of 16, and a day's update makes
    # the layout of every page of each topic it touches (9,600 pages of 100 keys at 10 years).
    # Paper keys hold no NUL (text is cleaned of control characters) and their count leads.
    head = repr((topic.name, topic.aliases, n, len(keys), links))
    return text_digest("\0".join((head, *keys)))


def first_seen_of(papers):
    """key -> the day a paper was first seen, without making its Paper (LazyPapers reads a row for that)"""
    observations = getattr(papers, "observations", None)
    if observations is not None:
        return observations.first.__getitem__
    return lambda key: papers[key].observations[0].day


def topic_pages(papers, site, topic, first_seen, touched=None, last=None, layouts=None):
    """A topic's pages: its papers by the day they were first seen, TOPIC_PAGE a page counted
    from the oldest, each page newest first; the topic's own page is the newest one

    Counted (and numbered) from the oldest, a page keeps its papers when new ones arrive: an
    update that adds a paper to a topic changes its newest page, and when a new page begins,
    the one before it and those whose navigation shows the new page count, not every page
    of the topic, as pages counted from the newest would.

    first_seen: a function, key -> the day a paper was first seen. touched (an update's papers) and last
    (the last build's layouts): a page whose layout is the last build's and which lists no
    touched paper is left out (the build keeps the last build's file). layouts: filled with
    every page's layout.
    """
    keys = sorted(topic.keys)
    keys.sort(key=first_seen)  # stable: by first seen, then by key
    total = len(keys)
    count = page_count(total, TOPIC_PAGE)
    # Numbered from the oldest, as their paths are; made newest first.
    paths = tuple(topic_path(topic.slug, m, count) for m in range(1, count + 1))
    pages = []
    for n in range(count, 0, -1):
        first = (n - 1) * TOPIC_PAGE
        on_page = keys[first : first + TOPIC_PAGE]
        path = paths[n - 1]
        newest = n == count
        links = shown_links(paths, n, last="Newest")
        layout = topic_layout(topic, n, on_page, (newest, links))
        if layouts is not None:
            layouts[path] = layout
        if touched is not None and last is not None and last.get(path) == layout and touched.isdisjoint(on_page):
            continue
        want_papers(papers, on_page)
        listed = tuple(papers[k] for k in reversed(on_page))
        inputs = functools.partial(_topic_inputs, topic, total if newest else None, n, links, listed)
        title = f"Topic: {topic.name}" + ("" if newest else f" (papers {first + 1}–{first + len(listed)})")
        blurb = (
            f"{plural(total, 'paper')} about {topic.name}"
            if newest
            else f"Papers {first + 1}–{first + len(listed)} about {topic.name}, by the day they were first seen"
        )
        pages.append(
            TopicPage(
                path,
                "site/topic.html",
                title,
                blurb,
                site,
                kind="topic",
                inputs=inputs,
                topic=topic,
                papers=listed,
                total=total if newest else None,
                number=n,
                first=first + 1,
                pages=paths,
            )
        )
    return pages
