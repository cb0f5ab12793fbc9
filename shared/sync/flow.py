"""The contract between the engine and one entity's flow (customers, sales parts, orders …).

A flow knows its IFS entity's shape and its Dataverse tables: it turns one source record into a
``RecordPlan`` through its mapping file, says what to do when a record no longer exists in IFS, and may
prepare reference rows its plans need (unit groups, price lists). A flow whose rows have states Dataverse
guards (orders, quotes) also gets the plans that will be written before and after their rows are written:
to open what Dataverse locks (reopen a closed order, revise an active quote) and then to move each main row
to its planned state with the actions Dataverse requires. Everything else — reading, comparing, resolving
lookups, writing in bulk, the ledger, the id map, audit and parking — is the engine's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shared.sync.mapping.load import MappingSchema
from shared.sync.mapping.model import EntityMapping
from shared.sync.plan import RecordPlan
from shared.sync.ports import Aggregate


@dataclass(frozen=True)
class Link:
    """What the connector already knows of a record's Dataverse row."""

    target_id: uuid.UUID | None


class RecordError(Exception):
    """A record cannot be planned for a permanent reason (``error_class`` says which); it is parked."""

    def __init__(self, error_class: str, message: str) -> None:
        self.error_class = error_class
        self.transient = False
        super().__init__(message)


class Flow(Protocol):
    """One IFS → Dataverse entity flow."""

    @property
    def entity(self) -> str:
        """The entity's name: settings, queues, ledger partitions and audit rows use it."""
        ...

    @property
    def schema(self) -> MappingSchema:
        """What the flow's mapping file must contain."""
        ...

    def plan(
        self, key: str, version: str | None, aggregate: Aggregate, mapping: EntityMapping, link: Link
    ) -> RecordPlan:
        """The rows to write for one record; MappingValueError or RecordError when it cannot be written."""
        ...

    def plan_missing(self, key: str, mapping: EntityMapping, link: Link) -> RecordPlan | None:
        """What to write when the record no longer exists in IFS (None: nothing, it is only audited)."""
        ...

    def prepare(
        self, plans: Sequence[RecordPlan], mapping: EntityMapping, *, dry_run: bool = False
    ) -> dict[str, Exception]:
        """Make sure the reference rows the plans point at exist; failures by record key (not written).

        With ``dry_run`` nothing may be created: a missing reference row gets a placeholder id.
        """
        ...

    def before_write(self, plans: Sequence[RecordPlan], mapping: EntityMapping) -> dict[str, Exception]:
        """Make the rows of changed records writable (the records are written next); failures by key."""
        ...

    def after_write(self, plans: Sequence[RecordPlan], mapping: EntityMapping) -> dict[str, Exception]:
        """Carry out the plans' transitions now that their rows are written; failures by record key."""
        ...


def first(rows: Sequence[Any]) -> Any:
    """The first row of a part, or None."""
    return rows[0] if rows else None
