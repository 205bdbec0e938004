"""Shared test helpers: the recorded fixtures, a CLI runner, tree hashes"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"
# The shared recorded data when it is beside the repository, else the repository's own
# verbatim copy (tests/fixtures/recorded/README.md), so a fork's CI runs the same tests.
VENDORED_FIXTURES = ROOT / "tests" / "fixtures" / "recorded"
FIXTURES = Path(os.environ.get("DIGEST_FIXTURES")
                or (SHARED_FIXTURES if SHARED_FIXTURES.is_dir() else VENDORED_FIXTURES))
HF_DAILY = FIXTURES / "hf-daily"
PAGE_TEXT = FIXTURES / "page-text"
GOLDEN = Path(__file__).resolve().parent / "golden"


def hf_files():
    files = sorted(HF_DAILY.glob("*.json"))
    assert files, f"no fixtures found in {HF_DAILY}"
    return files


def tree_hash(root):
    """A hash of every file's path and bytes below root (the index cache aside)"""
    digest = hashlib.sha256()
    root = Path(root)
    if not root.exists():
        return None
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".cache" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def assert_golden(name, actual):
    """Compare with a reviewed golden file; UPDATE_GOLDEN=1 rewrites it (then read the diff)"""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8")


class Run:
    """Invoke the real click command line in-process, with a data directory"""

    def __init__(self, data_dir):
        self.data_dir = Path(data_dir)
        self.runner = CliRunner()

    def __call__(self, *args, expect=0):
        result = self.runner.invoke(cli, ["--data-dir", str(self.data_dir), *map(str, args)],
                                    catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, (result.exit_code, result.stdout, result.stderr)
        return result


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIGEST_DATA_DIR", raising=False)
    return Run(tmp_path / "data")


# --- network guard (issue 3): tests may connect to 127.0.0.1 and nowhere else ----------

import socket as _socket
import sys as _sys

ALLOWED_HOSTS = {"127.0.0.1"}


class ForbiddenConnection(RuntimeError):
    """A test tried to reach a host other than 127.0.0.1"""


def _network_guard(event, args):
    # socket.connect covers every TCP/UDP connection; getaddrinfo catches a name lookup
    # (which would itself reach a DNS server) before any connection is tried.
    if event == "socket.connect":
        sock, address = args
        if sock.family in (_socket.AF_INET, _socket.AF_INET6) and address[0] not in ALLOWED_HOSTS:
            raise ForbiddenConnection(f"test tried to connect to {address!r}; only 127.0.0.1 is allowed")
    elif event == "socket.getaddrinfo":
        host = args[0]
        if host not in (None, *ALLOWED_HOSTS) and host not in (b"127.0.0.1",):
            raise ForbiddenConnection(f"test tried to look up {host!r}; only 127.0.0.1 is allowed")


_sys.addaudithook(_network_guard)
# --- site and feeds ---------------------------------------------------------------------

BASE_URL = "https://example.org/digest/"
HOSTILE_TITLE = '<script>alert(1)</script> & "quotes"'


def hostile_snapshots():
    """Snapshots in our own format with hostile text and links, and an empty last day"""
    papers = [
        {"rank": 1, "id": "2608.99001", "title": HOSTILE_TITLE,
         "abstract": "Abstract with <img src=x onerror=alert(2)> and $\\mathcal{O}(n^2)$ & \\textbf{bold}.",
         "authors": ["<b>Mallory</b>", "Eve \"the\" Hacker"], "organization": "\"><svg onload=alert(3)>",
         "upvotes": 7, "links": {"code": "javascript:alert(1)", "project": "JAVASCRIPT:alert(4)"},
         "keywords": ["<script>", "xss"], "ai_summary": "Summary </p><script>alert(5)</script>"},
        {"rank": 2, "id": "2608.99002", "title": "Bell\x07 form\x0cfeed \x1b[31mescape\x00 and \u2028separator",
         "abstract": "Control\x0b characters\x1f everywhere", "authors": ["Ctrl\x01 Person"], "upvotes": 3,
         "links": {}, "keywords": ["xss"]},
    ]
    base = {"format": "digest-snapshot", "version": 1, "listing": "hf-daily", "fetched_at": None,
            "source": {"kind": "test", "url": None, "file": None}}
    return [
        {**base, "date": "2026-08-20", "entries": papers},
        {**base, "date": "2026-08-21", "entries": []},
    ]


@pytest.fixture(scope="session")
def real_store(tmp_path_factory):
    """A data directory holding every recorded hf-daily fixture"""
    from digest.pipeline import import_files
    from digest.store import Store

    store = Store(tmp_path_factory.mktemp("real") / "data")
    outcomes = import_files(store, hf_files())
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes if o.error]
    return store


@pytest.fixture(scope="session")
def real_site(real_store, tmp_path_factory):
    """The site built from every recorded fixture, with a base URL under a sub-path"""
    from digest.config import Config
    from digest.publish.site import build_site

    out = tmp_path_factory.mktemp("site") / "site"
    build_site(Config(data_dir=real_store.root), out, base_url=BASE_URL)
    return out


@pytest.fixture(scope="session")
def hostile_site(tmp_path_factory):
    """The site built from hostile snapshots"""
    import json

    from digest.config import Config
    from digest.publish.site import build_site
    from digest.store import Store

    root = tmp_path_factory.mktemp("hostile")
    store = Store(root / "data")
    for raw in hostile_snapshots():
        path = root / f"{raw['date']}.json"
        path.write_text(json.dumps(raw), encoding="utf-8")
        store.save(store.load_path(path))
    out = root / "site"
    build_site(Config(data_dir=store.root), out, base_url=BASE_URL)
    return out
