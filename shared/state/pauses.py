"""Paused entities: an operator's switch that stops an entity's polls and holds its queue messages.

One row per paused entity (who paused it, when, why); resuming deletes it. The poller and the workers read
it before they work (``shared.sync.pause``); nothing else about the entity changes while it is paused.
"""

from __future__ import annotations

from shared.records import PauseRecord
from shared.state.clock import Clock, utc_now
from shared.state.keys import decode_key, encode_key
from shared.state.tables import StateTables, get_entity

_PARTITION = "pause"


class PauseRepository:
    """Stores which entities are paused."""

    TABLE = "pauses"

    def __init__(self, tables: StateTables, clock: Clock = utc_now) -> None:
        self._table = tables.table(self.TABLE)
        self._clock = clock

    def get(self, entity: str) -> PauseRecord | None:
        """The pause of ``entity``, or None when it runs."""
        row = get_entity(self._table, _PARTITION, encode_key(entity))
        return None if row is None else PauseRecord(entity, row["PausedAt"], row.get("Reason") or "")

    def pause(self, entity: str, reason: str = "") -> PauseRecord:
        """Pause ``entity`` (pausing it again keeps the first pause's time)."""
        current = self.get(entity)
        if current is not None:
            return current
        record = PauseRecord(entity, self._clock(), reason)
        self._table.upsert_entity(
            {
                "PartitionKey": _PARTITION,
                "RowKey": encode_key(entity),
                "PausedAt": record.paused_at,
                "Reason": reason,
            }
        )
        return record

    def resume(self, entity: str) -> PauseRecord | None:
        """Resume ``entity``; the pause it had, or None when it was not paused."""
        current = self.get(entity)
        if current is not None:
            self._table.delete_entity(_PARTITION, encode_key(entity))
        return current

    def all(self) -> dict[str, PauseRecord]:
        """Every paused entity."""
        rows = self._table.query_entities("PartitionKey eq @p", parameters={"p": _PARTITION})
        return {
            decode_key(r["RowKey"]): PauseRecord(
                decode_key(r["RowKey"]), r["PausedAt"], r.get("Reason") or ""
            )
            for r in rows
        }
