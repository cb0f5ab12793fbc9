"""``$batch`` for the simulated projections: requests in order, change sets all-or-nothing.

As IFS documents (docs/ifs-api.md, "Batch requests"): a change set's requests run in order as one transaction;
a later request refers to an entity created earlier in the same change set by its Content-ID
(``$1/OrderLinesArray``); GETs are not allowed inside a change set; when one request of a change set fails,
everything it did is undone and the change set answers with that single error. Processing stops at the first
failure unless ``Prefer: odata.continue-on-error`` is sent (the value IFS expects is not published; the
standard one is assumed). Part URLs may be relative to the service root, absolute paths or absolute URLs.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urljoin, urlsplit

from shared.ifs.query import TIME_ZONE_AWARE_HEADER
from shared.platform.odata_batch import (
    BatchFormatError,
    BatchRequest,
    BatchResponse,
    BatchResponseItem,
    ChangeSet,
    decode_batch_request,
    encode_batch_response,
)
from simulators.ifs.store import Store
from simulators.ifs.wire import API_ROOT, ApiError, ApiRequest, ApiResponse

Handler = Callable[[ApiRequest], ApiResponse]
_INHERITED_HEADERS = (TIME_ZONE_AWARE_HEADER.lower(),)


class _ChangeSetFailedError(Exception):
    def __init__(self, response: BatchResponse) -> None:
        super().__init__(response.status)
        self.response = response


def run_batch(batch: ApiRequest, projection: str, handle: Handler, store: Store) -> ApiResponse:
    """Answer a ``$batch`` request: decode, run every part through ``handle``, encode the responses."""
    content_type = batch.headers.get("content-type", "")
    if not content_type.startswith("multipart/mixed"):
        raise ApiError(400, "ODP_BATCH_ERROR", "A $batch request must be multipart/mixed.")
    try:
        items = decode_batch_request(content_type, batch.body)
    except BatchFormatError as error:
        raise ApiError(400, "ODP_BATCH_ERROR", f"Malformed $batch body: {error}") from None
    keep_going = "odata.continue-on-error" in batch.headers.get("prefer", "")
    base = f"{batch.origin}{API_ROOT}/{projection}.svc/$batch"
    answers: list[BatchResponseItem] = []
    with store.lock:  # the whole batch sees and leaves a consistent tenant
        for item in items:
            if isinstance(item, ChangeSet):
                answer: BatchResponseItem = _change_set(item, batch, base, handle, store)
                failed = isinstance(answer, BatchResponse)
            else:
                answer = _single(item, batch, base, handle, {})
                failed = answer.status >= 400
            answers.append(answer)
            if failed and not keep_going:
                break
    content_type, body = encode_batch_response(answers)
    return ApiResponse(200, content=body, content_type=content_type)


def _change_set(
    change_set: ChangeSet, batch: ApiRequest, base: str, handle: Handler, store: Store
) -> BatchResponseItem:
    created: dict[str, str] = {}
    responses: list[BatchResponse] = []
    try:
        with store.transaction():
            for request in change_set.requests:
                if request.method.upper() == "GET":
                    raise _ChangeSetFailedError(
                        _error_part(
                            request, ApiError(400, "ODP_BATCH_ERROR", "GET is not allowed in a change set.")
                        )
                    )
                response = _single(request, batch, base, handle, created)
                if response.status >= 400:
                    raise _ChangeSetFailedError(response)
                location = response.headers.get("Location")
                if request.content_id and location:
                    created[request.content_id] = location
                responses.append(response)
    except _ChangeSetFailedError as failure:
        return failure.response
    return responses


def _single(
    request: BatchRequest, batch: ApiRequest, base: str, handle: Handler, created: dict[str, str]
) -> BatchResponse:
    try:
        path, params = _resolve(request.url, base, created)
    except ApiError as error:
        return _error_part(request, error)
    headers = {k.lower(): v for k, v in request.headers.items()}
    for name in _INHERITED_HEADERS:  # request-wide settings of the batch apply to every part
        if name in batch.headers:
            headers.setdefault(name, batch.headers[name])
    inner = ApiRequest(
        method=request.method.upper(),
        path=path,
        params=params,
        headers=headers,
        body=request.body or b"",
        origin=batch.origin,
    )
    answer = handle(inner)
    headers = (
        {"Content-Type": answer.content_type, **answer.headers} if answer.status != 204 else answer.headers
    )
    return BatchResponse(answer.status, "", headers, answer.body(), request.content_id)


def _resolve(url: str, base: str, created: dict[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The path below the projection root and the query parameters a part's URL names."""
    if url.startswith("$"):
        reference, _, rest = url[1:].partition("/")
        if reference not in created:
            raise ApiError(
                400, "ODP_BATCH_ERROR", f"The Content-ID reference ${reference} names no earlier request."
            )
        url = created[reference] + (f"/{rest}" if rest else "")
    parts = urlsplit(urljoin(base, url))
    prefix = API_ROOT + "/"
    if not parts.path.startswith(prefix):
        raise ApiError(404, "ODP_RESOURCE_NOT_FOUND", f"The batch part URL {url} is not below {API_ROOT}.")
    return parts.path[len(prefix) :], tuple(parse_qsl(parts.query, keep_blank_values=True))


def _error_part(request: BatchRequest, error: ApiError) -> BatchResponse:
    answer = error.response()
    return BatchResponse(
        answer.status, "", {"Content-Type": answer.content_type}, answer.body(), request.content_id
    )
