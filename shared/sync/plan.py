"""What a flow plans to write for one source record: target rows, their lookups, and a hash to compare.

A flow turns one IFS record (an aggregate of rows) into ``TargetRow``s: a Dataverse table, the row's
address (alternate key or id), the column values, the lookups still to resolve and references to other
rows of the same plan (a price-list item points at its product). The engine resolves, compares the plan's
hash with the ledger's and writes only what changed.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.sync.mapping.evaluate import PendingLookup
from shared.sync.mapping.model import TargetMapping
from shared.sync.ports import RecordRef

# Names our own deterministic ids (uuid5) for rows that have no alternate key, e.g. price-list items.
ID_NAMESPACE = uuid.UUID("6f1d0c3e-5b7a-4c2e-9d8f-1a2b3c4d5e6f")


def stable_id(*parts: str) -> uuid.UUID:
    """The same GUID for the same parts, in every run and on every instance (written twice: one row)."""
    return uuid.uuid5(ID_NAMESPACE, "|".join(parts))


@dataclass
class TargetRow:
    """One Dataverse row a record writes."""

    target: TargetMapping
    record: RecordRef  # where to write: {"accountnumber": "C1"} or a GUID
    values: dict[str, Any]
    lookups: tuple[PendingLookup, ...] = ()
    # navigation property -> name of another target of the same plan whose row id it binds to
    refs: Mapping[str, str] = field(default_factory=dict)
    id: uuid.UUID | None = None  # known before writing (id map, ledger, or a stable id)
    delete: bool = (
        False  # a row the connector wrote earlier and IFS no longer has (by id; gone already is fine)
    )

    @property
    def key_value(self) -> Any:
        """The alternate-key value the row is addressed by (None when addressed by id)."""
        if isinstance(self.record, uuid.UUID) or self.target.key is None:
            return None
        return self.record.get(self.target.key)


@dataclass
class RecordPlan:
    """Everything one source record writes, in the flow's target order; ``rows[0]`` is its main row."""

    key: str
    version: str | None
    rows: list[TargetRow]
    note: str | None = None  # said in the audit row, e.g. "not in IFS any more: deactivated"
    outcome: str | None = None  # the audit outcome when written, instead of created/updated
    context: dict[str, Any] = field(default_factory=dict)  # what the flow needs again in prepare()

    @property
    def main(self) -> TargetRow:
        """The row whose id the id map links the source key to."""
        return self.rows[0]

    def row(self, target: str) -> TargetRow | None:
        """The first row of ``target``."""
        return next((r for r in self.rows if r.target.name == target), None)

    def values_hash(self) -> str:
        """A hash of what the plan writes (column values, key values, references), stable across runs.

        Where a row is written (by alternate key now, by its linked id later) is left out: the same values
        written to the same record hash the same whichever address reaches it.
        """
        canonical = [
            {
                "t": row.target.name,
                "v": row.values if isinstance(row.record, uuid.UUID) else {**row.record, **row.values},
                "refs": dict(row.refs),
                **({"deleted": str(row.record)} if row.delete else {}),
            }
            for row in self.rows
        ]
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
