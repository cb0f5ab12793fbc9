"""``POST $batch``: several Web API requests in one multipart/mixed request, optionally in atomic change sets.

As the "Execute batch operations" article and its exchanges show (docs/dataverse-api.md, "Batch requests", the
batch-* vectors): requests run in order, each exactly as if it had been sent alone (the same routes, so upsert
and conditional rules are identical); responses come back in the same order in a ``batchresponse_`` document.
A change set runs as one transaction: if one of its requests fails, every write of the change set is rolled
back and the change set answers with that request's error. Inside a change set, ``Content-ID: n`` names the
record a request created, and later requests of the same change set refer to it as ``$n`` at the start of
their URL (``PATCH $1``) or as a value in their body (``"x@odata.bind": "$1"``); a reference that was not
declared before is a 400 with the documented "Content-ID Reference: '$1' does not exist in the batch context."
GET is not allowed inside a change set. At most 1000 requests per batch, no nested batches.

Without ``Prefer: odata.continue-on-error`` processing stops at the first failure and the batch answers
``400`` (as published); with it the batch answers ``200`` with every request's response. Each part's error
response carries a ``REQ_ID`` header and each create's ``204`` a ``Location`` next to ``OData-EntityId``,
as in the published responses.

Service protection counts the whole batch as one request (the HTTP route admits it once) while the time
its requests take is charged to the execution-time window, as the limits article says of batches.

ASSUMED: the texts of the refusals other than the Content-ID one (too many requests, nested batch, GET in a
change set), that a stopped batch also returns the responses of the requests before the failing one, that
the stopped batch's status is 400 whatever the failing request's status was, and that Content-IDs are
scoped to their change set (OData 4.0's rule).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from starlette.responses import Response

from shared.platform.odata_batch import (
    BatchFormatError,
    BatchRequest,
    BatchResponse,
    BatchResponseItem,
    ChangeSet,
    decode_batch_request,
    encode_batch_response,
)
from simulators.dataverse import errors
from simulators.dataverse.request_limits import MAX_BATCH_URL_LENGTH, url_too_long

if TYPE_CHECKING:
    from simulators.dataverse.webapi import Call

MAX_REQUESTS = 1000
CONTINUE_ON_ERROR = re.compile(r"odata\.continue-on-error", re.IGNORECASE)
_SERVICE_PATH = re.compile(r"/?api/data/v9\.\d/", re.IGNORECASE)
_REFERENCE = re.compile(r"^\$([A-Za-z0-9_.-]+)")
_HEADER_NAMES = {
    "odata-version": "OData-Version",
    "odata-entityid": "OData-EntityId",
    "content-type": "Content-Type",
    "etag": "ETag",
    "preference-applied": "Preference-Applied",
    "location": "Location",
    "retry-after": "Retry-After",
}
_SKIPPED_HEADERS = frozenset({"content-length"})


class _ChangeSetFailedError(Exception):
    """Raised inside a change set's transaction so that it rolls back."""

    def __init__(self, response: BatchResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _error_part(error: errors.WebApiError, content_id: str | None) -> BatchResponse:
    headers = {
        "REQ_ID": str(uuid.uuid4()),
        "Content-Type": "application/json; odata.metadata=minimal",
        "OData-Version": "4.0",
        **error.headers,
    }
    return BatchResponse(error.status, "", headers, json.dumps(error.body()).encode(), content_id)


class BatchProcessor:
    """Runs a ``$batch`` request's parts through ``handle`` (the Web API itself) and encodes the answers."""

    def __init__(
        self,
        handle: Callable[[Call], Response],
        transaction: Callable[[], AbstractContextManager[None]],
    ) -> None:
        self._handle = handle
        self._transaction = transaction

    def run(self, call: Call) -> Response:
        """Answer one ``POST $batch``; WebApiError for a batch that cannot be read at all."""
        if call.method != "POST":
            raise errors.method_not_allowed(call.method, call.path)
        try:
            items = decode_batch_request(call.headers.get("content-type", ""), call.body)
        except BatchFormatError as exc:
            raise errors.bad_request(f"The batch request is malformed: {exc}.") from exc
        count = sum(len(item.requests) if isinstance(item, ChangeSet) else 1 for item in items)
        if count > MAX_REQUESTS:
            raise errors.bad_request(
                f"The batch contains {count} requests; a batch can contain at most {MAX_REQUESTS}."
            )
        continue_on_error = bool(CONTINUE_ON_ERROR.search(call.prefer))
        answers: list[BatchResponseItem] = []
        failed = False
        for item in items:
            answer, ok = (
                self._change_set(call, item) if isinstance(item, ChangeSet) else self._single(call, item)
            )
            answers.append(answer)
            if not ok:
                failed = True
                if not continue_on_error:
                    break
        content_type, body = encode_batch_response(answers)
        status = 400 if failed and not continue_on_error else 200
        return Response(body, status, headers={"Content-Type": content_type, "OData-Version": "4.0"})

    def _single(self, call: Call, request: BatchRequest) -> tuple[BatchResponse, bool]:
        answer = self._part(call, request, {})
        return answer, answer.status < 400

    def _change_set(self, call: Call, change_set: ChangeSet) -> tuple[BatchResponseItem, bool]:
        references: dict[str, str] = {}
        answers: list[BatchResponse] = []
        try:
            with self._transaction():
                for request in change_set.requests:
                    if request.method.upper() == "GET":
                        error = errors.bad_request("GET requests are not allowed inside a change set.")
                        raise _ChangeSetFailedError(_error_part(error, request.content_id))
                    answer = self._part(call, request, references)
                    if answer.status >= 400:
                        raise _ChangeSetFailedError(answer)
                    answers.append(answer)
                    entity_id = answer.headers.get("OData-EntityId")
                    if request.content_id and entity_id:
                        references[request.content_id] = entity_id
        except _ChangeSetFailedError as failure:
            return failure.response, False  # a failed change set answers with one response: its error
        return answers, True

    def _part(self, call: Call, request: BatchRequest, references: Mapping[str, str]) -> BatchResponse:
        try:
            part_call = self._part_call(call, request, references)
        except errors.WebApiError as error:
            return _error_part(error, request.content_id)
        response = self._handle(part_call)
        headers = {
            _HEADER_NAMES.get(name, name): value
            for name, value in response.headers.items()
            if name not in _SKIPPED_HEADERS
        }
        if response.status_code >= 400:
            headers = {"REQ_ID": str(uuid.uuid4()), **headers}
        elif part_call.method == "POST" and "OData-EntityId" in headers:
            headers = {
                "OData-Version": "4.0",
                "Location": headers["OData-EntityId"],
                **{k: v for k, v in headers.items() if k != "OData-Version"},
            }
        return BatchResponse(response.status_code, "", headers, bytes(response.body), request.content_id)

    def _part_call(self, call: Call, request: BatchRequest, references: Mapping[str, str]) -> Call:
        url = request.url.strip()
        if len(url) > MAX_BATCH_URL_LENGTH:
            raise url_too_long(len(url), MAX_BATCH_URL_LENGTH)
        reference = _REFERENCE.match(url)
        if reference is not None:
            url = _resolve(reference.group(1), references) + url[reference.end() :]
        split = urlsplit(url)
        path = unquote(split.path)
        root = _SERVICE_PATH.search(path)
        if root is not None:
            path = path[root.end() :]
        elif split.scheme or path.startswith("/"):
            raise errors.bad_request(f"The URL '{request.url}' is not under the Web API's service root.")
        if path.split("?")[0].split("/")[0] == "$batch":
            raise errors.bad_request("A batch request cannot contain another batch request.")
        body = request.body or b""
        if b'"$' in body:  # only then can it hold a Content-ID reference
            body = _substitute(body, references)
        return replace(
            call,
            method=request.method.upper(),
            path=path,
            params=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=dict(request.headers),
            body=body,
        )


def _resolve(name: str, references: Mapping[str, str]) -> str:
    if name not in references:
        raise errors.bad_request(f"Content-ID Reference: '${name}' does not exist in the batch context.")
    return references[name]


def _is_link(name: str) -> bool:
    return name.endswith("@odata.bind") or name == "@odata.id"


def _substitute(body: bytes, references: Mapping[str, str]) -> bytes:
    """Replace ``"$n"`` values of binds and ``@odata.id`` with the URLs they reference."""
    try:
        document = json.loads(body)
    except ValueError:
        return body  # not JSON: the route reports it

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: reference(v) if _is_link(k) else walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    def reference(value: Any) -> Any:
        match = _REFERENCE.fullmatch(value) if isinstance(value, str) else None
        return _resolve(match.group(1), references) if match else value

    return json.dumps(walk(document)).encode()
