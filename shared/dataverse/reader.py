"""Dataverse rows read back for comparison (``reconcile``): by id, by alternate key, every keyed row.

Reads many rows in few requests (``Microsoft.Dynamics.CRM.In`` through ``DataverseClient.get_many``) and
never writes. Rows come with every column (no ``$select``), so a lookup shows as ``_<column>_value``
whatever its navigation property is called.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from shared.dataverse.client import DataverseClient


class DataverseReader:
    """Reads rows of the connector's target tables."""

    def __init__(self, client: DataverseClient) -> None:
        self._client = client

    def by_ids(
        self, entity_set: str, table: str, ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, Any]]:
        """The rows with these ids (missing ones are absent)."""
        pk = f"{table}id"
        wanted = sorted({str(i) for i in ids})
        if not wanted:
            return {}
        return {uuid.UUID(str(row[pk])): row for row in self._client.get_many(entity_set, pk, wanted)}

    def by_key(self, entity_set: str, column: str, values: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The rows whose ``column`` holds one of ``values``, by the value folded to lower case.

        Dataverse compares key values case-insensitively, so the caller folds its own values to match.
        """
        wanted = sorted({str(v) for v in values})
        if not wanted:
            return {}
        return {
            str(row[column]).casefold(): row
            for row in self._client.get_many(entity_set, column, wanted)
            if row.get(column) is not None
        }

    def under(
        self, entity_set: str, parent_column: str, parent_ids: Iterable[uuid.UUID]
    ) -> list[dict[str, Any]]:
        """The rows whose lookup ``parent_column`` points at one of ``parent_ids`` (the lines of orders)."""
        wanted = sorted({str(i) for i in parent_ids})
        if not wanted:
            return []
        return list(self._client.get_many(entity_set, f"_{parent_column}_value", wanted))

    def keyed(self, entity_set: str, table: str, column: str) -> Iterator[tuple[str, uuid.UUID]]:
        """Every row with a value in ``column``: (the value, the row's id)."""
        pk = f"{table}id"
        for row in self._client.query(entity_set, select=[pk, column], filter=f"{column} ne null"):
            yield str(row[column]), uuid.UUID(str(row[pk]))
