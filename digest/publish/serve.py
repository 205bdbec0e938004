"""`digest serve`: a built site on 127.0.0.1

Only regular files inside the site are served: every folder on the way is opened with
O_NOFOLLOW, so a symlink never leads out of it; folders are not listed; the build's own
files (the build state, anything whose name starts with a dot) are not served; a path that
is not there gets the site's 404 page with status 404; a request that cannot name a file
(a NUL byte, bad percent-encoding, an overlong path) gets 400. No request prints a traceback.
"""

from __future__ import annotations

import http.server
import os
import posixpath
import shutil
import stat
import sys
import urllib.parse
from pathlib import Path

from digest.errors import SiteError

MAX_PATH = 1024  # characters of a request path; the site's longest is far shorter
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def serve(folder, port=8000, bind="127.0.0.1"):
    """A server for a built site on 127.0.0.1 (call serve_forever on it)"""
    folder = Path(folder)
    if not (folder / "index.html").is_file():
        raise SiteError(f"{folder} has no index.html: run 'digest build --out {folder}' first")
    try:
        server = _SiteServer((bind, port), _SiteHandler)
    except OSError as e:
        raise SiteError(f"cannot listen on {bind}:{port} ({e.strerror})") from None
    server.folder = folder
    return server


class _SiteServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    folder: Path

    def handle_error(self, request, client_address):
        """One line on standard error, not a traceback (a client that hung up is not worth one)"""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            print(f"digest serve: {client_address[0]}: {type(error).__name__}: {error}", file=sys.stderr)


class _NotServed(Exception):
    """The request names no file the site serves"""

    def __init__(self, status):
        self.status = status


class _SiteHandler(http.server.BaseHTTPRequestHandler):
    """GET and HEAD of the site's regular files, with the types feeds and pagefind need"""

    server_version = "digest-serve"
    types = {
        ".html": "text/html; charset=utf-8",
        ".json": "application/json",
        ".xml": "application/xml",
        ".atom": "application/atom+xml",
        ".svg": "image/svg+xml",
        ".js": "text/javascript",
        ".css": "text/css",
        ".wasm": "application/wasm",
        ".txt": "text/plain; charset=utf-8",
        ".png": "image/png",
        ".ico": "image/x-icon",
    }

    def do_GET(self):
        self._answer(body=True)

    def do_HEAD(self):
        self._answer(body=False)

    def _answer(self, body):
        try:
            parts = _request_parts(self.path)
            fd, size, name = _open_in(self.server.folder, parts)
        except _NotServed as refused:
            if refused.status == 301:
                self.send_response(301)
                self.send_header("Location", _path_of(self.path) + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._error(refused.status, body)
            return
        self._send(200, fd, size, name, body)

    def _error(self, status, body):
        if status == 404:
            try:
                fd, size, name = _open_in(self.server.folder, ["404.html"])
            except _NotServed:
                pass
            else:
                self._send(404, fd, size, name, body)
                return
        message = b"Not found\n" if status == 404 else b"Bad request\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(message)))
        self.end_headers()
        if body:
            self.wfile.write(message)

    def _send(self, status, fd, size, name, body):
        with os.fdopen(fd, "rb") as f:
            self.send_response(status)
            self.send_header("Content-Type", self.types.get(posixpath.splitext(name)[1], "application/octet-stream"))
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if body:
                shutil.copyfileobj(f, self.wfile)

    def log_message(self, format, *args):
        pass


def _request_parts(raw):
    """The names of a request path; _NotServed(400) for one that cannot name a file"""
    if len(raw) > MAX_PATH:
        raise _NotServed(400)
    path = _path_of(raw)
    try:
        path = urllib.parse.unquote(path, errors="strict")
    except UnicodeDecodeError:
        raise _NotServed(400) from None
    if not path.startswith("/") or any(c < " " or c == "\x7f" for c in path) or "\\" in path:
        raise _NotServed(400)
    parts = [part for part in path.split("/") if part]
    if any(part.startswith(".") for part in parts):
        raise _NotServed(404)  # '..', the build state, temp files: never served
    if path.endswith("/"):
        parts.append("index.html")
    return parts or ["index.html"]


def _path_of(raw):
    """The path of a request target, without its query or fragment"""
    return raw.split("?", 1)[0].split("#", 1)[0]


def _open_in(folder, parts):
    """(descriptor, size, name) of the regular file at `parts` below `folder`, no symlink followed"""
    try:
        fd = os.open(folder, _DIR & ~os.O_NOFOLLOW)
    except OSError:
        raise _NotServed(404) from None
    try:
        for part in parts[:-1]:
            inner = os.open(part, _DIR, dir_fd=fd)
            os.close(fd)
            fd = inner
        leaf = os.open(parts[-1], _FILE, dir_fd=fd)
    except OSError:
        raise _NotServed(404) from None
    finally:
        os.close(fd)
    info = os.fstat(leaf)
    if stat.S_ISREG(info.st_mode):
        return leaf, info.st_size, parts[-1]
    os.close(leaf)
    if stat.S_ISDIR(info.st_mode):
        # A folder asked for without its slash: its index page, at the address its links expect.
        try:
            index = _open_in(folder, parts + ["index.html"])
        except _NotServed:
            raise _NotServed(404) from None
        os.close(index[0])
        raise _NotServed(301)
    raise _NotServed(404)
