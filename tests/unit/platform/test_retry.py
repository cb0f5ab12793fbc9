"""The retry policy: what is retried, how long it waits, and what it never repeats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from shared.platform.retry import (
    RetryPolicy,
    may_have_run,
    recording_waits,
    request_timeout_seconds,
    retry_after_seconds,
)

Step = Callable[[httpx.Request], httpx.Response]


def scripted(*steps: int | type[httpx.TransportError]) -> tuple[httpx.Client, list[httpx.Request]]:
    """A client whose transport answers each request with the next status (or raises the next error)."""
    seen: list[httpx.Request] = []
    remaining = list(steps)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = remaining.pop(0)
        if isinstance(step, int):
            headers = {"Retry-After": "7"} if step == 429 else {}
            return httpx.Response(step, headers=headers, json={"step": len(seen)})
        raise step("scripted", request=request)

    return httpx.Client(transport=httpx.MockTransport(handler)), seen


def get() -> httpx.Request:
    return httpx.Request("GET", "http://127.0.0.1/x")


def test_idempotent_request_retries_throttling_and_server_errors() -> None:
    """429 then 503 then 200: three sends, the 200 comes back."""
    client, seen = scripted(429, 503, 200)
    with recording_waits():
        response = RetryPolicy().send(client, get(), idempotent=True)
    assert response.status_code == 200
    assert len(seen) == 3


def test_retry_after_is_honoured_exactly() -> None:
    """The wait after a 429 is the server's Retry-After, not the backoff."""
    client, _ = scripted(429, 200)
    with recording_waits() as waits:
        RetryPolicy().send(client, get(), idempotent=True)
    assert waits == [7.0]


def test_backoff_is_bounded_and_grows() -> None:
    """Without Retry-After the waits stay within the exponential ceilings."""
    client, _ = scripted(500, 500, 500, 200)
    policy = RetryPolicy(initial_wait=1.0, max_wait=3.0)
    with recording_waits() as waits:
        policy.send(client, get(), idempotent=True)
    assert len(waits) == 3
    for wait, ceiling in zip(waits, [1.0, 2.0, 3.0], strict=True):
        assert 0 <= wait <= ceiling


def test_attempts_are_bounded_and_last_response_returned() -> None:
    """After the last attempt the final error response is handed back, readable."""
    client, seen = scripted(503, 503, 503)
    with recording_waits():
        response = RetryPolicy(attempts=3).send(client, get(), idempotent=True)
    assert response.status_code == 503
    assert response.json() == {"step": 3}
    assert len(seen) == 3


def test_transport_errors_propagate_after_the_last_attempt() -> None:
    """A read timeout on every try ends in the timeout exception."""
    client, seen = scripted(httpx.ReadTimeout, httpx.ReadTimeout)
    with recording_waits(), pytest.raises(httpx.ReadTimeout):
        RetryPolicy(attempts=2).send(client, get(), idempotent=True)
    assert len(seen) == 2


def test_create_is_not_repeated_after_a_timeout_or_5xx() -> None:
    """A non-idempotent POST is sent once when the server may have seen it."""
    create = httpx.Request("POST", "http://127.0.0.1/orders")
    client, seen = scripted(httpx.ReadTimeout)
    with recording_waits(), pytest.raises(httpx.ReadTimeout):
        RetryPolicy().send(client, create, idempotent=False)
    assert len(seen) == 1
    client, seen = scripted(503)
    with recording_waits():
        assert RetryPolicy().send(client, create, idempotent=False).status_code == 503
    assert len(seen) == 1


def test_create_is_retried_when_the_connection_was_never_made() -> None:
    """A connect error means nothing reached the server: the create is resent."""
    create = httpx.Request("POST", "http://127.0.0.1/orders")
    client, seen = scripted(httpx.ConnectError, 201)
    with recording_waits():
        assert RetryPolicy().send(client, create, idempotent=False).status_code == 201
    assert len(seen) == 2


def test_retry_after_beyond_the_cap_is_not_waited_for() -> None:
    """A server asking for longer than max_retry_after gets its 429 back at once."""
    client, seen = scripted(429, 200)
    with recording_waits() as waits:
        response = RetryPolicy(max_retry_after=5).send(client, get(), idempotent=True)
    assert response.status_code == 429
    assert waits == []
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [("120", 120.0), ("Wed, 01 Jan 2031 00:00:10 GMT", 10.0), ("soon", None)],
)
def test_retry_after_forms(header: str, expected: float | None) -> None:
    """Delta-seconds and HTTP-date forms are both understood; garbage is ignored."""
    response = httpx.Response(429, headers={"Retry-After": header})
    assert retry_after_seconds(response, now=datetime(2031, 1, 1, tzinfo=UTC)) == expected


def test_a_status_proving_non_execution_is_retried_even_for_a_create() -> None:
    """A create refused with 429 (Dataverse: not executed) is resent after Retry-After."""
    create = httpx.Request("POST", "http://127.0.0.1/accounts")
    client, seen = scripted(429, 204)
    with recording_waits() as waits:
        response = RetryPolicy().send(
            client, create, idempotent=False, not_executed_statuses=frozenset({429})
        )
    assert response.status_code == 204
    assert len(seen) == 2
    assert waits == [7.0]


def test_other_failures_of_a_create_are_still_not_repeated() -> None:
    """Declaring 429 as not-executed leaves a create's 503 unrepeated."""
    create = httpx.Request("POST", "http://127.0.0.1/accounts")
    client, seen = scripted(503)
    with recording_waits():
        response = RetryPolicy().send(
            client, create, idempotent=False, not_executed_statuses=frozenset({429})
        )
    assert response.status_code == 503
    assert len(seen) == 1


def test_waits_can_advance_a_simulated_clock() -> None:
    """recording_waits(advance=...) hands every wait to the callback instead of sleeping."""
    advanced: list[float] = []
    client, _ = scripted(429, 429, 200)
    with recording_waits(advance=advanced.append) as waits:
        RetryPolicy().send(client, get(), idempotent=True)
    assert advanced == waits == [7.0, 7.0]


def test_retry_after_as_a_date_without_zone_is_utc() -> None:
    """``-0000`` (no zone known) parses naive; it is read as UTC instead of raising TypeError."""
    response = httpx.Response(429, headers={"Retry-After": "Wed, 01 Jan 2031 00:00:10 -0000"})
    assert retry_after_seconds(response, now=datetime(2031, 1, 1, tzinfo=UTC)) == 10.0


def test_a_zoneless_retry_after_date_does_not_break_the_policy() -> None:
    """The policy waits out a 429 whose Retry-After is a zoneless date in the past and retries."""
    answers = [
        httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 -0000"}),
        httpx.Response(200),
    ]
    client = httpx.Client(transport=httpx.MockTransport(lambda request: answers.pop(0)))
    with recording_waits() as waits:
        assert RetryPolicy().send(client, get(), idempotent=True).status_code == 200
    assert waits == [0.0]


def throttled_forever(retry_after: str = "300") -> tuple[httpx.Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429, headers={"Retry-After": retry_after})

    return httpx.Client(transport=httpx.MockTransport(handler)), seen


def test_the_call_budget_bounds_the_waits_of_one_call() -> None:
    """Retry-After 300 on every try: one wait fits the default 300 s budget, then the 429 comes back."""
    client, seen = throttled_forever()
    with recording_waits() as waits:
        response = RetryPolicy().send(client, get(), idempotent=True)
    assert response.status_code == 429
    assert waits == [300.0]  # not 4 x 300 s, which outlasts the Functions timeout
    assert len(seen) == 2


def test_a_wait_that_would_end_past_the_budget_is_not_started() -> None:
    """Waits of 7 s under a 20 s budget: two are slept, the third would end at 21 s and is not."""
    client, seen = throttled_forever("7")
    with recording_waits() as waits:
        RetryPolicy(attempts=10, budget_seconds=20).send(client, get(), idempotent=True)
    assert waits == [7.0, 7.0]
    assert len(seen) == 3


def test_one_deadline_spans_every_send_of_a_call() -> None:
    """A deadline passed to a second send keeps counting what the first one spent."""
    client, _ = throttled_forever("7")
    policy = RetryPolicy(attempts=10, budget_seconds=20)
    with recording_waits() as waits:
        deadline = policy.deadline()
        policy.send(client, get(), idempotent=True, deadline=deadline)
        policy.send(client, get(), idempotent=True, deadline=deadline)
    assert waits == [7.0, 7.0]


def test_without_a_budget_only_the_attempts_bound_a_call() -> None:
    """budget_seconds=None keeps the old rule: every attempt is used."""
    client, seen = throttled_forever()
    with recording_waits() as waits:
        RetryPolicy(attempts=4, budget_seconds=None).send(client, get(), idempotent=True)
    assert waits == [300.0] * 3
    assert len(seen) == 4


def test_a_budget_shorter_than_one_request_is_refused() -> None:
    """check_budget names the timeout that does not fit; an unbounded timeout never fits."""
    policy = RetryPolicy(budget_seconds=60)
    policy.check_budget(60, "the timeout")
    with pytest.raises(ValueError, match="shorter than the timeout"):
        policy.check_budget(61, "the timeout")
    assert request_timeout_seconds(httpx.Client(timeout=httpx.Timeout(5, read=90))) == 90
    unbounded = httpx.Client(timeout=httpx.Timeout(5, read=None))
    assert request_timeout_seconds(unbounded) == float("inf")


def test_a_request_httpx_refuses_to_send_did_not_run_and_is_not_retried() -> None:
    """LocalProtocolError (a header with CR/LF): one try, raised as is, and not a possible execution."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.LocalProtocolError("Illegal header value b'a\\r\\nb'")

    client = httpx.Client(transport=httpx.MockTransport(handler))
    outcomes: list[httpx.Response | Exception] = []
    with recording_waits() as waits, pytest.raises(httpx.LocalProtocolError):
        RetryPolicy().send(client, get(), idempotent=True, on_outcome=outcomes.append)
    assert (len(seen), waits) == (1, [])
    assert [may_have_run(outcome) for outcome in outcomes] == [False]
