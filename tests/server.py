"""A real HTTP server on 127.0.0.1 for fetch tests: HF Daily Papers, trending, arXiv feeds, faults

The server answers like the real sources from data the test gives it, and before that
plays any scripted faults queued for a path, one per request. Every request is logged,
so tests count the retries on the server's side.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Fault:
    """One scripted answer: a status with headers and a body, a stall, a cut-off body, or a trickle

    `trickle` sends the body one byte every `trickle` seconds (a slowloris server); the
    client hanging up ends it.
    """

    def __init__(self, status=200, body=b"", headers=None, stall=0.0, cut=False, trickle=0.0):
        self.status, self.body, self.headers, self.stall, self.cut = status, body, headers or {}, stall, cut
        self.trickle = trickle


class Sources:
    """What the fake sources publish: HF lists by day, the trending list, arXiv feeds"""

    def __init__(self):
        self.daily = {}  # "YYYY-MM-DD" -> list of HF items
        self.raw_daily = {}  # "YYYY-MM-DD" -> response bytes served as they are (first page; later pages: [])
        self.trending = []
        self.feeds = {}  # category -> RSS bytes
        self.faults = {}  # path -> [Fault, ...], played in order before the real answer
        self.log = []  # (path, query dict, headers dict, time)
        self.lock = threading.Lock()

    def queue(self, path, *faults):
        self.faults.setdefault(path, []).extend(faults)

    def requests(self, path=None):
        return [r for r in self.log if path is None or r[0] == path]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        sources = self.server.sources
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        with sources.lock:
            sources.log.append((parts.path, query, dict(self.headers), time.monotonic()))
            queued = sources.faults.get(parts.path)
            fault = queued.pop(0) if queued else None
        if fault is not None:
            return self._play(fault)
        if parts.path == "/api/daily_papers" and query.get("date") in sources.raw_daily:
            body = sources.raw_daily[query["date"]] if int(query.get("p", 0)) == 0 else b"[]"
            return self._send(200, body, "application/json; charset=utf-8")
        if parts.path == "/api/daily_papers":
            items = sources.trending if query.get("sort") == "trending" else sources.daily.get(query.get("date"))
            if items is None:
                return self._send(404, b'{"error":"Not Found"}', "application/json")
            page, limit = int(query.get("p", 0)), int(query.get("limit", 50))
            body = json.dumps(items[page * limit:(page + 1) * limit]).encode()
            return self._send(200, body, "application/json; charset=utf-8")
        if parts.path.startswith("/rss/") and parts.path[5:] in sources.feeds:
            return self._send(200, sources.feeds[parts.path[5:]], "application/rss+xml")
        self._send(404, b"not found", "text/plain")

    def _play(self, fault):
        if fault.stall:
            time.sleep(fault.stall)
        if fault.cut:
            # Promise the whole body, send half of it, and hang up.
            self.send_response(fault.status)
            self.send_header("Content-Length", str(len(fault.body)))
            self.end_headers()
            self.wfile.write(fault.body[: len(fault.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault.trickle:
            self.send_response(fault.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(fault.body)))
            self.end_headers()
            try:
                for i in range(len(fault.body)):
                    self.wfile.write(fault.body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(fault.trickle)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        self._send(fault.status, fault.body, fault.headers.pop("Content-Type", "application/json"), fault.headers)

    def _send(self, status, body, content_type, headers=None):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (a read timeout test)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that hangs up early (a size limit, a timeout) is part of the tests.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class Server:
    """Start with `with Server() as s:`; s.url is http://127.0.0.1:PORT"""

    def __init__(self):
        self.sources = Sources()
        self.httpd = _HTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.sources = self.sources
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def refused_url():
    """A 127.0.0.1 URL on which nothing listens: connecting is refused"""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"
