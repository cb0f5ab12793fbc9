"""Simulated time that tests move forward instead of sleeping.

Simulators read ``SimClock.now()`` wherever the real service would look at its own clock: token expiry,
rate-limit windows, ``modifiedon`` stamps. Tests (directly, or through ``POST /_admin/clock``) call
``advance(seconds)``; nothing ever waits for real time to pass.

A running clock (the default) is wall-clock time plus an offset, so a long-lived demo simulator stays
close to real time; a frozen clock stands still until advanced, for tests that compare exact instants.
"""

from __future__ import annotations

import datetime as dt
import threading
import time


class SimClock:
    """Wall-clock (or frozen) time plus an offset that only ``advance`` changes; safe across threads."""

    def __init__(self, start: float | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._frozen = frozen
        self._base = time.time() if start is None else start
        self._started_at = time.time()
        self._offset = 0.0

    def now(self) -> float:
        """Seconds since the epoch, in simulated time."""
        with self._lock:
            elapsed = 0.0 if self._frozen else time.time() - self._started_at
            return self._base + elapsed + self._offset

    def now_datetime(self) -> dt.datetime:
        """The simulated time as an aware UTC datetime."""
        return dt.datetime.fromtimestamp(self.now(), dt.UTC)

    def advance(self, seconds: float) -> float:
        """Move simulated time forward by ``seconds`` (never backwards); returns the new ``now()``."""
        if seconds < 0:
            raise ValueError(f"a clock only moves forward; got {seconds} seconds")
        with self._lock:
            self._offset += seconds
        return self.now()

    @property
    def offset(self) -> float:
        """Seconds added by ``advance`` since construction or the last ``reset``."""
        with self._lock:
            return self._offset

    def reset(self) -> None:
        """Drop every ``advance`` (simulated time returns to wall-clock time, or to ``start`` if frozen)."""
        with self._lock:
            self._offset = 0.0
