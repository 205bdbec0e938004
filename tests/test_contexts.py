"""Page contexts are documented both ways: every field is read by its templates, and every
attribute a template reads on `page` is a documented field, method or property (datasette's check)"""

import dataclasses
import functools
import inspect

import pytest
from conftest import ROOT
from jinja2 import nodes

from digest.render import contexts as C
from digest.render import make_env

# Each context class and the template that renders it (with what that one extends and includes).
TEMPLATES = {
    C.HomePage: "site/home.html",
    C.DayPage: "site/day.html",
    C.RollupPage: "site/rollup.html",
    C.PaperPage: "site/paper.html",
    C.ArchivePage: "site/archive.html",
    C.TopicsPage: "site/topics.html",
    C.TopicPage: "site/topic.html",
    C.SearchPage: "site/search.html",
    C.NotFoundPage: "site/404.html",
    C.DayFeedItem: "site/_feed_day.html",
    C.PaperFeedItem: "site/_feed_paper.html",
}
# The parts of every page rendered once a build (Page.fragment), from a Chrome.
FRAGMENTS = ("site/_head_links.html", "site/_masthead.html", "site/_footer.html")
# Fields no template reads, as "DeclaringClass.field", and who reads them instead.
READ_ELSEWHERE = {
    "Page.path": "the writer (where the page goes), and url(), root and canonical",
    "Page.template": "the writer: the template that renders the page",
    "Page.blurb": "read through the `description` property",
    "Page.sitemap": "the page's own record; site_paths leaves the 404 page out without making contexts",
    "Page.inputs": "the writer, through fingerprint()",
    "PaperPage.topic_index": "read through the `topics` property",
    "PaperPage.entry_of": "read through the `entry` property",
    "PaperPage.day_key": "the writer, through fingerprint()",
}


def env():
    return make_env("html")


def parse(name, source=None):
    if source is None:
        source = env().loader.get_source(env(), name)[0]
    return env().parse(source)


def children(tree):
    """(parent, child) of every node below `tree`"""
    for node in tree.iter_child_nodes():
        yield tree, node
        yield from children(node)


def page_reads(tree):
    """(attributes read on `page`, on `page.site`, other uses of `page` itself) in one template's AST"""
    attrs, site, bare = set(), set(), []
    for parent, node in children(tree):
        if not (isinstance(node, nodes.Name) and node.name == "page"):
            continue
        if isinstance(parent, nodes.Getattr) and parent.node is node:
            attrs.add(parent.attr)
        else:
            # page[...], {% set p = page %}, a macro given `page`: reads the test cannot follow.
            bare.append(type(parent).__name__)
    for node in tree.find_all(nodes.Getattr):
        inner = node.node
        if isinstance(inner, nodes.Getattr) and inner.attr == "site" and getattr(inner.node, "name", None) == "page":
            site.add(node.attr)
    return attrs, site, bare


@functools.cache
def closure(name):
    """The template and every template it extends or includes, at any depth"""
    names = {name}
    for node in parse(name).find_all((nodes.Extends, nodes.Include)):
        assert isinstance(node.template, nodes.Const), f"{name}: a computed template name the test cannot follow"
        names |= closure(node.template.value)
    return frozenset(names)


def reads_of(name):
    """What the template and those it extends or includes read: (on page, on page.site, bare uses)"""
    attrs, site, bare = set(), set(), []
    for each in sorted(closure(name)):
        a, s, b = page_reads(parse(each))
        attrs |= a
        site |= s
        bare += [f"{each}: {kind}" for kind in b]
    return attrs, site, bare


def help_of(cls, name):
    """A field's help text, a method's or property's docstring, or None when it is undocumented"""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if name in fields:
        return fields[name].metadata.get("help")
    try:
        member = inspect.getattr_static(cls, name)
    except AttributeError:
        return None
    if isinstance(member, property | functools.cached_property) or inspect.isfunction(member):
        return inspect.getdoc(member)
    return None


def declared_by(cls, name):
    return next(k.__name__ for k in cls.__mro__ if name in vars(k).get("__annotations__", {}))


def undocumented(cls, reads):
    """What a template reads on a `cls` page that is not documented (empty when all is)"""
    attrs, site, bare = reads
    problems = [f"page.{a}" for a in sorted(attrs) if not help_of(cls, a)]
    problems += [f"page.site.{a}" for a in sorted(site) if not help_of(C.SiteInfo, a)]
    return problems + [f"`page` used bare ({b})" for b in bare]


@pytest.mark.parametrize("cls", TEMPLATES, ids=lambda c: c.__name__)
def test_every_attribute_a_template_reads_is_documented(cls):
    assert undocumented(cls, reads_of(TEMPLATES[cls])) == []


@pytest.mark.parametrize("cls", TEMPLATES, ids=lambda c: c.__name__)
def test_every_documented_field_is_read(cls):
    attrs, _, _ = reads_of(TEMPLATES[cls])
    unread = [
        f.name for f in dataclasses.fields(cls) if f.name not in attrs and f"{declared_by(cls, f.name)}.{f.name}" not in READ_ELSEWHERE
    ]
    assert unread == [], f"{cls.__name__} fields no template reads: drop them, or say in READ_ELSEWHERE who does"


@pytest.mark.parametrize("name", FRAGMENTS)
def test_a_fragment_reads_only_what_chrome_has(name):
    """A fragment is rendered once for many pages: reading anything but Chrome's fields would
    show one page's value on all of them (StrictUndefined stops the build where it is missing)"""
    assert undocumented(C.Chrome, reads_of(name)) == []
    assert "fragment" in reads_of("site/_base.html")[0]


def test_a_fragment_is_rendered_once_per_depth_and_kind():
    site = C.SiteInfo("s", "https://example.org/", None, (("Feed", "feeds/daily.xml", "application/rss+xml"),), False)
    pages = [C.Page(path, "site/x.html", "t", None, site, kind=kind)
             for path, kind in (("index.html", "home"), ("day/a.html", "day"), ("day/b.html", "day"), ("x/404.html", "404"))]
    C._fragment.cache_clear()
    links = [page.fragment("site/_head_links.html") for page in pages]
    assert C._fragment.cache_info().misses == 3 and links[1] is links[2]
    assert 'href="feeds/daily.xml"' in links[0] and 'href="../feeds/daily.xml"' in links[1]
    assert 'href="https://example.org/feeds/daily.xml"' in links[3]
    nav = pages[1].fragment("site/_masthead.html")
    assert '<a href="../archive.html">Archive</a>' in nav and 'aria-current' not in nav


def context_classes():
    return [v for v in vars(C).values() if inspect.isclass(v) and dataclasses.is_dataclass(v) and v.__module__ == C.__name__]


@pytest.mark.parametrize("cls", context_classes(), ids=lambda c: c.__name__)
def test_every_field_has_a_help_text_and_the_context_is_frozen(cls):
    assert cls.__dataclass_params__.frozen
    assert [f.name for f in dataclasses.fields(cls) if not f.metadata.get("help")] == []
    assert inspect.getdoc(cls)


def test_every_context_has_its_template_and_every_template_its_context():
    bases = {base for cls in context_classes() for base in cls.__mro__[1:]}
    leaves = {cls for cls in context_classes() if cls not in bases and cls not in (C.SiteInfo, C.Chrome)}
    assert leaves == set(TEMPLATES)
    shown = set().union(*(closure(name) for name in (*TEMPLATES.values(), *FRAGMENTS)))
    on_disk = {f"site/{p.name}" for p in (ROOT / "templates" / "site").glob("*.html")}
    assert on_disk == shown, "a template under templates/site that no context renders"
    for name in READ_ELSEWHERE:
        owner, _, field_name = name.partition(".")
        assert field_name in {f.name for f in dataclasses.fields(getattr(C, owner))}, f"{name} is no field"


def test_the_check_catches_an_undocumented_read():
    source = "{{ page.day }} {{ page.nonsense }} {{ page.site.nonsense }} {{ page['day'] }} {% set p = page %}"
    reads = page_reads(parse("site/x.html", source))
    assert undocumented(C.DayPage, reads) == [
        "page.nonsense", "page.site.nonsense", "`page` used bare (Getitem)", "`page` used bare (Assign)"
    ]
    assert undocumented(C.DayPage, page_reads(parse("site/x.html", "{{ page.url('') }} {{ page.prev }}"))) == []


def test_a_paper_context_caches_its_small_derived_values_though_frozen():
    import datetime as dt

    from digest.archive import Paper
    from digest.models import Entry, Observation

    entry = Entry(rank=1, title="A paper", abstract="One. Two. Three.", keywords=("agents",))
    paper = Paper("k", "k", entry, (Observation(dt.date(2026, 8, 21), "hf-daily", 1, 3),))
    site = C.SiteInfo("s", "https://example.org/", None, (), False, summary_sentences=1)
    page = C.PaperPage("paper/k.html", "site/paper.html", "A paper", None, site, kind="paper", paper=paper,
                       topic_index={"agents": "agents"}, entry_of=lambda p: p.entry, day_key=None)
    assert page.description == "One."
    assert page.entry is entry and "entry" not in vars(page)  # read when rendered, not kept
    assert page.topics == (("agents", "agents"),) and "topics" in vars(page)
    assert page.chart is None and "chart" not in vars(page)  # seen once: no chart; never kept
    with pytest.raises(dataclasses.FrozenInstanceError):
        page.title = "changed"


def test_the_docs_name_every_context():
    text = (ROOT / "docs" / "site.md").read_text(encoding="utf-8")
    assert "digest/render/contexts.py" in text
    assert [cls.__name__ for cls in TEMPLATES if f"`{cls.__name__}`" not in text] == []


@pytest.mark.parametrize(("name", "var", "record"), [("site/_card.html", "card", C.Card),
                                                     ("site/_feed_day.html", "c", C.FeedCard)])
def test_cards_are_read_by_their_fields(name, var, record):
    tree = parse(name)
    read = {n.attr for n in tree.find_all(nodes.Getattr) if getattr(n.node, "name", None) == var}
    assert read and read <= set(record._fields), f"{name} reads {sorted(read - set(record._fields))} on {var}"
