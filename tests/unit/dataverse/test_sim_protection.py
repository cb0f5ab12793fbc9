"""Service protection: the three limits, their 429s, and the sliding window on simulated time."""

from __future__ import annotations

import pytest

from simulators.common.clock import SimClock
from simulators.dataverse.errors import WebApiError
from simulators.dataverse.protection import Limits, ServiceProtection
from tests.unit.dataverse.simulated_org import frozen_clock

USER = "app-user"


def protection(limits: Limits, charge_ms: float = 1.0) -> tuple[ServiceProtection, SimClock]:
    time = frozen_clock()
    return ServiceProtection(limits, time.now, charge_ms=charge_ms), time


def run(guard: ServiceProtection, user: str = USER) -> None:
    guard.release(guard.admit(user), elapsed_ms=0)


def test_the_request_limit_refuses_with_the_documented_code_and_message() -> None:
    """The 11th request of 10 per window is a 429 with Retry-After until the first one slides out."""
    guard, time = protection(Limits(requests=10))
    for _ in range(10):
        run(guard)
        time.advance(3)
    with pytest.raises(WebApiError) as caught:
        guard.admit(USER)
    refusal = caught.value
    assert (refusal.status, refusal.code) == (429, "0x80072322")
    assert refusal.message == "Number of requests exceeded the limit of 10 over time window of 300 seconds."
    assert refusal.headers == {"Retry-After": "270"}  # first request at t=0, now t=30


def test_the_window_slides_on_simulated_time() -> None:
    """Waiting Retry-After seconds on the clock admits the request."""
    guard, time = protection(Limits(requests=2))
    run(guard)
    run(guard)
    with pytest.raises(WebApiError) as caught:
        guard.admit(USER)
    time.advance(float(caught.value.headers["Retry-After"]))
    run(guard)
    assert guard.refusals == 1


def test_limits_are_per_user() -> None:
    """Another user has a window of its own."""
    guard, _ = protection(Limits(requests=1))
    run(guard, "a")
    run(guard, "b")
    with pytest.raises(WebApiError):
        guard.admit("a")


def test_the_execution_time_limit() -> None:
    """Combined execution time over the limit refuses with 0x80072321 and the article's exact text."""
    guard, time = protection(Limits(execution_ms=3000), charge_ms=1000)
    for _ in range(3):
        run(guard)
        time.advance(10)
    with pytest.raises(WebApiError) as caught:
        guard.admit(USER)
    assert caught.value.code == "0x80072321"
    assert caught.value.message == (
        "Combined execution time of incoming requests exceeded limit of 3,000  milliseconds over time window "
        "of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try "
        "again later."
    )
    assert caught.value.headers == {"Retry-After": "270"}


def test_the_concurrency_limit() -> None:
    """A request beyond the concurrent limit is refused at once; finishing one admits the next."""
    guard, _ = protection(Limits(concurrent=2))
    first = guard.admit(USER)
    guard.admit(USER)
    with pytest.raises(WebApiError) as caught:
        guard.admit(USER)
    assert (caught.value.code, caught.value.message) == (
        "0x80072326",
        "Number of concurrent requests exceeded the limit of 2.",
    )
    guard.release(first, elapsed_ms=5)
    guard.admit(USER)


def test_default_limits_are_dataverses_and_scale_for_tests() -> None:
    """6000 requests and 1,200,000 ms per 300 s, 52 concurrent; scaling shrinks the per-window budgets."""
    assert Limits() == Limits(requests=6000, execution_ms=1_200_000, concurrent=52, window_seconds=300)
    assert Limits().scaled(0.001) == Limits(requests=6, execution_ms=1200, concurrent=52, window_seconds=300)
    assert Limits().scaled(0.0001).requests == 1


def test_remaining_budget_headers() -> None:
    """The debug headers count down what is left of the window."""
    guard, _ = protection(Limits(requests=5, execution_ms=100), charge_ms=30)
    run(guard)
    assert guard.remaining(USER) == {
        "x-ms-ratelimit-burst-remaining-xrm-requests": "4",
        "x-ms-ratelimit-time-remaining-xrm-requests": "70",
    }
