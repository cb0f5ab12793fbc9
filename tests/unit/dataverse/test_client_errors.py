"""Error responses to typed errors: status first, then the Dataverse code, then the documented text."""

from __future__ import annotations

import httpx
import pytest

from shared.dataverse.errors import (
    AlreadyExistsError,
    BadRequestError,
    ConcurrencyConflictError,
    DataverseError,
    DuplicateKeyError,
    NotFoundError,
    PreconditionFailedError,
    ServerError,
    ThrottledError,
    error_from_response,
)

REQUEST = httpx.Request("PATCH", "https://org.example/api/data/v9.2/accounts(accountnumber='C1')")


def response(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"code": code, "message": message}}, headers=headers, request=REQUEST
    )


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        (
            412,
            "",
            "The version of the existing record doesn't match the RowVersion property provided.",
            ConcurrencyConflictError,
        ),
        (412, "0x80060882", "whatever the text", ConcurrencyConflictError),
        (412, "", "A record with matching key values already exists.", AlreadyExistsError),
        (412, "0x80060892", "Entity Key k violated.", DuplicateKeyError),
        (412, "0x80040237", "Operation failed due to a SQL integrity violation.", DuplicateKeyError),
        (412, "0x1", "something else", PreconditionFailedError),
        (404, "", "account With Id = 1 Does Not Exist", NotFoundError),
        (400, "0x80044331", "A validation error occurred.", BadRequestError),
        (503, "", "Service Unavailable", ServerError),
    ],
)
def test_classification(status: int, code: str, message: str, expected: type[DataverseError]) -> None:
    """Documented empty-code bodies and live hex-code bodies land in the same class."""
    error = error_from_response(response(status, code, message))
    assert type(error) is expected
    assert (error.status, error.code, error.message) == (status, code, message)
    assert error.method == "PATCH"
    assert "accountnumber" in error.url


def test_throttling_carries_retry_after_and_the_limit() -> None:
    """A 429 says how long to wait and which limit was hit."""
    error = error_from_response(
        response(429, "0x80072322", "Number of requests exceeded…", **{"Retry-After": "12"})
    )
    assert isinstance(error, ThrottledError)
    assert (error.retry_after, error.limit, error.transient) == (12.0, "requests", True)


def test_transient_versus_permanent() -> None:
    """Server errors are worth retrying later; bad data is not."""
    assert error_from_response(response(503, "", "")).transient
    assert not error_from_response(response(400, "", "")).transient


def test_a_body_that_is_not_json_still_gives_a_message() -> None:
    """An HTML error page from a proxy becomes the message."""
    error = error_from_response(httpx.Response(502, text="<html>Bad gateway</html>", request=REQUEST))
    assert isinstance(error, ServerError)
    assert error.message == "<html>Bad gateway</html>"
