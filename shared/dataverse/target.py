"""Dataverse as the sync engine writes it: bulk upserts, ids by column value, small queries, creates.

``DataverseTarget`` satisfies the engine's ``Target`` port (``shared.sync.ports``) with the client and the
bulk upserter: upserts go UpsertMultiple → ``$batch`` → single requests with one result per row; ids are
read back with ``Microsoft.Dynamics.CRM.In`` and rows by an ``or`` of ``eq`` filters, grouped to stay within
the Web API's URL limit (32 KB), so many keys cost one request per group, not one per key. Deletes of many
rows and the Sales actions of many records (``FulfillSalesOrder``, state changes …) go as ``$batch``
requests with ``continue-on-error``, one result per request, falling back to single requests where
``$batch`` is unavailable.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.dataverse.batch import BatchOperation, BatchResponseError, OperationResult, execute_batch
from shared.dataverse.bulk import BATCH_UNAVAILABLE_STATUSES, BulkUpserter, RecordResult
from shared.dataverse.client import DataverseClient
from shared.dataverse.errors import DataverseError, NotFoundError
from shared.dataverse.keys import RecordId

# One request of ``execute``: method, path relative to the service root, JSON body (or None).
Request = tuple[str, str, Mapping[str, Any] | None]


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


@dataclass(frozen=True)
class RequestResult:
    """What became of one request of ``execute`` or ``delete_many``: its answer's JSON, or why it failed."""

    ok: bool
    body: Any = None
    error: Exception | None = None
    id: uuid.UUID | None = None


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

    def rows_by(
        self, entity_set: str, column: str, values: Iterable[Any], select: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Every row whose ``column`` (``_salesorderid_value`` for a lookup) equals one of ``values``.

        Read with ``Microsoft.Dynamics.CRM.In``, as many values per request as the URL limit allows.
        """
        wanted = [str(v) for v in dict.fromkeys(v for v in values if v is not None)]
        return list(self._client.get_many(entity_set, column, wanted, select=list(select)))

    def delete_many(self, entity_set: str, row_ids: Sequence[uuid.UUID]) -> list[RequestResult]:
        """Delete rows by id, a ``$batch`` at a time; a row already gone counts as deleted."""
        results = self.execute([("DELETE", f"{entity_set}({row_id})", None) for row_id in row_ids])
        return [RequestResult(True) if isinstance(r.error, NotFoundError) else r for r in results]

    def execute(self, requests: Sequence[Request]) -> list[RequestResult]:
        """Run many independent requests (actions, state changes, deletes): one result per request, in order.

        ``$batch`` with continue-on-error, ``batch_size`` requests a batch; single requests where the service
        has no ``$batch``. A transient failure of a whole batch (throttling past the retries) fails the
        requests it held and the ones after it, with that error, so the caller can hand the work back.
        """
        results: list[RequestResult] = []
        size = self._upserter.batch_size
        for start in range(0, len(requests), size):
            piece = requests[start : start + size]
            if self._upserter.batch_available:
                try:
                    outcomes = execute_batch(
                        self._client,
                        [BatchOperation(method, path, body) for method, path, body in piece],
                        continue_on_error=True,
                    )
                except DataverseError as exc:
                    if exc.transient:
                        return results + [RequestResult(False, error=exc)] * (len(requests) - start)
                    if exc.status not in BATCH_UNAVAILABLE_STATUSES and not isinstance(
                        exc, BatchResponseError
                    ):
                        results += [RequestResult(False, error=exc)] * len(piece)
                        continue
                    self._upserter.batch_available = False
                else:
                    results += [_from_outcome(outcome) for outcome in outcomes]
                    continue
            results += [self._single(request) for request in piece]
        return results

    def _single(self, request: Request) -> RequestResult:
        method, path, body = request
        try:
            response = self._client.send(
                method, path, json=dict(body) if body is not None else None, idempotent=method != "POST"
            )
        except DataverseError as exc:
            return RequestResult(False, error=exc)
        return RequestResult(True, response.json() if response.content else None)

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


def _from_outcome(outcome: OperationResult) -> RequestResult:
    if outcome.ok:
        return RequestResult(True, outcome.json())
    error = outcome.error or BatchResponseError(
        outcome.status,
        "",
        "the $batch did not run this request",
        method=outcome.operation.method,
        url=outcome.operation.path,
    )
    return RequestResult(False, error=error)
