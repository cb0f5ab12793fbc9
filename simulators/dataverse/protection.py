"""Service protection API limits: requests and execution time per sliding window, and concurrent requests.

From the service-protection article (api-limits.md): per user, each web server allows 6000 requests and
1,200,000 ms of combined execution time within a 5-minute sliding window, and 52 concurrent requests.
A request over a limit is refused *before it runs* with ``429 Too Many Requests``, a ``Retry-After`` in
seconds and the documented error code and message; the two ``x-ms-ratelimit-*`` headers report what is
left. ``Limits.scaled`` shrinks the limits for tests (the messages name the limits actually applied).

Time comes from an injectable clock, so tests move the window by advancing the clock. Execution time is
what the handler actually took, or a fixed charge per request (``charge_ms``) so that tests are
deterministic. ASSUMED (no raw 429 was ever published): ``Retry-After`` is the whole seconds until enough
of the window has slid past to admit the request (at least 1; 1 for the concurrency limit), refused
requests are not counted, and the error body has the usual ``{"error":{"code","message"}}`` shape with the
hex code.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from simulators.dataverse.errors import WebApiError

REQUESTS_CODE = "0x80072322"
EXECUTION_TIME_CODE = "0x80072321"
CONCURRENCY_CODE = "0x80072326"
BURST_REMAINING = "x-ms-ratelimit-burst-remaining-xrm-requests"
TIME_REMAINING = "x-ms-ratelimit-time-remaining-xrm-requests"


@dataclass(frozen=True)
class Limits:
    """The three limits; the defaults are Dataverse's."""

    requests: int = 6000
    execution_ms: int = 1_200_000
    concurrent: int = 52
    window_seconds: int = 300

    def scaled(self, factor: float) -> Limits:
        """The same window with its request and execution-time budgets multiplied by ``factor`` (at least 1).

        The concurrency limit is not a budget per window and stays as it is.
        """
        return Limits(
            requests=max(1, round(self.requests * factor)),
            execution_ms=max(1, round(self.execution_ms * factor)),
            concurrent=self.concurrent,
            window_seconds=self.window_seconds,
        )


def requests_exceeded(limits: Limits, retry_after: int) -> WebApiError:
    """The documented 'Number of requests' refusal."""
    return WebApiError(
        429,
        REQUESTS_CODE,
        f"Number of requests exceeded the limit of {limits.requests} over time window of "
        f"{limits.window_seconds} seconds.",
        {"Retry-After": str(retry_after)},
    )


def execution_time_exceeded(limits: Limits, retry_after: int) -> WebApiError:
    """The documented 'Execution time' refusal (the article's double space kept)."""
    return WebApiError(
        429,
        EXECUTION_TIME_CODE,
        f"Combined execution time of incoming requests exceeded limit of {limits.execution_ms:,}  "
        f"milliseconds over time window of {limits.window_seconds} seconds. Decrease number of concurrent "
        "requests or reduce the duration of requests and try again later.",
        {"Retry-After": str(retry_after)},
    )


def concurrency_exceeded(limits: Limits) -> WebApiError:
    """The documented 'Concurrent requests' refusal."""
    return WebApiError(
        429,
        CONCURRENCY_CODE,
        f"Number of concurrent requests exceeded the limit of {limits.concurrent}.",
        {"Retry-After": "1"},
    )


@dataclass
class _UserWindow:
    requests: deque[float] = field(default_factory=deque)
    executions: deque[tuple[float, float]] = field(default_factory=deque)
    active: int = 0


@dataclass(frozen=True)
class Ticket:
    """An admitted request; hand it back to ``release`` when the request has finished."""

    user: Hashable
    started: float
    id: uuid.UUID = field(default_factory=uuid.uuid4)


class ServiceProtection:
    """Admits or refuses requests per user against the limits, on an injectable clock."""

    def __init__(self, limits: Limits, now: Callable[[], float], *, charge_ms: float | None = None) -> None:
        self.limits = limits
        self._now = now
        self.charge_ms = charge_ms
        self._lock = threading.Lock()
        self._users: dict[Hashable, _UserWindow] = {}
        self.refusals = 0

    def reset(self) -> None:
        """Forget every window (the admin reset)."""
        with self._lock:
            self._users.clear()
            self.refusals = 0

    def _prune(self, window: _UserWindow, now: float) -> None:
        horizon = now - self.limits.window_seconds
        while window.requests and window.requests[0] <= horizon:
            window.requests.popleft()
        while window.executions and window.executions[0][0] <= horizon:
            window.executions.popleft()

    def _until(self, instant: float, now: float) -> int:
        return max(1, math.ceil(instant + self.limits.window_seconds - now))

    def admit(self, user: Hashable) -> Ticket:
        """Admit one request of ``user`` or raise the 429 WebApiError."""
        with self._lock:
            now = self._now()
            window = self._users.setdefault(user, _UserWindow())
            self._prune(window, now)
            refusal = self._refusal(window, now)
            if refusal is not None:
                self.refusals += 1
                raise refusal
            window.requests.append(now)
            window.active += 1
            return Ticket(user, now)

    def _refusal(self, window: _UserWindow, now: float) -> WebApiError | None:
        limits = self.limits
        if window.active >= limits.concurrent:
            return concurrency_exceeded(limits)
        if len(window.requests) >= limits.requests:
            # Admitted again once the oldest requests that keep the count at the limit have slid out.
            oldest = window.requests[len(window.requests) - limits.requests]
            return requests_exceeded(limits, self._until(oldest, now))
        spent = sum(ms for _, ms in window.executions)
        if spent >= limits.execution_ms:
            for started, ms in window.executions:
                spent -= ms
                if spent < limits.execution_ms:
                    return execution_time_exceeded(limits, self._until(started, now))
        return None

    def release(self, ticket: Ticket, elapsed_ms: float) -> None:
        """The request finished after ``elapsed_ms`` of work; charge it to the execution-time window."""
        with self._lock:
            window = self._users.setdefault(ticket.user, _UserWindow())
            window.active = max(0, window.active - 1)
            charge = self.charge_ms if self.charge_ms is not None else elapsed_ms
            window.executions.append((ticket.started, charge))

    def remaining(self, user: Hashable) -> dict[str, str]:
        """The debug headers: requests and milliseconds left in the user's window."""
        with self._lock:
            window = self._users.get(user) or _UserWindow()
            self._prune(window, self._now())
            requests_left = max(0, self.limits.requests - len(window.requests))
            time_left = max(0.0, self.limits.execution_ms - sum(ms for _, ms in window.executions))
            return {BURST_REMAINING: str(requests_left), TIME_REMAINING: str(int(time_left))}
