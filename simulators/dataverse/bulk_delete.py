"""``POST BulkDelete``: delete the rows of QueryExpressions in a system job, as the BulkDelete action does.

The action ("BulkDelete Action", "Delete data in bulk") takes ``JobName``, ``QuerySet`` (QueryExpressions:
``EntityName`` and ``Criteria`` with ``FilterOperator``, ``Conditions`` of ``AttributeName``/``Operator``/
``Values`` and nested ``Filters``), ``StartDateTime``, ``SendEmailNotification``, ``ToRecipients``,
``CCRecipients``, ``RecurrencePattern``, and answers ``{"JobId": <asyncoperationid>}`` at once. The job
(``asyncoperation``, operationtype 13 Bulk Delete) starts Waiting (0/0), runs on a worker thread (In
Progress 2/20) and ends Succeeded (3/30) or Failed (3/31 with the error in ``message``); each row is
deleted as a DELETE would (cascades and webhooks included). A recurring job (``RecurrencePattern`` not
empty) is refused (ASSUMED text), as is a query the simulator cannot read.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulators.common.odata import Expr, ODataError, matches
from simulators.common.provenance import assumed
from simulators.dataverse import conditions, errors, query_functions
from simulators.dataverse.events import Caller
from simulators.dataverse.keys import Locator
from simulators.dataverse.records import Organization
from simulators.dataverse.render import render_row
from simulators.dataverse.store import Ref, Row
from simulators.dataverse.tables import Table

BULK_DELETE_OPERATION = 13  # asyncoperation.operationtype "Bulk Delete"
_OPERATORS = {
    "Equal": "eq", "NotEqual": "ne", "GreaterThan": "gt", "GreaterEqual": "ge", "LessThan": "lt",
    "LessEqual": "le", "Like": "like", "NotLike": "not-like", "In": "in", "NotIn": "not-in", "Null": "null",
    "NotNull": "not-null", "Between": "between", "NotBetween": "not-between", "BeginsWith": "begins-with",
    "EndsWith": "ends-with", "DoesNotBeginWith": "not-begin-with", "DoesNotEndWith": "not-end-with",
}  # fmt: skip

assumed(
    "dataverse",
    "BulkDelete system job",
    "Returns {JobId} at once; the asyncoperation (operationtype 13) goes 0/0 -> 2/20 -> 3/30 or 3/31 on a "
    "worker thread; no bulkdeleteoperation row, no e-mail, recurring jobs refused.",
)


@dataclass(frozen=True)
class _Query:
    table: Table
    filter: Expr | None


class BulkDeleteJobs:
    """The bulk-delete jobs of one organization and the threads running them."""

    def __init__(self, org: Organization) -> None:
        self._org = org
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self, body: Any, caller: Caller) -> uuid.UUID:
        """Validate the request, write the system job and start it; its id."""
        if not isinstance(body, Mapping):
            raise errors.bad_request("BulkDelete expects JobName and QuerySet.")
        if str(body.get("RecurrencePattern") or "").strip():
            raise errors.bad_request("Recurring bulk delete jobs are not supported by the simulator.")
        query_set = body.get("QuerySet")
        if not isinstance(query_set, list) or not query_set:
            raise errors.bad_request("BulkDelete needs a QuerySet with at least one QueryExpression.")
        try:
            queries = [self._query(q) for q in query_set]
        except ODataError as exc:
            raise errors.bad_request(exc.message) from exc
        job_id = self._write_job(str(body.get("JobName") or "Bulk Delete"), queries[0].table, caller)
        worker = threading.Thread(
            target=self._run, args=(job_id, queries, caller), name=f"bulk-delete-{job_id}", daemon=True
        )
        with self._lock:
            self._threads.append(worker)
        worker.start()
        return job_id

    def drain(self, timeout: float) -> bool:
        """Wait for every started job; False when ``timeout`` (seconds, per job) was not enough."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            return not self._threads

    def _query(self, expression: Any) -> _Query:
        if not isinstance(expression, Mapping):
            raise ODataError("Every item of QuerySet must be a QueryExpression.")
        table = self._org.table(str(expression.get("EntityName", "")).lower())
        if table is None:
            raise ODataError(f"Could not find an entity with LogicalName = '{expression.get('EntityName')}'.")
        return _Query(table, _criteria(table, expression.get("Criteria")))

    def _write_job(self, name: str, table: Table, caller: Caller) -> uuid.UUID:
        job_table = self._org.table("asyncoperation")
        if job_table is None:
            raise errors.bad_request("The organization has no system jobs table.")
        job_id = uuid.uuid4()
        now = self._org.now_datetime()
        who = Ref("systemuser", caller.user_id)
        row: Row = dict.fromkeys(job_table.columns)
        row.update(
            asyncoperationid=job_id, name=name, operationtype=BULK_DELETE_OPERATION, messagename="BulkDelete",
            primaryentitytype=table.logical_name, correlationid=uuid.uuid4(), requestid=uuid.uuid4(), depth=1,
            retrycount=0, statecode=0, statuscode=0, createdon=now, modifiedon=now, createdby=who,
            modifiedby=who, ownerid=who, owningbusinessunit=Ref("businessunit", caller.business_unit_id),
        )  # fmt: skip
        with self._org.store.lock:
            self._org.store.put("asyncoperation", job_id, row)
        return job_id

    def _set_job(self, job_id: uuid.UUID, **values: Any) -> None:
        store = self._org.store
        with store.lock:
            row = store.get("asyncoperation", job_id)
            if row is not None:
                row.update(values, modifiedon=self._org.now_datetime())
                store.put("asyncoperation", job_id, row)

    def _run(self, job_id: uuid.UUID, queries: list[_Query], caller: Caller) -> None:
        self._set_job(job_id, statecode=2, statuscode=20, startedon=self._org.now_datetime())
        try:
            deleted = sum(self._delete(query, caller) for query in queries)
        except (errors.WebApiError, ODataError) as exc:
            self._set_job(
                job_id, statecode=3, statuscode=31, completedon=self._org.now_datetime(), message=str(exc)
            )
            return
        self._set_job(
            job_id, statecode=3, statuscode=30, completedon=self._org.now_datetime(),
            message=f"{deleted} records deleted.",
        )  # fmt: skip

    def _delete(self, query: _Query, caller: Caller) -> int:
        org, table = self._org, query.table
        scope = query_functions.Scope(table, caller, org.now_datetime(), org.store.get)
        dialect = query_functions.dialect(scope)
        with org.store.lock:
            rows = list(org.store.rows(table.logical_name))
        doomed = [
            row[table.primary_id]
            for row in rows
            if matches(
                query.filter, render_row(table, row, load=org.store.get, tables=org.table), dialect=dialect
            )
        ]
        deleted = 0
        for row_id in doomed:
            try:
                org.delete(table, Locator(str(row_id), id=row_id), caller=caller)
                deleted += 1
            except errors.WebApiError as exc:
                if exc.status != 404:  # already gone (a cascade, another job): nothing to do
                    raise
        return deleted


def _criteria(table: Table, criteria: Any) -> Expr | None:
    if criteria is None:
        return None
    if not isinstance(criteria, Mapping):
        raise ODataError("Criteria must be a FilterExpression.")
    operator = str(criteria.get("FilterOperator", "And")).lower()
    if operator not in ("and", "or"):
        raise ODataError(f"The FilterOperator '{criteria.get('FilterOperator')}' is not valid.")
    parts: list[Expr] = []
    for condition in criteria.get("Conditions") or []:
        name = str(condition.get("Operator", ""))
        if name not in _OPERATORS:
            raise ODataError(f"The condition operator '{name}' is not supported by the simulator.")
        values = [v.get("Value") if isinstance(v, Mapping) else v for v in condition.get("Values") or []]
        parts.append(
            conditions.condition(table, str(condition.get("AttributeName", "")), _OPERATORS[name], values)
        )
    for nested in criteria.get("Filters") or []:
        inner = _criteria(table, nested)
        if inner is not None:
            parts.append(inner)
    return conditions.combine(operator, parts)
