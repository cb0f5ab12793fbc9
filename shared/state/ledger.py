"""The change ledger: per source row, the version last seen by the poller and the version last synced.

The etag-ledger strategy compares a scan's versions (IFS ``@odata.etag``) with ``versions()`` and moves
on only the rows whose version differs; ``mark_seen`` records them after they are safely enqueued and
``mark_synced`` records what the worker wrote, with the target id. ``record_synced`` does the same for a
whole message in transactions, conditionally: a row another worker synced since it was read is not
overwritten but reported, so the caller can sync that record again from the current source state.
``versions()`` and ``changed()`` read the whole partition on purpose (a poll compares everything it
scanned); a worker that needs some rows asks ``entries()``, whose cost follows the keys asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import TableEntity, TableTransactionError, UpdateMode

from shared.records import LedgerEntry, SyncMark
from shared.state.clock import Clock, utc_now
from shared.state.keys import KeyEncodingError, decode_key, encode_key
from shared.state.tables import (
    TRANSACTION_LIMIT,
    ConcurrencyConflictError,
    StateTables,
    get_entity,
    mutate,
    read_rows,
    upsert_in_batches,
)


def _entry(entity: str, row: Mapping[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        entity=entity,
        key=decode_key(row["RowKey"]),
        version_seen=row.get("VersionSeen"),
        version_synced=row.get("VersionSynced"),
        target_id=row.get("TargetId"),
        seen_at=row.get("SeenAt"),
        synced_at=row.get("SyncedAt"),
        values_hash=row.get("ValuesHash"),
        read_at=row.get("ReadAt"),
        left_scope_at=row.get("LeftScopeAt"),
        etag=getattr(row, "metadata", {}).get("etag"),
        row_digests=_digests(row.get("RowDigests")),
    )


# Table Storage keeps strings of up to 64 KiB (32 K UTF-16 characters); longer digest lists are not kept,
# which only costs the next write of that record its row-by-row comparison.
ROW_DIGESTS_LIMIT = 30_000


def _digests(text: Any) -> dict[str, str] | None:
    if not isinstance(text, str) or not text:
        return None
    found = json.loads(text)
    return found if isinstance(found, dict) else None


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

    def versions(self, entity: str) -> dict[str, str]:
        """Every source key of ``entity`` in the polled scope, with the version last seen.

        Rows that left the scope (``mark_left_scope``) are not listed: a scan that no longer finds them
        is not news, and one that finds them again sees them as changed.
        """
        rows = self._table.query_entities(
            "PartitionKey eq @p",
            parameters={"p": encode_key(entity)},
            select=["RowKey", "VersionSeen", "InScope"],
        )
        return {
            decode_key(r["RowKey"]): r["VersionSeen"]
            for r in rows
            if r.get("VersionSeen") is not None and r.get("InScope") is not False
        }

    def entries(self, entity: str, keys: Iterable[str]) -> dict[str, LedgerEntry]:
        """The entries of ``keys`` (absent keys are left out): point reads for a few, a RowKey range for many.

        A key that cannot be a table key (empty, too long, not text) has no entry, so it is absent.
        """
        wanted: dict[str, str] = {}
        for key in keys:
            try:
                wanted[encode_key(key)] = key
            except KeyEncodingError:
                continue
        if not wanted:
            return {}
        rows = read_rows(self._table, encode_key(entity), wanted)
        return {wanted[row_key]: _entry(entity, row) for row_key, row in rows.items()}

    def progress(self, entity: str) -> tuple[int, dict[str, Any]]:
        """(keys in the polled scope, keys whose version seen is not synced yet with when it was seen).

        One partition read of four columns: what ``status`` shows as position and lag.
        """
        rows = self._table.query_entities(
            "PartitionKey eq @p",
            parameters={"p": encode_key(entity)},
            select=["RowKey", "VersionSeen", "VersionSynced", "SeenAt", "InScope"],
        )
        in_scope = 0
        unsynced: dict[str, Any] = {}
        for row in rows:
            if row.get("InScope") is not False and row.get("VersionSeen") is not None:
                in_scope += 1
            if row.get("VersionSeen") is not None and row.get("VersionSeen") != row.get("VersionSynced"):
                unsynced[decode_key(row["RowKey"])] = row.get("SeenAt")
        return in_scope, unsynced

    def changed(self, entity: str, scanned: Mapping[str, str]) -> dict[str, str]:
        """The subset of ``scanned`` (key → version) that is new or differs from the ledger."""
        known = self.versions(entity)
        return {key: version for key, version in scanned.items() if known.get(key) != version}

    def mark_seen(self, entity: str, versions: Mapping[str, str]) -> None:
        """Record versions as seen and in scope (merge: keeps the synced columns), in transactions of 100."""
        now = self._clock()
        partition = encode_key(entity)
        upsert_in_batches(
            self._table,
            [
                {
                    "PartitionKey": partition,
                    "RowKey": encode_key(k),
                    "VersionSeen": v,
                    "SeenAt": now,
                    "InScope": True,
                }
                for k, v in versions.items()
            ],
        )

    def mark_left_scope(self, entity: str, keys: Iterable[str]) -> None:
        """Record that ``keys`` no longer appear in the polled scope (their last state is read once more)."""
        now = self._clock()
        partition = encode_key(entity)
        upsert_in_batches(
            self._table,
            [
                {"PartitionKey": partition, "RowKey": encode_key(k), "InScope": False, "LeftScopeAt": now}
                for k in keys
            ],
        )

    def record_synced(
        self, entity: str, marks: Sequence[SyncMark], read: Mapping[str, LedgerEntry]
    ) -> list[str]:
        """Record what a worker wrote; returns the keys another worker synced since ``read`` was taken.

        ``read`` holds the entries as they were before the worker read the source. A row whose synced
        state changed since then (another worker wrote the same record meanwhile, in an order nobody can
        know) is left as the other worker wrote it, and its key is returned: the caller syncs it again
        from the current source state. Rows nobody touched are written in transactions of 100,
        conditionally on their ETag; a transaction refused because the poller touched one of its rows
        (a new version seen) falls back to one conditional update per row.
        """
        now = self._clock()
        partition = encode_key(entity)
        conflicts: list[str] = []
        for start in range(0, len(marks), TRANSACTION_LIMIT):
            chunk = marks[start : start + TRANSACTION_LIMIT]
            operations: list[Any] = []
            for mark in chunk:
                before = read.get(mark.key)
                entity_row = {"PartitionKey": partition, "RowKey": encode_key(mark.key), **_synced(mark, now)}
                if before is None or before.etag is None:
                    operations.append(("create", {**entity_row, "VersionSeen": mark.version, "SeenAt": now}))
                else:
                    operations.append(
                        (
                            "update",
                            entity_row,
                            {
                                "mode": UpdateMode.MERGE,
                                "etag": before.etag,
                                "match_condition": MatchConditions.IfNotModified,
                            },
                        )
                    )
            try:
                self._table.submit_transaction(operations)
            except TableTransactionError:
                conflicts += [m.key for m in chunk if not self._synced_one(entity, m, read.get(m.key), now)]
        return conflicts

    def _synced_one(self, entity: str, mark: SyncMark, before: LedgerEntry | None, now: Any) -> bool:
        """Record one mark unless another worker synced the row since ``before``; False if one did."""
        expected = None if before is None else before.read_at

        def change(current: TableEntity | None) -> dict[str, Any] | None:
            if current is not None and current.get("ReadAt") != expected:
                return None
            row: dict[str, Any] = dict(current or {})
            row.pop("PartitionKey", None)
            row.pop("RowKey", None)
            row.update(_synced(mark, now))
            if row.get("VersionSeen") is None:
                row.update(VersionSeen=mark.version, SeenAt=now)
            return row

        try:
            written = mutate(self._table, encode_key(entity), encode_key(mark.key), change)
        except ConcurrencyConflictError:
            return False
        return written is not None

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


def _synced(mark: SyncMark, now: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "VersionSynced": mark.version,
        "SyncedAt": now,
        "ValuesHash": mark.values_hash,
        "ReadAt": mark.read_at,
    }
    if mark.target_id is not None:
        row["TargetId"] = mark.target_id
    if mark.row_digests is not None:
        text = json.dumps(mark.row_digests, separators=(",", ":"))
        row["RowDigests"] = text if len(text) <= ROW_DIGESTS_LIMIT else ""  # "" clears a stale list
    return {k: v for k, v in row.items() if v is not None}
