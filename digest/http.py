"""The one HTTP client of every source: timeouts, retries with backoff, Retry-After, politeness"""

from __future__ import annotations

import email.utils
import random
import threading
import time
import urllib.parse
from dataclasses import dataclass

import httpx

from digest import __version__
from digest.errors import BadResponseError, NetworkError

PROJECT_URL = "https://github.com/digest-project/digest"
USER_AGENT = f"digest/{__version__} (+{PROJECT_URL})"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Policy:
    """How patient the client is: timeouts, retries and the pause between requests to a host"""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    retries: int = 4  # attempts after the first
    backoff: float = 1.0  # first pause; doubles each retry
    max_backoff: float = 60.0
    max_retry_after: float = 300.0  # a longer Retry-After fails at once instead of waiting
    max_response_bytes: int = 20_000_000


class Client:
    """GET with retries; one instance is shared by all sources and may be used from threads

    `sleep`, `clock` and `jitter` are injectable so tests can record the pauses instead of
    taking them. `intervals` maps a host ("host:port") to its minimum seconds between
    request starts; `default_interval` applies to the others.
    """

    def __init__(self, policy=Policy(), *, intervals=None, default_interval=0.0, transport=None,
                 sleep=time.sleep, clock=time.monotonic, jitter=random.random):
        self.policy = policy
        self.intervals = dict(intervals or {})
        self.default_interval = default_interval
        self.sleep, self.clock, self.jitter = sleep, clock, jitter
        self.pauses = []  # every pause taken for a retry, in order: (url, seconds, why)
        self._last_start = {}
        self._host_locks = {}
        self._lock = threading.Lock()
        timeout = httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout)
        # Redirects are followed (arXiv moves feeds between http and https); retries are ours.
        self._http = httpx.Client(timeout=timeout, follow_redirects=True, transport=transport,
                                  headers={"User-Agent": USER_AGENT})

    def close(self):
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get(self, url, params=None):
        """The body of a 200 answer to GET url; NetworkError or BadResponseError after the last retry"""
        where = _describe(url, params)
        attempt = 0
        while True:
            self._wait_turn(url)
            try:
                status, headers, body = self._once(url, params)
            except httpx.TimeoutException as e:
                problem, retry_after = f"timed out ({type(e).__name__})", None
            except httpx.TransportError as e:
                # Connection refused or reset, a body cut short, a protocol error: all transient.
                problem, retry_after = f"{_reason(e)}", None
            else:
                if status == 200:
                    return body
                if status not in RETRY_STATUS:
                    raise BadResponseError(f"{where}: HTTP {status} {_phrase(status)}")
                problem, retry_after = f"HTTP {status} {_phrase(status)}", _retry_after(headers.get("retry-after"))
            if attempt >= self.policy.retries:
                tries = attempt + 1
                raise NetworkError(f"{where}: {problem} (gave up after {tries} {'try' if tries == 1 else 'tries'})")
            pause = self._pause(attempt, retry_after)
            if pause is None:
                raise NetworkError(f"{where}: {problem}, and Retry-After asks for {retry_after:g} s "
                                   f"(more than max_retry_after, {self.policy.max_retry_after:g} s)")
            self.pauses.append((url, pause, problem))
            self.sleep(pause)
            attempt += 1

    def _once(self, url, params):
        limit = self.policy.max_response_bytes
        with self._http.stream("GET", url, params=params) as response:
            if response.status_code != 200:
                response.read()
                return response.status_code, response.headers, b""
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise BadResponseError(f"{_describe(url, params)}: response of {int(declared):,} bytes is over "
                                       f"the {limit:,} byte limit (max_response_bytes)")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise BadResponseError(f"{_describe(url, params)}: response is over the {limit:,} byte limit "
                                           "(max_response_bytes)")
                chunks.append(chunk)
            return 200, response.headers, b"".join(chunks)

    def _pause(self, attempt, retry_after):
        """Seconds to wait before retry number attempt+1, or None when Retry-After is too long"""
        if retry_after is not None:
            if retry_after > self.policy.max_retry_after:
                return None
            return retry_after
        # Exponential backoff with jitter: between half and all of backoff * 2^attempt, so
        # clients that failed together do not come back together.
        ceiling = min(self.policy.max_backoff, self.policy.backoff * 2 ** attempt)
        return ceiling * (0.5 + 0.5 * self.jitter())

    def _wait_turn(self, url):
        """Keep at least the host's minimum interval between the starts of its requests"""
        host = _host(url)
        interval = self.intervals.get(host, self.default_interval)
        with self._lock:
            lock = self._host_locks.setdefault(host, threading.Lock())
        with lock:
            last = self._last_start.get(host)
            if last is not None and interval > 0:
                wait = last + interval - self.clock()
                if wait > 0:
                    self.sleep(wait)
            self._last_start[host] = self.clock()


def host_of(url):
    """The key the per-host interval uses: host[:port]"""
    return _host(url)


def _host(url):
    parts = urllib.parse.urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1].lower()


def _retry_after(value):
    """Seconds a Retry-After header asks for (a number or an HTTP date), or None"""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _describe(url, params):
    return str(httpx.URL(url, params=params)) if params else url


def _reason(error):
    text = str(error) or type(error).__name__
    if "refused" in text.lower():
        return "connection refused"
    return text.splitlines()[0]


def _phrase(status):
    try:
        return httpx.codes(status).phrase
    except ValueError:
        return ""
