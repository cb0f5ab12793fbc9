"""``$batch`` for DataverseClient: many Web API requests in one HTTP request, with per-request outcomes.

Why: one round trip for up to 1000 requests (the documented limit), and with ``continue_on_error`` a bad
request fails alone while the others are applied -- which is how ``BulkUpserter`` isolates the rows that
made a whole UpsertMultiple fail. Operations in a ``ChangeSet`` are applied atomically: if one fails,
every write of the change set is rolled back; inside a change set, an operation with ``content_id="1"``
can be referred to by later ones as ``"$1"`` (as their path, or as an ``@odata.bind`` value).

The wire format is ``shared.platform.odata_batch``; the request goes through ``DataverseClient.send``
(token, headers, retry policy). A batch of upserts, updates, deletes and reads is idempotent and is
retried on throttling and server errors; a batch holding a create is retried only when the service did
not run it (429, or no connection), as for a single create.

``execute_batch`` returns one ``OperationResult`` per operation, in request order (change sets
flattened): its status, headers, body and, for an error status, the typed ``DataverseError``. Without
``continue_on_error`` Dataverse stops at the first failure; the operations after it come back with
``status`` 0 (not executed). When a change set fails, each of its operations carries the change set's
error (they were rolled back).

A ``$batch`` resent after an attempt whose answer was lost (timeout, dropped connection, 5xx) follows the
single-request rule: an operation refused with 412 gets ``WriteOutcomeUnknownError`` (its own earlier
attempt may have created the row or moved its version on), a DELETE answered 404 is done, and such
results say ``after_lost_answer``. An answer that does not fit the request -- more parts than requests, fewer
with ``continue_on_error``, or fewer that do not end in a failure -- is ``BatchResponseError``: nothing is
guessed about the requests it leaves unanswered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from shared.dataverse.client import DataverseClient
from shared.dataverse.errors import (
    DataverseError,
    PreconditionFailedError,
    WriteOutcomeUnknownError,
    error_from_response,
)
from shared.platform.odata_batch import (
    BatchFormatError,
    BatchRequest,
    BatchResponse,
    BatchResponseItem,
    decode_batch_response,
    encode_batch_request,
)
from shared.platform.odata_batch import ChangeSet as WireChangeSet

MAX_OPERATIONS = 1000  # requests per batch (execute-batch-operations-using-web-api.md)
_NOT_IDEMPOTENT = frozenset({"POST"})


@dataclass(frozen=True)
class BatchOperation:
    """One request of a batch.

    ``path`` is relative to the service root (``accounts(accountnumber='C1')``) or a Content-ID reference
    (``$1``); ``body`` is sent as JSON; ``headers`` are the request's own (``If-Match``, ``Prefer``…).
    """

    method: str
    path: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_id: str | None = None


@dataclass(frozen=True)
class ChangeSet:
    """Operations applied all together or not at all (no GETs)."""

    operations: Sequence[BatchOperation]


BatchItem = BatchOperation | ChangeSet


@dataclass(frozen=True)
class OperationResult:
    """What became of one operation: status 0 means it was never executed.

    ``after_lost_answer``: the batch was answered on a retry after an attempt whose answer was lost, so
    this operation may have been applied by that attempt (a create's 201 may then read as 200).
    """

    operation: BatchOperation
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: DataverseError | None = None
    after_lost_answer: bool = False

    @property
    def ok(self) -> bool:
        """Whether the operation succeeded (2xx, or a DELETE that an earlier attempt already did)."""
        return 200 <= self.status < 300 or self._deleted_earlier

    @property
    def _deleted_earlier(self) -> bool:
        return self.after_lost_answer and self.status == 404 and self.operation.method.upper() == "DELETE"

    @property
    def executed(self) -> bool:
        """Whether the service answered this operation (it may still have failed)."""
        return self.status != 0

    @property
    def entity_id(self) -> str | None:
        """The ``OData-EntityId`` of a create or upsert."""
        return self.headers.get("odata-entityid")

    def json(self) -> Any:
        """The parsed JSON body (None when empty)."""
        return json.loads(self.body) if self.body else None


class BatchResponseError(DataverseError):
    """The service's batch response could not be read or does not match the request."""

    @property
    def transient(self) -> bool:
        """Not a passing condition: sending the same batch again would be read the same way."""
        return False


def _operations(items: Sequence[BatchItem]) -> list[BatchOperation]:
    return [op for item in items for op in (item.operations if isinstance(item, ChangeSet) else [item])]


def _wire_request(client: DataverseClient, operation: BatchOperation) -> BatchRequest:
    path = operation.path
    url = path if path.startswith(("$", "https://", "http://")) else urlsplit(client.service_root).path + path
    headers = dict(operation.headers)
    body = None
    if operation.body is not None:
        headers.setdefault("Content-Type", "application/json")
        body = json.dumps(operation.body).encode()
    return BatchRequest(operation.method.upper(), url, headers, body, operation.content_id)


def _result(
    client: DataverseClient, operation: BatchOperation, part: BatchResponse, *, after_lost_answer: bool
) -> OperationResult:
    result = OperationResult(
        operation, part.status, dict(part.headers), part.body, after_lost_answer=after_lost_answer
    )
    if part.status < 400 or result.ok:
        return result
    response = httpx.Response(
        part.status,
        headers=part.headers,
        content=part.body,
        request=httpx.Request(operation.method, client.url_for(operation.path)),
    )
    error = error_from_response(response)
    if isinstance(error, PreconditionFailedError) and after_lost_answer:
        error = WriteOutcomeUnknownError(error)  # as DataverseClient.exchange does for a single request
    return replace(result, error=error)


def execute_batch(
    client: DataverseClient, items: Sequence[BatchItem], *, continue_on_error: bool = False
) -> list[OperationResult]:
    """Send ``items`` as one ``$batch``; one result per operation, in order (change sets flattened).

    ValueError for more than 1000 operations or an empty batch; DataverseError when the service refuses
    the batch as a whole (throttling, a malformed batch); BatchResponseError for an unreadable answer.
    """
    operations = _operations(items)
    if not operations:
        raise ValueError("a batch needs at least one operation")
    if len(operations) > MAX_OPERATIONS:
        raise ValueError(f"a batch holds at most {MAX_OPERATIONS} operations, not {len(operations)}")
    wire = [
        WireChangeSet([_wire_request(client, op) for op in item.operations])
        if isinstance(item, ChangeSet)
        else _wire_request(client, item)
        for item in items
    ]
    content_type, body = encode_batch_request(wire)
    headers = {"Content-Type": content_type}
    if continue_on_error:
        headers["Prefer"] = "odata.continue-on-error"
    sent = client.exchange(
        "POST",
        "$batch",
        content=body,
        headers=headers,
        idempotent=not any(op.method.upper() in _NOT_IDEMPOTENT for op in operations),
        accept=(400,),
    )
    response = sent.response
    if not response.headers.get("content-type", "").lower().startswith("multipart/"):
        raise error_from_response(response)  # a 400 about the batch itself, in the usual JSON shape
    try:
        answers = decode_batch_response(response.headers["content-type"], response.content)
    except BatchFormatError as exc:
        raise BatchResponseError(
            response.status_code,
            "",
            f"unreadable $batch response: {exc}",
            method="POST",
            url=str(response.url),
        ) from exc
    return _match(
        client, items, answers, continue_on_error=continue_on_error, after_lost_answer=sent.after_lost_answer
    )


def _failed(answer: BatchResponseItem) -> bool:
    if isinstance(answer, BatchResponse):
        return answer.status >= 400
    return any(part.status >= 400 for part in answer)


def _check_count(
    items: Sequence[BatchItem], answers: Sequence[BatchResponseItem], *, continue_on_error: bool
) -> None:
    """A batch answers each request; only one that stopped at a failure may answer fewer, ending there."""
    complete = len(answers) == len(items)
    stopped = not continue_on_error and 0 < len(answers) < len(items) and _failed(answers[-1])
    if not (complete or stopped):
        raise BatchResponseError(
            0, "", f"the $batch answer holds {len(answers)} parts for {len(items)} requests"
        )


def _match(
    client: DataverseClient,
    items: Sequence[BatchItem],
    answers: Sequence[BatchResponseItem],
    *,
    continue_on_error: bool,
    after_lost_answer: bool,
) -> list[OperationResult]:
    _check_count(items, answers, continue_on_error=continue_on_error)
    lost = after_lost_answer
    results: list[OperationResult] = []
    for index, item in enumerate(items):
        answer = answers[index] if index < len(answers) else None
        if isinstance(item, BatchOperation):
            if isinstance(answer, list):
                raise BatchResponseError(
                    0, "", f"batch part {index + 1}: a change set answered a single request"
                )
            results.append(
                OperationResult(item, 0)
                if answer is None
                else _result(client, item, answer, after_lost_answer=lost)
            )
        elif answer is None:
            results += [OperationResult(op, 0) for op in item.operations]
        elif isinstance(answer, BatchResponse):  # the change set failed as a whole: all were rolled back
            failure = _result(client, item.operations[0], answer, after_lost_answer=lost)
            results += [
                OperationResult(op, answer.status, failure.headers, answer.body, failure.error, lost)
                for op in item.operations
            ]
        else:
            if len(answer) != len(item.operations):
                raise BatchResponseError(
                    0,
                    "",
                    f"batch part {index + 1}: {len(answer)} answers for {len(item.operations)} requests",
                )
            results += [
                _result(client, op, part, after_lost_answer=lost)
                for op, part in zip(item.operations, answer, strict=True)
            ]
    return results
