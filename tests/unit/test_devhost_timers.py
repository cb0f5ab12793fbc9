"""devhost's timer driver on an injected clock: fires when due, never past_due, catches up once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import azure.functions as func

from devhost.functions import index_app
from devhost.outputs import OutputSender
from devhost.timers import TimerDriver

START = datetime(2026, 3, 2, 9, 58, 30, tzinfo=UTC)
EVERY_FIVE_MINUTES = "0 */5 * * * *"


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Recorder:
    """A timer function that records each call; it can make the clock move while it runs."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.calls: list[tuple[datetime, bool]] = []
        self.run_minutes = 0.0
        self.fail = False

    def __call__(self, timer: func.TimerRequest) -> None:
        self.calls.append((self.clock.now, timer.past_due))
        self.clock.advance(minutes=self.run_minutes)
        if self.fail:
            raise RuntimeError("bug")


def driver(clock: ManualClock, recorder: Recorder) -> TimerDriver:
    """A TimerDriver for a real indexed timer function calling ``recorder``."""
    app = func.FunctionApp()

    @app.timer_trigger(schedule=EVERY_FIVE_MINUTES, arg_name="timer", use_monitor=False)
    def tick(timer: func.TimerRequest) -> None:
        recorder(timer)

    [function] = index_app(app, {})
    return TimerDriver(function, OutputSender(function, {}, "base64"), clock=clock)


def test_fires_only_when_due() -> None:
    """Nothing happens before the next occurrence; at it, one firing, and the next occurrence moves on."""
    clock = ManualClock(START)
    recorder = Recorder(clock)
    timer = driver(clock, recorder)
    assert timer.next_due == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    clock.advance(seconds=89)
    assert not timer.tick()
    clock.advance(seconds=1)
    assert timer.tick()
    assert not timer.tick()
    assert recorder.calls == [(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), False)]
    assert timer.next_due == datetime(2026, 3, 2, 10, 5, tzinfo=UTC)
    assert (timer.stats.fired, timer.stats.failed) == (1, 0)


def test_late_tick_is_not_past_due() -> None:
    """A firing noticed late (a slow machine) runs once with past_due False, as without a schedule monitor."""
    clock = ManualClock(START)
    recorder = Recorder(clock)
    timer = driver(clock, recorder)
    clock.advance(minutes=13)  # 10:11:30: the 10:00, 10:05 and 10:10 occurrences went by
    assert timer.tick()
    assert not timer.tick()
    assert recorder.calls == [(datetime(2026, 3, 2, 10, 11, 30, tzinfo=UTC), False)]
    assert timer.next_due == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)


def test_overrun_fires_once_more_at_once_without_past_due() -> None:
    """A run longer than the interval is followed by one immediate firing, not one per missed occurrence."""
    clock = ManualClock(START)
    recorder = Recorder(clock)
    timer = driver(clock, recorder)
    clock.advance(seconds=90)
    recorder.run_minutes = 12  # the 10:00 run ends at 10:12
    assert timer.tick()
    recorder.run_minutes = 0
    assert timer.tick()  # 10:05 was due while it ran: fire now
    assert not timer.tick()
    assert recorder.calls == [
        (datetime(2026, 3, 2, 10, 0, tzinfo=UTC), False),
        (datetime(2026, 3, 2, 10, 12, tzinfo=UTC), False),
    ]
    assert timer.next_due == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)


def test_failed_run_keeps_the_schedule() -> None:
    """A run that raises is counted as failed, and the timer still fires at the next occurrence."""
    clock = ManualClock(START)
    recorder = Recorder(clock)
    timer = driver(clock, recorder)
    recorder.fail = True
    clock.advance(seconds=90)
    assert timer.tick()
    clock.advance(minutes=5)
    assert timer.tick()
    assert [at for at, _ in recorder.calls] == [
        datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 10, 5, tzinfo=UTC),
    ]
    assert (timer.stats.fired, timer.stats.failed) == (2, 2)
