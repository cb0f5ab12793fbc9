"""IFS error bodies become typed errors carrying IFS's code and message."""

from __future__ import annotations

import httpx
import pytest

from shared.ifs.errors import (
    IfsBadRequestError,
    IfsConflictError,
    IfsError,
    IfsNotImplementedError,
    IfsServerError,
    error_from_response,
)


def response(status: int, body: bytes, content_type: str = "application/json") -> httpx.Response:
    request = httpx.Request("GET", "https://acme.ifs.cloud/main/ifsapplications/projection/v1/X.svc/Set")
    return httpx.Response(status, content=body, headers={"Content-Type": content_type}, request=request)


def test_code_message_and_details_are_kept() -> None:
    """The three parts of IFS's error body reach the exception."""
    body = (
        b'{"error":{"code":"ODP_BAD","message":"Malformed Request.",'
        b'"details":[{"code":"D1","message":"The property \'X\' is not defined."}]}}'
    )
    error = error_from_response(response(400, body))
    assert isinstance(error, IfsBadRequestError)
    assert (error.status, error.code, error.message) == (400, "ODP_BAD", "Malformed Request.")
    assert [(d.code, d.message) for d in error.details] == [("D1", "The property 'X' is not defined.")]
    assert "ODP_BAD" in str(error)
    assert "The property 'X'" in str(error)
    assert not error.transient


def test_language_tagged_messages_are_read() -> None:
    """A message sent as {"lang","value"} is read as its value."""
    error = error_from_response(
        response(412, b'{"error":{"code":"C","message":{"lang":"en","value":"Changed."}}}')
    )
    assert isinstance(error, IfsConflictError)
    assert error.message == "Changed."


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (501, b'{"error":{"code":"ODP_NOT_IMPLEMENTED","message":"n/a"}}', IfsNotImplementedError, "n/a"),
        (400, b'{"error":{"code":"ODP_NOT_IMPLEMENTED","message":"n/a"}}', IfsNotImplementedError, "n/a"),
        (502, b"<html>Bad gateway</html>", IfsServerError, "<html>Bad gateway</html>"),
        (409, b'{"error":{"code":"ODP_CONFLICT","message":"Changed."}}', IfsConflictError, "Changed."),
        (418, b"", IfsError, "I'm a teapot"),
    ],
)
def test_status_and_code_choose_the_type(
    status: int, body: bytes, kind: type[IfsError], message: str
) -> None:
    """ODP_NOT_IMPLEMENTED wins over the status; non-JSON bodies become the message."""
    error = error_from_response(response(status, body, "text/html"))
    assert type(error) is kind
    assert error.message == message
