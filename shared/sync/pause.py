"""Pausing an entity: polls skipped, queue messages held, position kept, for as long as it takes.

While an entity is paused:

- its **poll** does nothing (``SyncRuntime.poll`` skips it and says so), so its watermark or ledger stays
  where it was;
- its **worker** does not process a message: it puts the message back on the queue unchanged, hidden for
  ``PAUSE_HOLD_SECONDS``, and completes, so the message is never retried into ``-poison`` and never lost
  (each hold is a fresh message, so Storage's 7-day message lifetime never runs out, whatever the pause's
  length). The message keeps its correlation id and the time it was first enqueued.

On **resume** the next poll detects everything that changed meanwhile from the kept position, in the usual
order, and the held messages come back within ``PAUSE_HOLD_SECONDS``. A position that cannot outlive a long
pause — a Dataverse change-tracking delta token expires after the organization's
``ExpireChangeTrackingInDays`` — is declared by its flow as an ``ExpiringPosition``: when it is older than its
lifetime at resume, resume clears it (the flow's next poll then compares everything, as on a first run)
and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.records import PauseRecord
from shared.sync.ports import MessagePublisher, PauseSwitch, Watermarks

NO_POSITION = ""  # a cleared position: the flow's next poll compares everything


@dataclass(frozen=True)
class ExpiringPosition:
    """A stream position that stops being usable after ``lifetime`` (e.g. a Dataverse delta token)."""

    stream: str
    lifetime: timedelta
    what: str = "position"


@dataclass(frozen=True)
class Resumed:
    """What resuming an entity did."""

    entity: str
    paused_at: datetime | None
    paused_for: timedelta | None
    notes: list[str] = field(default_factory=list)


def pause(pauses: PauseSwitch, entity: str, reason: str = "") -> PauseRecord:
    """Pause ``entity`` (again: keeps the first pause)."""
    return pauses.pause(entity, reason)


def resume(
    pauses: PauseSwitch,
    entity: str,
    *,
    now: datetime,
    watermarks: Watermarks,
    expiring: ExpiringPosition | None = None,
) -> Resumed:
    """Resume ``entity``; clear its position when it expired meanwhile (the flow then compares everything)."""
    record = pauses.resume(entity)
    notes: list[str] = []
    if record is None:
        notes.append(f"{entity} was not paused")
    if expiring is not None:
        read = watermarks.get(expiring.stream)
        moved = getattr(read, "updated_at", None)
        value = getattr(read, "value", NO_POSITION)
        if (
            read is not None
            and value != NO_POSITION
            and moved is not None
            and now - moved >= expiring.lifetime
        ):
            watermarks.advance(expiring.stream, NO_POSITION, read=read)
            notes.append(
                f"its {expiring.what} was last moved {_days(now - moved)} ago and lives "
                f"{_days(expiring.lifetime)}: it was cleared, so the next poll compares everything (a full "
                "compare, as on a first run)"
            )
    paused_for = None if record is None else now - record.paused_at
    return Resumed(entity, None if record is None else record.paused_at, paused_for, notes)


def _days(span: timedelta) -> str:
    days = span.total_seconds() / 86_400
    return f"{days:.1f} days"


class PauseHold:
    """Holds the queue messages of paused entities: each is put back unchanged, hidden for a while."""

    def __init__(self, pauses: PauseSwitch, publisher: MessagePublisher, hold_seconds: int) -> None:
        self._pauses = pauses
        self._publisher = publisher
        self._hold_seconds = hold_seconds

    def holds(self, entity: str, queue: str, text: bytes) -> bool:
        """Whether ``entity`` is paused; if so, the message is back on ``queue`` (the caller completes)."""
        if self._pauses.get(entity) is None:
            return False
        self._publisher.send(
            queue, [text.decode("utf-8", errors="replace")], delay_seconds=self._hold_seconds
        )
        return True
