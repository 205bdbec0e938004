"""Static search: pagefind, run from its PyPI wheel over the built pages"""

from __future__ import annotations

import shutil
import subprocess
import sys

from digest.errors import SiteError


def pagefind_command():
    """The pagefind binary shipped in its PyPI wheel (run as a module: no download at run time)"""
    for module in ("pagefind_bin_extended", "pagefind_bin"):
        try:
            __import__(module)
        except ImportError:
            continue
        return [sys.executable, "-m", module]
    raise SiteError("search needs pagefind: pip install 'pagefind[extended]' (or build with --no-search)")


def run_pagefind(out):
    """Index the built pages for the static search (pagefind writes out/pagefind/)"""
    command = pagefind_command() + ["--site", str(out), "--output-subdir", "pagefind", "--quiet"]
    # A fresh index each time: pagefind names files by content and would leave stale ones.
    shutil.rmtree(out / "pagefind", ignore_errors=True)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SiteError(f"pagefind failed on {out}: {tail[0]}")


