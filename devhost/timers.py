"""Fire timer-triggered functions on their NCRONTAB schedules, one invocation at a time per function.

As in the WebJobs timer listener: a timer never overlaps itself; the next occurrence is computed from the
time a run started, so a run that outlasts it is followed by one immediate firing (missed occurrences are
not replayed one by one); ``past_due`` is always False. The listener sets IsPastDue only at startup, when
its schedule monitor (``useMonitor``) finds an occurrence missed while the app was stopped; devhost has no
schedule monitor.
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
        self._clock = clock
        self._lock = threading.Lock()
        self.next_due = self.schedule.next_after(self._clock())

    def fire(self) -> bool:
        """Run the function now (waiting for a running invocation to finish); True if it succeeded."""
        with self._lock:
            self.stats.fired += 1
            try:
                _, captures = self.function.invoke(TimerRequest(past_due=False))
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
        # From the start of this run, as the listener does: an overrun makes the next firing immediate.
        self.next_due = self.schedule.next_after(now)
        self.fire()
        return True
