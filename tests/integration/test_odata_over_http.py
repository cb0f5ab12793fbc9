"""The OData engine and the $batch codec across a real loopback socket: httpx encodes, Starlette decodes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.platform.odata_batch import (
    BatchRequest,
    BatchResponse,
    ChangeSet,
    decode_batch_request,
    decode_batch_response,
    encode_batch_request,
    encode_batch_response,
)
from simulators.common.odata import ODataError, apply, parse_query
from simulators.common.server import BackgroundServer

ROWS: list[dict[str, Any]] = [
    {"@odata.etag": 'W/"1"', "name": "O'Brien & Co", "modifiedon": "2026-01-01T00:30:00Z", "qty": 5},
    {"@odata.etag": 'W/"2"', "name": "Acme+Sons", "modifiedon": "2026-01-01T02:00:00+02:00", "qty": 7},
    {"@odata.etag": 'W/"3"', "name": "Zeta", "modifiedon": "2025-12-31T22:00:00Z", "qty": None},
]


async def rows(request: Request) -> Response:
    try:
        query = parse_query(request.query_params, properties={"name", "modifiedon", "qty"}, type_name="T")
    except ODataError as error:
        return JSONResponse({"error": {"code": "", "message": error.message}}, status_code=400)
    page = apply(ROWS, query, page_size=2, offset=int(query.skiptoken or 0), keep=("@odata.etag",))
    return JSONResponse({"value": page.rows, "count": page.total, "next": page.next_skip})


async def batch(request: Request) -> Response:
    """Answer each request with its method, URL and body, keeping change sets nested."""

    def answer(item: BatchRequest) -> BatchResponse:
        echo = {"method": item.method, "url": item.url, "body": (item.body or b"").decode()}
        return BatchResponse(
            200, "OK", {"Content-Type": "application/json"}, json.dumps(echo).encode(), item.content_id
        )

    items = decode_batch_request(request.headers["content-type"], await request.body())
    answers = [
        [answer(r) for r in item.requests] if isinstance(item, ChangeSet) else answer(item) for item in items
    ]
    content_type, body = encode_batch_response(answers)
    return Response(body, headers={"Content-Type": content_type})


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    app = Starlette(routes=[Route("/rows", rows), Route("/$batch", batch, methods=["POST"])])
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url) as http:
        yield http


def names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return [row["name"] for row in body["value"]]


def test_offsets_quotes_and_ampersands_survive_the_query_string(client: httpx.Client) -> None:
    """A '+hh:mm' offset, a doubled quote and '&' inside a literal reach the engine intact."""
    params = {"$filter": "modifiedon gt 2026-01-01T00:00:00+00:00", "$orderby": "modifiedon desc"}
    assert names(client.get("/rows", params=params)) == ["O'Brien & Co"]
    assert names(client.get("/rows", params={"$filter": "name eq 'O''Brien & Co'"})) == ["O'Brien & Co"]
    assert names(client.get("/rows", params={"$filter": "name eq @n", "@n": "'Acme+Sons'"})) == ["Acme+Sons"]


def test_server_paging_through_the_skiptoken(client: httpx.Client) -> None:
    """Page size 2: the first page points at offset 2, the second page holds the rest."""
    first = client.get("/rows", params={"$orderby": "name", "$count": "true", "$select": "name"}).json()
    assert [row["name"] for row in first["value"]] == ["Acme+Sons", "O'Brien & Co"]
    assert first["value"][0] == {"@odata.etag": 'W/"2"', "name": "Acme+Sons"}
    assert (first["count"], first["next"]) == (3, 2)
    second = client.get("/rows", params={"$orderby": "name", "$skiptoken": str(first["next"])}).json()
    assert [row["name"] for row in second["value"]] == ["Zeta"]
    assert second["next"] is None


def test_a_bad_filter_is_a_400_with_the_message(client: httpx.Client) -> None:
    """ODataError becomes the simulator's 400 body."""
    response = client.get("/rows", params={"$filter": "NotAColumn eq 'x'"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "The property 'NotAColumn', used in a query expression, is not defined in type 'T'."
    )


def test_batch_round_trip_over_http(client: httpx.Client) -> None:
    """A batch encoded by the client codec is decoded by the server and its answer decoded back."""
    items: list[BatchRequest | ChangeSet] = [
        ChangeSet(
            [
                BatchRequest(
                    "POST", "CustomerOrderSet", {"Content-Type": "application/json"}, b'{"a":1}', "1"
                ),
                BatchRequest("POST", "$1/OrderLinesArray", {"If-Match": "$1"}, b'{"b":"x\r\ny"}', "2"),
            ]
        ),
        BatchRequest("GET", "CustomerOrderSet?$filter=OrderNo eq 'C1'", {"Accept": "application/json"}),
    ]
    content_type, body = encode_batch_request(items)
    response = client.post("/$batch", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 200
    change_set, read = decode_batch_response(response.headers["content-type"], response.content)
    assert isinstance(change_set, list)
    assert [(r.content_id, json.loads(r.body)) for r in change_set] == [
        ("1", {"method": "POST", "url": "CustomerOrderSet", "body": '{"a":1}'}),
        ("2", {"method": "POST", "url": "$1/OrderLinesArray", "body": '{"b":"x\r\ny"}'}),
    ]
    assert isinstance(read, BatchResponse)
    assert json.loads(read.body) == {
        "method": "GET",
        "url": "CustomerOrderSet?$filter=OrderNo eq 'C1'",
        "body": "",
    }
