"""Typed errors of the Dataverse Web API client, each carrying the HTTP status, Dataverse code and message.

The Web API answers errors with ``{"error":{"code":…,"message":…}}``. The code is frequently empty in
Microsoft's own samples (the conditional-operation 404/412s) while live responses carry a hex code, so
classification goes by status first, then code, then the documented message text. ``transient`` says
whether trying again later can help (throttling, server errors, timeouts); everything else is a
permanent refusal of this request (bad data, a missing reference, a stale ETag).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import httpx

from shared.platform.retry import FALLBACK_RETRY_AFTER_SECONDS, retry_after_seconds

CONCURRENCY_VERSION_MISMATCH = "0x80060882"
DUPLICATE_RECORD = "0x80040237"
DUPLICATE_RECORD_ENTITY_KEY = "0x80060892"
OBJECT_DOES_NOT_EXIST = "0x80040217"
THROTTLING_CODES = {
    "0x80072322": "requests",
    "0x80072321": "execution_time",
    "0x80072326": "concurrency",
}
_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
DELTA_TOKEN_OPTION = "$deltatoken"  # noqa: S105 - a query option name, not a secret


class DataverseError(Exception):
    """The Web API refused a request (or could not be reached: ``status`` 0)."""

    def __init__(self, status: int, code: str, message: str, *, method: str = "", url: str = "") -> None:
        self.status = status
        self.code = code
        self.message = message
        self.method = method
        self.url = url
        super().__init__(f"{method} {url} -> {status} {code or '(no code)'}: {message}".strip())

    @property
    def transient(self) -> bool:
        """Whether the same request may succeed later (throttling, server errors, timeouts)."""
        return self.status in _TRANSIENT_STATUS or self.status == 0


class DataverseUnavailableError(DataverseError):
    """No response: connection failure or timeout after the retries (``status`` 0)."""


class BadRequestError(DataverseError):
    """400: the request or its data is invalid (unknown column, too long, missing required value…)."""


class AuthenticationError(DataverseError):
    """401: the bearer token was missing, expired or for another resource."""


class AccessDeniedError(DataverseError):
    """403: the caller is not allowed (no application user, missing privilege)."""


class NotFoundError(DataverseError):
    """404: the addressed row, or a row an ``@odata.bind`` references, does not exist."""


class PreconditionFailedError(DataverseError):
    """412: a conditional request's precondition or a uniqueness rule failed."""


class ConcurrencyConflictError(PreconditionFailedError):
    """412 ConcurrencyVersionMismatch: the row changed since the ETag sent in If-Match."""


class AlreadyExistsError(PreconditionFailedError):
    """412 with If-None-Match: * — a row with those key values exists (create-only upsert)."""


class DuplicateKeyError(PreconditionFailedError):
    """412 DuplicateRecordEntityKey / DuplicateRecord: another row already has these key values."""


class ThrottledError(DataverseError):
    """429: a service-protection limit; which ``limit`` was hit, and to try again after ``retry_after`` s.

    ``retry_after`` is the last ``Retry-After`` (``FALLBACK_RETRY_AFTER_SECONDS`` when none was sent);
    ``transient`` is true: the work is re-enqueued with that delay, never parked.
    """

    def __init__(self, status: int, code: str, message: str, *, method: str = "", url: str = "") -> None:
        super().__init__(status, code, message, method=method, url=url)
        self.retry_after: float = FALLBACK_RETRY_AFTER_SECONDS
        self.limit = THROTTLING_CODES.get(code.lower(), "")


class ServerError(DataverseError):
    """5xx: the service failed."""


class DeltaTokenExpiredError(BadRequestError):
    """A 400 to a request carrying a ``$deltatoken``: the token was refused, and the remedy is a full read.

    Tokens expire after the org's ExpireChangeTrackingInDays (7 days by default). Dataverse's exact answer
    is not published ("the system throws an exception"), so no wording is relied on: every 400 to a
    request with a ``$deltatoken`` is taken as a refused token. If the request was bad for another reason,
    the full read without a token fails too, with a plain BadRequestError.
    """


class WriteOutcomeUnknownError(DataverseError):
    """A conditional write was refused (412) on a retry that followed an attempt whose answer was lost.

    The earlier attempt timed out, lost its connection or failed with a 5xx, so it may have applied this
    very write, and the refusal (the row exists already; its version moved on) may be its own doing. It is
    not reported as AlreadyExistsError or ConcurrencyConflictError, which would blame another writer: read
    the row to decide. ``refusal`` is the 412 the retry got.
    """

    def __init__(self, refusal: PreconditionFailedError) -> None:
        super().__init__(
            refusal.status,
            refusal.code,
            "the write may have been applied by an earlier attempt whose answer was lost; its retry was "
            f"refused with: {refusal.message}",
            method=refusal.method,
            url=refusal.url,
        )
        self.refusal = refusal

    @property
    def transient(self) -> bool:
        """Not a passing condition: sending the write again meets the same 412."""
        return False


class InvalidRequestError(DataverseError):
    """httpx refused to send the request (a header value holding CR or LF, say): nothing was sent.

    ``status`` is 0 as for an unreachable service, but this is not transient: the same request would be
    refused again, so it is never retried.
    """

    @property
    def transient(self) -> bool:
        """Not a passing condition: the request itself cannot be sent."""
        return False


class ForeignLinkError(DataverseError):
    """A link to follow (``@odata.nextLink``, ``@odata.deltaLink``) points outside the service root.

    It is not followed: the bearer token is only ever sent to the environment's own Web API.
    """

    def __init__(self, link: str, service_root: str) -> None:
        super().__init__(0, "", f"refusing to follow {link!r}: it is not under {service_root}", url=link)

    @property
    def transient(self) -> bool:
        """Not a passing condition: the same link would be refused again."""
        return False


def _body_error(response: httpx.Response) -> tuple[str, str]:
    try:
        document: Any = json.loads(response.content or b"null")
    except ValueError:
        return "", response.text.strip() or response.reason_phrase
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        message = error.get("message")
        return (code if isinstance(code, str) else "", message if isinstance(message, str) else "")
    return "", response.text.strip() or response.reason_phrase


def _precondition_class(code: str, message: str) -> type[PreconditionFailedError]:
    lowered = code.lower()
    if lowered == CONCURRENCY_VERSION_MISMATCH or "doesn't match the RowVersion" in message:
        return ConcurrencyConflictError
    if lowered in (DUPLICATE_RECORD_ENTITY_KEY, DUPLICATE_RECORD):
        return DuplicateKeyError
    if "matching key values already exists" in message:
        return AlreadyExistsError
    return PreconditionFailedError


def error_from_response(response: httpx.Response) -> DataverseError:
    """The typed error for an error response (status >= 400)."""
    code, message = _body_error(response)
    status = response.status_code
    cls: type[DataverseError]
    if status == 400:
        with_token = DELTA_TOKEN_OPTION in parse_qs(response.request.url.query.decode("ascii", "replace"))
        cls = DeltaTokenExpiredError if with_token else BadRequestError
    elif status == 401:
        cls = AuthenticationError
    elif status == 403:
        cls = AccessDeniedError
    elif status == 404:
        cls = NotFoundError
    elif status == 412:
        cls = _precondition_class(code, message)
    elif status == 429:
        cls = ThrottledError
    elif status >= 500:
        cls = ServerError
    else:
        cls = DataverseError
    error = cls(status, code, message, method=response.request.method, url=str(response.request.url))
    if isinstance(error, ThrottledError):
        delay = retry_after_seconds(response)
        if delay is not None:
            error.retry_after = delay
    return error
