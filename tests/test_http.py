"""The shared HTTP client against a real server on 127.0.0.1: pauses, Retry-After, limits"""

from __future__ import annotations

import email.utils
import time

import pytest
from server import Fault, Server

from digest.errors import BadResponseError, NetworkError
from digest.http import USER_AGENT, Client, Policy


@pytest.fixture
def server():
    with Server() as s:
        yield s


def client(jitter, **policy):
    slept = []
    c = Client(Policy(**{"retries": 4, "backoff": 1.0, "max_backoff": 5.0, **policy}),
               sleep=slept.append, jitter=lambda: jitter)
    return c, slept


@pytest.mark.parametrize("jitter,expected", [(0.0, [0.5, 1.0, 2.0, 2.5]), (1.0, [1.0, 2.0, 4.0, 5.0])])
def test_backoff_doubles_within_its_jitter_band_and_is_capped(server, jitter, expected):
    server.sources.queue("/x", *[Fault(502, b"bad gateway") for _ in range(5)])
    c, slept = client(jitter)
    with c, pytest.raises(NetworkError, match=r"/x: HTTP 502 Bad Gateway \(gave up after 5 tries\)"):
        c.get(server.url + "/x")
    assert slept == expected
    assert len(server.sources.requests("/x")) == 5


def test_retry_after_as_an_http_date(server):
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    server.sources.queue("/api/daily_papers", Fault(503, b"", {"Retry-After": when}))
    server.sources.daily["2026-08-21"] = []
    c, slept = client(0.0)
    with c:
        assert c.get(server.url + "/api/daily_papers", params={"date": "2026-08-21"}) == b"[]"
    assert len(slept) == 1 and 28 <= slept[0] <= 30


def test_a_declared_length_over_the_limit_is_refused_before_reading(server):
    server.sources.queue("/big", Fault(200, b"x" * 5000))
    c, _ = client(0.0, max_response_bytes=1000)
    with c, pytest.raises(BadResponseError, match="response of 5,000 bytes is over the 1,000 byte limit"):
        c.get(server.url + "/big")


def test_every_request_names_the_project():
    assert USER_AGENT.startswith("digest/") and "(+https://" in USER_AGENT
