"""``$batch`` for IFS: operations, all-or-nothing change sets, and their results.

IFS runs a change set as one transaction, in order; a later operation can address an entity created earlier in
the same change set by its Content-ID (``$1/OrderLinesArray``), which is how an order header and its lines are
created together (docs/ifs-api.md, "Batch requests"; posting lines to ``$1/OrderLinesArray`` is implied by
IFS's documentation but untested publicly, so the connector keeps the one-by-one path too). Operation URLs are
relative to the projection's service root (``<Projection>.svc/``); one batch talks to one projection. The wire
format is ``shared.platform.odata_batch``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.ifs.entities import EntitySet, Key, Navigation
from shared.ifs.errors import IfsError, IfsProtocolError, error_from_parts
from shared.platform.odata_batch import BatchRequest, BatchResponse


@dataclass(frozen=True)
class Operation:
    """One request inside a batch."""

    projection: str
    method: str
    url: str  # relative to <Projection>.svc/, or "$<content id>/…"
    body: Mapping[str, Any] | None = None
    etag: str | None = None
    content_id: str | None = None

    @property
    def is_read(self) -> bool:
        """A GET: the only kind of operation a batch may repeat whatever happened to an earlier try."""
        return self.method == "GET"

    @property
    def creates(self) -> bool:
        """A POST that makes a row (a bound action's URL ends in its qualified name ``IfsApp.…``)."""
        return self.method == "POST" and not self.url.rsplit("/", 1)[-1].startswith("IfsApp.")

    def to_request(self) -> BatchRequest:
        """The codec's request for this operation."""
        headers = {"Accept": "application/json"}
        body = None
        if self.body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(dict(self.body)).encode("utf-8")
        if self.etag is not None:
            headers["If-Match"] = self.etag
        if self.method == "PATCH":
            headers["Prefer"] = "return=representation"  # as IfsClient.update: the updated row comes back
        return BatchRequest(self.method, self.url, headers, body, self.content_id)


@dataclass(frozen=True)
class Atomic:
    """A change set: operations that IFS applies all together or not at all."""

    operations: tuple[Operation, ...]


@dataclass(frozen=True)
class OperationResult:
    """The answer to one operation (or the single error answer of a failed change set)."""

    status: int
    body: dict[str, Any] | None
    etag: str | None
    content_id: str | None
    raw: bytes

    @property
    def ok(self) -> bool:
        """Whether the operation succeeded."""
        return self.status < 400

    def error(self, method: str = "BATCH", url: str = "$batch") -> IfsError:
        """The typed error this failed result stands for."""
        return error_from_parts(self.status, self.raw, method=method, url=url)

    @classmethod
    def from_response(cls, response: BatchResponse) -> OperationResult:
        """Read a decoded batch response part."""
        body: dict[str, Any] | None = None
        if response.body.strip():
            try:
                parsed = json.loads(response.body)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                body = parsed
            elif response.status < 400:
                raise IfsProtocolError(f"batch part answered {response.status} with a body that is not JSON")
        headers = {k.lower(): v for k, v in response.headers.items()}
        etag = body.get("@odata.etag") if body else None
        return cls(
            status=response.status,
            body=body,
            etag=etag if isinstance(etag, str) else headers.get("etag"),
            content_id=response.content_id,
            raw=response.body,
        )


BatchItem = Operation | Atomic
BatchOutcome = OperationResult | list[OperationResult]


def create(entity: EntitySet, body: Mapping[str, Any], *, content_id: str | None = None) -> Operation:
    """POST a new row to ``entity``."""
    return Operation(entity.projection, "POST", entity.name, body, content_id=content_id)


def create_child(
    entity: EntitySet,
    key: Key,
    navigation: Navigation,
    body: Mapping[str, Any],
    *,
    content_id: str | None = None,
) -> Operation:
    """POST a new row through a navigation of an existing row."""
    path = entity.row_path(key)[len(entity.service) + 1 :]
    return Operation(entity.projection, "POST", f"{path}/{navigation.name}", body, content_id=content_id)


def create_under(
    projection: str,
    reference: str,
    navigation: Navigation,
    body: Mapping[str, Any],
    *,
    content_id: str | None = None,
) -> Operation:
    """POST a new row through a navigation of a row created earlier in the same change set (``$1``)."""
    if not reference.startswith("$"):
        raise ValueError(f"a Content-ID reference looks like $1, not {reference!r}")
    return Operation(projection, "POST", f"{reference}/{navigation.name}", body, content_id=content_id)


def update(entity: EntitySet, key: Key, changes: Mapping[str, Any], etag: str) -> Operation:
    """PATCH a row guarded by its ETag."""
    path = entity.row_path(key)[len(entity.service) + 1 :]
    return Operation(entity.projection, "PATCH", path, changes, etag=etag)


def read(entity: EntitySet, key: Key) -> Operation:
    """GET one row (not allowed inside a change set)."""
    return Operation(entity.projection, "GET", entity.row_path(key)[len(entity.service) + 1 :])


def action(
    entity: EntitySet, key: Key, name: str, params: Mapping[str, Any] | None = None, *, etag: str
) -> Operation:
    """POST a bound action on a row, guarded by its ETag."""
    path = entity.row_path(key)[len(entity.service) + 1 :]
    return Operation(entity.projection, "POST", f"{path}/{entity.qualified(name)}", params or {}, etag=etag)
