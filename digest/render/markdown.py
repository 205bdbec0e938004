"""The day's digest as Markdown (also the CI job summary), and as a terminal summary"""

from __future__ import annotations

from dataclasses import dataclass

from digest.render import make_env
from digest.render.text import byline, listing_labels, plural

LINK_LABELS = (("hf", "Hugging Face"), ("arxiv", "arXiv"), ("pdf", "PDF"), ("code", "Code"), ("project", "Project"))


@dataclass(frozen=True)
class MarkdownPage:
    """The one context object the Markdown template gets"""

    title: str
    digest: object
    settings: object
    listing_names: tuple = ()  # [site] listing_names as (listing, name) pairs

    def listings(self, names):
        """Listings' names for readers ('hf-daily' -> 'Hugging Face Daily Papers')"""
        return listing_labels(names, dict(self.listing_names))

    def links(self, entry):
        return [(label, entry.links[kind]) for kind, label in LINK_LABELS if entry.links.get(kind)]

    def main_link(self, entry):
        return next((url for _, url in self.links(entry)), None)

    def byline(self, entry):
        return byline(entry, self.settings.max_authors)


def render_markdown(digest, config):
    """Render a day's Digest as Markdown"""
    page = MarkdownPage(
        title=config.title,
        digest=digest,
        settings=config.digest,
        listing_names=tuple(sorted(config.site.listing_names.items())),
    )
    return make_env("text").get_template("digest.md.j2").render(page=page)


def render_summary(digest):
    """A few readable lines for the terminal: counts, then the new and trending titles"""
    lines = [
        f"{digest.date}: {plural(digest.papers_seen, 'paper')} on {', '.join(digest.listings)}",
        f"  {len(digest.new)} new, {len(digest.trending)} trending, {len(digest.returning)} returning,"
        f" {len(digest.dropped)} dropped",
    ]
    if digest.new:
        lines.append("New:")
        lines += [f"  {i.entry.rank:>3}. {i.entry.title}" for i in digest.new]
    if digest.trending:
        lines.append("Trending:")
        lines += [f"  {t.score:>6.2f}  {t.item.entry.title} ({'; '.join(t.reasons)})" for t in digest.trending]
    return "\n".join(lines) + "\n"
