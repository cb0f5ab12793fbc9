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

Every call has a total budget (``budget_seconds``, ``CALL_BUDGET_SECONDS`` in the app): ``Retry-After`` is
honoured per wait (up to ``max_retry_after``), but a wait that would end past the call's budget is not
slept, and the last response (a 429, say) or exception is handed back for the caller to raise. A client
starts one ``Deadline`` per call (``deadline()``) and passes it to every ``send`` of that call, so a
resend after a 401 draws on the same budget. The queue worker then re-enqueues the work with the
``Retry-After`` delay: a long throttling storm delays work, and the Functions host never has to kill an
invocation in the middle of its writes.

``httpx.LocalProtocolError`` (httpx refused to send, e.g. a header value holding CR/LF) means nothing left
the process: it is not retried (it would fail the same way) and ``may_have_run`` says it did not run.

Tests use ``recording_waits()``: nothing sleeps, and the waits that would have been slept are recorded,
so a test can assert that ``Retry-After`` was honoured without spending the time (after stamina's
``set_testing``). ``recording_waits(advance=clock.advance)`` also moves a simulated clock by each wait,
so a simulator's sliding windows move on exactly as if the time had been slept. Inside the block a call's
budget is spent by the recorded waits alone, so a test's outcome never depends on how fast the machine is.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import tenacity

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
DEFAULT_CALL_BUDGET_SECONDS = 300.0
# A throttled answer that names no delay: try again after this many seconds (the queue's redelivery pace).
FALLBACK_RETRY_AFTER_SECONDS = 30.0
# Nothing reached the server: safe to resend even a create.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)
# Nothing left the process either, and sending it again would fail the same way: never retried.
REFUSED_LOCALLY = (httpx.LocalProtocolError, httpx.UnsupportedProtocol)
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass
class _TestMode:
    enabled: bool = False
    waits: list[float] = field(default_factory=list)
    advance: Callable[[float], object] | None = None


class _Waited(threading.local):
    """Per thread, the waits recorded so far: the time that passes for a call's budget in test mode.

    Per thread because a call runs on one thread, and waits of concurrent calls overlap in real time.
    """

    seconds: float = 0.0


_waited = _Waited()


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
        _waited.seconds += seconds
        if _test_mode.advance is not None:
            _test_mode.advance(seconds)
        return
    time.sleep(seconds)


def _recorded_time() -> float:
    return _waited.seconds


@dataclass(frozen=True)
class Deadline:
    """The budget of one call: ``seconds`` from when it started, on the policy's clock (None: unbounded)."""

    seconds: float | None
    started: float
    clock: Callable[[], float]

    @classmethod
    def start(cls, seconds: float | None) -> Deadline:
        """A budget starting now; under ``recording_waits`` only the recorded waits spend it."""
        clock = _recorded_time if _test_mode.enabled else time.monotonic
        return cls(seconds, clock(), clock)

    def allows(self, wait: float) -> bool:
        """Whether waiting ``wait`` seconds more still ends within the budget."""
        return self.seconds is None or self.clock() - self.started + wait <= self.seconds


def retry_after_seconds(response: httpx.Response, *, now: datetime | None = None) -> float | None:
    """The server's requested delay from ``Retry-After`` (delta-seconds or HTTP-date), if any.

    An HTTP-date without a zone (``-0000``, which RFC 5322 uses for "UTC, source zone unknown") is UTC.
    """
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
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def request_timeout_seconds(http: httpx.Client) -> float:
    """The longest of an ``httpx.Client``'s timeouts (connect, read, write, pool); infinite when unbounded."""
    timeout = http.timeout
    parts = [timeout.connect, timeout.read, timeout.write, timeout.pool]
    return max(math.inf if part is None else part for part in parts)


def may_have_run(outcome: httpx.Response | BaseException) -> bool:
    """Whether an attempt that ended this way may have been executed although its answer was lost.

    A connection never made, or a request httpx refused to send, did not run; a 4xx other than 408 is the
    server's refusal of this very request. A timeout, a dropped connection, a 408 or a 5xx leave the
    question open.
    """
    if isinstance(outcome, httpx.Response):
        return outcome.status_code == 408 or outcome.status_code >= 500
    return not isinstance(outcome, _NOT_SENT + REFUSED_LOCALLY)


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how patiently to retry one request."""

    attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 30.0
    # A server asking for longer than this is not waited for inside the call: the queue redelivers later.
    max_retry_after: float = 300.0
    # Total time of one call, waits included (CALL_BUDGET_SECONDS); None: only the attempts bound it.
    budget_seconds: float | None = DEFAULT_CALL_BUDGET_SECONDS

    def deadline(self) -> Deadline:
        """The budget of a call starting now: pass it to every ``send`` of that call."""
        return Deadline.start(self.budget_seconds)

    def check_budget(self, request_timeout: float, what: str) -> None:
        """ValueError when the call budget is shorter than one request may take (``what`` names it)."""
        if self.budget_seconds is not None and self.budget_seconds < request_timeout:
            raise ValueError(
                f"the call budget ({self.budget_seconds:g} s, CALL_BUDGET_SECONDS) is shorter than "
                f"{what} ({request_timeout:g} s): not even one attempt would fit"
            )

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
        deadline: Deadline | None = None,
    ) -> httpx.Response:
        """Send ``request``, retrying as its idempotency allows; return the last response.

        ``on_attempt`` is called with the attempt's number before each attempt (e.g. to set a fresh token
        on ``request``); ``on_outcome`` with each attempt's response or exception, the last one included.
        ``not_executed_statuses``: statuses with which the server guarantees it did not execute the
        request (Dataverse's 429), retried whatever the request's idempotency. ``deadline``: the call's
        budget (a new one from ``budget_seconds`` when None); no wait is started that would end past it.
        """
        budget = deadline or self.deadline()
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
            return state.attempt_number >= self.attempts or not budget.allows(state.upcoming_sleep)

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
