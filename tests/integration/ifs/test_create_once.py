"""Exactly-once creates in IFS: the lease in Azurite against the IFS simulator's late commits.

``commit_late`` (the simulators' fault) plays what the look-up-then-create path could not survive: IFS
commits a create only after the client gave up *and* after its look-ups, just before the request
``after_requests`` later. The connector's clock (``client_clock``) is separate from the simulator's, so a
test moves the lease's deadline without expiring the token the held request carries.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.config import IfsSettings
from shared.ifs.auth import IfsTokenProvider
from shared.ifs.client import IfsClient
from shared.ifs.entities import EntitySet
from shared.ifs.errors import (
    IfsBadRequestError,
    IfsCreateOutcomeUnknownError,
    IfsDuplicateRowsError,
    IfsThrottledError,
)
from shared.platform.retry import RetryPolicy, recording_waits
from shared.state.leases import CreateLeaseRepository
from shared.state.tables import StateTables
from shared.sync.ifs_create import (
    CreatedRowMissingError,
    CreateOutcome,
    CreatePendingError,
    DuplicateRowsError,
    create_once,
)
from shared.sync.ports import CreateLeases, IfsRowCreator
from simulators.common.admin_client import AdminClient
from simulators.common.clock import SimClock
from simulators.ifs.app import IfsSimulator
from tests.integration.ifs.conftest import ifs_settings

pytestmark = pytest.mark.azurite

API = "/main/ifsapplications/projection/v1/*"
PO = "D365-SO-ONCE"
ORDER = {"CustomerNo": "FR018", "Contract": "FR020", "CustomerPoNo": PO}
REFERENCE = f"CustomerPoNo={PO}"


def late_commit(after_requests: int) -> dict[str, Any]:
    """The next POST: the gateway answers 504; IFS commits it before the ``after_requests``-th request."""
    step = {"kind": "commit_late", "status": 504, "after_requests": after_requests}
    return {"script": [step], "paths": [API], "methods": ["POST"]}


def on_post(*steps: Any) -> dict[str, Any]:
    return {"script": list(steps), "paths": [API], "methods": ["POST"]}


@dataclass
class Stack:
    """The IFS simulator, a warmed-up client, the lease table and the connector's clock."""

    client: IfsClient
    leases: CreateLeaseRepository
    settings: IfsSettings
    clock: SimClock
    admin: AdminClient
    simulator: IfsSimulator

    def stored(self) -> list[str]:
        """The numbers of the orders carrying the test's reference, as IFS holds them."""
        orders = self.simulator.tenant.of_table("CustomerOrder")
        rows = self.simulator.tenant.store.scan(orders.table)
        return sorted(r.values["OrderNo"] for r in rows if r.values["CustomerPoNo"] == PO)

    def posts(self) -> int:
        """POSTs that reached the simulator."""
        return len(self.admin.requests(path="/main", method="POST"))

    def worker(self, holder: str = "worker-1", **settings: str) -> Worker:
        chosen = ifs_settings(self.settings.base_url, **settings) if settings else self.settings
        return Worker(self.client, self.leases, chosen, self.clock, holder)


@dataclass
class Worker:
    """One queue worker creating orders through ``create_once``."""

    client: IfsClient
    leases: CreateLeaseRepository
    settings: IfsSettings
    clock: SimClock
    holder: str

    def deliver(self, body: dict[str, Any] = ORDER) -> CreateOutcome:
        """One delivery of the message that creates ``body``."""
        with recording_waits():
            return create_once(
                self.client,
                self.leases,
                self.settings.entities.orders,
                body,
                unique_on=("CustomerPoNo",),
                holder=self.holder,
                clock=self.clock.now_datetime,
                pending_seconds=self.settings.create_pending_seconds,
            )


@pytest.fixture
def leases(azurite_connection_string: str, unique_name: str) -> CreateLeaseRepository:
    return CreateLeaseRepository(StateTables.from_connection_string(azurite_connection_string, unique_name))


@pytest.fixture
def stack(  # noqa: PLR0917 - one fixture gathering the others
    client: IfsClient,
    tokens: IfsTokenProvider,
    settings: IfsSettings,
    client_clock: SimClock,
    admin: AdminClient,
    simulator: IfsSimulator,
    leases: CreateLeaseRepository,
) -> Stack:
    tokens.token()  # fetched up front: the simulator's request counts then see only API calls
    return Stack(client, leases, settings, client_clock, admin, simulator)


def test_the_adapters_satisfy_the_ports(stack: Stack) -> None:
    """IfsClient is an IfsRowCreator and the lease repository a CreateLeases, structurally."""
    creator: IfsRowCreator[EntitySet] = stack.client
    store: CreateLeases = stack.leases
    assert (creator, store) == (stack.client, stack.leases)


def test_a_late_commit_defeats_look_up_then_create(stack: Stack) -> None:
    """The bug: IFS commits after both look-ups; the redelivery POSTs again; two orders, then 'duplicate'."""
    orders, client = stack.settings.entities.orders, stack.client
    stack.admin.set_faults(late_commit(after_requests=3))  # look-up, redelivery's look-up, its POST
    with recording_waits(), pytest.raises(IfsCreateOutcomeUnknownError):
        client.create_unique(orders, ORDER, unique_on=("CustomerPoNo",))
    assert stack.stored() == []
    with recording_waits():
        client.create_unique(orders, ORDER, unique_on=("CustomerPoNo",))
    twice = stack.stored()
    assert len(twice) == 2
    with pytest.raises(IfsDuplicateRowsError) as caught:
        client.create_unique(orders, ORDER, unique_on=("CustomerPoNo",))
    assert sorted(key["OrderNo"] for key in caught.value.keys) == twice


def test_a_late_commit_is_waited_for_and_never_posted_twice(stack: Stack) -> None:
    """Same fault through create_once: deliveries wait on the lease; one POST, one order, found later."""
    worker = stack.worker()
    stack.admin.set_faults(late_commit(after_requests=3))  # look-up, next delivery's, the third's
    with pytest.raises(CreatePendingError) as first:
        worker.deliver()
    assert (first.value.transient, first.value.retry_after) == (True, 30.0)
    stack.clock.advance(30)
    with pytest.raises(CreatePendingError):
        worker.deliver()
    assert (stack.stored(), stack.posts()) == ([], 1)
    stack.clock.advance(30)
    outcome = worker.deliver()
    [order_no] = stack.stored()
    assert (outcome.row["OrderNo"], outcome.created, stack.posts()) == (order_no, True, 1)
    lease = stack.leases.get("CustomerOrderSet", REFERENCE)
    assert lease is not None
    assert (lease.created_key, lease.holder) == ({"OrderNo": order_no}, "worker-1")
    assert worker.deliver().row["OrderNo"] == order_no  # every later delivery finds that one order
    assert (stack.stored(), stack.posts()) == ([order_no], 1)


def test_a_create_that_never_committed_is_sent_again_after_the_deadline(stack: Stack) -> None:
    """A 504 without a commit: nothing is resent for 10 minutes; after the deadline, one more POST."""
    worker = stack.worker()
    stack.admin.set_faults(on_post(504))
    with pytest.raises(CreatePendingError):
        worker.deliver()
    stack.clock.advance(599)
    with pytest.raises(CreatePendingError) as waiting:
        worker.deliver()
    assert waiting.value.retry_after == 1.0  # what is left of the deadline
    assert stack.posts() == 1
    stack.clock.advance(1)
    outcome = worker.deliver()
    assert (stack.stored(), outcome.created, stack.posts()) == ([outcome.row["OrderNo"]], True, 2)


def test_the_deadline_comes_from_the_settings(stack: Stack) -> None:
    """IFS_CREATE_PENDING_SECONDS=900: still waiting after 600 s."""
    worker = stack.worker(IFS_CREATE_PENDING_SECONDS="900")
    stack.admin.set_faults(on_post(504))
    with pytest.raises(CreatePendingError):
        worker.deliver()
    stack.clock.advance(600)
    with pytest.raises(CreatePendingError) as waiting:
        worker.deliver()
    assert waiting.value.deadline - waiting.value.lease.posted_at == timedelta(seconds=900)
    assert stack.posts() == 1


def test_a_client_that_times_out_waits_for_the_commit(stack: Stack, tokens: IfsTokenProvider) -> None:
    """The real timeout: no answer at all, the client gives up, IFS commits later; still one order."""
    stack.admin.set_faults(on_post({"kind": "commit_late", "after_requests": 2}))  # not before the look-up
    with httpx.Client(timeout=0.5, trust_env=False) as impatient:
        client = IfsClient.from_settings(impatient, stack.settings, tokens, retry=RetryPolicy(attempts=2))
        worker = Worker(client, stack.leases, stack.settings, stack.clock, "worker-1")
        with pytest.raises(CreatePendingError) as pending:
            worker.deliver()
        assert isinstance(pending.value.__cause__, IfsCreateOutcomeUnknownError)
        found: list[str] = []
        for _ in range(5):  # deliveries until the commit has landed: each one looks the order up
            stack.clock.advance(30)
            try:
                found.append(worker.deliver().row["OrderNo"])
                break
            except CreatePendingError:
                continue
    assert stack.stored() == found
    assert stack.posts() == 1


def test_racing_workers_create_one_order(stack: Stack) -> None:
    """Six workers deliver the same order at once: one POST; the others wait or find it."""
    workers = [stack.worker(holder=f"worker-{n}") for n in range(6)]

    def deliver(worker: Worker) -> str:
        try:
            return str(worker.deliver().row["OrderNo"])
        except CreatePendingError:
            return "pending"

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(deliver, workers))
    [order_no] = stack.stored()
    assert set(results) <= {order_no, "pending"}
    assert order_no in results
    assert stack.posts() == 1


def test_two_matching_orders_are_a_duplicate_naming_both(stack: Stack) -> None:
    """Two orders already carry the reference: DuplicateRowsError with both keys, and no POST."""
    for _ in range(2):
        stack.admin.action("create", {"entity_set": "CustomerOrderSet", "values": ORDER})
    with pytest.raises(DuplicateRowsError) as caught:
        stack.worker().deliver()
    assert sorted(key["OrderNo"] for key in caught.value.keys) == stack.stored()
    assert caught.value.transient is False
    assert stack.posts() == 0


def test_an_order_entered_in_ifs_is_found_not_created(stack: Stack) -> None:
    """A matching order that existed before: returned, created False, no POST."""
    existing = stack.admin.action("create", {"entity_set": "CustomerOrderSet", "values": ORDER})
    outcome = stack.worker().deliver()
    assert (outcome.row["OrderNo"], outcome.created, stack.posts()) == (existing["OrderNo"], False, 0)


def test_a_refused_create_releases_the_lease(stack: Stack) -> None:
    """IFS refuses an unknown customer (400): raised, and the corrected order is created at once."""
    worker = stack.worker()
    with pytest.raises(IfsBadRequestError):
        worker.deliver(ORDER | {"CustomerNo": "NOPE"})
    assert stack.leases.get("CustomerOrderSet", REFERENCE) is None
    outcome = worker.deliver()
    assert stack.stored() == [outcome.row["OrderNo"]]


def test_a_throttled_create_is_retried_later_with_its_delay(stack: Stack) -> None:
    """A 429 means IFS did not take it: the lease is released; the error says to try after 60 s."""
    worker = stack.worker()
    stack.admin.set_faults(on_post({"kind": "throttle", "retry_after": 60}))
    with pytest.raises(IfsThrottledError) as caught:
        worker.deliver()
    assert (caught.value.transient, caught.value.retry_after) == (True, 60.0)
    assert worker.deliver().created
    assert len(stack.stored()) == 1


def test_an_order_deleted_after_its_creation_is_not_created_again(stack: Stack) -> None:
    """The lease knows the order was created; it is gone now: CreatedRowMissingError, not a new order."""
    worker = stack.worker()
    created = worker.deliver()
    stack.admin.action(
        "delete", {"entity_set": "CustomerOrderSet", "key": {"OrderNo": created.row["OrderNo"]}}
    )
    with pytest.raises(CreatedRowMissingError, match=created.row["OrderNo"]):
        worker.deliver()
    assert stack.stored() == []
    assert stack.posts() == 1
