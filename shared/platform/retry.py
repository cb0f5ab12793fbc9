"""The one retry policy for outbound HTTP, keyed by whether a request is safe to repeat.

Idempotent requests (GET, PATCH by key or with If-Match, upserts, DELETE) are retried inside the call
on 429, 5xx, timeouts and connection errors, with exponential backoff and full jitter, honouring
``Retry-After``. A non-idempotent request (an IFS POST that creates an order: IFS has no idempotency
key) is retried only when nothing reached the server, i.e. the connection was never made; after a
timeout or 5xx the caller must first look the record up by its external reference.

After ``attempts`` tries the last response is returned (the caller turns it into a typed error) or the
last transport exception propagates, and the queue's redelivery takes over.

Some services say outright that a request was *not* executed: Dataverse answers 429 when service
protection refuses a request before running it. ``not_executed_statuses`` names such statuses, and a
response with one of them is retried even for a non-idempotent request (it cannot duplicate anything).

``on_outcome`` sees how each attempt ended (a response or the exception); ``may_have_run`` says whether
such an outcome leaves open that the server executed the request although its answer never arrived (a
timeout, a dropped connection, a 5xx). A conditional write retried after such an attempt may be refused
because of its own earlier attempt, which the caller must not mistake for someone else's write.

Tests use ``recording_waits()``: nothing sleeps, and the waits that would have been slept are recorded,
so a test can assert that ``Retry-After`` was honoured without spending the time (after stamina's
``set_testing``). ``recording_waits(advance=clock.advance)`` also moves a simulated clock by each wait,
so a simulator's sliding windows move on exactly as if the time had been slept.
"""

from __future__ import annotations

import contextlib
import email.utils
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import tenacity

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# Nothing reached the server: safe to resend even a create.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass
class _TestMode:
    enabled: bool = False
    waits: list[float] = field(default_factory=list)
    advance: Callable[[float], object] | None = None


_test_mode = _TestMode()


@contextlib.contextmanager
def recording_waits(advance: Callable[[float], object] | None = None) -> Iterator[list[float]]:
    """Within the block, retries never sleep; yields the list of waits that would have been slept.

    ``advance``, when given, is called with each wait instead of sleeping (e.g. a simulated clock's
    ``advance``), so time-driven peers see the wait pass.
    """
    previous = _test_mode.enabled, _test_mode.waits, _test_mode.advance
    _test_mode.enabled, _test_mode.waits, _test_mode.advance = True, [], advance
    try:
        yield _test_mode.waits
    finally:
        _test_mode.enabled, _test_mode.waits, _test_mode.advance = previous


def _sleep(seconds: float) -> None:
    if _test_mode.enabled:
        _test_mode.waits.append(seconds)
        if _test_mode.advance is not None:
            _test_mode.advance(seconds)
        return
    time.sleep(seconds)


def retry_after_seconds(response: httpx.Response, *, now: datetime | None = None) -> float | None:
    """The server's requested delay from ``Retry-After`` (delta-seconds or HTTP-date), if any."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def may_have_run(outcome: httpx.Response | BaseException) -> bool:
    """Whether an attempt that ended this way may have been executed although its answer was lost.

    A connection never made did not run; a 4xx other than 408 is the server's refusal of this very request.
    A timeout, a dropped connection, a 408 or a 5xx leave the question open.
    """
    if isinstance(outcome, httpx.Response):
        return outcome.status_code == 408 or outcome.status_code >= 500
    return not isinstance(outcome, _NOT_SENT)


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how patiently to retry one request."""

    attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 30.0
    # A server asking for longer than this is not waited for inside the call: the queue redelivers later.
    max_retry_after: float = 300.0

    def _wait(self, state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            delay = retry_after_seconds(outcome.result())
            if delay is not None:
                return min(delay, self.max_retry_after)
        # Full jitter: spreads out workers that were throttled together (AWS architecture blog's advice).
        ceiling = min(self.max_wait, self.initial_wait * 2 ** (state.attempt_number - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography

    def send(
        self,
        client: httpx.Client,
        request: httpx.Request,
        *,
        idempotent: bool,
        on_attempt: Callable[[int], None] | None = None,
        not_executed_statuses: frozenset[int] = frozenset(),
        on_outcome: Callable[[httpx.Response | Exception], None] | None = None,
    ) -> httpx.Response:
        """Send ``request``, retrying as its idempotency allows; return the last response.

        ``on_attempt`` is called with the attempt's number before each attempt (e.g. to set a fresh token
        on ``request``); ``on_outcome`` with each attempt's response or exception, the last one included.
        ``not_executed_statuses``: statuses with which the server guarantees it did not execute the
        request (Dataverse's 429), retried whatever the request's idempotency.
        """
        retry_exceptions = _NOT_SENT + _TRANSIENT if idempotent else _NOT_SENT

        def should_retry_response(response: httpx.Response) -> bool:
            status = response.status_code
            return (idempotent and status in RETRYABLE_STATUS) or status in not_executed_statuses

        def stop_early(state: tenacity.RetryCallState) -> bool:
            outcome = state.outcome
            if outcome is not None and not outcome.failed:
                delay = retry_after_seconds(outcome.result())
                if delay is not None and delay > self.max_retry_after:
                    return True
            return state.attempt_number >= self.attempts

        retrying = tenacity.Retrying(
            stop=stop_early,
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(retry_exceptions)
            | tenacity.retry_if_result(should_retry_response),
            sleep=_sleep,
            reraise=True,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )

        attempts = 0

        def attempt() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            if on_attempt is not None:
                on_attempt(attempts)
            try:
                response = client.send(request)
            except Exception as exc:
                if on_outcome is not None:
                    on_outcome(exc)
                raise
            if on_outcome is not None:
                on_outcome(response)
            if should_retry_response(response):
                response.read()  # release the connection before the next attempt
                response.close()
            return response

        response: httpx.Response = retrying(attempt)
        return response
