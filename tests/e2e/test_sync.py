"""IFS → Dynamics through function_app.py under devhost, Azurite and every simulator; then under faults.

The timers poll IFS, the queue workers write Dataverse, exactly as in Azure. One business scenario — an
initial load (orders and quotations included), then a new customer, a credit-limit change, a new ship-to
address, a customer id that cannot be a key value, a renamed part and a price change; a new order with
lines, a line added, a quantity changed, a line removed, orders released, delivered, invoiced and
cancelled, a quotation won and one revised — is asserted on the Dataverse simulator's rows (headers, every
line, the totals Dataverse computes, states), then run again on fresh simulators with 429 storms, 5xx,
dropped connections and expired tokens on both sides: it must end in the same Dataverse state, nothing lost
(every mapped column), nothing duplicated (row counts), nothing poisoned or parked, and ``reconcile`` of
every entity finding nothing missing or different. Neither run writes a
secret, a token or a customer's personal data (name, address) into any log line or audit row
(``tests/e2e/leaks.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from devhost.host import LocalHost
from devhost.scenario import SyncScenario, scenario_settings
from shared.ops.runtime import operations
from shared.platform.retry import recording_waits
from simulators.common.tls import loopback_certificate
from simulators.stack import running_simulators
from tests.e2e.leaks import audit_lines, captured_logs, leaks, sensitive
from tests.e2e.sample import host_settings
from tests.integration.sync.documents_oracle import (
    assert_orders_in_step,
    assert_quotes_in_step,
    documents_snapshot,
)
from tests.integration.sync.oracle import (
    assert_in_step,
    assert_products_in_step,
    ifs,
    ifs_rows,
    parts,
    snapshot,
)

pytestmark = pytest.mark.azurite

POLLS = ("poll_customers", "poll_sales_parts", "poll_orders", "poll_quotations")
QUEUES = ("customers", "sales-parts", "orders", "quotations")
RATES = {"throttle": 0.15, "error": 0.1, "drop": 0.05}
FAULTS_IFS = {"rates": RATES, "seed": 11, "paths": ["/main/*"], "retry_after_seconds": 1}
FAULTS_DATAVERSE = {"rates": RATES, "seed": 13, "paths": ["/api/data/*"], "retry_after_seconds": 1}
IN_STEP_ZERO = ("missing_in_dataverse", "missing_in_ifs", "differs", "cannot_be_planned")  # reconcile


def business_day(scenario: SyncScenario, host: LocalHost, *, faults: bool) -> None:
    """Initial load, then a day's changes in IFS, each polled and worked through the function app."""

    def cycle() -> None:
        for poll in POLLS:
            host.fire_timer(poll)  # under faults a poll may fail; the next one detects the same changes
        assert host.drain(timeout=120)

    if faults:
        scenario.admin("ifs").set_faults(FAULTS_IFS)
        scenario.admin("dataverse").set_faults(FAULTS_DATAVERSE)
        scenario.stack.identity.entra.token_lifetime = 60  # Entra tokens for Dataverse that expire mid-run
    cycle()
    customers = sorted(ifs_rows(scenario, "CustomerInfoSet"), key=lambda c: c["CustomerId"])
    customer_id = next(c["CustomerId"] for c in customers if c.get("Company") == "10")
    ifs(scenario, "touch", "CustomerInfoSet", key={"CustomerId": customer_id}, changes={"CreditLimit": 5e5})
    new = {
        "CustomerId": "DE9001",
        "Name": "NEW GMBH",
        "Country": "DE",
        "Company": "10",
        "CurrencyCode": "EUR",
    }
    ifs(scenario, "create", "CustomerInfoSet", values=new | {"PayTermId": "30", "CreditLimit": 1000.0})
    ifs(
        scenario,
        "create",
        "CustomerInfoSet",
        values={"CustomerId": "ACME/001", "Name": "ODD KEY", "Country": "GB"},
    )
    ifs(scenario, "create", "CustomerInfoAddressSet", values={"CustomerId": customer_id, "AddressId": "77",
        "Name": "SITE", "Address1": "1 Pier", "ZipCode": "11111", "City": "Umea", "Country": "SE",
        "DefaultDeliveryAddress": False, "DefaultDocumentAddress": False})  # fmt: skip
    number, rows = sorted(parts(scenario).items())[0]
    master = rows[0]
    ifs(scenario, "touch", "SalesPartSet", key={"Contract": master["Contract"], "CatalogNo": number},
        changes={"CatalogDesc": "Renamed part", "ListPrice": 321.0, "Activeind": "ActivePart"})  # fmt: skip
    orders_day(scenario)
    scenario.admin("ifs").action("expire_tokens")  # every IFS token stops working
    scenario.stack.identity.clock.advance(120)  # every Dataverse token issued so far has expired
    cycle()
    if faults:
        scenario.admin("ifs").clear_faults()
        scenario.admin("dataverse").clear_faults()
        cycle()  # a quiet poll: only what no poll managed to see under faults is detected now


def line_amounts(line: dict[str, Any], quantity: float) -> dict[str, Any]:
    """A line's quantity with the amounts IFS derives from it (IFS keeps its tax rate)."""
    rate = line["TaxAmountCurr"] / line["NetAmountCurr"] if line["NetAmountCurr"] else 0
    net = round(line["SaleUnitPrice"] * quantity * (1 - line["Discount"] / 100), 2)
    tax = round(net * rate, 2)
    return {"BuyQtyDue": quantity, "NetAmountCurr": net, "TaxAmountCurr": tax, "GrossAmountCurr": net + tax}


def order_state(scenario: SyncScenario, number: str, state: str) -> None:
    """An order and its live lines moved to ``state`` in IFS (release, delivery, invoicing, cancelling)."""
    ifs(scenario, "touch", "CustomerOrderSet", key={"OrderNo": number}, changes={"Objstate": state})
    for line in ifs_rows(scenario, "CustomerOrderLineSet", OrderNo=number):
        if line["Objstate"] != "Cancelled":
            key = {k: line[k] for k in ("OrderNo", "LineNo", "RelNo", "LineItemNo")}
            ifs(scenario, "touch", "CustomerOrderLineSet", key=key, changes={"Objstate": state})


def orders_day(scenario: SyncScenario) -> None:
    """The order desk's day in IFS: a new order, line changes, state changes; a quotation won, one revised."""
    customer = next(c for c in ifs_rows(scenario, "CustomerInfoSet") if c.get("Company") == "10")
    order = ifs(scenario, "create", "CustomerOrderSet", values={"CustomerNo": customer["CustomerId"],
        "Contract": "MFG10", "CustomerPoNo": "PO-DAY-1"})  # fmt: skip
    active = sorted(p["CatalogNo"] for p in ifs_rows(scenario, "SalesPartSet", Contract="MFG10")
                    if p["Activeind"] == "ActivePart")  # fmt: skip
    for catalog_no in active[:3]:
        ifs(scenario, "create", "CustomerOrderLineSet",
            values={"OrderNo": order["OrderNo"], "CatalogNo": catalog_no, "BuyQtyDue": 2})  # fmt: skip
    open_orders, delivered = [], []
    for header in sorted(ifs_rows(scenario, "CustomerOrderSet"), key=lambda h: h["OrderNo"]):
        if len(ifs_rows(scenario, "CustomerOrderLineSet", OrderNo=header["OrderNo"])) < 2:
            continue
        if header["Objstate"] in ("Released", "Reserved", "Picked", "PartiallyDelivered"):
            open_orders.append(header["OrderNo"])
        elif header["Objstate"] == "Delivered":
            delivered.append(header["OrderNo"])
    lines = sorted(
        ifs_rows(scenario, "CustomerOrderLineSet", OrderNo=open_orders[0]), key=lambda x: x["LineNo"]
    )
    ifs(scenario, "create", "CustomerOrderLineSet", values={"OrderNo": open_orders[0],
        "CatalogNo": lines[0]["CatalogNo"], "BuyQtyDue": 5, "Contract": lines[0]["Contract"]})  # fmt: skip
    key = {k: lines[0][k] for k in ("OrderNo", "LineNo", "RelNo", "LineItemNo")}
    ifs(scenario, "touch", "CustomerOrderLineSet", key=key, changes=line_amounts(lines[0], 9))
    ifs(scenario, "delete", "CustomerOrderLineSet", key={k: lines[1][k] for k in key})
    order_state(scenario, order["OrderNo"], "Released")
    order_state(scenario, open_orders[1], "Delivered")
    order_state(scenario, delivered[0], "Invoiced")
    order_state(scenario, open_orders[2], "Cancelled")
    quotations = {q["Objstate"]: q for q in ifs_rows(scenario, "OrderQuotationSet")}
    won = quotations["Revised"]  # a Draft quote in Dynamics: activated, then won
    ifs(scenario, "touch", "OrderQuotationSet", key={"QuotationNo": won["QuotationNo"]},
        changes={"Objstate": "Won"})  # fmt: skip
    revised = quotations["Released"]  # an Active quote in Dynamics: a new revision
    ifs(scenario, "touch", "OrderQuotationSet", key={"QuotationNo": revised["QuotationNo"]},
        changes={"Objstate": "Revised", "RevisionNo": revised["RevisionNo"] + 1})  # fmt: skip
    line = ifs_rows(scenario, "OrderQuotationLineSet", QuotationNo=revised["QuotationNo"])[0]
    quote_key = {k: line[k] for k in ("QuotationNo", "LineNo", "RelNo", "LineItemNo")}
    ifs(scenario, "touch", "OrderQuotationLineSet", key=quote_key, changes=line_amounts(line, 7))


def run(azurite: str, prefix: str, *, faults: bool) -> tuple[dict[str, Any], int]:
    """The business day on fresh simulators; Dataverse's state afterwards and how many faults struck."""
    with (
        running_simulators(loopback_certificate(), ifs_size=30) as stack,
        recording_waits(advance=stack.identity.clock.advance),
    ):
        # Every order and quotation is polled (no closed states): the timers make the initial load here.
        values = scenario_settings(
            stack, azurite, prefix, SYNC_ORDERS_CLOSED_STATES="none", SYNC_QUOTATIONS_CLOSED_STATES="none"
        )
        scenario = SyncScenario(stack, values)
        scenario.add_currencies()
        scenario.provision()
        retrying = host_settings(max_dequeue=5, visibility_timeout=0.2)
        with LocalHost(settings=values, host_settings=retrying) as host, captured_logs() as lines:
            business_day(scenario, host, faults=faults)
            values_to_hide = sensitive(scenario)
            assert leaks(lines, values_to_hide) == []  # no secret, token or personal data in any log line
            assert leaks(audit_lines(scenario), values_to_hide) == []  # nor in an audit row
            assert len(lines) > 100  # the scan saw the run's logs …
            kinds = set(values_to_hide.values())
            assert {"Key Vault secret ifs-client-secret", "ENTRA_CLIENT_SECRET", "a customer's name"} <= kinds
            name = next(v for v, what in values_to_hide.items() if what == "a customer's name")
            assert leaks([f"synced {name}"], values_to_hide) == [
                ("a customer's name", f"synced {name}")
            ]  # … and sees
            assert_in_step(scenario)
            assert_products_in_step(scenario)
            assert_orders_in_step(scenario)
            assert_quotes_in_step(scenario)
            assert list(scenario.runtime.storage.parked.list()) == []
            for queue in QUEUES:
                poison = scenario.runtime.storage.publisher.queue(f"{prefix}-{queue}-poison")
                assert poison.get_queue_properties().approximate_message_count == 0
            operator = operations(scenario.settings)  # what `reconcile --entity E` reports, per entity
            for entity in operator.entities:
                summary = operator.reconcile(entity).summary()
                off = {k: v for k, v in summary.items() if k in IN_STEP_ZERO and v}
                assert summary["ifs"] == summary["dataverse"] > 0, (entity, summary)
                assert off == {}, (entity, summary)
            struck = [
                r
                for system in ("ifs", "dataverse")
                for r in scenario.admin(system).requests()
                if r.get("fault") not in (None, "ok")
            ]
            return snapshot(scenario) | documents_snapshot(scenario), len(struck)


def test_a_business_day_then_the_same_under_faults(azurite_connection_string: str, unique_name: str) -> None:
    """Both runs end in step with IFS and in the same Dataverse state; the faults really happened."""
    calm, no_faults = run(azurite_connection_string, f"{unique_name}a", faults=False)
    stormy, faults = run(azurite_connection_string, f"{unique_name}b", faults=True)
    assert stormy == calm
    assert calm["accounts"]["ACME/001"]["name"] == "ODD KEY"
    assert no_faults == 0
    assert faults >= 15, f"only {faults} faults struck"
