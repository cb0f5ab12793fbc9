"""The benches' adaptive concurrency: start at x-ms-dop-hint, halve once per 429 episode, wait, grow."""

from __future__ import annotations

import httpx
import pytest

from bench.concurrency import AdaptiveConcurrency, retry_after_seconds
from bench.queue_workers import Traffic


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def finish(controller: AdaptiveConcurrency, units: int) -> None:
    """Run ``units`` units one after the other, each taking and giving back a slot."""
    for _ in range(units):
        assert controller.acquire(timeout=0)
        controller.release()


def test_starts_at_the_dop_hint_within_the_maximum() -> None:
    """The hint is the start, capped at the maximum; no or a bad hint starts at the default."""
    assert AdaptiveConcurrency.from_hint({"x-ms-dop-hint": "8"}, maximum=32).limit == 8
    assert AdaptiveConcurrency.from_hint({"x-ms-dop-hint": "48"}, maximum=8).limit == 8
    assert AdaptiveConcurrency.from_hint({}, maximum=8, default=2).limit == 2
    assert AdaptiveConcurrency.from_hint({"x-ms-dop-hint": "many"}, maximum=8).limit == 1


def test_slots_are_limited_and_given_back() -> None:
    """No more units than the limit run at once; a freed slot can be taken again."""
    controller = AdaptiveConcurrency(2, maximum=2, clock=Clock())
    assert controller.acquire(timeout=0)
    assert controller.acquire(timeout=0)
    assert not controller.acquire(timeout=0)
    controller.release(finished=False)
    assert controller.acquire(timeout=0)
    assert controller.active == 2


def test_a_429_halves_once_per_episode_and_pauses_for_its_retry_after() -> None:
    """The first 429 halves and pauses; 429s of requests in flight meanwhile only extend the pause."""
    clock = Clock()
    controller = AdaptiveConcurrency(8, maximum=8, clock=clock)
    controller.observe(429, {"Retry-After": "5"})
    controller.observe(429, {"Retry-After": "7"})
    controller.observe(200, {})
    assert controller.limit == 4
    assert controller.paused_for() == 7
    assert not controller.acquire(timeout=0)
    clock.now += 7
    assert controller.acquire(timeout=0)
    controller.release()
    controller.observe(429, {"Retry-After": "1"})  # after the pause: a new episode
    assert controller.limit == 2
    assert controller.log.decreases == 2
    assert controller.log.limits == [8, 4, 2]


def test_never_below_the_minimum() -> None:
    """Halving stops at the minimum."""
    clock = Clock()
    controller = AdaptiveConcurrency(1, maximum=4, clock=clock)
    controller.throttled(1)
    assert controller.limit == 1


def test_grows_by_one_after_limit_clean_finishes_up_to_the_maximum() -> None:
    """Additive increase: one more slot per ``limit`` units finished without a 429, never past the maximum."""
    controller = AdaptiveConcurrency(2, maximum=4, clock=Clock())
    finish(controller, 1)
    assert controller.limit == 2
    finish(controller, 1)
    assert controller.limit == 3
    finish(controller, 3 + 4 + 10)
    assert controller.limit == 4
    assert controller.log.increases == 2


def test_units_finishing_during_a_pause_do_not_grow_it() -> None:
    """What finishes while throttled is not evidence that more would fit."""
    clock = Clock()
    controller = AdaptiveConcurrency(2, maximum=8, clock=clock)
    for _ in range(2):
        assert controller.acquire(timeout=0)
    controller.throttled(10)
    for _ in range(2):
        controller.release()
    clock.now += 10
    assert controller.limit == 1
    assert controller.log.increases == 0


@pytest.mark.parametrize(
    ("headers", "seconds"), [({"retry-after": "3"}, 3.0), ({}, 1.0), ({"retry-after": "soon"}, 1.0)]
)
def test_retry_after_in_seconds(headers: dict[str, str], seconds: float) -> None:
    """Delta-seconds are read; a missing or unreadable value waits a second."""
    assert retry_after_seconds(httpx.Headers(headers)) == seconds


def test_traffic_counts_api_requests_and_passes_429s_on() -> None:
    """API requests and 429s are counted per system; token calls are not; the controller sees the 429."""
    traffic = Traffic({"ifs": "https://ifs/api/", "dataverse": "https://org/api/data/v9.2/"})
    controller = AdaptiveConcurrency(8, maximum=8, clock=Clock())
    traffic.controller = controller

    def response(url: str, status: int, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.Response(status, headers=headers, request=httpx.Request("GET", url))

    traffic("ifs", response("https://ifs/auth/token", 200))
    traffic("ifs", response("https://ifs/api/CustomerInfoSet", 200))
    traffic("dataverse", response("https://org/api/data/v9.2/accounts", 200, {"x-ms-dop-hint": "12"}))
    traffic("dataverse", response("https://org/api/data/v9.2/accounts", 429, {"Retry-After": "2"}))
    counts = traffic.snapshot()
    assert (counts["ifs"].requests, counts["ifs"].throttled) == (1, 0)
    assert (counts["dataverse"].requests, counts["dataverse"].throttled) == (2, 1)
    assert traffic.dop_hint == "12"
    assert controller.limit == 4
