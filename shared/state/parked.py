"""Parked records: rows that failed with a permanent, classified error, kept for inspection and replay.

One open entry per record (entity + source key): parking the same record again updates it and counts
the attempts, so the list shows each broken record once, with its latest error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError
from azure.data.tables import TableEntity

from shared.records import ParkedRecord
from shared.state.clock import Clock, utc_now
from shared.state.keys import decode_key, encode_key
from shared.state.tables import StateTables, get_entity, mutate

# A string property holds 64 KiB as UTF-16 (32,768 code units); keep well inside it.
PAYLOAD_LIMIT_UNITS = 30_000


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, units: int) -> str:
    """The longest prefix of ``text`` of at most ``units`` UTF-16 code units (astral characters count 2)."""
    head = text[:units]
    while _utf16_units(head) > units:
        head = head[: len(head) - (_utf16_units(head) - units + 1) // 2 - 1]
    return head


def _record(row: Mapping[str, Any]) -> ParkedRecord:
    payload = row.get("Payload")
    head = row.get("PayloadHead")
    return ParkedRecord(
        entity=row["Entity"],
        source_key=decode_key(row["RowKey"]),
        error_class=row["ErrorClass"],
        message=row["Message"],
        direction=row["Direction"],
        queue=row.get("Queue"),
        payload=json.loads(payload) if payload else ({"truncated": True, "head": head} if head else None),
        correlation_id=row.get("CorrelationId"),
        attempts=int(row.get("Attempts", 1)),
        first_parked_at=row.get("FirstParkedAt"),
        last_parked_at=row.get("LastParkedAt"),
    )


class ParkedRecords:
    """Park, list, inspect and resolve failed records."""

    TABLE = "parked"

    def __init__(self, tables: StateTables, clock: Clock = utc_now) -> None:
        self._table = tables.table(self.TABLE)
        self._clock = clock

    def park(self, record: ParkedRecord) -> ParkedRecord:
        """Park ``record`` (or update its open entry, counting the attempt)."""
        now = self._clock()
        payload = json.dumps(record.payload, default=str) if record.payload is not None else None
        head: str | None = None
        if payload is not None and _utf16_units(payload) > PAYLOAD_LIMIT_UNITS:
            # Kept as raw text, not re-encoded as JSON: escaping would grow it past the property limit.
            head = _fit(payload, PAYLOAD_LIMIT_UNITS)
            payload = None

        def change(current: TableEntity | None) -> dict[str, Any]:
            row = {
                "Entity": record.entity,
                "ErrorClass": record.error_class,
                "Message": record.message[:4000],
                "Direction": record.direction,
                "Queue": record.queue,
                "Payload": payload,
                "PayloadHead": head,
                "CorrelationId": record.correlation_id,
                "Attempts": 1 if current is None else int(current.get("Attempts", 1)) + 1,
                "FirstParkedAt": now if current is None else current["FirstParkedAt"],
                "LastParkedAt": now,
            }
            return {k: v for k, v in row.items() if v is not None}

        written = mutate(self._table, encode_key(record.entity), encode_key(record.source_key), change)
        assert written is not None
        return _record(written)

    def get(self, entity: str, source_key: str) -> ParkedRecord | None:
        """The open entry of one record."""
        row = get_entity(self._table, encode_key(entity), encode_key(source_key))
        return None if row is None else _record(row)

    def list(self, entity: str | None = None, error_class: str | None = None) -> Iterator[ParkedRecord]:
        """Open entries, optionally of one entity type and/or error class."""
        clauses, parameters = [], {}
        if entity is not None:
            clauses.append("PartitionKey eq @entity")
            parameters["entity"] = encode_key(entity)
        if error_class is not None:
            clauses.append("ErrorClass eq @error_class")
            parameters["error_class"] = error_class
        rows = (
            self._table.query_entities(" and ".join(clauses), parameters=parameters)
            if clauses
            else self._table.list_entities()
        )
        for row in rows:
            yield _record(row)

    def open_keys(self, entity: str) -> set[str]:
        """The source keys of ``entity`` with an open entry (one partition read of keys only)."""
        rows = self._table.query_entities(
            "PartitionKey eq @entity", parameters={"entity": encode_key(entity)}, select=["RowKey"]
        )
        return {decode_key(row["RowKey"]) for row in rows}

    def resolve(self, entity: str, source_key: str) -> bool:
        """Close the entry (after a successful replay or sync); False if there was none to close.

        Only the entry as it was read is closed: if the record was parked again in between (a newer
        failure), the delete is refused on its ETag and the newer entry stays open (False).
        """
        partition, row_key = encode_key(entity), encode_key(source_key)
        # delete_entity succeeds silently on a missing row, so look first to report it.
        current = get_entity(self._table, partition, row_key)
        if current is None:
            return False
        try:
            self._table.delete_entity(
                partition,
                row_key,
                etag=current.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError:
            return False
        return True
