"""Create leases: which worker may create a row in IFS, since when, and what it created.

Implements ``shared.sync.ports.CreateLeases`` on Table Storage (one partition per scope, e.g. the entity
set; one row per reference). ``acquire`` is an insert (create-if-absent), so of two workers that try to
create the same order, exactly one gets the lease; ``take_over`` and ``release`` are conditional on the
ETag the lease was read with, so they never undo another worker's newer lease.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.records import CreateLease
from shared.state.clock import Clock, utc_now
from shared.state.keys import encode_key
from shared.state.tables import StateTables, get_entity


def _lease(row: Mapping[str, Any], version: str) -> CreateLease:
    created = row.get("CreatedKey")
    return CreateLease(
        scope=row["Scope"],
        reference=row["Reference"],
        holder=row["Holder"],
        posted_at=row["PostedAt"],
        created_key=json.loads(created) if created else None,
        version=version,
    )


class CreateLeaseRepository:
    """Insert-only create leases in Table Storage."""

    TABLE = "createleases"

    def __init__(self, tables: StateTables, clock: Clock = utc_now) -> None:
        self._table = tables.table(self.TABLE)
        self._clock = clock

    @staticmethod
    def _keys(scope: str, reference: str) -> tuple[str, str]:
        return encode_key(scope), encode_key(reference)

    def _row(self, scope: str, reference: str, holder: str, at: datetime) -> dict[str, Any]:
        partition, row_key = self._keys(scope, reference)
        return {
            "PartitionKey": partition,
            "RowKey": row_key,
            "Scope": scope,
            "Reference": reference,
            "Holder": holder,
            "PostedAt": at,
        }

    def acquire(self, scope: str, reference: str, holder: str, at: datetime) -> CreateLease | None:
        """A new lease held by ``holder`` since ``at``; None when one exists already (held or completed)."""
        try:
            written = self._table.create_entity(self._row(scope, reference, holder, at))
        except ResourceExistsError:
            return None
        return CreateLease(scope, reference, holder, at, None, written["etag"])

    def get(self, scope: str, reference: str) -> CreateLease | None:
        """The lease on ``reference``, if any."""
        row = get_entity(self._table, *self._keys(scope, reference))
        return None if row is None else _lease(row, row.metadata.get("etag") or "")

    def take_over(self, lease: CreateLease, holder: str, at: datetime) -> CreateLease | None:
        """Hold ``lease`` from now (its deadline passed), unless it changed since it was read (then None)."""
        try:
            written = self._table.update_entity(
                self._row(lease.scope, lease.reference, holder, at),
                mode=UpdateMode.REPLACE,
                etag=lease.version,
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            return None
        return CreateLease(lease.scope, lease.reference, holder, at, None, written["etag"])

    def complete(self, lease: CreateLease, created_key: Mapping[str, Any]) -> CreateLease:
        """Record that the row exists, with its key: from now on nobody creates it again.

        Unconditional: that the row exists is a fact, whoever holds the lease meanwhile.
        """
        changes = {
            "PartitionKey": encode_key(lease.scope),
            "RowKey": encode_key(lease.reference),
            "CreatedKey": json.dumps(dict(created_key), sort_keys=True, default=str),
            "CompletedAt": self._clock(),
        }
        try:
            written = self._table.update_entity(changes, mode=UpdateMode.MERGE)
        except ResourceNotFoundError:  # released meanwhile: record it afresh
            row = self._row(lease.scope, lease.reference, lease.holder, lease.posted_at) | changes
            written = self._table.upsert_entity(row, mode=UpdateMode.MERGE)
        return CreateLease(
            lease.scope, lease.reference, lease.holder, lease.posted_at, dict(created_key), written["etag"]
        )

    def release(self, lease: CreateLease) -> bool:
        """Give the lease up (the create certainly did not happen); False if it changed since it was read."""
        partition, row_key = self._keys(lease.scope, lease.reference)
        try:
            self._table.delete_entity(
                partition, row_key, etag=lease.version, match_condition=MatchConditions.IfNotModified
            )
        except ResourceModifiedError:
            return False
        return True
