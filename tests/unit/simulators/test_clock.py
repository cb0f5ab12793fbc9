"""SimClock: simulated time that only moves when told to (frozen) or with wall time plus an offset."""

from __future__ import annotations

import pytest

from simulators.common.clock import SimClock


def test_frozen_clock_moves_only_when_advanced() -> None:
    """A frozen clock reports its start until advanced, then start plus the advance."""
    clock = SimClock(1_000.0, frozen=True)
    assert clock.now() == 1_000.0
    assert clock.advance(3600) == 4_600.0
    assert clock.now() == 4_600.0
    assert clock.offset == 3600


def test_running_clock_is_ahead_by_the_advance() -> None:
    """A running clock advanced by an hour is at least an hour ahead of where it was."""
    clock = SimClock()
    before = clock.now()
    clock.advance(3600)
    assert clock.now() >= before + 3600


def test_reset_drops_every_advance() -> None:
    """Reset returns a frozen clock to its start."""
    clock = SimClock(50.0, frozen=True)
    clock.advance(10)
    clock.reset()
    assert clock.now() == 50.0
    assert clock.offset == 0


def test_clock_never_goes_back() -> None:
    """A negative advance is refused."""
    with pytest.raises(ValueError, match="only moves forward"):
        SimClock().advance(-1)


def test_datetime_is_utc() -> None:
    """now_datetime is the same instant as an aware UTC datetime."""
    clock = SimClock(0.0, frozen=True)
    assert clock.now_datetime().isoformat() == "1970-01-01T00:00:00+00:00"
