"""Faults over real HTTP: 429 storms, 5xx, timeouts, dropped connections, retried as each request allows.

A lost answer (IFS did the work, the client timed out) is played by ``LoseAnswers``: a transport that
forwards the request to the simulator, reads and drops the answer, then raises ``httpx.ReadTimeout``, so no
test races a client timeout against a server delay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from shared.config import IfsSettings
from shared.ifs import batch
from shared.ifs.auth import IfsTokenProvider
from shared.ifs.batch import Atomic
from shared.ifs.client import IfsClient
from shared.ifs.errors import (
    IfsConflictError,
    IfsCreateOutcomeUnknownError,
    IfsInvalidRequestError,
    IfsRequestTimeoutError,
    IfsServerError,
    IfsThrottledError,
    IfsWriteOutcomeUnknownError,
)
from shared.ifs.query import Query
from shared.platform.retry import RetryPolicy, recording_waits
from simulators.common.admin_client import AdminClient
from simulators.ifs.app import IfsSimulator
from tests.integration.ifs.conftest import ifs_settings

ORDER = {"CustomerNo": "FR018", "Contract": "FR020", "CustomerPoNo": "D365-SO-RETRY"}
API = "/main/ifsapplications/projection/v1/*"
CAPTURED = {"OrderNo": "C1000000935"}  # a real captured order


class LoseAnswers(httpx.HTTPTransport):
    """Forwards every request; drops the answer to the first ``times`` ones of ``method`` and times out."""

    def __init__(self, method: str, times: int = 1) -> None:
        super().__init__()
        self.method, self.left = method, times

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == self.method and self.left > 0:
            self.left -= 1
            response.read()
            response.close()
            raise httpx.ReadTimeout("the answer was lost after IFS handled the request", request=request)
        return response


class RefuseFirst(httpx.HTTPTransport):
    """Refuses the first connection for ``method`` (nothing reaches IFS); forwards everything else."""

    def __init__(self, method: str) -> None:
        super().__init__()
        self.method, self.refused = method, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == self.method and not self.refused:
            self.refused += 1
            raise httpx.ConnectError("connection refused", request=request)
        return super().handle_request(request)


ClientWith = Callable[[httpx.BaseTransport], IfsClient]


@pytest.fixture
def client_with(settings: IfsSettings, tokens: IfsTokenProvider) -> Iterator[ClientWith]:
    """Builds IfsClients over a given transport (the token is fetched up front, outside the faults)."""
    tokens.token()
    opened: list[httpx.Client] = []

    def build(transport: httpx.BaseTransport) -> IfsClient:
        http = httpx.Client(transport=transport, timeout=10, trust_env=False)
        opened.append(http)
        return IfsClient.from_settings(http, settings, tokens, retry=RetryPolicy(attempts=4))

    yield build
    for http in opened:
        http.close()


@pytest.fixture
def planned(client: IfsClient, settings: IfsSettings) -> dict[str, str]:
    """The key of a new order, in state Planned (ready to be released)."""
    row, _ = client.create(settings.entities.orders, {**ORDER, "CustomerPoNo": "D365-SO-PLANNED"})
    return {"OrderNo": row["OrderNo"]}


def after_handling(status: int, method: str) -> dict[str, object]:
    """A fault plan: the next ``method`` request is handled by IFS, then answered ``status``."""
    return {
        "script": [{"kind": "error", "status": status, "after": True}],
        "paths": [API],
        "methods": [method],
    }


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
    assert row["NoteText"] != "x"
    assert len(waits) == 2


def test_a_guarded_update_failing_on_every_try_has_an_unknown_outcome(
    client: IfsClient, settings: IfsSettings, admin: AdminClient
) -> None:
    """503 on all four tries of a PATCH: any of them may have been applied, so the outcome is unknown."""
    _, etag = client.get(settings.entities.orders, CAPTURED)
    admin.set_faults({"script": [{"kind": "error", "status": 503, "times": 4}], "paths": [API]})
    with recording_waits() as waits, pytest.raises(IfsWriteOutcomeUnknownError) as caught:
        client.update(settings.entities.orders, CAPTURED, {"NoteText": "x"}, etag or "")
    assert len(waits) == 3
    assert caught.value.status == 503
    assert isinstance(caught.value.__cause__, IfsServerError)


def test_a_read_that_times_out_is_retried(client_with: ClientWith, settings: IfsSettings) -> None:
    """The first GET's answer is lost (read timeout); the retry gets the row."""
    client = client_with(LoseAnswers("GET"))
    with recording_waits() as waits:
        row, etag = client.get(settings.entities.orders, {"OrderNo": "C1000000933"})
    assert etag == row["@odata.etag"]
    assert len(waits) == 1
    assert client.requests_sent == 2


def test_a_create_that_times_out_is_not_duplicated(
    client_with: ClientWith, settings: IfsSettings, simulator: IfsSimulator
) -> None:
    """IFS stores the order but its answer is lost: no second POST; the lookup finds the one order."""
    impatient = client_with(LoseAnswers("POST"))
    with recording_waits() as waits, pytest.raises(IfsCreateOutcomeUnknownError, match="ReadTimeout"):
        impatient.create(settings.entities.orders, ORDER)
    assert waits == []
    assert impatient.requests_sent == 1
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
    assert "the create in CustomerOrderSet failed with 500" in str(caught.value)
    assert waits == []
    assert len(stored_with_po(simulator, ORDER["CustomerPoNo"])) == 1


def test_a_create_is_retried_when_nothing_reached_ifs(
    settings: IfsSettings, tokens: IfsTokenProvider, simulator: IfsSimulator
) -> None:
    """A refused connection is safe to retry even for a create: the second try goes through."""
    tokens.token()
    with (
        httpx.Client(transport=RefuseFirst("POST"), timeout=5, trust_env=False) as http,
        recording_waits() as waits,
    ):
        client = IfsClient.from_settings(http, settings, tokens, retry=RetryPolicy(attempts=3))
        row, _ = client.create(settings.entities.orders, ORDER)
    assert len(waits) == 1
    assert stored_with_po(simulator, ORDER["CustomerPoNo"]) == [row["OrderNo"]]


def test_an_update_applied_before_a_5xx_is_not_reported_as_a_conflict(
    client: IfsClient, settings: IfsSettings, admin: AdminClient
) -> None:
    """IFS saves the PATCH, then answers 502; the retry meets its own new ETag (412): outcome unknown."""
    orders = settings.entities.orders
    _, etag = client.get(orders, CAPTURED)
    admin.set_faults(after_handling(502, "PATCH"))
    with recording_waits(), pytest.raises(IfsWriteOutcomeUnknownError) as caught:
        client.update(orders, CAPTURED, {"NoteText": "saved once"}, etag or "")
    assert not isinstance(caught.value, IfsCreateOutcomeUnknownError)
    assert caught.value.status == 412
    assert caught.value.transient
    assert "the update of CustomerOrderSet {'OrderNo': 'C1000000935'} was refused with 412" in str(
        caught.value
    )
    assert client.get(orders, CAPTURED).row["NoteText"] == "saved once"


def test_an_update_whose_answer_was_lost_is_not_reported_as_a_conflict(
    client_with: ClientWith, settings: IfsSettings
) -> None:
    """IFS saves the PATCH but the answer is lost (timeout); the retry's 412 means: outcome unknown."""
    client = client_with(LoseAnswers("PATCH"))
    orders = settings.entities.orders
    _, etag = client.get(orders, CAPTURED)
    with recording_waits(), pytest.raises(IfsWriteOutcomeUnknownError):
        client.update(orders, CAPTURED, {"NoteText": "saved once"}, etag or "")
    assert client.requests_sent == 3  # the read, the lost PATCH, the refused retry
    assert client.get(orders, CAPTURED).row["NoteText"] == "saved once"


def test_a_412_after_a_try_that_never_left_is_a_conflict(
    client_with: ClientWith, settings: IfsSettings, simulator: IfsSimulator
) -> None:
    """A refused connection reached nothing, so the retry's 412 is a real conflict (someone else's edit)."""
    client = client_with(RefuseFirst("PATCH"))
    orders = settings.entities.orders
    _, etag = client.get(orders, CAPTURED)
    simulator.tenant.touch(simulator.tenant.of_table("CustomerOrder"), CAPTURED, {"NoteText": "user"})
    with recording_waits() as waits, pytest.raises(IfsConflictError):
        client.update(orders, CAPTURED, {"NoteText": "ours"}, etag or "")
    assert len(waits) == 1


def test_modify_reads_again_after_an_unknown_outcome(
    client: IfsClient, settings: IfsSettings, admin: AdminClient
) -> None:
    """modify(): the PATCH is saved but answered 502, the retry gets 412; the re-read shows it is done."""
    seen: list[str | None] = []

    def change(row: dict[str, object]) -> dict[str, object] | None:
        seen.append(row["NoteText"])  # type: ignore[arg-type]
        return None if row["NoteText"] == "wanted" else {"NoteText": "wanted"}

    admin.set_faults(after_handling(502, "PATCH"))
    with recording_waits():
        row, _ = client.modify(settings.entities.orders, CAPTURED, change)
    assert row["NoteText"] == "wanted"
    assert seen == [None, "wanted"]
    assert len(admin.requests(path="/main", method="PATCH")) == 2


def test_a_guarded_action_applied_before_a_5xx_is_an_unknown_outcome(
    client: IfsClient, settings: IfsSettings, admin: AdminClient, planned: dict[str, str]
) -> None:
    """Release is applied, then 503; the retry's 412 is reported as unknown, not as a conflict."""
    orders = settings.entities.orders
    _, etag = client.get(orders, planned)
    admin.set_faults(after_handling(503, "POST"))
    with recording_waits(), pytest.raises(IfsWriteOutcomeUnknownError) as caught:
        client.call_action(orders, planned, "CustomerOrder_ReleaseOrder", etag=etag or "")
    assert caught.value.status == 412
    assert "the action CustomerOrder_ReleaseOrder on CustomerOrderSet" in str(caught.value)
    assert client.get(orders, planned).row["Objstate"] == "Released"


def test_an_unguarded_action_is_not_repeated_after_a_5xx(
    client: IfsClient, settings: IfsSettings, admin: AdminClient, planned: dict[str, str]
) -> None:
    """With If-Match: * a repeat could act twice: one try only, and the error names the action."""
    orders = settings.entities.orders
    admin.set_faults(after_handling(500, "POST"))
    before = client.requests_sent
    with recording_waits() as waits, pytest.raises(IfsWriteOutcomeUnknownError) as caught:
        client.call_action(orders, planned, "CustomerOrder_ReleaseOrder", etag="*")
    assert client.requests_sent - before == 1
    assert client.get(orders, planned).row["Objstate"] == "Released"
    assert waits == []
    assert not isinstance(caught.value, IfsCreateOutcomeUnknownError)
    message = str(caught.value)
    assert "the action CustomerOrder_ReleaseOrder on CustomerOrderSet" in message
    assert "failed with 500 and may have been applied" in message
    assert "create" not in message


def test_a_writing_batch_is_not_repeated_after_a_5xx(
    client: IfsClient, settings: IfsSettings, admin: AdminClient
) -> None:
    """A batch of a guarded update is sent once; a 5xx is an unknown outcome worded for the batch."""
    orders = settings.entities.orders
    _, etag = client.get(orders, CAPTURED)
    admin.set_faults(after_handling(502, "POST"))
    before = client.requests_sent
    with recording_waits(), pytest.raises(IfsWriteOutcomeUnknownError) as caught:
        client.batch([Atomic((batch.update(orders, CAPTURED, {"NoteText": "batched"}, etag or ""),))])
    assert client.requests_sent - before == 1
    assert not isinstance(caught.value, IfsCreateOutcomeUnknownError)
    assert str(caught.value).startswith(
        "IFS 502 [ODP_SERVER_ERROR] the $batch of 1 operations failed with 502"
    )
    assert client.get(orders, CAPTURED).row["NoteText"] == "batched"


def test_a_batch_that_creates_raises_the_create_outcome_error(
    client: IfsClient, settings: IfsSettings, admin: AdminClient, simulator: IfsSimulator
) -> None:
    """An order with lines in one change set, answered 500 after it was stored: look it up, do not resend."""
    entities = settings.entities
    admin.set_faults(after_handling(500, "POST"))
    line = {"CatalogNo": "D0579K", "BuyQtyDue": 1}
    with recording_waits(), pytest.raises(IfsCreateOutcomeUnknownError):
        client.create_with_children(entities.orders, ORDER, entities.order_lines_navigation, [line])
    assert len(stored_with_po(simulator, ORDER["CustomerPoNo"])) == 1


def test_a_batch_of_reads_is_retried(client: IfsClient, settings: IfsSettings, admin: AdminClient) -> None:
    """Reads only: a 503 is retried like any read."""
    admin.set_faults({"script": [503], "paths": [API], "methods": ["POST"]})
    with recording_waits() as waits:
        [outcome] = client.batch([batch.read(settings.entities.orders, CAPTURED)])
    assert len(waits) == 1
    assert not isinstance(outcome, list)
    assert outcome.status == 200


def test_a_long_429_storm_is_cut_short_by_the_call_budget(
    client: IfsClient, settings: IfsSettings, admin: AdminClient
) -> None:
    """Retry-After 300 on every try: one wait fits the 300 s budget, then IfsThrottledError says 300 s."""
    client.find_by(settings.entities.orders, {"OrderNo": "C1000000933"})
    admin.set_faults({"script": [{"kind": "throttle", "retry_after": 300, "times": 10}], "paths": [API]})
    with recording_waits() as waits, pytest.raises(IfsThrottledError) as caught:
        client.get(settings.entities.orders, CAPTURED)
    assert waits == [300.0]  # not 3 x 300 s: the host would kill the invocation first
    assert (caught.value.retry_after, caught.value.transient) == (300.0, True)


def test_the_call_budget_comes_from_the_settings(
    http: httpx.Client, server_url: str, tokens: IfsTokenProvider, admin: AdminClient
) -> None:
    """CALL_BUDGET_SECONDS=60: waits of 40 s, one fits; a client whose timeout exceeds it is refused."""
    settings = ifs_settings(server_url, CALL_BUDGET_SECONDS="60")
    client = IfsClient.from_settings(http, settings, tokens)
    tokens.token()
    admin.set_faults({"script": [{"kind": "throttle", "retry_after": 40, "times": 10}], "paths": [API]})
    with recording_waits() as waits, pytest.raises(IfsThrottledError):
        client.get(settings.entities.orders, CAPTURED)
    assert waits == [40.0]
    with (
        httpx.Client(timeout=120, trust_env=False) as slow,
        pytest.raises(ValueError, match=r"call budget \(60 s, CALL_BUDGET_SECONDS\) is shorter"),
    ):
        IfsClient.from_settings(slow, settings, tokens)


def test_a_408_is_transient_for_reads(client: IfsClient, settings: IfsSettings, admin: AdminClient) -> None:
    """408 on every try of a GET: retried, then IfsRequestTimeoutError, transient (not parked)."""
    client.find_by(settings.entities.orders, {"OrderNo": "C1000000933"})
    admin.set_faults({"script": [{"kind": "error", "status": 408, "times": 4}], "paths": [API]})
    with recording_waits() as waits, pytest.raises(IfsRequestTimeoutError) as caught:
        client.get(settings.entities.orders, CAPTURED)
    assert len(waits) == 3
    assert caught.value.transient


def test_a_create_answered_408_has_an_unknown_outcome(
    client: IfsClient, settings: IfsSettings, admin: AdminClient, simulator: IfsSimulator
) -> None:
    """IFS stored the order, the answer was 408: like a 5xx, not resent and reported as unknown."""
    admin.set_faults(after_handling(408, "POST"))
    with recording_waits() as waits, pytest.raises(IfsCreateOutcomeUnknownError) as caught:
        client.create(settings.entities.orders, ORDER)
    assert (waits, caught.value.status) == ([], 408)
    assert len(stored_with_po(simulator, ORDER["CustomerPoNo"])) == 1


def test_a_header_httpx_refuses_is_not_sent_and_not_an_unknown_outcome(
    client: IfsClient, settings: IfsSettings, admin: AdminClient
) -> None:
    """An ETag holding CR/LF: httpx refuses the PATCH, nothing reaches IFS, and the error is permanent."""
    orders = settings.entities.orders
    client.get(orders, CAPTURED)
    before = len(admin.requests(path="/main", method="PATCH"))
    with recording_waits() as waits, pytest.raises(IfsInvalidRequestError) as caught:
        client.update(orders, CAPTURED, {"NoteText": "x"}, 'W/"1\r\nX-Injected: 1"')
    assert not isinstance(caught.value, IfsWriteOutcomeUnknownError)
    assert (caught.value.transient, caught.value.outcome_unknown, waits) == (False, False, [])
    assert len(admin.requests(path="/main", method="PATCH")) == before
