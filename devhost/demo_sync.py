"""The demo's IFS → Dynamics part: a mid-sized manufacturer's tenant loaded into Dynamics, then its day.

Against the simulators and Azurite, with the connector's own command line and function app. ``load``: the
tenant described; the administrator's set-up (the org's currencies; ``provision`` for the columns and
alternate keys); the initial load of customers and parts with ``sync --once`` (rate per entity), of every
order and quotation with ``backfill --all`` (with progress). ``day``: what users do in IFS during the day
flowing through the function app's timers and queue workers under devhost — a new customer, a credit
limit raised, a new order with its lines, one of its lines changed — then ``sync --once`` finds nothing
left. Whether both systems end in step is checked at the end of the day (``devhost.demo_day_end``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from devhost.demo_cli import cli_json, environment
from devhost.host import LocalHost
from devhost.scenario import SyncScenario
from shared.config import IfsSettings
from shared.sync import backfill
from shared.sync.engine import Report

Say = Callable[[str], None]
# The customer a user enters in IFS during the day (IFS company 10, a German customer in euros).
NEW_CUSTOMER = {"Name": "WESER HYDRAULIK GMBH", "Country": "DE", "Company": "10", "CurrencyCode": "EUR",
                "PayTermId": "30", "CreditLimit": 150000.0, "DefaultLanguage": "de",
                "CustomerCategory": "Customer", "PartyType": "Customer"}  # fmt: skip
NEW_ADDRESS = {"AddressId": "01", "Address1": "Hafenstrasse 12", "ZipCode": "28197", "City": "Bremen",
               "Country": "DE", "DefaultDeliveryAddress": True, "DefaultDocumentAddress": True}  # fmt: skip


def _ifs_rows(scenario: SyncScenario, entity_set: str) -> list[dict[str, Any]]:
    state = next(s for s in scenario.stack.ifs.tenant.sets.values() if s.model.name == entity_set)
    return [dict(row.values) for row in state.table.rows.values()]


def describe_tenant(scenario: SyncScenario, say: Say) -> None:
    """What the IFS tenant holds: a mid-sized manufacturer's customers, parts, orders and quotations."""
    orders = _ifs_rows(scenario, "CustomerOrderSet")
    parts = _ifs_rows(scenario, "SalesPartSet")
    sites = sorted({str(p["Contract"]) for p in parts})
    customers = _ifs_rows(scenario, "CustomerInfoSet")
    companies = sorted({str(c["Company"]) for c in customers if c.get("Company")})
    say(f"IFS tenant: a mid-sized manufacturer, {len(companies)} companies with {len(sites)} sites "
        f"({', '.join(sites)})")  # fmt: skip
    say(f"  {len(customers):,} customers, "
        f"{len({p['CatalogNo'] for p in parts}):,} sales parts, "
        f"{len(orders):,} customer orders with {len(_ifs_rows(scenario, 'CustomerOrderLineSet')):,} lines, "
        f"{len(_ifs_rows(scenario, 'OrderQuotationSet')):,} sales quotations")  # fmt: skip
    open_orders = sum(1 for o in orders if o["Objstate"] not in ("Invoiced", "Cancelled"))
    say(f"  {open_orders:,} orders open, the rest invoiced or cancelled (history, loaded too)")


def _load_documents(scenario: SyncScenario, say: Say) -> bool:
    """Every order and quotation IFS has (``backfill --all``), with a progress line per chunk."""
    runtime = scenario.runtime
    ok = True
    for entity in ("orders", "quotations"):
        say(f"$ python -m shared.cli backfill --entity {entity} --all")
        started = time.monotonic()

        def progress(
            report: Report, done: int, total: int, entity: str = entity, started: float = started
        ) -> None:
            rate = done / max(time.monotonic() - started, 1e-9)
            say(f"  {entity}: {done:,}/{total:,} ({rate:,.0f}/s), {report.outcomes.get('parked', 0)} parked")

        report = backfill.backfill(
            runtime.engine, runtime.sources[entity], runtime.watermarks, entity, whole=True,
            chunk_size=250, progress=progress,
        )  # fmt: skip
        report.add(runtime.drain(entity))
        ok = ok and not report.outcomes.get("parked")
    lines = len(scenario.rows("salesorderdetails", ["salesorderdetailid"]))
    cancelled = sum(1 for r in _ifs_rows(scenario, "CustomerOrderLineSet") if r["Objstate"] == "Cancelled")
    say(f"  {len(scenario.rows('salesorders', ['salesorderid'])):,} orders with {lines:,} lines in Dynamics "
        f"(IFS's {cancelled:,} cancelled lines left out, as the mapping says)")  # fmt: skip
    return ok


def _new_order(scenario: SyncScenario, say: Say, host: LocalHost, customer_id: str) -> bool:
    """An order entered in IFS with three lines reaches Dynamics; a changed quantity follows it."""
    admin = scenario.admin("ifs")
    [customer] = [c for c in _ifs_rows(scenario, "CustomerInfoSet") if c["CustomerId"] == customer_id]
    parts = [p for p in _ifs_rows(scenario, "SalesPartSet") if p["Contract"] == "MFG10"][:3]
    order = admin.action("create", {"entity_set": "CustomerOrderSet", "values": {
        "CustomerNo": customer_id, "Contract": "MFG10", "CustomerPoNo": "PO-DEMO-1"}})  # fmt: skip
    number = order["OrderNo"]
    for quantity, part in enumerate(parts, start=2):
        admin.action("create", {"entity_set": "CustomerOrderLineSet", "values": {
            "OrderNo": number, "CatalogNo": part["CatalogNo"], "BuyQtyDue": quantity}})  # fmt: skip
    say(f"in IFS, {customer['Name']} places its first order: {number} with {len(parts)} lines")
    say("  timer poll_orders fires, queue worker sync_orders runs")
    host.fire_timer("poll_orders")
    host.drain(timeout=60)
    shown = _show_order(scenario, say, number)
    line = next(r for r in _ifs_rows(scenario, "CustomerOrderLineSet") if r["OrderNo"] == number)
    key = {k: line[k] for k in ("OrderNo", "LineNo", "RelNo", "LineItemNo")}
    runtime, lines = scenario.runtime, scenario.settings.get(IfsSettings).entities.order_lines
    current = runtime.ifs.get(lines, key)
    runtime.ifs.update(lines, key, {"BuyQtyDue": 12}, current.etag or "*")  # through IFS's API
    say(f"in IFS, line {line['LineNo']} of {number} goes from {line['BuyQtyDue']:g} to 12 pieces")
    say("  timer poll_orders fires, queue worker sync_orders runs")
    host.fire_timer("poll_orders")
    host.drain(timeout=60)
    changed = _show_order(scenario, say, number)
    return shown[0] == len(parts) and changed[1] != shown[1]


def _show_order(scenario: SyncScenario, say: Say, number: str) -> tuple[int, float]:
    """Print one Dynamics order with its lines; (lines, total)."""
    [order] = scenario.rows(
        "salesorders", ["salesorderid", "totalamount", "totaltax", "statecode"], ifs_ordernumber=number
    )
    lines = [
        r
        for r in scenario.rows(
            "salesorderdetails",
            ["_salesorderid_value", "ifs_linekey", "quantity", "priceperunit", "extendedamount"],
        )
        if r["_salesorderid_value"] == order["salesorderid"]
    ]
    say(f"  Dynamics order {number}: {len(lines)} lines, total {order['totalamount']:,.2f} "
        f"(tax {order['totaltax']:,.2f}) as IFS priced it")  # fmt: skip
    for line in sorted(lines, key=lambda r: r["ifs_linekey"]):
        say(f"    line {line['ifs_linekey']}: {line['quantity']:g} x {line['priceperunit']:,.2f} "
            f"-> {line['extendedamount']:,.2f}")  # fmt: skip
    return len(lines), float(order["totalamount"])


def load(scenario: SyncScenario, say: Say) -> bool:
    """The set-up and the first load; True when every record arrived, none parked."""
    with environment(scenario.values):
        return _load(scenario, say)


def _load(scenario: SyncScenario, say: Say) -> bool:
    scenario.add_currencies()
    say("the org's currencies set up by an administrator: EUR, GBP, SEK beside the base currency USD")
    code, keys = cli_json(say, "provision", "--keys-only")
    say(f"  {len(keys['columns'])} columns of the connector's own: "
        + ", ".join(sorted({c["column"] for c in keys["columns"]})))  # fmt: skip
    for key in keys["keys"]:
        say(f"  alternate key {key['table']}({key['columns']}): {key['status']}")
    started = time.monotonic()
    code, loaded = cli_json(say, "sync", "--once", "--entity", "customers", "--entity", "sales_parts")
    elapsed = time.monotonic() - started
    for row in loaded["entities"]:
        written = row["created"] + row["updated"]
        say(f"  {row['entity']}: {row['changed']} changed in IFS -> {written} written to Dataverse, "
            f"{row['parked']} parked")  # fmt: skip
    total = sum(row["created"] for row in loaded["entities"])
    say(f"  initial load: {total} records in {elapsed:.1f} s ({total / elapsed:,.0f} records/s)")
    parked = sum(row["parked"] for row in loaded["entities"])
    return code == 0 and parked == 0 and _load_documents(scenario, say)


def day(scenario: SyncScenario, say: Say) -> bool:
    """The day's changes in IFS through the function app; True when each one arrived as it should."""
    with environment(scenario.values), LocalHost(settings=scenario.values) as host:
        say("function_app.py under devhost: its timers poll IFS, its queue workers write Dynamics")
        customer_id = _new_customer(scenario, say, host)
        limit_ok = _credit_limit(scenario, say, host)
        order_ok = customer_id is not None and _new_order(scenario, say, host, customer_id)
        code, again = cli_json(say, "sync", "--once")
        quiet = all(row["changed"] == 0 for row in again["entities"])
        say(f"  nothing changed since: {quiet}")
    return customer_id is not None and limit_ok and order_ok and code == 0 and quiet


def _new_customer(scenario: SyncScenario, say: Say, host: LocalHost) -> str | None:
    """A customer entered in IFS (with its address and e-mail) becomes a Dynamics account; its id."""
    admin = scenario.admin("ifs")
    taken = {str(c["CustomerId"]) for c in _ifs_rows(scenario, "CustomerInfoSet")}
    customer_id = next(f"DE{n}" for n in range(2001, 10000) if f"DE{n}" not in taken)
    name = str(NEW_CUSTOMER["Name"])
    admin.action("create", {"entity_set": "CustomerInfoSet",
                            "values": {"CustomerId": customer_id, **NEW_CUSTOMER}})  # fmt: skip
    admin.action("create", {"entity_set": "CustomerInfoAddressSet",
                            "values": {"CustomerId": customer_id, "Name": name, **NEW_ADDRESS}})  # fmt: skip
    admin.action("create", {"entity_set": "CustomerInfoCommMethodSet", "values": {
        "CustomerId": customer_id, "CommId": 1, "Method": "EMail", "Name": "EMAIL",
        "Value": "orders@weser-hydraulik.example", "MethodDefault": True}})  # fmt: skip
    say(f"in IFS, a user enters a new customer {customer_id} ({name}, {NEW_ADDRESS['City']}) "
        f"with a credit limit of {NEW_CUSTOMER['CreditLimit']:,.0f} EUR")  # fmt: skip
    say("  timer poll_customers fires, queue worker sync_customers runs")
    host.fire_timer("poll_customers")
    host.drain(timeout=60)
    found = scenario.rows(
        "accounts",
        ["name", "address1_city", "creditlimit", "_transactioncurrencyid_value"],
        accountnumber=customer_id,
    )
    if len(found) != 1:
        say(f"  no Dynamics account {customer_id}")
        return None
    account = found[0]
    currencies = {
        r["transactioncurrencyid"]: r["isocurrencycode"]
        for r in scenario.rows("transactioncurrencies", ["transactioncurrencyid", "isocurrencycode"])
    }
    currency = currencies.get(account["_transactioncurrencyid_value"])
    say(f"  Dynamics account {customer_id} ({account['name']}, {account['address1_city']}): "
        f"credit limit {account['creditlimit']:,.0f} {currency}")  # fmt: skip
    arrived = (
        account["name"] == name
        and account["address1_city"] == NEW_ADDRESS["City"]
        and account["creditlimit"] == NEW_CUSTOMER["CreditLimit"]
        and currency == NEW_CUSTOMER["CurrencyCode"]
    )
    return customer_id if arrived else None


def _credit_limit(scenario: SyncScenario, say: Say, host: LocalHost) -> bool:
    """A credit limit raised in IFS reaches the account."""
    ours = [c for c in _ifs_rows(scenario, "CustomerInfoSet") if c.get("Company") == "10"]
    customer = min(ours, key=lambda c: str(c["CustomerId"]))
    customer_id = customer["CustomerId"]
    scenario.admin("ifs").action("touch", {"entity_set": "CustomerInfoSet",
        "key": {"CustomerId": customer_id}, "changes": {"CreditLimit": 777000.0}})  # fmt: skip
    before = customer["CreditLimit"]
    say(f"in IFS, a user raises customer {customer_id}'s credit limit from {before:,.0f} to 777,000")
    say("  timer poll_customers fires, queue worker sync_customers runs")
    host.fire_timer("poll_customers")
    host.drain(timeout=60)
    [account] = scenario.rows("accounts", ["name", "creditlimit"], accountnumber=customer_id)
    limit = account["creditlimit"]
    say(f"  Dynamics account {customer_id} ({account['name']}): credit limit {limit:,.0f}")
    return bool(limit == 777000)
