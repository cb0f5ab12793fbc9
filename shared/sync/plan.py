"""What a flow plans to write for one source record: target rows, their lookups, and a hash to compare.

A flow turns one IFS record (an aggregate of rows) into ``TargetRow``s: a Dataverse table, the row's
address (alternate key or id), the column values, the lookups still to resolve and references to other
rows of the same plan (a price-list item points at its product; an order line is keyed within its order).
A plan may also say which state its main row moves to once the rows are written (``transition``: an order
fulfilled, a quote won), which the flow carries out. The engine resolves, compares the plan's hash with the
ledger's and writes only what changed: each row has its own digest, so of a changed record only the rows
that changed are written.
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
    # key property of ``record`` -> name of another target whose row id it takes when written
    # (an order line addressed by ``_salesorderid_value`` and its own key within the order)
    key_refs: Mapping[str, str] = field(default_factory=dict)
    id: uuid.UUID | None = None  # known before writing (id map, ledger, or a stable id)
    delete: bool = (
        False  # a row the connector wrote earlier and IFS no longer has (by id; gone already is fine)
    )
    skip: bool = False  # unchanged since the last write: the engine does not write it

    @property
    def key_value(self) -> Any:
        """The alternate-key value the row is addressed by (None when addressed by id)."""
        if self.target.key is None:
            return None
        if isinstance(self.record, uuid.UUID):
            return self.values.get(self.target.key)
        return self.record.get(self.target.key)

    @property
    def identity(self) -> str:
        """Which row this is among the record's rows, the same in every run (target and key, or id)."""
        if isinstance(self.record, uuid.UUID) and self.target.key is None:
            return f"{self.target.name}|{self.record}"
        key = self.key_value
        return f"{self.target.name}|{self.record if key is None else key}"

    def digest(self) -> str:
        """A hash of what the row writes (its values, key values, references), stable across runs.

        Where a row is written (by alternate key now, by its linked id later; a quote's revision, a line's
        order) is left out: the same values written to the same record hash the same whichever address
        reaches it.
        """
        key = self.key_value
        addressed: dict[str, Any] = {}
        if not isinstance(self.record, uuid.UUID) and key is not None and self.target.key is not None:
            addressed[self.target.key] = key
        canonical = {
            "t": self.target.name,
            "v": {**addressed, **self.values},
            "refs": dict(self.refs),
            **({"in": dict(self.key_refs)} if self.key_refs else {}),
            **({"deleted": str(self.record)} if self.delete else {}),
        }
        return _hash(canonical, 16)


@dataclass
class RecordPlan:
    """Everything one source record writes, in the flow's target order; ``rows[0]`` is its main row."""

    key: str
    version: str | None
    rows: list[TargetRow]
    note: str | None = None  # said in the audit row, e.g. "not in IFS any more: deactivated"
    outcome: str | None = None  # the audit outcome when written, instead of created/updated
    context: dict[str, Any] = field(default_factory=dict)  # what the flow needs again in prepare()
    # The state the main row moves to after its rows are written (the flow does it), e.g. statecode.
    transition: Mapping[str, Any] | None = None

    @property
    def main(self) -> TargetRow:
        """The row whose id the id map links the source key to."""
        return self.rows[0]

    def row(self, target: str) -> TargetRow | None:
        """The first row of ``target``."""
        return next((r for r in self.rows if r.target.name == target), None)

    def row_digests(self) -> dict[str, str]:
        """Each row's digest by its identity (the ledger keeps them, to write only rows that changed)."""
        return {row.identity: row.digest() for row in self.rows}

    def values_hash(self, digests: Mapping[str, str] | None = None) -> str:
        """A hash of what the plan writes: its rows' digests (in order) and its transition.

        Removals are left out: a row that goes was a written row before, so its leaving already changes
        the hash; and a flow that adds a removal only once the record is linked (a price list item of a
        site that stopped selling the part) does not make an unchanged record look changed.
        """
        rows = digests if digests is not None else self.row_digests()
        removed = {row.identity for row in self.rows if row.delete}
        kept = [(identity, digest) for identity, digest in rows.items() if identity not in removed]
        return _hash({"rows": kept, "to": dict(self.transition or {})}, 32)


def _hash(value: Any, length: int) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]
