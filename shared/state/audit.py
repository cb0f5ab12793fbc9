"""The audit trail: one row per processed record — direction, keys, outcome, error class, latency.

Rows are partitioned by UTC day and ordered newest first within a day (inverted ticks in the RowKey),
so "what happened today" and "the last N events" are cheap partition reads. ``search`` finds the rows of
one record or one correlation id day by day (a filter inside each day's partition); ``purge_before``
deletes whole days older than the retention.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.records import AuditEntry
from shared.state.clock import Clock, utc_now
from shared.state.tables import TRANSACTION_LIMIT, StateTables, upsert_in_batches

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
        yield from (_entry(row) for row in rows)

    def search(
        self,
        days: int,
        *,
        keys: Iterable[str] = (),
        correlation_id: str | None = None,
        entity: str | None = None,
    ) -> list[AuditEntry]:
        """Entries of the last ``days`` UTC days naming one of ``keys`` or ``correlation_id``, newest first.

        A key matches the source key or the target id; ``entity`` narrows the rows to one entity.
        """
        wanted = sorted(set(keys))
        clauses: list[str] = []
        parameters: dict[str, str] = {}
        for n, key in enumerate(wanted):
            parameters[f"k{n}"] = key
            clauses += [f"SourceKey eq @k{n}", f"TargetId eq @k{n}"]
        if correlation_id is not None:
            parameters["c"] = correlation_id
            clauses.append("CorrelationId eq @c")
        if not clauses:
            return []
        # Spaces inside the parentheses: the SDK finds its @parameters by splitting the filter on spaces.
        condition = "( " + " or ".join(clauses) + " )"
        if entity is not None:
            parameters["e"] = entity
            condition += " and Entity eq @e"
        today = self._clock().astimezone(UTC).date()
        found: list[AuditEntry] = []
        for offset in range(days):
            parameters["p"] = (today - timedelta(days=offset)).strftime("%Y%m%d")
            rows = self._table.query_entities(f"PartitionKey eq @p and {condition}", parameters=parameters)
            found += [_entry(row) for row in rows]
        return found

    def purge_before(self, day: date) -> int:
        """Delete every entry of the UTC days before ``day``; how many."""
        rows = self._table.query_entities(
            "PartitionKey lt @p", parameters={"p": day.strftime("%Y%m%d")}, select=["PartitionKey", "RowKey"]
        )
        by_partition: dict[str, list[str]] = {}
        for row in rows:
            by_partition.setdefault(row["PartitionKey"], []).append(row["RowKey"])
        count = 0
        for partition, row_keys in by_partition.items():
            for start in range(0, len(row_keys), TRANSACTION_LIMIT):
                chunk = row_keys[start : start + TRANSACTION_LIMIT]
                self._table.submit_transaction(
                    [("delete", {"PartitionKey": partition, "RowKey": key}) for key in chunk]
                )
                count += len(chunk)
        return count

    def recent(self, days: int = 1) -> Iterator[AuditEntry]:
        """Entries of the last ``days`` UTC days, newest first."""
        today = self._clock().astimezone(UTC).date()
        for offset in range(days):
            yield from self.day(today - timedelta(days=offset))

    def for_record(self, entity: str, source_key: str, days: int = 7) -> list[AuditEntry]:
        """The history of one record (e.g. an IFS order number) over the last ``days`` days, newest first."""
        return [e for e in self.recent(days) if e.entity == entity and e.source_key == source_key]


def _entry(row: Mapping[str, Any]) -> AuditEntry:
    return AuditEntry(
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
