"""Where each entity stands: position, last runs, lag, queue depth, poison and parked counts.

``entity_status`` reads it from the state the sync keeps anyway — nothing is counted on the side:

- **position**: the watermark of a watermark entity; the number of keys in scope of an etag-ledger entity
  (its ledger is its position); a stopped backfill's last key;
- **last poll / last work**: the run log (``shared.state.runs``), written by every poll and every message;
- **lag**: the age of the oldest change not yet written to the other system — the ledger's keys whose
  version seen is not synced yet, parked ones left out (they are counted as parked, and would otherwise
  keep the lag growing until someone fixes them);
- **queue depth**, **poison** (messages in ``<queue>-poison``) and **parked** (open parked records).

The same document feeds the command line, the admin HTTP function and the metrics (``gauges``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.records import RunRecord
from shared.sync import backfill
from shared.sync.detection import watermark_stream
from shared.sync.ports import LedgerProgress, ParkingLot, PauseSwitch, QueueView, Runs, Watermarks


@dataclass(frozen=True)
class EntityStatus:
    """One entity's state, as ``status`` shows it."""

    entity: str
    detection: str
    position: str
    paused_since: datetime | None
    pause_reason: str
    last_poll: RunRecord | None
    last_work: RunRecord | None
    in_scope: int
    unsynced: int
    lag_seconds: float | None
    oldest_unsynced: str | None
    queue: str
    queue_depth: int
    poison: int
    parked: int
    backfill_after: str | None

    def gauges(self) -> dict[str, float]:
        """The numbers the metrics carry (lag 0 when nothing waits)."""
        return {
            "lag_seconds": self.lag_seconds or 0.0,
            "queue_depth": float(self.queue_depth),
            "poison": float(self.poison),
            "parked": float(self.parked),
        }

    def to_json(self) -> dict[str, Any]:
        """The status as a JSON document."""

        def run(record: RunRecord | None) -> dict[str, Any] | None:
            if record is None:
                return None
            return {"at": record.at.isoformat(), "outcome": record.outcome, "detail": record.detail}

        return {
            "entity": self.entity,
            "detection": self.detection,
            "position": self.position,
            "paused": None
            if self.paused_since is None
            else {"since": self.paused_since.isoformat(), "reason": self.pause_reason},
            "last_poll": run(self.last_poll),
            "last_work": run(self.last_work),
            "in_scope": self.in_scope,
            "unsynced": self.unsynced,
            "lag_seconds": self.lag_seconds,
            "oldest_unsynced": self.oldest_unsynced,
            "queue": self.queue,
            "queue_depth": self.queue_depth,
            "poison": self.poison,
            "parked": self.parked,
            "backfill_after": self.backfill_after,
        }


def poison_queue(queue: str) -> str:
    """Where the Functions host moves a queue's messages that failed ``maxDequeueCount`` times."""
    return f"{queue}-poison"


def entity_status(
    entity: str,
    *,
    queue: str,
    strategy: str,
    watermark_column: str | None,
    ledger: LedgerProgress,
    watermarks: Watermarks,
    runs: Runs,
    pauses: PauseSwitch,
    queues: QueueView[Any],
    parking: ParkingLot,
    now: datetime,
) -> EntityStatus:
    """The status of ``entity`` now."""
    in_scope, unsynced = ledger.progress(entity)
    parked = parking.open_keys(entity)
    waiting = {key: seen for key, seen in unsynced.items() if key not in parked and seen is not None}
    oldest = min(waiting, key=lambda key: waiting[key], default=None)
    lag = None if oldest is None else max((now - waiting[oldest]).total_seconds(), 0.0)
    if strategy == "watermark" and watermark_column:
        mark = watermarks.get(watermark_stream(entity, watermark_column))
        position = f"watermark {mark.value}" if mark is not None else "watermark: none yet (first poll)"
    else:
        position = f"ledger: {in_scope} keys in scope"
    pause = pauses.get(entity)
    last = runs.last(entity)
    return EntityStatus(
        entity=entity,
        detection=strategy,
        position=position,
        paused_since=None if pause is None else pause.paused_at,
        pause_reason="" if pause is None else pause.reason,
        last_poll=last.get("poll"),
        last_work=last.get("work"),
        in_scope=in_scope,
        unsynced=len(waiting),
        lag_seconds=lag,
        oldest_unsynced=oldest,
        queue=queue,
        queue_depth=queues.depth(queue),
        poison=queues.depth(poison_queue(queue)),
        parked=len(parked),
        backfill_after=backfill.position(watermarks, entity).after,
    )
