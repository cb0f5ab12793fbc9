"""Dataverse as the sync engine writes it: bulk upserts, ids by column value, small queries, creates.

``DataverseTarget`` satisfies the engine's ``Target`` port (``shared.sync.ports``) with the client and the
bulk upserter: upserts go UpsertMultiple → ``$batch`` → single requests with one result per row; ids are
read back with ``Microsoft.Dynamics.CRM.In``, grouped to stay within the Web API's URL limit (32 KB), so
many keys cost one request per group, not one per key.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shared.dataverse.bulk import BulkUpserter, RecordResult
from shared.dataverse.client import DataverseClient
from shared.dataverse.errors import NotFoundError
from shared.dataverse.keys import RecordId


def literal(value: Any) -> str:
    """The OData literal of a column value (strings quoted, ``'`` doubled; None is ``null``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


class DataverseTarget:
    """Writes and looks up rows for the sync engine."""

    def __init__(self, client: DataverseClient, upserter: BulkUpserter) -> None:
        self._client = client
        self._upserter = upserter

    def upsert(
        self, entity_set: str, table: str, rows: Sequence[tuple[RecordId, Mapping[str, Any]]]
    ) -> list[RecordResult]:
        """Upsert by alternate key or id through the fastest path the table allows; one result per row."""
        return self._upserter.upsert_many(entity_set, table, rows)

    def ids_by(self, entity_set: str, table: str, column: str, values: Iterable[Any]) -> dict[Any, uuid.UUID]:
        """The id of the row whose ``column`` equals each value (values without a row are left out).

        Read with ``Microsoft.Dynamics.CRM.In``, as many values per request as the URL limit allows.
        Text compares as Dataverse compares it (case-insensitively): the answer is keyed by the value asked
        for, whatever case the row holds.
        """
        wanted = list(dict.fromkeys(v for v in values if v is not None))
        if not wanted:
            return {}
        pk = f"{table}id"
        by_text = {str(v).casefold(): v for v in wanted}
        found: dict[Any, uuid.UUID] = {}
        for row in self._client.get_many(entity_set, column, [str(v) for v in wanted], select=[pk, column]):
            asked = by_text.get(str(row.get(column)).casefold())
            if asked is not None and row.get(pk):
                found[asked] = uuid.UUID(str(row[pk]))
        return found

    def find(
        self, entity_set: str, filters: Mapping[str, Any], select: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Every row whose columns equal ``filters`` (None: the column is empty)."""
        condition = " and ".join(f"{column} eq {literal(value)}" for column, value in filters.items())
        return list(self._client.query(entity_set, select=list(select), filter=condition or None))

    def create(self, entity_set: str, values: Mapping[str, Any]) -> uuid.UUID:
        """Create one row and return its id."""
        written = self._client.create(entity_set, values)
        if written.id is None:
            raise ValueError(f"creating a row in {entity_set} returned no id")
        return written.id

    def delete(self, entity_set: str, row_id: uuid.UUID) -> None:
        """Delete one row by id; one already gone is fine (the goal is that it is not there)."""
        try:
            self._client.delete(entity_set, row_id)
        except NotFoundError:
            return
