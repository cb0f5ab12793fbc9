"""The run log: the last run of each kind (poll, work …) per entity, with its outcome, for ``status``.

One row per entity and kind, overwritten by every run, so reading it is one partition read per entity.
"""

from __future__ import annotations

from azure.data.tables import UpdateMode

from shared.records import RunRecord
from shared.state.clock import Clock, utc_now
from shared.state.keys import decode_key, encode_key
from shared.state.tables import StateTables


class RunLog:
    """Records and reads the last run of each kind per entity."""

    TABLE = "runs"

    def __init__(self, tables: StateTables, clock: Clock = utc_now) -> None:
        self._table = tables.table(self.TABLE)
        self._clock = clock

    def record(
        self, entity: str, kind: str, outcome: str, detail: str = "", correlation_id: str | None = None
    ) -> RunRecord:
        """Record that a run of ``kind`` for ``entity`` ended now with ``outcome``."""
        run = RunRecord(entity, kind, self._clock(), outcome, detail[:1000], correlation_id)
        row = {
            "PartitionKey": encode_key(entity),
            "RowKey": encode_key(kind),
            "At": run.at,
            "Outcome": outcome,
            "Detail": run.detail,
            "CorrelationId": correlation_id,
        }
        # Replace, not merge: a run without a correlation id must not keep the previous run's.
        self._table.upsert_entity({k: v for k, v in row.items() if v is not None}, mode=UpdateMode.REPLACE)
        return run

    def last(self, entity: str) -> dict[str, RunRecord]:
        """The last run of each kind for ``entity``."""
        rows = self._table.query_entities("PartitionKey eq @p", parameters={"p": encode_key(entity)})
        return {
            decode_key(r["RowKey"]): RunRecord(
                entity,
                decode_key(r["RowKey"]),
                r["At"],
                r["Outcome"],
                r.get("Detail") or "",
                r.get("CorrelationId"),
            )
            for r in rows
        }
