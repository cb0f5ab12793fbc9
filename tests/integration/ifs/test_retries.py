"""Faults over real HTTP: 429 storms, 5xx, timeouts, dropped connections, retried as each request allows."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from shared.config import IfsSettings
from shared.ifs.auth import IfsTokenProvider
from shared.ifs.client import IfsClient
from shared.ifs.errors import IfsCreateOutcomeUnknownError, IfsServerError, IfsThrottledError
from shared.ifs.query import Query
from shared.platform.retry import RetryPolicy, recording_waits
from simulators.common.admin_client import AdminClient
from simulators.ifs.app import IfsSimulator

ORDER = {"CustomerNo": "FR018", "Contract": "FR020", "CustomerPoNo": "D365-SO-RETRY"}
API = "/main/ifsapplications/projection/v1/*"


@pytest.fixture
def impatient(settings: IfsSettings, tokens: IfsTokenProvider) -> Iterator[IfsClient]:
    """A client that gives up reading a response after 0.25 s."""
    tokens.token()  # fetched up front so the token call never meets the faults under test
    with httpx.Client(timeout=httpx.Timeout(5, read=0.25)) as http:
        yield IfsClient.from_settings(http, settings, tokens, retry=RetryPolicy(attempts=4))


def stored_with_po(simulator: IfsSimulator, po: str) -> list[str]:
    orders = simulator.tenant.of_table("CustomerOrder")
    return [
        r.values["OrderNo"]
        for r in simulator.tenant.store.scan(orders.table)
        if r.values["CustomerPoNo"] == po
    ]


def test_a_429_storm_is_ridden_out_honouring_retry_after(
    client: IfsClient, settings: IfsSettings, admin: AdminClient
) -> None:
    """Three 429s with Retry-After: 7, then success: waited 7 s three times (recorded, not slept)."""
    client.find_by(settings.entities.orders, {"OrderNo": "C1000000933"})  # token fetched before the storm
    admin.set_faults({"script": [{"kind": "throttle", "retry_after": 7, "times": 3}], "paths": [API]})
    before = client.requests_sent
    with recording_waits() as waits:
        rows = list(client.iter_rows(settings.entities.orders, Query(select=("OrderNo",), top=5)))
    assert len(rows) == 5
    assert waits == [7.0, 7.0, 7.0]
    assert client.requests_sent - before == 4
    assert [r["status"] for r in admin.requests(path="/main")][-4:] == [429, 429, 429, 200]


def test_a_storm_longer_than_the_retry_budget_raises_transient(
    client: IfsClient, settings: IfsSettings, admin: AdminClient
) -> None:
    """Past the attempts the client gives up with IfsThrottledError, marked transient for the queue."""
    client.find_by(settings.entities.orders, {"OrderNo": "C1000000933"})
    admin.set_faults({"script": [{"kind": "throttle", "retry_after": 1, "times": 10}], "paths": [API]})
    with recording_waits() as waits, pytest.raises(IfsThrottledError) as caught:
        client.get(settings.entities.orders, {"OrderNo": "C1000000933"})
    assert caught.value.transient
    assert caught.value.code == "ODP_TOO_MANY_REQUESTS"
    assert len(waits) == 3


def test_server_errors_on_guarded_writes_are_retried(
    client: IfsClient, settings: IfsSettings, admin: AdminClient
) -> None:
    """503 then 502 on a PATCH with If-Match: retried with backoff, applied once."""
    row, etag = client.get(settings.entities.orders, {"OrderNo": "C1000000935"})
    admin.set_faults({"script": [503, 502], "paths": [API], "methods": ["PATCH"]})
    with recording_waits() as waits:
        updated, new_etag = client.update(
            settings.entities.orders, {"OrderNo": "C1000000935"}, {"NoteText": "x"}, etag or ""
        )
    assert updated["NoteText"] == "x"
    assert new_etag != etag
    assert len(waits) == 2
    assert row["OrderNo"] == "C1000000935"


def test_a_read_that_times_out_is_retried(
    impatient: IfsClient, settings: IfsSettings, admin: AdminClient
) -> None:
    """The first GET is held back 0.6 s (client gives up at 0.25 s); the retry gets the row."""
    admin.set_faults({"script": [{"kind": "latency", "latency_ms": 600}], "paths": [API]})
    with recording_waits() as waits:
        row, etag = impatient.get(settings.entities.orders, {"OrderNo": "C1000000933"})
    assert etag == row["@odata.etag"]
    assert len(waits) == 1


def test_a_create_that_times_out_is_not_duplicated(
    impatient: IfsClient, settings: IfsSettings, admin: AdminClient, simulator: IfsSimulator
) -> None:
    """IFS stores the order but answers too late: no second POST; the lookup finds the one order."""
    admin.action("respond_late", {"seconds": 0.6, "methods": ["POST"]})
    before = impatient.requests_sent
    with recording_waits() as waits, pytest.raises(IfsCreateOutcomeUnknownError):
        impatient.create(settings.entities.orders, ORDER)
    assert waits == []
    assert impatient.requests_sent - before == 1
    [order_no] = stored_with_po(simulator, ORDER["CustomerPoNo"])
    (row, etag), created = impatient.create_unique(
        settings.entities.orders, ORDER, unique_on=("CustomerPoNo",)
    )
    assert (row["OrderNo"], created) == (order_no, False)
    assert etag == row["@odata.etag"]
    assert stored_with_po(simulator, ORDER["CustomerPoNo"]) == [order_no]


def test_create_unique_recovers_from_an_unknown_outcome(
    client: IfsClient, settings: IfsSettings, admin: AdminClient, simulator: IfsSimulator
) -> None:
    """The connection drops after IFS stored the order: create_unique finds it and reports it created."""
    admin.set_faults({"script": [{"kind": "drop", "after": True}], "paths": [API], "methods": ["POST"]})
    with recording_waits() as waits:
        (row, _), created = client.create_unique(settings.entities.orders, ORDER, unique_on=("CustomerPoNo",))
    assert created
    assert waits == []
    assert stored_with_po(simulator, ORDER["CustomerPoNo"]) == [row["OrderNo"]]


def test_a_5xx_on_create_is_not_retried(
    client: IfsClient, settings: IfsSettings, admin: AdminClient, simulator: IfsSimulator
) -> None:
    """IFS stored the order and then failed: the client must not POST again, and says so."""
    admin.set_faults(
        {"script": [{"kind": "error", "status": 500, "after": True}], "paths": [API], "methods": ["POST"]}
    )
    with recording_waits() as waits, pytest.raises(IfsCreateOutcomeUnknownError) as caught:
        client.create(settings.entities.orders, ORDER)
    assert caught.value.status == 500
    assert isinstance(caught.value.__cause__, IfsServerError)
    assert waits == []
    assert len(stored_with_po(simulator, ORDER["CustomerPoNo"])) == 1


def test_a_create_is_retried_when_nothing_reached_ifs(
    settings: IfsSettings, tokens: IfsTokenProvider, simulator: IfsSimulator
) -> None:
    """A refused connection is safe to retry even for a create: the second try goes through."""
    tokens.token()
    attempts: list[int] = []

    class RefuseOnce(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            attempts.append(1)
            if len(attempts) == 1:
                raise httpx.ConnectError("connection refused", request=request)
            return super().handle_request(request)

    with httpx.Client(transport=RefuseOnce(), timeout=5) as http, recording_waits() as waits:
        client = IfsClient.from_settings(http, settings, tokens, retry=RetryPolicy(attempts=3))
        row, _ = client.create(settings.entities.orders, ORDER)
    assert len(waits) == 1
    assert stored_with_po(simulator, ORDER["CustomerPoNo"]) == [row["OrderNo"]]
