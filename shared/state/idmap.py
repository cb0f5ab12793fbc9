"""The id map: source key (IFS) ⇄ target id (Dataverse GUID), per entity type.

The forward row (source → target) is the truth; the reverse row is an index for webhook events, which
name the Dataverse id. Both are written on every link, forward first, so a crash between the two
leaves a forward row that the next link repairs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from shared.state.clock import Clock, utc_now
from shared.state.keys import KeyEncodingError, decode_key, encode_key
from shared.state.tables import StateTables, get_entity, read_rows, upsert_in_batches


class IdMap:
    """Two-way map between IFS keys and Dataverse ids."""

    TABLE = "idmap"

    def __init__(self, tables: StateTables, clock: Clock = utc_now) -> None:
        self._table = tables.table(self.TABLE)
        self._clock = clock

    @staticmethod
    def _forward(entity: str) -> str:
        return encode_key(f"{entity}|source")

    @staticmethod
    def _reverse(entity: str) -> str:
        return encode_key(f"{entity}|target")

    def link(self, entity: str, source_key: str, target_id: str) -> None:
        """Record that ``source_key`` is ``target_id`` in the target system."""
        now = self._clock()
        self._table.upsert_entity(
            {
                "PartitionKey": self._forward(entity),
                "RowKey": encode_key(source_key),
                "TargetId": target_id,
                "LinkedAt": now,
            }
        )
        self._table.upsert_entity(
            {
                "PartitionKey": self._reverse(entity),
                "RowKey": encode_key(target_id.lower()),
                "SourceKey": source_key,
                "LinkedAt": now,
            }
        )

    def link_many(self, entity: str, links: Mapping[str, str]) -> None:
        """Link many source keys to their target ids: forward rows, then reverse rows, in transactions."""
        if not links:
            return
        now = self._clock()
        forward, reverse = self._forward(entity), self._reverse(entity)
        upsert_in_batches(
            self._table,
            [
                {"PartitionKey": forward, "RowKey": encode_key(k), "TargetId": v, "LinkedAt": now}
                for k, v in links.items()
            ],
        )
        upsert_in_batches(
            self._table,
            [
                {"PartitionKey": reverse, "RowKey": encode_key(v.lower()), "SourceKey": k, "LinkedAt": now}
                for k, v in links.items()
            ],
        )

    def target_id(self, entity: str, source_key: str) -> str | None:
        """The target id of ``source_key``, if linked."""
        row = get_entity(self._table, self._forward(entity), encode_key(source_key))
        return None if row is None else str(row["TargetId"])

    def source_key(self, entity: str, target_id: str) -> str | None:
        """The source key linked to ``target_id`` (GUIDs compared case-insensitively)."""
        row = get_entity(self._table, self._reverse(entity), encode_key(target_id.lower()))
        return None if row is None else str(row["SourceKey"])

    def target_ids(self, entity: str, source_keys: Iterable[str]) -> dict[str, str]:
        """Target ids of the linked keys among ``source_keys`` (point reads for a few, a range for many).

        A key that cannot be a table key (empty, too long, not text) was never linked, so it is absent.
        """
        by_row_key: dict[str, str] = {}
        for key in source_keys:
            try:
                by_row_key[encode_key(key)] = key
            except KeyEncodingError:
                continue
        rows = read_rows(self._table, self._forward(entity), by_row_key, select=["RowKey", "TargetId"])
        return {by_row_key[row_key]: str(row["TargetId"]) for row_key, row in rows.items()}

    def links(self, entity: str) -> dict[str, str]:
        """Every linked source key of ``entity`` with its target id (a partition read, for reconcile)."""
        rows = self._table.query_entities(
            "PartitionKey eq @p", parameters={"p": self._forward(entity)}, select=["RowKey", "TargetId"]
        )
        return {decode_key(r["RowKey"]): str(r["TargetId"]) for r in rows}
