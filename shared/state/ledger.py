"""The change ledger: per source row, the version last seen by the poller and the version last synced.

The etag-ledger strategy compares a scan's versions (IFS ``@odata.etag``) with ``versions()`` and moves
on only the rows whose version differs; ``mark_seen`` records them after they are safely enqueued and
``mark_synced`` records what the worker wrote, with the target id. ``versions()`` and ``changed()`` read
the whole partition on purpose (a poll compares everything it scanned); a worker that needs a few rows
asks ``entries()``, whose cost follows the keys asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.data.tables import TableEntity

from shared.state.clock import Clock, utc_now
from shared.state.keys import KeyEncodingError, decode_key, encode_key
from shared.state.tables import StateTables, get_entities, get_entity, mutate, upsert_in_batches


@dataclass(frozen=True)
class LedgerEntry:
    """What the connector knows about one source row."""

    entity: str
    key: str
    version_seen: str | None
    version_synced: str | None
    target_id: str | None
    seen_at: datetime | None
    synced_at: datetime | None


def _entry(entity: str, row: Mapping[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        entity=entity,
        key=decode_key(row["RowKey"]),
        version_seen=row.get("VersionSeen"),
        version_synced=row.get("VersionSynced"),
        target_id=row.get("TargetId"),
        seen_at=row.get("SeenAt"),
        synced_at=row.get("SyncedAt"),
    )


class LedgerRepository:
    """Per-entity ledgers of source-row versions (one partition per entity type)."""

    TABLE = "ledger"

    def __init__(self, tables: StateTables, clock: Clock = utc_now) -> None:
        self._table = tables.table(self.TABLE)
        self._clock = clock

    def get(self, entity: str, key: str) -> LedgerEntry | None:
        """The ledger entry of one source row."""
        row = get_entity(self._table, encode_key(entity), encode_key(key))
        return None if row is None else _entry(entity, row)

    def entries(self, entity: str, keys: Iterable[str]) -> dict[str, LedgerEntry]:
        """The ledger entries of ``keys`` (those without one are absent), by parallel point reads.

        A key that cannot be a table key (empty, too long, not text) has no entry, so it is absent.
        """
        row_keys: list[str] = []
        for key in keys:
            try:
                row_keys.append(encode_key(key))
            except KeyEncodingError:
                continue
        rows = get_entities(self._table, encode_key(entity), row_keys)
        return {decode_key(row_key): _entry(entity, row) for row_key, row in rows.items()}

    def versions(self, entity: str) -> dict[str, str]:
        """Every known source key of ``entity`` with the version last seen."""
        rows = self._table.query_entities(
            "PartitionKey eq @p", parameters={"p": encode_key(entity)}, select=["RowKey", "VersionSeen"]
        )
        return {decode_key(r["RowKey"]): r["VersionSeen"] for r in rows if r.get("VersionSeen") is not None}

    def changed(self, entity: str, scanned: Mapping[str, str]) -> dict[str, str]:
        """The subset of ``scanned`` (key → version) that is new or differs from the ledger."""
        known = self.versions(entity)
        return {key: version for key, version in scanned.items() if known.get(key) != version}

    def mark_seen(self, entity: str, versions: Mapping[str, str]) -> None:
        """Record versions as seen (merge: keeps the synced columns), in transactions of 100."""
        now = self._clock()
        partition = encode_key(entity)
        upsert_in_batches(
            self._table,
            [
                {"PartitionKey": partition, "RowKey": encode_key(k), "VersionSeen": v, "SeenAt": now}
                for k, v in versions.items()
            ],
        )

    def mark_synced(self, entity: str, key: str, version: str | None, target_id: str | None) -> LedgerEntry:
        """Record that ``version`` of the row was written to the target as ``target_id``."""
        now = self._clock()

        def change(current: TableEntity | None) -> dict[str, Any]:
            row: dict[str, Any] = dict(current or {})
            row.pop("PartitionKey", None)
            row.pop("RowKey", None)
            row.update({"VersionSynced": version, "SyncedAt": now})
            if version is not None and row.get("VersionSeen") is None:
                row["VersionSeen"] = version
                row["SeenAt"] = now
            if target_id is not None:
                row["TargetId"] = target_id
            return row

        partition, row_key = encode_key(entity), encode_key(key)
        written = mutate(self._table, partition, row_key, change)
        assert written is not None  # change() always returns a row
        return _entry(entity, written)

    def forget(self, entity: str, keys: Iterable[str]) -> None:
        """Drop rows from the ledger (e.g. deleted at the source), so a re-creation counts as a change."""
        partition = encode_key(entity)
        for key in keys:
            self._table.delete_entity(partition, encode_key(key))
