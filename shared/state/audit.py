"""The audit trail: one row per processed record — direction, keys, outcome, error class, latency.

Rows are partitioned by UTC day and ordered newest first within a day (inverted ticks in the RowKey),
so "what happened today" and "the last N events" are cheap partition reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta

from shared.records import AuditEntry
from shared.state.clock import Clock, utc_now
from shared.state.tables import StateTables, upsert_in_batches

_MAX_TICKS = 10**19  # larger than any microsecond timestamp, so inverted ticks stay positive
_MESSAGE_LIMIT = 4000


def _row_key(at: datetime, entry_id: str) -> str:
    micros = int(at.timestamp() * 1_000_000)
    return f"{_MAX_TICKS - micros:020d}-{entry_id}"


class AuditTrail:
    """Appends audit entries and reads them back by day, by record and newest first."""

    TABLE = "audit"

    def __init__(self, tables: StateTables, clock: Clock = utc_now) -> None:
        self._table = tables.table(self.TABLE)
        self._clock = clock

    def record(self, entries: Iterable[AuditEntry]) -> None:
        """Append entries (batched per day partition)."""
        rows = []
        for entry in entries:
            at = entry.at or self._clock()
            rows.append(
                {
                    "PartitionKey": at.astimezone(UTC).strftime("%Y%m%d"),
                    "RowKey": _row_key(at, entry.entry_id),
                    "Direction": entry.direction,
                    "Entity": entry.entity,
                    "SourceKey": entry.source_key,
                    "Outcome": entry.outcome,
                    "TargetId": entry.target_id,
                    "ErrorClass": entry.error_class,
                    "Message": (entry.message or "")[:_MESSAGE_LIMIT] or None,
                    "CorrelationId": entry.correlation_id,
                    "LatencyMs": entry.latency_ms,
                    "At": at,
                }
            )
        upsert_in_batches(self._table, [{k: v for k, v in r.items() if v is not None} for r in rows])

    def day(self, day: date) -> Iterator[AuditEntry]:
        """Entries of one UTC day, newest first."""
        rows = self._table.query_entities("PartitionKey eq @p", parameters={"p": day.strftime("%Y%m%d")})
        for row in rows:
            yield AuditEntry(
                direction=row["Direction"],
                entity=row["Entity"],
                source_key=row["SourceKey"],
                outcome=row["Outcome"],
                target_id=row.get("TargetId"),
                error_class=row.get("ErrorClass"),
                message=row.get("Message"),
                correlation_id=row.get("CorrelationId"),
                latency_ms=row.get("LatencyMs"),
                at=row["At"],
                entry_id=row["RowKey"].rsplit("-", 1)[1],
            )

    def recent(self, days: int = 1) -> Iterator[AuditEntry]:
        """Entries of the last ``days`` UTC days, newest first."""
        today = self._clock().astimezone(UTC).date()
        for offset in range(days):
            yield from self.day(today - timedelta(days=offset))

    def for_record(self, entity: str, source_key: str, days: int = 7) -> list[AuditEntry]:
        """The history of one record (e.g. an IFS order number) over the last ``days`` days, newest first."""
        return [e for e in self.recent(days) if e.entity == entity and e.source_key == source_key]
