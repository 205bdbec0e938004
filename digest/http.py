"""The one HTTP client of every source: timeouts, deadlines, retries with backoff, Retry-After, politeness

Redirects are followed here, not by httpx: only to the same scheme, host and port as the
URL asked for (or an origin in `redirect_origins`), at most `max_redirects` times, never
in a loop. Every httpx error becomes a NetworkError (transient: retried) or a
BadResponseError (the answer is unusable: not retried).
"""

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
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})


class _Deadline(Exception):
    """A request (or the whole fetch) ran out of time"""

    def __init__(self, message, whole_fetch=False):
        super().__init__(message)
        self.whole_fetch = whole_fetch


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
    # A read timeout bounds one wait for bytes; a slow server that sends a byte now and then
    # is stopped by the deadlines (checked after every chunk, each read capped to the time left).
    request_deadline: float = 60.0
    fetch_deadline: float = 600.0  # from the client's first request to its last
    max_redirects: int = 5
    redirect_origins: tuple[str, ...] = ()


class Client:
    """GET with retries; one instance is shared by all sources and may be used from threads

    `sleep`, `clock` and `jitter` are injectable so tests can record the pauses instead of
    taking them. `intervals` maps a host ("host:port") to its minimum seconds between
    request starts; `default_interval` applies to the others.
    """

    def __init__(
        self,
        policy=Policy(),
        *,
        intervals=None,
        default_interval=0.0,
        transport=None,
        sleep=time.sleep,
        clock=time.monotonic,
        jitter=random.random,
    ):
        self.policy = policy
        self.intervals = dict(intervals or {})
        self.default_interval = default_interval
        self.sleep, self.clock, self.jitter = sleep, clock, jitter
        self.pauses = []  # every pause taken for a retry, in order: (url, seconds, why)
        self._last_start = {}
        self._host_locks = {}
        self._lock = threading.Lock()
        self._fetch_ends = None
        self._origins = frozenset(_origin(o) for o in policy.redirect_origins)
        timeout = httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout)
        # Redirects and retries are ours (see the module docstring).
        self._http = httpx.Client(
            timeout=timeout, follow_redirects=False, transport=transport, headers={"User-Agent": USER_AGENT}
        )

    def close(self):
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get(self, url, params=None):
        """The body of a 200 answer to GET url; NetworkError or BadResponseError after the last retry"""
        where = _describe(url, params)
        with self._lock:
            if self._fetch_ends is None:
                self._fetch_ends = self.clock() + self.policy.fetch_deadline
        attempt = 0
        while True:
            self._wait_turn(url)
            try:
                status, headers, body = self._follow(url, params, where)
            except (httpx.TimeoutException, _Deadline) as e:
                problem, retry_after = f"timed out ({type(e).__name__})", None
                if isinstance(e, _Deadline):
                    problem = str(e)
                    if e.whole_fetch:
                        raise NetworkError(f"{where}: {problem}") from None
            except httpx.DecodingError as e:
                raise BadResponseError(f"{where}: body cannot be decoded ({_reason(e)})") from None
            except httpx.TransportError as e:
                # Connection refused or reset, a body cut short, a protocol error: all transient.
                problem, retry_after = f"{_reason(e)}", None
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, httpx.CookieConflict) as e:
                raise NetworkError(f"{where}: {_reason(e)} ({type(e).__name__})") from None
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
                raise NetworkError(
                    f"{where}: {problem}, and Retry-After asks for {retry_after:g} s "
                    f"(more than max_retry_after, {self.policy.max_retry_after:g} s)"
                )
            if self.clock() + pause >= self._fetch_ends:
                raise NetworkError(
                    f"{where}: {problem}; no time left for a retry within fetch_deadline "
                    f"({self.policy.fetch_deadline:g} s)"
                )
            self.pauses.append((url, pause, problem))
            self.sleep(pause)
            attempt += 1

    def _follow(self, url, params, where):
        """One attempt: GET url and the redirects it leads to (same origin only), within the deadlines"""
        ends = self.clock() + self.policy.request_deadline
        seen, current = [], httpx.URL(url, params=params) if params else httpx.URL(url)
        while True:
            seen.append(current)
            status, headers, body = self._once(current, ends)
            if status not in REDIRECT_STATUS or "location" not in headers:
                return status, headers, body
            target = current.join(headers["location"])
            if _origin(str(target)) != _origin(str(current)) and _origin(str(target)) not in self._origins:
                raise BadResponseError(
                    f"{where}: redirected to {target.scheme}://{target.netloc.decode()}, "
                    "another host: not followed (allow it in [fetch] redirect_origins)"
                )
            if target in seen:
                raise BadResponseError(f"{where}: redirect loop (back to {target})")
            if len(seen) > self.policy.max_redirects:
                raise BadResponseError(f"{where}: more than {self.policy.max_redirects} redirects (max_redirects)")
            current = target

    def _time_left(self, ends):
        """Seconds left for this request, or _Deadline when it or the whole fetch is out of time"""
        now = self.clock()
        if now >= self._fetch_ends:
            raise _Deadline(f"fetch_deadline ({self.policy.fetch_deadline:g} s) reached", whole_fetch=True)
        if now >= ends:
            raise _Deadline(f"took longer than request_deadline ({self.policy.request_deadline:g} s)")
        return min(ends, self._fetch_ends) - now

    def _once(self, url, ends):
        limit = self.policy.max_response_bytes
        left = self._time_left(ends)
        timeout = httpx.Timeout(min(self.policy.read_timeout, left), connect=min(self.policy.connect_timeout, left))
        with self._http.stream("GET", url, timeout=timeout) as response:
            if response.status_code != 200:
                response.read()
                return response.status_code, response.headers, b""
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise BadResponseError(
                    f"{url}: response of {int(declared):,} bytes is over the {limit:,} byte limit (max_response_bytes)"
                )
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                self._time_left(ends)
                size += len(chunk)
                if size > limit:
                    raise BadResponseError(f"{url}: response is over the {limit:,} byte limit (max_response_bytes)")
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
        ceiling = min(self.policy.max_backoff, self.policy.backoff * 2**attempt)
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


def _origin(url):
    """scheme://host:port of a URL, the port made explicit, for comparing redirects"""
    parts = httpx.URL(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{parts.host.lower()}:{port}"


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
