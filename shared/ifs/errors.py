"""Typed errors of the IFS client, each carrying IFS's own error code and message.

IFS answers errors as ``{"error":{"code","message","details":[{"code","message"}]}}`` (real capture,
docs/ifs-api.md, "Errors and limits"); some tenants send ``message`` as ``{"lang","value"}``. ``transient``
tells the caller whether trying again later may help (the queue redelivers) or the record must be parked; a
throttled error also says how long to wait (``retry_after``, seconds), so the work can be re-enqueued with
that delay. ``outcome_unknown`` tells a writer whether the request may have been applied although it failed:
false means IFS certainly did not apply it (it refused it, or it never left the process).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from shared.platform.retry import FALLBACK_RETRY_AFTER_SECONDS, retry_after_seconds

_SNIPPET = 300


@dataclass(frozen=True)
class IfsErrorDetail:
    """One entry of ``error.details``."""

    code: str
    message: str


class IfsError(Exception):
    """An IFS request failed; base of every error the client raises."""

    transient: ClassVar[bool] = False
    outcome_unknown: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: tuple[IfsErrorDetail, ...] = (),
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.method = method
        self.url = url
        where = f" ({method} {url})" if method and url else ""
        shown = f"{status} " if status else ""
        coded = f"[{code}] " if code else ""
        extra = "".join(f"; {d.code}: {d.message}" for d in details)
        super().__init__(f"IFS {shown}{coded}{message}{extra}{where}")


class IfsBadRequestError(IfsError):
    """400: the request or the data was rejected (unknown property, business rule, malformed filter)."""


class IfsUnauthorizedError(IfsError):
    """401 even with a freshly fetched token: the client or its service user is not accepted."""


class IfsForbiddenError(IfsError):
    """403: missing permission set, allowed company or site (or a CSRF rejection)."""


class IfsNotFoundError(IfsError):
    """404: the projection, entity set or row does not exist."""


class IfsConflictError(IfsError):
    """412 (or 409): the row changed since its ETag was read; re-read, re-apply and try again."""


class IfsNotImplementedError(IfsError):
    """501 or ``ODP_NOT_IMPLEMENTED``: the projection cannot do what was asked (e.g. expand a collection)."""


class IfsThrottledError(IfsError):
    """429 still after the bounded retries or the call's budget: try again after ``retry_after`` seconds.

    ``retry_after`` is the last ``Retry-After`` IFS (or its IAM) sent, or ``FALLBACK_RETRY_AFTER_SECONDS``
    when it named no delay.
    """

    transient = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: tuple[IfsErrorDetail, ...] = (),
        method: str | None = None,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code, details=details, method=method, url=url)
        self.retry_after: float = FALLBACK_RETRY_AFTER_SECONDS if retry_after is None else retry_after


class IfsServerError(IfsError):
    """5xx still after the bounded retries."""

    transient = True


class IfsRequestTimeoutError(IfsServerError):
    """408: IFS or its gateway gave up waiting for the request; transient, and for a write, like a 5xx.

    The server may have started the work before it gave up, so a write answered 408 has an unknown outcome.
    """


class IfsInvalidRequestError(IfsError):
    """httpx refused to send the request (a header value holding CR or LF, say): nothing reached IFS.

    Not transient: the same request would be refused the same way.
    """


class IfsDuplicateRowsError(IfsError):
    """More than one row matches values that should identify one (two orders with one ``CustomerPoNo``).

    Never resolved by picking one: ``keys`` holds the key of every matching row, for a person to decide.
    """

    def __init__(self, entity: str, match: dict[str, Any], keys: list[dict[str, Any]]) -> None:
        super().__init__(
            f"{len(keys)} {entity} rows match {match}, where one was expected: {keys}; resolve the duplicate"
        )
        self.entity = entity
        self.match = match
        self.keys = keys


class IfsUnavailableError(IfsError):
    """The connection failed or timed out on every try."""

    transient = True


class IfsWriteOutcomeUnknownError(IfsError):
    """A write may or may not have been applied: a try may have reached IFS (timeout, dropped link, 5xx).

    Raised instead of the error the last try got when that error could be the echo of an earlier try that
    IFS applied (a 412 because the earlier try already changed the ETag), or when the write must not be
    repeated blindly. Read the row (or look it up) before writing again; the queue's redelivery can do that.
    """

    transient = True
    outcome_unknown = True


class IfsCreateOutcomeUnknownError(IfsWriteOutcomeUnknownError):
    """A create may have reached IFS (timeout, dropped connection, 5xx): look it up before creating again."""


class IfsProtocolError(IfsError):
    """IFS answered with something the client cannot read (not JSON, missing fields, a foreign nextLink)."""


class IfsAuthenticationError(IfsError):
    """The IAM (Keycloak) token endpoint refused the client; ``code`` is Keycloak's ``error``."""


_BY_STATUS: dict[int, type[IfsError]] = {
    400: IfsBadRequestError,
    401: IfsUnauthorizedError,
    403: IfsForbiddenError,
    404: IfsNotFoundError,
    408: IfsRequestTimeoutError,
    409: IfsConflictError,
    412: IfsConflictError,
    429: IfsThrottledError,
    501: IfsNotImplementedError,
}


def _text(value: Any) -> str:
    if isinstance(value, dict) and "value" in value:  # {"lang":"en","value":"..."}
        return str(value["value"])
    return "" if value is None else str(value)


def parse_error_body(body: bytes) -> tuple[str | None, str | None, tuple[IfsErrorDetail, ...]]:
    """Code, message and details of an IFS error body; (None, None, ()) when it is not one."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, None, ()
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return None, None, ()
    raw_details = error.get("details")
    details = tuple(
        IfsErrorDetail(code=_text(d.get("code")), message=_text(d.get("message")))
        for d in (raw_details if isinstance(raw_details, list) else [])
        if isinstance(d, dict)
    )
    code = error.get("code")
    return (None if code is None else str(code)), _text(error.get("message")) or None, details


def error_from_response(response: httpx.Response) -> IfsError:
    """The typed error for a failed response (the body must have been read)."""
    return error_from_parts(
        response.status_code,
        response.content,
        method=response.request.method,
        url=str(response.request.url),
        reason=response.reason_phrase,
        retry_after=retry_after_seconds(response),
    )


def error_from_parts(
    status: int,
    content: bytes,
    *,
    method: str,
    url: str,
    reason: str = "",
    retry_after: float | None = None,
) -> IfsError:
    """The typed error for a status and body (also for one failed part of a ``$batch``)."""
    code, message, details = parse_error_body(content)
    if message is None:
        snippet = content[:_SNIPPET].decode("utf-8", errors="replace").strip()
        message = snippet or reason or "no error body"
    if code == "ODP_NOT_IMPLEMENTED":
        kind: type[IfsError] = IfsNotImplementedError
    elif status in _BY_STATUS:
        kind = _BY_STATUS[status]
    elif status >= 500:
        kind = IfsServerError
    else:
        kind = IfsError
    if kind is IfsThrottledError:
        return IfsThrottledError(
            message,
            status=status,
            code=code,
            details=details,
            method=method,
            url=url,
            retry_after=retry_after,
        )
    return kind(message, status=status, code=code, details=details, method=method, url=url)
