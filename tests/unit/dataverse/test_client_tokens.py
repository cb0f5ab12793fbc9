"""The bearer token per attempt: fetched again for every retry, and once more after a 401 (MockTransport)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from azure.core.credentials import AccessToken

from shared.dataverse.client import DataverseClient
from shared.dataverse.errors import AuthenticationError, ThrottledError
from shared.platform.retry import FALLBACK_RETRY_AFTER_SECONDS, recording_waits

ROW = uuid.UUID("00000000-0000-0000-0000-000000000001")
THROTTLED = {"error": {"code": "0x80072322", "message": "Number of requests exceeded the limit."}}


class RenewingCredential:
    """Hands out ``token-1``, ``token-2``… one per call, as a credential renewing an expired token would."""

    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.calls += 1
        return AccessToken(f"token-{self.calls}", 4_102_444_800)


def scripted(*answers: httpx.Response) -> tuple[DataverseClient, list[str]]:
    """A client whose requests get ``answers`` in turn; the list records each attempt's Authorization."""
    sent: list[str] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Authorization"])
        return queue.pop(0)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return DataverseClient(http, "https://org.example", RenewingCredential()), sent


def test_each_retry_asks_for_the_token_again() -> None:
    """After a 300 s Retry-After the second attempt carries the token the credential gives now."""
    client, sent = scripted(
        httpx.Response(429, headers={"Retry-After": "300"}, json=THROTTLED),
        httpx.Response(200, json={"value": []}),
    )
    with recording_waits() as waits:
        list(client.query("accounts"))
    assert waits == [300.0]
    assert sent == ["Bearer token-1", "Bearer token-2"]


@pytest.mark.parametrize(
    "call",
    [
        lambda client: client.get("accounts", ROW),
        lambda client: client.create("accounts", {"name": "A"}),
    ],
    ids=["read", "create"],
)
def test_a_401_is_sent_once_more_with_a_token_asked_for_again(
    call: Callable[[DataverseClient], object],
) -> None:
    """A 401 means nothing ran, so even a create is resent, once, with a fresh token."""
    client, sent = scripted(
        httpx.Response(401),
        httpx.Response(
            201,
            headers={"OData-EntityId": f"https://org.example/api/data/v9.2/accounts({ROW})"},
            json={"accountid": str(ROW)},
        ),
    )
    call(client)
    assert sent == ["Bearer token-1", "Bearer token-2"]


def test_a_second_401_is_an_authentication_error() -> None:
    """Only one refresh: a token the service keeps refusing surfaces as AuthenticationError."""
    client, sent = scripted(httpx.Response(401), httpx.Response(401), httpx.Response(200, json={}))
    with pytest.raises(AuthenticationError):
        client.get("accounts", ROW)
    assert len(sent) == 2


def test_the_resend_after_a_401_draws_on_the_same_call_budget() -> None:
    """429 (200 s), 401, 429 (200 s): the second wait would pass the 300 s budget, so it is not slept."""
    client, sent = scripted(
        httpx.Response(429, headers={"Retry-After": "200"}, json=THROTTLED),
        httpx.Response(401),
        httpx.Response(429, headers={"Retry-After": "200"}, json=THROTTLED),
        httpx.Response(200, json={"value": []}),
    )
    with recording_waits() as waits, pytest.raises(ThrottledError) as caught:
        list(client.query("accounts"))
    assert waits == [200.0]
    assert len(sent) == 3
    assert (caught.value.retry_after, caught.value.transient) == (200.0, True)


def test_a_429_without_retry_after_still_says_when_to_try_again() -> None:
    """No Retry-After header: retry_after is the fallback delay, a float the worker can re-enqueue with."""
    client, _ = scripted(*[httpx.Response(429, json=THROTTLED)] * 5)
    with recording_waits(), pytest.raises(ThrottledError) as caught:
        client.get("accounts", ROW)
    assert caught.value.retry_after == FALLBACK_RETRY_AFTER_SECONDS
