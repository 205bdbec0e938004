"""`digest serve`: a built site on 127.0.0.1"""

from __future__ import annotations

import functools
import http.server
from pathlib import Path

from digest.errors import SiteError


def serve(folder, port=8000, bind="127.0.0.1"):
    """Serve a built site on 127.0.0.1 until interrupted"""
    folder = Path(folder)
    if not (folder / "index.html").is_file():
        raise SiteError(f"{folder} has no index.html: run 'digest build --out {folder}' first")
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer((bind, port), handler)
    except OSError as e:
        raise SiteError(f"cannot listen on {bind}:{port} ({e.strerror})") from None
    return server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the types feeds and pagefind need, without a log line per request"""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".json": "application/json", ".xml": "application/xml",
                      ".atom": "application/atom+xml", ".svg": "image/svg+xml",
                      ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm"}

    def log_message(self, format, *args):
        pass


