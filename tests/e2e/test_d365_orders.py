"""Dynamics → IFS through function_app.py under devhost, Azurite and the simulators.

A salesperson (their own Dataverse user) quotes and books orders in the Dataverse simulator; Dataverse
delivers its webhooks through a loopback gateway (``devhost.gateway``, with the simulators' fault plan) to
devhost's webhook function, whose queue worker makes the IFS order. Tests assert on the IFS simulator's
rows, the Dataverse simulator's and the audit trail, never on how long anything took.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from devhost.d365_scenario import Line
from devhost.host import LocalHost
from shared.dataverse.actions import DataverseActions
from shared.dataverse.webhook import Entity
from shared.state.idmap import IdMap
from shared.state.subscriptions import SubscriptionRepository
from simulators.dataverse.remote_context import new_context, webhook_delivery
from tests.e2e.d365_world import WEBHOOK, World, world

pytestmark = pytest.mark.azurite
__all__ = ["world"]  # the fixture


def test_a_converted_quote_becomes_one_ifs_order_with_its_lines_and_number(world: World) -> None:
    """ConvertQuoteToSalesOrder ends as exactly one IFS order, lines as agreed, its number on the order."""
    first, second = world.scenario.catalog(count=2)
    account = world.scenario.account()
    quote = world.sam.quote(account, [Line(first, 2, 100.0, 20.0), Line(second, 1, 55.5)])
    order = world.sam.convert(quote)
    world.deliver()
    ifs_order = world.ifs_order(order)
    assert (ifs_order["CustomerNo"], ifs_order["Contract"], ifs_order["Objstate"]) == (
        account,
        "MFG10",
        "Planned",
    )
    assert ifs_order["WantedDeliveryDate"] == "2026-03-02T00:00:00Z"
    lines = ifs_order["lines"]
    assert [(ln["CatalogNo"], ln["BuyQtyDue"], ln["SaleUnitPrice"], ln["Discount"]) for ln in lines] == [
        (first, 2, 100.0, 10.0),
        (second, 1, 55.5, 0.0),
    ]
    assert {ln["PriceFreeze"] for ln in lines} == {"Frozen"}  # the agreed price, not IFS's list price
    assert world.dynamics_order(order["salesorderid"])["ifs_ordernumber"] == ifs_order["OrderNo"]
    # The IFS → Dynamics orders flow finds this Dynamics order through the id map, never makes a second one.
    idmap = IdMap(world.scenario.d365.storage.tables)
    assert idmap.target_id("orders", ifs_order["OrderNo"]) == order["salesorderid"]
    assert world.audit(order["salesorderid"]) == ["created"]


def test_a_retried_delivery_is_recognised_by_its_operation_not_its_request(world: World) -> None:
    """The front end answers 503 after the function queued the event: Dataverse's retry is a duplicate."""
    world.gateway.set_faults(
        {"script": [{"kind": "error", "status": 503, "after": True}], "methods": ["POST"]}
    )
    order = world.converted()
    world.deliver()
    [delivery] = [d for d in world.deliveries() if d["message"] == "Create"]
    assert delivery["statuses"] == [503, 200]  # accepted (and queued) first; the retry: "duplicate"
    world.ifs_order(order)
    assert world.audit(order["salesorderid"]) == ["created"]


def test_a_delivery_that_failed_before_the_function_is_accepted_on_the_retry(world: World) -> None:
    """503 before the function saw it: nothing was queued, the retry is accepted."""
    world.gateway.set_faults({"script": [503], "methods": ["POST"]})
    order = world.converted()
    world.deliver()
    [delivery] = [d for d in world.deliveries() if d["message"] == "Create"]
    assert delivery["statuses"] == [503, 202]
    world.ifs_order(order)


def test_a_webhook_outage_is_healed_by_the_reconciliation_poll_once(world: World) -> None:
    """500s are not retried by Dataverse: the orders are lost to the webhook; the poll finds each, once."""
    world.gateway.set_faults({"rates": {"error": 1.0}, "error_status": 500, "methods": ["POST"]})
    orders = [world.converted(lines=1) for _ in range(3)]
    world.deliver()
    assert all(world.scenario.ifs_orders(o["ordernumber"]) == [] for o in orders)
    assert {d["error"] for d in world.deliveries()} == {"0x80050201"}  # failed system jobs, not retried
    world.gateway.clear_faults()
    assert world.host.fire_timer("reconcile_d365_orders")
    assert world.host.drain(timeout=120)
    assert world.host.fire_timer("reconcile_d365_orders")  # a second poll finds nothing left to do
    assert world.host.drain(timeout=120)
    for order in orders:
        world.ifs_order(order)
        assert world.audit(order["salesorderid"]) == ["created"]


def test_an_order_entered_directly_goes_when_it_is_submitted(world: World) -> None:
    """Active: not sent; submitted: one IFS order."""
    part = world.scenario.catalog(count=1)[0]
    order_id = world.sam.order(world.scenario.account(), [Line(part, 3, 12.5)])
    number = world.dynamics_order(order_id)["ordernumber"]
    world.deliver()
    assert world.scenario.ifs_orders(number) == []
    world.sam.submit(order_id)
    world.deliver()
    [ifs_order] = world.scenario.ifs_orders(number)
    assert [(ln["CatalogNo"], ln["BuyQtyDue"]) for ln in ifs_order["lines"]] == [(part, 3)]
    assert world.dynamics_order(order_id)["ifs_ordernumber"] == ifs_order["OrderNo"]


def test_fulfilling_in_dynamics_releases_the_ifs_order(world: World) -> None:
    """A person fulfils: the IFS order, still Planned, is released; a second request has nothing to do."""
    order = world.converted()
    world.deliver()
    world.sam.fulfil(uuid.UUID(order["salesorderid"]))
    world.deliver()
    assert world.ifs_order(order)["Objstate"] == "Released"
    assert world.audit(order["salesorderid"]) == ["created", "fulfil_requested", "unchanged"]


def test_a_concurrent_ifs_edit_is_read_again_and_the_release_applied(world: World) -> None:
    """Someone edits the IFS order between the worker's read and its release: 412, read again, released."""
    order = world.converted()
    world.deliver()
    number = world.ifs_order(order)["OrderNo"]
    world.scenario.admin("ifs").action(
        "touch_after_read",
        {
            "entity_set": "CustomerOrderSet",
            "key": {"OrderNo": number},
            "changes": {"NoteText": "edited in IFS"},
        },
    )
    mark = max(int(r["seq"]) for r in world.scenario.admin("ifs").requests())
    world.sam.fulfil(uuid.UUID(order["salesorderid"]))
    world.deliver()
    released = world.ifs_order(order)
    assert (released["Objstate"], released["NoteText"]) == ("Released", "edited in IFS")
    actions = [r["status"] for r in world.scenario.admin("ifs").requests(since=mark, method="POST")]
    assert actions == [412, 204]


def test_the_connectors_own_fulfilment_is_ignored(world: World) -> None:
    """The IFS → Dynamics flow fulfils orders as the connector's user: no request goes back to IFS."""
    order = world.converted()
    world.deliver()
    DataverseActions(world.scenario.runtime.dataverse).fulfill_order(uuid.UUID(order["salesorderid"]))
    world.deliver()
    assert world.ifs_order(order)["Objstate"] == "Planned"
    assert world.audit(order["salesorderid"]) == ["created"]


def test_cancelling_asks_ifs_which_may_refuse(world: World) -> None:
    """Cancelled in Dynamics: IFS cancels a Planned order, refuses a Reserved one (parked, IFS's reason)."""
    planned, reserved = world.converted(), world.converted()
    world.deliver()
    number = world.ifs_order(reserved)["OrderNo"]
    world.scenario.admin("ifs").action(
        "touch",
        {"entity_set": "CustomerOrderSet", "key": {"OrderNo": number}, "changes": {"Objstate": "Reserved"}},
    )
    world.sam.cancel(uuid.UUID(planned["salesorderid"]))
    world.sam.cancel(uuid.UUID(reserved["salesorderid"]))
    world.deliver()
    assert world.ifs_order(planned)["Objstate"] == "Cancelled"
    assert world.ifs_order(reserved)["Objstate"] == "Reserved"
    parked = world.scenario.runtime.storage.parked.get("d365_orders", reserved["salesorderid"])
    assert parked is not None
    assert parked.error_class == "ifs_refused"
    assert f"Customer order {number} is Reserved" in parked.message


def test_a_quote_that_came_from_an_ifs_quotation_is_converted_there(world: World) -> None:
    """The IFS quotation becomes the order through its conversion action, and is Won; none stays open."""
    tenant = world.scenario.stack.ifs.tenant
    quotations = tenant.of_table("OrderQuotation")
    quotation = next(
        r.values
        for r in sorted(quotations.table.rows.values(), key=lambda r: r.values["QuotationNo"])
        if r.values["Objstate"] == "Released"
    )
    order = world.converted(lines=1)
    quote_id = world.scenario.runtime.dataverse.get(
        "salesorders", uuid.UUID(order["salesorderid"]), select=["_quoteid_value"]
    )
    assert quote_id is not None
    IdMap(world.scenario.d365.storage.tables).link(
        "quotations", quotation["QuotationNo"], quote_id["_quoteid_value"]
    )
    world.deliver()
    made = world.ifs_order(order)
    assert made["QuotationNo"] == quotation["QuotationNo"]
    quoted = [
        r
        for r in tenant.of_table("OrderQuotationLine").table.rows.values()
        if r.values["QuotationNo"] == quotation["QuotationNo"]
    ]
    assert len(made["lines"]) == len(quoted)
    assert quotations.table.rows[(quotation["QuotationNo"],)].values["Objstate"] == "Won"
    assert world.dynamics_order(order["salesorderid"])["ifs_ordernumber"] == made["OrderNo"]


def test_refusals_through_the_function_app(world: World) -> None:
    """Unauthenticated 401, malformed 400 with its reason, oversized 413: straight to devhost."""
    url = f"{world.host.url}{WEBHOOK}"
    headers = {"x-connector-webhook-secret": world.scenario.values["D365_WEBHOOK_SECRET"]}
    assert httpx.post(url, content=b"{}", timeout=30).status_code == 401
    malformed = httpx.post(url, content=b"{not json", headers=headers, timeout=30)
    assert malformed.status_code == 400
    assert "not a Dataverse webhook request" in malformed.json()["reason"]
    assert httpx.post(url, content=b"x" * (1024 * 1024 + 1), headers=headers, timeout=30).status_code == 413


def test_a_trimmed_payload_makes_the_worker_read_the_order(world: World) -> None:
    """Over 256 KB Dataverse drops the Target: the webhook queues the ids, the worker reads the order."""
    world.gateway.set_faults({"rates": {"error": 1.0}, "error_status": 500, "methods": ["POST"]})
    order = world.converted()
    world.deliver()  # Dataverse's own delivery failed (500 is not retried): nothing reached the function
    assert world.scenario.ifs_orders(order["ordernumber"]) == []
    me = world.scenario.runtime.dataverse.who_am_i()
    order_id = uuid.UUID(order["salesorderid"])
    big = Entity("salesorder", order_id, attributes={"description": "x" * 300_000})
    context = new_context(
        message_name="Create",
        primary_entity_name="salesorder",
        primary_entity_id=order_id,
        target=big,
        organization_id=me.organization_id,
    )
    delivery = webhook_delivery(context, organization="org.crm.dynamics.com")
    assert delivery.size_exceeded
    headers = dict(delivery.headers) | {
        "x-connector-webhook-secret": world.scenario.values["D365_WEBHOOK_SECRET"]
    }
    reply = httpx.post(f"{world.host.url}{WEBHOOK}", content=delivery.body, headers=headers, timeout=30)
    assert reply.status_code == 202
    assert world.host.drain(timeout=120)
    assert len(world.ifs_order(order)["lines"]) == 2


def test_the_admin_function_provisions_with_the_master_key_only(world: World) -> None:
    """POST /api/manage/provision: 401 without the master key; with it, what the command does, idempotent."""
    registered = SubscriptionRepository(world.scenario.d365.storage.tables).get("ifs-connector")
    assert registered is not None  # the fixture registered the gateway's URL
    url = registered.endpoint_url
    keyed = world.scenario.values | {
        "DEVHOST_CHECK_KEYS": "true",
        "DEVHOST_MASTER_KEY": "master-key-of-this-test",
        "D365_WEBHOOK_URL": url,
    }
    with LocalHost(settings=keyed) as host:
        assert httpx.post(f"{host.url}/api/manage/provision", timeout=60).status_code == 401
        answer = httpx.post(
            f"{host.url}/api/manage/provision",
            headers={"x-functions-key": "master-key-of-this-test"},
            timeout=60,
        )
    assert answer.status_code == 200
    body = answer.json()
    assert body["changed"] == []  # the fixture provisioned the same already
    assert "ifs-connector: Create of salesorder" in body["steps"]
    assert {k["key"] for k in body["keys"]} == {
        "ifs_accountnumber", "ifs_productnumber", "ifs_key_ordernumber", "ifs_key_salesorderid_linekey",
        "ifs_key_revisionnumber_quotationno", "ifs_key_quoteid_linekey",
    }  # fmt: skip
