"""Edge cases of $batch, bulk and change tracking that the simulator cannot stage (MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from shared.dataverse.batch import BatchOperation, BatchResponseError, execute_batch
from shared.dataverse.bulk import BulkUpserter, RecordResult, message_unsupported
from shared.dataverse.client import DataverseClient
from shared.dataverse.errors import (
    BadRequestError,
    DataverseError,
    DeltaTokenExpiredError,
    error_from_response,
)
from shared.platform.odata_batch import BatchResponse, encode_batch_response
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


def error(status: int, code: str, message: str, url: str = "accounts") -> DataverseError:
    response = httpx.Response(
        status,
        json={"error": {"code": code, "message": message}},
        request=httpx.Request("GET", f"https://org.example/api/data/v9.2/{url}"),
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


def test_any_400_to_a_delta_token_read_is_a_refused_token() -> None:
    """Whatever its wording, a 400 to a request with $deltatoken is DeltaTokenExpiredError; without, not."""
    for message in ("The delta token has expired.", "Invalid token.", ""):
        refused = error(
            400, "0x80040203", message, url="accounts?$select=name&$deltatoken=1%2101%2f01%2f2026"
        )
        assert isinstance(refused, DeltaTokenExpiredError)
        assert isinstance(refused, BadRequestError)
    assert isinstance(error(400, "", "x", url="accounts/$count?%24deltatoken=7"), DeltaTokenExpiredError)
    plain = error(400, "", "The delta token '1!01/01/2026 00:00:00' has expired.")
    assert not isinstance(plain, DeltaTokenExpiredError)


def answering_batches_with(statuses: list[int]) -> tuple[httpx.MockTransport, list[str]]:
    """A $batch answering one part per status of ``statuses``, whatever was asked; single PATCHes succeed."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith("sdkmessagefilters"):
            return httpx.Response(200, json={"value": []})
        if request.url.path.endswith("$batch"):
            parts = [BatchResponse(status, "", {}, b"") for status in statuses]
            content_type, body = encode_batch_response(parts)
            return httpx.Response(200, headers={"Content-Type": content_type}, content=body)
        return httpx.Response(204)

    return httpx.MockTransport(handler), seen


@pytest.mark.parametrize(
    "statuses", [[204], [204, 204, 204, 204]], ids=["fewer parts than requests", "more parts than requests"]
)
def test_a_batch_answer_that_does_not_fit_the_requests_is_refused(statuses: list[int]) -> None:
    """With continue-on-error every request needs its part: a missing or extra one is BatchResponseError."""
    transport, _ = answering_batches_with(statuses)
    operations = [BatchOperation("PATCH", f"accounts(accountnumber='{n}')", {}) for n in "ABC"]
    with pytest.raises(BatchResponseError, match=f"{len(statuses)} parts for 3 requests"):
        execute_batch(client_for(transport), operations, continue_on_error=True)


def test_a_stopped_batch_must_end_at_its_failure() -> None:
    """Without continue-on-error fewer parts are fine only when the last one failed."""
    transport, _ = answering_batches_with([204, 400])
    operations = [BatchOperation("PATCH", f"accounts(accountnumber='{n}')", {}) for n in "ABC"]
    results = execute_batch(client_for(transport), operations)
    assert [result.status for result in results] == [204, 400, 0]
    transport, _ = answering_batches_with([204])
    with pytest.raises(BatchResponseError):
        execute_batch(client_for(transport), operations)


def test_rows_a_short_batch_answer_leaves_unanswered_are_written_one_by_one() -> None:
    """No row is reported failed without an error: the whole piece goes again as single requests."""
    transport, seen = answering_batches_with([204])
    rows = [({"accountnumber": n}, {"name": n}) for n in "ABC"]
    results = BulkUpserter(client_for(transport)).upsert_many("accounts", "account", rows)
    assert [(r.ok, r.via, r.error) for r in results] == [(True, "single", None)] * 3
    assert seen.count("POST /api/data/v9.2/$batch") == 1


def test_a_failed_row_always_says_why() -> None:
    """A RecordResult that failed without an error cannot be made."""
    with pytest.raises(ValueError, match="without an error"):
        RecordResult(0, {"accountnumber": "A"}, ok=False, via="$batch")


def test_the_availability_probe_doubles_quotes_in_its_values() -> None:
    """A quote in a name cannot end the OData string early: it is sent doubled."""
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"value": []})

    upserter = BulkUpserter(client_for(httpx.MockTransport(handler)))
    assert not upserter.supports("new_o'brien", "Upsert'Multiple")
    [url] = seen
    assert (url.params["@table"], url.params["@message"]) == ("'new_o''brien'", "'Upsert''Multiple'")
