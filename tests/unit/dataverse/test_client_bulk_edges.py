"""Edge cases of $batch, bulk and change tracking that the simulator cannot stage (MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from shared.dataverse.batch import BatchOperation, BatchResponseError, execute_batch
from shared.dataverse.bulk import BulkUpserter, message_unsupported
from shared.dataverse.client import DataverseClient
from shared.dataverse.errors import (
    BadRequestError,
    DataverseError,
    DeltaTokenExpiredError,
    error_from_response,
)
from tests.unit.dataverse.test_client_edges import StaticCredential


def client_for(handler: httpx.MockTransport) -> DataverseClient:
    return DataverseClient(httpx.Client(transport=handler), "https://org.example", StaticCredential())


def test_an_unreadable_batch_answer_is_a_permanent_error() -> None:
    """A multipart answer that breaks the format raises BatchResponseError, which is not transient."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"Content-Type": "multipart/mixed; boundary=b"}, content=b"--b\r\n"
        )

    with pytest.raises(BatchResponseError) as caught:
        execute_batch(client_for(httpx.MockTransport(handler)), [BatchOperation("GET", "WhoAmI")])
    assert caught.value.transient is False


def test_an_unreadable_batch_answer_sends_the_rows_one_by_one() -> None:
    """BulkUpserter treats an unreadable $batch like a missing one and writes each row alone."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith("sdkmessagefilters"):
            return httpx.Response(200, json={"value": []})
        if request.url.path.endswith("$batch"):
            return httpx.Response(
                200, headers={"Content-Type": "multipart/mixed; boundary=b"}, content=b"junk"
            )
        return httpx.Response(204)

    upserter = BulkUpserter(client_for(httpx.MockTransport(handler)))
    results = upserter.upsert_many(
        "accounts", "account", [({"accountnumber": "A"}, {}), ({"accountnumber": "B"}, {})]
    )
    assert [(r.ok, r.via) for r in results] == [(True, "single"), (True, "single")]
    assert upserter.batch_available is False
    assert seen[-2:] == [
        "PATCH /api/data/v9.2/accounts(accountnumber='A')",
        "PATCH /api/data/v9.2/accounts(accountnumber='B')",
    ]


def error(status: int, code: str, message: str) -> DataverseError:
    response = httpx.Response(
        status,
        json={"error": {"code": code, "message": message}},
        request=httpx.Request("GET", "https://org.example/api/data/v9.2/accounts"),
    )
    return error_from_response(response)


def test_unsupported_message_recognition() -> None:
    """NotSupported or the MessageProcessor/unknown-segment wording; a validation error is not it."""
    assert message_unsupported(error(400, "0x80040315", "anything"))
    assert message_unsupported(
        error(400, "", "The 'UpsertMultiple' method does not support entities of type 'x'.")
    )
    assert message_unsupported(
        error(404, "", "Resource not found for the segment 'Microsoft.Dynamics.CRM.X'.")
    )
    assert not message_unsupported(error(400, "0x80044331", "A validation error occurred."))
    assert not message_unsupported(error(500, "0x80040315", "server"))


def test_expired_delta_tokens_are_classified() -> None:
    """A 400 saying the delta token expired is DeltaTokenExpiredError, still a BadRequestError."""
    expired = error(
        400, "", "The delta token '1!01/01/2026 00:00:00' has expired: changes are kept for 7 days."
    )
    assert isinstance(expired, DeltaTokenExpiredError)
    assert isinstance(expired, BadRequestError)
    assert not isinstance(error(400, "", "The delta token 'x' is not valid."), DeltaTokenExpiredError)
