"""The demo's Dynamics → IFS part: a quote won in Dynamics becomes an IFS order, through the function app.

Against the simulators and Azurite (after the sync part has brought IFS customers and sales parts into
Dynamics): provisioning registers the webhook at devhost's ``/api/webhooks/dataverse``; a salesperson with
their own Dataverse user quotes two parts and converts the quote; Dataverse delivers the webhook to the
function app, whose queue worker makes the IFS customer order with its lines and writes its number back
to the Dynamics order; then the salesperson fulfils the order and IFS releases it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from devhost.d365_scenario import D365Scenario, Line
from devhost.host import LocalHost

Say = Callable[[str], None]
WEBHOOK = "/api/webhooks/dataverse"


def run(scenario: D365Scenario, say: Say) -> bool:
    """Run the part; True when the order reached IFS once, numbered, and was released."""
    with LocalHost(settings=scenario.values) as host:
        url = f"{host.url}{WEBHOOK}"
        done = scenario.provision_d365(url)
        say(f"provision: webhook '{scenario.values.get('D365_WEBHOOK_NAME', 'ifs-connector')}' -> {url}")
        for name in sorted(done.report.steps):
            say(f"  step {name}")
        for skipped in done.report.skipped_steps:
            say(f"  not allowed by the org (covered by the Create/Update steps): {skipped}")
        say(f"  changed: {'; '.join(done.report.changed) or 'nothing'}")
        sam = scenario.salesperson()
        account = scenario.account()
        first, second = scenario.catalog(count=2)
        quote = sam.quote(account, [Line(first, 4, 120.0, 48.0), Line(second, 2, 75.5)])
        say(f"in Dynamics, a salesperson quotes {first} x 4 at 120.00 (48.00 off) and {second} x 2 at 75.50 "
            f"to account {account}, and converts the quote (ConvertQuoteToSalesOrder)")  # fmt: skip
        order = sam.convert(quote)
        say(f"  Dynamics order {order['ordernumber']}")
        scenario.stack.dataverse.drain_webhooks()
        for delivery in scenario.admin("dataverse").action("webhook_deliveries")["deliveries"]:
            what = f"{delivery['message']} of {delivery['entity']}"
            say(f"  Dataverse -> {WEBHOOK}: {what}: HTTP {delivery['statuses']}")
        host.drain(timeout=60)
        say("function app: queue worker d365_orders ran")
        found = scenario.ifs_orders(order["ordernumber"])
        for ifs_order in found:
            head = f"{ifs_order['OrderNo']} ({ifs_order['Objstate']}) for {ifs_order['CustomerNo']}"
            say(f"  IFS customer order {head} at site {ifs_order['Contract']}, "
                f"CustomerPoNo {ifs_order['CustomerPoNo']}")  # fmt: skip
            for line in ifs_order["lines"]:
                price = f"{line['SaleUnitPrice']:.2f}, discount {line['Discount']:g}%"
                say(f"    line {line['LineNo']}: {line['CatalogNo']} x {line['BuyQtyDue']:g} at {price}, "
                    f"price {line['PriceFreeze']}")  # fmt: skip
        row = scenario.runtime.dataverse.get(
            "salesorders", uuid.UUID(order["salesorderid"]), select=["ordernumber", "ifs_ordernumber"]
        )
        number = (row or {}).get("ifs_ordernumber")
        say(f"  Dynamics order {order['ordernumber']} now shows IFS order number {number}")
        sam.fulfil(uuid.UUID(order["salesorderid"]))
        say("in Dynamics, the salesperson fulfils the order (FulfillSalesOrder)")
        scenario.stack.dataverse.drain_webhooks()
        host.drain(timeout=60)
        after = scenario.ifs_orders(order["ordernumber"])
        state = after[0]["Objstate"] if after else None
        say(f"  IFS order {number}: {state} (the fulfilment request released it)")
    return (
        len(found) == 1
        and len(found[0]["lines"]) == 2
        and number == found[0]["OrderNo"]
        and state == "Released"
    )
