"""HTTP edge cases of DataverseClient that a simulator cannot stage on demand (MockTransport)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from azure.core.credentials import AccessToken

from shared.dataverse.client import DataverseClient
from shared.dataverse.errors import DataverseUnavailableError, InvalidRequestError, NotFoundError
from shared.platform.retry import RetryPolicy, recording_waits

ROW = uuid.UUID("00000000-0000-0000-0000-000000000001")


class StaticCredential:
    """Always the same token (the real credentials are exercised against the Entra simulator)."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("token-1", 4_102_444_800)


def client_for(
    handler: Callable[[httpx.Request], httpx.Response],
) -> tuple[DataverseClient, StaticCredential]:
    credential = StaticCredential()
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return DataverseClient(http, "https://org.example", credential), credential


def test_every_request_carries_the_web_api_headers_and_the_token() -> None:
    """Accept, OData versions, If-None-Match: null and a bearer token for <url>/.default."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"value": []})

    client, credential = client_for(handler)
    list(client.query("accounts", select=["name"], filter="name eq 'A&B'"))
    request = seen[0]
    assert request.headers["Authorization"] == "Bearer token-1"
    assert request.headers["OData-MaxVersion"] == request.headers["OData-Version"] == "4.0"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["If-None-Match"] == "null"
    assert request.headers["Prefer"] == "odata.maxpagesize=500"
    assert credential.scopes == [("https://org.example/.default",)]
    assert str(request.url) == (
        "https://org.example/api/data/v9.2/accounts?$select=name&$filter=name%20eq%20'A%26B'"
    )


def test_a_delete_whose_answer_was_lost_is_done_when_the_retry_finds_nothing() -> None:
    """Timeout, then 404 on the retry: the first attempt deleted the row."""
    answers: list[Callable[[httpx.Request], httpx.Response]] = []

    def next_answer(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)(request)

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("lost", request=request)

    def not_found(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            404, json={"error": {"code": "", "message": "account With Id = x Does Not Exist"}}
        )

    answers.extend([timeout, not_found])
    client, _ = client_for(next_answer)
    with recording_waits():
        client.delete("accounts", ROW)
    assert answers == []


def test_a_first_attempt_404_on_delete_is_not_found() -> None:
    """Without an earlier attempt, 404 means the row never existed."""
    client, _ = client_for(
        lambda request: httpx.Response(404, json={"error": {"code": "", "message": "gone"}})
    )
    with pytest.raises(NotFoundError):
        client.delete("accounts", ROW)


def test_a_create_is_resent_after_429_but_not_after_a_timeout() -> None:
    """Service protection's 429 means not executed; a timeout might have created the row."""
    sent: list[httpx.Request] = []
    steps = [
        httpx.Response(
            429, headers={"Retry-After": "3"}, json={"error": {"code": "0x80072322", "message": "x"}}
        ),
        httpx.Response(204, headers={"OData-EntityId": f"https://org.example/api/data/v9.2/accounts({ROW})"}),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return steps.pop(0)

    client, _ = client_for(handler)
    with recording_waits() as waits:
        written = client.create("accounts", {"name": "A"})
    assert (written.id, written.created, len(sent), waits) == (ROW, True, 2, [3.0])

    def timeout(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        raise httpx.ReadTimeout("lost", request=request)

    sent.clear()
    client, _ = client_for(timeout)
    with recording_waits(), pytest.raises(DataverseUnavailableError):
        client.create("accounts", {"name": "A"})
    assert len(sent) == 1


def test_a_request_httpx_refuses_to_send_is_a_permanent_error() -> None:
    """LocalProtocolError (an If-Match holding CR/LF): not sent, not retried, and not transient."""
    sent: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        raise httpx.LocalProtocolError("Illegal header value")

    client, _ = client_for(refuse)
    with recording_waits() as waits, pytest.raises(InvalidRequestError) as caught:
        client.update("accounts", ROW, {"name": "A"}, if_match='W/"1\r\nX: 1"')
    assert (len(sent), waits, caught.value.transient) == (1, [], False)


def test_a_client_whose_timeout_outlasts_the_call_budget_is_refused() -> None:
    """The budget must hold at least one request: a 120 s timeout under a 60 s budget is a ValueError."""
    http = httpx.Client(timeout=120)
    with pytest.raises(ValueError, match="shorter than the Dataverse request timeout"):
        DataverseClient(http, "https://org.example", StaticCredential(), retry=RetryPolicy(budget_seconds=60))
