"""The day's digest as Markdown (also the CI job summary), and as a terminal summary"""

from __future__ import annotations

from dataclasses import dataclass

from digest.render import make_env
from digest.render.presentation import byline, entry_links, listing_labels, plural, short_summary


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
        """External links of an entry, each checked again: only http(s) reaches the Markdown"""
        return entry_links(entry)

    def main_link(self, entry):
        """The link of a paper's title: its first external link, or None"""
        return next((url for _, url in self.links(entry)), None)

    def byline(self, entry):
        """The parts of an entry's byline, with [digest] max_authors names"""
        return byline(entry, self.settings.max_authors)

    def summary(self, entry):
        """An entry's short summary, of [digest] summary_sentences"""
        return short_summary(entry, self.settings.summary_sentences)


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
