"""Renderers read a Digest and never the store; templates load here, in one place"""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from digest.render import presentation as text_filters


def templates_dir():
    """templates/ inside the installed wheel, else the source checkout's top-level templates/"""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("digest templates folder not found (broken install?)")


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's cache of compiled templates; one that cannot be written is skipped, not fatal"""

    def dump_bytecode(self, bucket):
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass  # a temp folder cleaned or full: the template was compiled all the same


def _bytecode_cache():
    try:
        return _BytecodeCache()
    except (OSError, RuntimeError):
        return None  # no private temp folder to be had: compile every time


@functools.cache
def make_env(kind):
    """The Jinja environment for 'html' (autoescaped) or 'text' (Markdown and plain text)"""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        autoescape=kind == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Compiled templates are kept in the user's temp folder (keyed by each template's
        # source checksum, so an edited template compiles again): compiling them all costs
        # a tenth of a second, a tenth of a one-day site update.
        bytecode_cache=_bytecode_cache(),
        # A build renders tens of thousands of pages, each including its cards' template:
        # with auto_reload, every include stats the template's file again.
        auto_reload=False,
    )
    env.filters.update(
        md=text_filters.md_escape,
        md_url=text_filters.md_url,
        authors=text_filters.short_authors,
        summary=text_filters.short_summary,
        long_date=text_filters.long_date,
        short_date=text_filters.short_date,
        plural=text_filters.plural,
    )
    return env
