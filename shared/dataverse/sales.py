"""The Dataverse reads and writes of the Dynamics → IFS flows.

Orders with their lines, rows by id, the orders a reconciliation looks at, and change-tracking reads that
say when their token expired.

Satisfies ``shared.sync.ports.DynamicsSales`` and ``ChangeFeed`` over a ``DataverseClient``. Column names
come from the caller; this adapter knows the Web API's forms: ``$select`` of lookups as ``_<name>_value``,
the lines of an order by ``_salesorderid_value``, many rows by id in few reads (``get_many``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from shared.dataverse.changes import ChangeBatch, changes
from shared.dataverse.client import DataverseClient
from shared.dataverse.errors import DeltaTokenExpiredError, NotFoundError

ORDERS = "salesorders"
ORDER_LINES = "salesorderdetails"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SalesData:
    """Dynamics sales rows as the Dynamics → IFS flows read and write them."""

    def __init__(self, client: DataverseClient) -> None:
        self._client = client

    def row(self, entity_set: str, row_id: uuid.UUID, columns: Sequence[str]) -> dict[str, Any] | None:
        """One row by id with ``columns``; None when it does not exist (any more)."""
        try:
            return self._client.get(entity_set, row_id, select=list(columns))
        except NotFoundError:
            return None

    def order(
        self, order_id: uuid.UUID, columns: Sequence[str], line_columns: Sequence[str]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """An order and its lines (in line-number order), or None when the order does not exist."""
        order = self.row(ORDERS, order_id, columns)
        if order is None:
            return None
        lines = list(
            self._client.query(
                ORDER_LINES,
                select=[*line_columns, "salesorderdetailid", "lineitemnumber", "createdon"],
                filter=f"_salesorderid_value eq {order_id}",
                orderby="lineitemnumber asc,createdon asc",
            )
        )
        return order, lines

    def rows_by_id(
        self, entity_set: str, id_column: str, ids: Iterable[uuid.UUID], columns: Sequence[str]
    ) -> dict[uuid.UUID, dict[str, Any]]:
        """The rows of ``entity_set`` whose ``id_column`` is one of ``ids`` (missing ones are absent)."""
        wanted = sorted({str(i) for i in ids})
        if not wanted:
            return {}
        rows = self._client.get_many(entity_set, id_column, wanted, select=[id_column, *columns])
        return {uuid.UUID(str(row[id_column])): row for row in rows}

    def orders_of_quote(self, quote_id: uuid.UUID) -> list[uuid.UUID]:
        """The orders made from ``quote_id`` (ConvertQuoteToSalesOrder sets their ``quoteid``)."""
        rows = self._client.query(
            ORDERS, select=["salesorderid"], filter=f"_quoteid_value eq {quote_id}", orderby="createdon asc"
        )
        return [uuid.UUID(str(row["salesorderid"])) for row in rows]

    def write(self, entity_set: str, row_id: uuid.UUID, values: Mapping[str, Any]) -> None:
        """PATCH ``values`` onto an existing row (never creates one)."""
        self._client.update(entity_set, row_id, values)

    def orders_to_reconcile(
        self,
        *,
        since: datetime,
        number_column: str,
        send_states: frozenset[int],
        created_by_other_than: uuid.UUID | None,
    ) -> Iterator[uuid.UUID]:
        """Orders changed since ``since`` without an IFS number that should have one.

        Converted from a quote, or in one of ``send_states``; not created by ``created_by_other_than`` (the
        connector's own user writes orders that came from IFS).
        """
        wanted = " or ".join(["_quoteid_value ne null", *(f"statecode eq {s}" for s in sorted(send_states))])
        conditions = [f"modifiedon ge {_utc(since)}", f"{number_column} eq null", f"({wanted})"]
        if created_by_other_than is not None:
            conditions.append(f"_createdby_value ne {created_by_other_than}")
        rows = self._client.query(
            ORDERS, select=["salesorderid"], filter=" and ".join(conditions), orderby="modifiedon asc"
        )
        for row in rows:
            yield uuid.UUID(str(row["salesorderid"]))

    def read_changes(
        self, entity_set: str, select: Sequence[str], delta_token: str | None
    ) -> ChangeBatch | None:
        """The changes since ``delta_token`` (every row when None); None when Dataverse refused the token."""
        try:
            return changes(self._client, entity_set, select, delta_token=delta_token)
        except DeltaTokenExpiredError:
            return None
