"""The simulator's internal request/response shapes, shared by the projection handlers and ``$batch``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

API_ROOT = "/main/ifsapplications/projection/v1"
JSON_MINIMAL = "application/json;odata.metadata=minimal"


@dataclass(frozen=True)
class ApiRequest:
    """One request to the projection root (also one part of a ``$batch``)."""

    method: str
    path: str  # raw path below the projection root, e.g. "CustomerOrderHandling.svc/CustomerOrderSet"
    params: tuple[tuple[str, str], ...]  # decoded query parameters in order
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    origin: str  # scheme://host:port, for absolute @odata.context and Location


@dataclass
class ApiResponse:
    """A response: JSON (``json``) or raw bytes (``content``), plus headers."""

    status: int
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    content_type: str = JSON_MINIMAL

    def body(self) -> bytes:
        """The encoded body."""
        if self.content is not None:
            return self.content
        if self.json is None:
            return b""
        return json.dumps(self.json, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class ApiError(Exception):
    """An error answered in IFS's shape."""

    def __init__(self, status: int, code: str, message: str, details: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details)

    def response(self) -> ApiResponse:
        """The error as a response."""
        return ApiResponse(
            self.status, error_body(self.code, self.message, self.details), content_type="application/json"
        )


def error_body(code: str, message: str, details: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """``{"error":{"code","message"[,"details"]}}`` as IFS answers."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = [{"code": c, "message": m} for c, m in details]
    return {"error": error}
