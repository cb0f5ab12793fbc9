"""Edge cases of IfsClient that need a hand-made response (httpx.MockTransport, one case each)."""

from __future__ import annotations

import httpx
import pytest

from shared.ifs.client import IfsClient
from shared.ifs.entities import EntitySet
from shared.ifs.errors import IfsProtocolError, IfsUnauthorizedError
from shared.platform.retry import RetryPolicy

ROOT = "https://acme.ifs.cloud/main/ifsapplications/projection/v1/"
ORDERS = EntitySet("CustomerOrderHandling", "CustomerOrderSet", ("OrderNo",))


class FixedTokens:
    def __init__(self) -> None:
        self.renewed = 0

    def token(self) -> str:
        return f"t{self.renewed}"

    def renew(self, rejected: str) -> str:
        self.renewed += 1
        return self.token()


def client_for(handler: httpx.MockTransport, tokens: FixedTokens | None = None) -> IfsClient:
    http = httpx.Client(transport=handler, trust_env=False)
    return IfsClient(
        http, api_root=ROOT, tokens=tokens or FixedTokens(), retry=RetryPolicy(attempts=1), page_size=0
    )


def test_a_next_link_to_another_host_is_refused() -> None:
    """The bearer token is never sent to a host other than the tenant's."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(
            200, json={"value": [{"OrderNo": "A"}], "@odata.nextLink": "https://evil.example/x"}
        )

    rows = client_for(httpx.MockTransport(answer)).iter_rows(ORDERS)
    assert next(rows) == {"OrderNo": "A"}
    with pytest.raises(IfsProtocolError, match="leaves the tenant"):
        next(rows)
    assert len(seen) == 1


def test_a_collection_without_value_is_a_protocol_error() -> None:
    """A 200 that is not an OData collection is reported, not read as empty."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"rows": []}))
    with pytest.raises(IfsProtocolError, match="'value'"):
        list(client_for(transport).iter_rows(ORDERS))


def test_a_second_401_after_renewal_is_raised() -> None:
    """One renewal only: if the new token is refused too, IfsUnauthorizedError carries IFS's message."""
    tokens = FixedTokens()
    transport = httpx.MockTransport(
        lambda request: httpx.Response(401, json={"error": {"message": "Unauthorized"}})
    )
    with pytest.raises(IfsUnauthorizedError, match="Unauthorized"):
        client_for(transport, tokens).get(ORDERS, {"OrderNo": "A"})
    assert tokens.renewed == 1


def test_an_update_answered_204_returns_the_etag_header() -> None:
    """IFS may ignore Prefer: return=representation and answer 204: the new ETag comes from the header."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204, headers={"ETag": 'W/"new"'})

    row, etag = client_for(httpx.MockTransport(answer)).update(
        ORDERS, {"OrderNo": "A"}, {"NoteText": "x"}, 'W/"old"'
    )
    assert (row, etag) == ({}, 'W/"new"')
    assert seen[0].headers["Prefer"] == "return=representation"
    assert seen[0].headers["If-Match"] == 'W/"old"'


@pytest.mark.parametrize("value", [None, "", "  "])
def test_create_unique_refuses_empty_match_values(value: str | None) -> None:
    """A missing or empty unique_on value would look up 'X eq null' and find an unrelated row: refused."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    client = client_for(httpx.MockTransport(answer))
    with pytest.raises(ValueError, match=r"\['CustomerPoNo'\] are not"):
        client.create_unique(
            ORDERS, {"CustomerNo": "C1", "CustomerPoNo": value}, unique_on=("CustomerNo", "CustomerPoNo")
        )
    with pytest.raises(ValueError, match=r"\['CustomerPoNo'\] are not"):
        client.create_unique(ORDERS, {"CustomerNo": "C1"}, unique_on=("CustomerPoNo",))
    assert sent == []
