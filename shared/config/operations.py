"""Settings of operations: pausing, the jobs timer (reconcile and backfill asked for over HTTP), retention."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from shared.config.reader import SettingsReader
from shared.config.setting import Setting

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "PAUSE_HOLD_SECONDS",
        "operations",
        "While an entity is paused, each of its queue messages is put back, hidden for this many seconds, "
        "before it is looked at again (1-3600); nothing is lost, however long the pause.",
        "300",
        default="300",
        doc=(
            "While an entity is paused, each of its queue messages is put back unchanged, hidden "
            "this long (1-3600), before it is looked at again; nothing is lost, however long the "
            "pause. See [Operating](#operating)"
        ),
    ),
    Setting(
        "OPS_JOB_SLICE_SECONDS",
        "operations",
        "How long one run of the jobs timer works on a backfill before it saves its position and stops; the "
        "next run continues (60-1500, below host.json's functionTimeout).",
        "600",
        default="600",
        doc=(
            "How long one run of the jobs timer works on a backfill before it saves its position "
            "and stops (60-1500, below host.json's `functionTimeout`); the next run continues"
        ),
    ),
    Setting(
        "AUDIT_RETENTION_DAYS",
        "operations",
        "Audit rows and finished jobs older than this many days are deleted by the purge timer, as are "
        "webhook dedupe claims past their expiry (1-3650).",
        "90",
        default="90",
    ),
    Setting(
        "OPS_JOBS_SCHEDULE",
        "ops_timers",
        "NCRONTAB schedule (six fields, seconds first) of the jobs timer, which runs queued reconcile and "
        "backfill jobs.",
        "15 * * * * *",
        doc=(
            "NCRONTAB schedule of the jobs timer (`run_jobs`), which runs reconcile and backfill "
            "jobs queued over HTTP, e.g. `15 * * * * *`"
        ),
    ),
    Setting(
        "PURGE_SCHEDULE",
        "ops_timers",
        "NCRONTAB schedule of the purge timer, which deletes audit rows, finished jobs and dedupe claims "
        "past their retention.",
        "0 30 2 * * *",
        doc="NCRONTAB schedule of the purge timer (`purge_state`), e.g. `0 30 2 * * *`",
    ),
)


@dataclass(frozen=True)
class OperationsSettings:
    """How pauses hold messages, how long a job slice runs, how long audit rows are kept."""

    FEATURE: ClassVar[str] = "operations"
    pause_hold_seconds: int
    job_slice_seconds: int
    audit_retention_days: int

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read PAUSE_HOLD_SECONDS, OPS_JOB_SLICE_SECONDS and AUDIT_RETENTION_DAYS."""
        return cls(
            pause_hold_seconds=reader.integer("PAUSE_HOLD_SECONDS", minimum=1, maximum=3600),
            job_slice_seconds=reader.integer("OPS_JOB_SLICE_SECONDS", minimum=60, maximum=1500),
            audit_retention_days=reader.integer("AUDIT_RETENTION_DAYS", minimum=1, maximum=3650),
        )


@dataclass(frozen=True)
class OpsTimersSettings:
    """The schedules of the jobs timer and the purge timer."""

    FEATURE: ClassVar[str] = "ops_timers"
    jobs_schedule: str
    purge_schedule: str

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read OPS_JOBS_SCHEDULE and PURGE_SCHEDULE."""
        return cls(
            jobs_schedule=reader.schedule("OPS_JOBS_SCHEDULE"),
            purge_schedule=reader.schedule("PURGE_SCHEDULE"),
        )
