"""How many units of work a benchmark runs at once against Dataverse: AIMD from ``x-ms-dop-hint`` on 429s.

Dataverse announces a recommended degree of parallelism in the ``x-ms-dop-hint`` response header
(Microsoft's guidance: "Send parallel requests"); service protection answers ``429`` with ``Retry-After``
when a client goes past it. ``AdaptiveConcurrency`` starts at the hint (capped at ``maximum``), and then:

- a 429 halves the limit and starts no new unit until its ``Retry-After`` has passed. The 429s that come
  back during that pause are the requests already in flight when the first one came: they extend the
  pause when they ask for longer, but do not halve the limit again (one decrease per episode);
- every ``limit`` units that finish with no 429 since the last decrease add one (additive increase),
  up to ``maximum``.

The ``x-ms-ratelimit-*`` headers are never read: Microsoft documents them as for debugging only.

The engine sends one Dataverse request at a time per invocation (the deployment's concurrency arithmetic
relies on it), so the number of units in flight is the number of Dataverse requests in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

DOP_HINT_HEADER = "x-ms-dop-hint"


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, its name compared case-insensitively (any mapping, not only httpx.Headers)."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def retry_after_seconds(headers: Mapping[str, str], default: float = 1.0) -> float:
    """The ``Retry-After`` of a response in seconds (delta-seconds; ``default`` when absent or unreadable)."""
    value = header(headers, "Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


@dataclass
class ConcurrencyLog:
    """What the controller did, for the benchmark's report."""

    decreases: int = 0
    increases: int = 0
    paused_seconds: float = 0.0
    lowest: int = 0
    highest: int = 0
    limits: list[int] = field(default_factory=list)  # the limit after each change, in order


class AdaptiveConcurrency:
    """A limit on units in flight, moved by what Dataverse answers; safe across threads."""

    def __init__(
        self,
        start: int,
        *,
        maximum: int,
        minimum: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= minimum <= maximum:
            raise ValueError(f"need 1 <= minimum <= maximum, got {minimum} and {maximum}")
        self.maximum = maximum
        self.minimum = minimum
        self._clock = clock
        self._limit = min(maximum, max(minimum, start))
        self._active = 0
        self._paused_until = 0.0
        self._clean = 0  # units finished since the last change of the limit
        self._changed = threading.Condition()
        self.log = ConcurrencyLog(lowest=self._limit, highest=self._limit, limits=[self._limit])

    @classmethod
    def from_hint(cls, headers: Mapping[str, str], *, maximum: int, default: int = 1) -> AdaptiveConcurrency:
        """A controller starting at a Dataverse response's ``x-ms-dop-hint`` (``default`` without one)."""
        value = header(headers, DOP_HINT_HEADER)
        start = int(value) if value is not None and value.isdigit() and int(value) > 0 else default
        return cls(start, maximum=maximum)

    @property
    def limit(self) -> int:
        """Units allowed in flight now."""
        with self._changed:
            return self._limit

    @property
    def active(self) -> int:
        """Units in flight now."""
        with self._changed:
            return self._active

    def paused_for(self) -> float:
        """Seconds until new units may start again (0 when not paused)."""
        with self._changed:
            return max(0.0, self._paused_until - self._clock())

    # ---- what Dataverse answered ----------------------------------------------------------------------

    def throttled(self, retry_after: float) -> None:
        """A 429 asking to wait ``retry_after`` seconds: pause, and halve the limit once per episode."""
        with self._changed:
            now = self._clock()
            until = now + retry_after
            if now >= self._paused_until:  # a new episode: the first 429 since the last pause ended
                self._set(max(self.minimum, self._limit // 2))
                self.log.decreases += 1
                self.log.paused_seconds += retry_after
            elif until > self._paused_until:
                self.log.paused_seconds += until - self._paused_until
            self._paused_until = max(self._paused_until, until)
            self._changed.notify_all()

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Any Dataverse response: a 429 throttles (honouring its ``Retry-After``), the rest is ignored."""
        if status == 429:
            self.throttled(retry_after_seconds(headers))

    # ---- slots ------------------------------------------------------------------------------------------

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait for a free slot outside any pause and take it; False when ``timeout`` passed first."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._changed:
            while True:
                now = self._clock()
                if now >= self._paused_until and self._active < self._limit:
                    self._active += 1
                    return True
                wait = self._paused_until - now if now < self._paused_until else None
                if deadline is not None:
                    if now >= deadline:
                        return False
                    wait = min(wait, deadline - now) if wait is not None else deadline - now
                self._changed.wait(wait)

    def release(self, *, finished: bool = True) -> None:
        """Free a slot; units ``finished`` outside a pause count, and ``limit`` of them grow the limit by one.

        ``finished=False`` gives back a slot that ran nothing (no work was waiting).
        """
        with self._changed:
            self._active -= 1
            if finished and self._clock() >= self._paused_until:
                self._clean += 1
                if self._clean >= self._limit and self._limit < self.maximum:
                    self._set(self._limit + 1)
                    self.log.increases += 1
            self._changed.notify_all()

    def _set(self, limit: int) -> None:
        self._limit = limit
        self._clean = 0
        self.log.limits.append(limit)
        self.log.lowest = min(self.log.lowest, limit)
        self.log.highest = max(self.log.highest, limit)
