"""Fire timer-triggered functions on their NCRONTAB schedules, one invocation at a time per function.

Like the host's singleton lock, a timer never overlaps itself: a firing that comes due while the previous
run is still going is marked ``past_due`` when it finally runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from azure.functions.timer import TimerRequest

from devhost.functions import LocalFunction
from devhost.outputs import OutputSender
from shared.platform.ncrontab import Schedule

log = logging.getLogger("devhost.timers")
Clock = Callable[[], datetime]


@dataclass
class TimerStats:
    """Counts per timer function."""

    fired: int = 0
    failed: int = 0
    past_due: int = 0


class TimerDriver:
    """Runs one timer-triggered function on its schedule."""

    def __init__(
        self, function: LocalFunction, outputs: OutputSender, clock: Clock = lambda: datetime.now(UTC)
    ) -> None:
        self.function = function
        self._outputs = outputs
        self.schedule = Schedule.parse(str(function.trigger_settings["schedule"]))
        self.run_on_startup = bool(function.trigger_settings.get("runOnStartup", False))
        self.stats = TimerStats()
        self._clock: Clock = clock if clock is not None else (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self.next_due = self.schedule.next_after(self._clock())

    def fire(self, *, past_due: bool = False) -> bool:
        """Run the function now (waiting for a running invocation to finish); True if it succeeded."""
        with self._lock:
            self.stats.fired += 1
            self.stats.past_due += past_due
            try:
                _, captures = self.function.invoke(TimerRequest(past_due=past_due))
                self._outputs.send(captures)
            except Exception:  # a failed run is logged and counted; the schedule goes on
                log.exception("timer %s failed", self.function.name)
                self.stats.failed += 1
                return False
            return True

    def tick(self) -> bool:
        """Fire if the schedule is due; returns whether it fired."""
        now = self._clock()
        if now < self.next_due:
            return False
        # Late by more than a second (a long previous run, a slow machine): the host says past_due.
        late = (now - self.next_due).total_seconds() > 1
        self.next_due = self.schedule.next_after(now)
        self.fire(past_due=late)
        return True
