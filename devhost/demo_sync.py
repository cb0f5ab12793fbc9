"""The demo's sync part: IFS customers, sales parts, orders and quotations into Dynamics, changed, compared.

Against the simulators and Azurite, with the connector's own command line and function app: the
administrator's set-up (the org's currencies; ``provision`` for the columns and alternate keys), the initial
load of customers and parts with ``sync --once`` (rate per entity), of every order and quotation with
``backfill --all`` (with progress), then changes made in IFS flowing through the function app's timers and
queue workers under devhost — a credit limit, a new order with its lines, one of its lines changed — and a
table of IFS count against Dataverse count per entity.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from devhost.host import LocalHost
from devhost.scenario import SyncScenario
from shared.cli.app import main as cli
from shared.config import IfsSettings
from shared.sync import backfill
from shared.sync.engine import Report

Say = Callable[[str], None]


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _cli(say: Say, *argv: str) -> tuple[int, Any]:
    """Run ``python -m shared.cli`` with --json here; narrate the command, return its document."""
    say(f"$ python -m shared.cli {' '.join(argv)}")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli([*argv, "--json"])
    return code, json.loads(out.getvalue() or "{}")


def _ifs_rows(scenario: SyncScenario, entity_set: str) -> list[dict[str, Any]]:
    state = next(s for s in scenario.stack.ifs.tenant.sets.values() if s.model.name == entity_set)
    return [dict(row.values) for row in state.table.rows.values()]


def _in_scope(scenario: SyncScenario) -> tuple[int, int]:
    """(customers, catalog numbers on the configured sites) in IFS: what Dynamics must hold."""
    sites = set(scenario.values["SALES_PARTS_SITES"].split(","))
    parts = {r["CatalogNo"] for r in _ifs_rows(scenario, "SalesPartSet") if r["Contract"] in sites}
    return len(_ifs_rows(scenario, "CustomerInfoSet")), len(parts)


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
    say(f"  {len(scenario.rows('salesorders', ['salesorderid'])):,} orders with {lines:,} lines in Dynamics")
    return ok


def _new_order(scenario: SyncScenario, say: Say, host: LocalHost) -> bool:
    """An order entered in IFS with three lines reaches Dynamics; a changed quantity follows it."""
    admin = scenario.admin("ifs")
    customer = min(
        (c for c in _ifs_rows(scenario, "CustomerInfoSet") if c.get("Company") == "10"),
        key=lambda c: str(c["CustomerId"]),
    )
    parts = [p for p in _ifs_rows(scenario, "SalesPartSet") if p["Contract"] == "MFG10"][:3]
    order = admin.action("create", {"entity_set": "CustomerOrderSet", "values": {
        "CustomerNo": customer["CustomerId"], "Contract": "MFG10", "CustomerPoNo": "PO-DEMO-1"}})  # fmt: skip
    number = order["OrderNo"]
    for quantity, part in enumerate(parts, start=2):
        admin.action("create", {"entity_set": "CustomerOrderLineSet", "values": {
            "OrderNo": number, "CatalogNo": part["CatalogNo"], "BuyQtyDue": quantity}})  # fmt: skip
    say(f"in IFS, a user enters order {number} for {customer['Name']} with {len(parts)} lines")
    host.fire_timer("poll_orders")
    host.drain(timeout=60)
    shown = _show_order(scenario, say, number)
    line = next(r for r in _ifs_rows(scenario, "CustomerOrderLineSet") if r["OrderNo"] == number)
    key = {k: line[k] for k in ("OrderNo", "LineNo", "RelNo", "LineItemNo")}
    runtime, lines = scenario.runtime, scenario.settings.get(IfsSettings).entities.order_lines
    current = runtime.ifs.get(lines, key)
    runtime.ifs.update(lines, key, {"BuyQtyDue": 12}, current.etag or "*")  # through IFS's API
    say(f"in IFS, line {line['LineNo']} of {number} goes from {line['BuyQtyDue']:g} to 12 pieces")
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


def run(scenario: SyncScenario, say: Say) -> bool:
    """Run the sync part; True when Dynamics ends in step with IFS and the change arrived."""
    with _environment(scenario.values):
        return _run(scenario, say)


def _run(scenario: SyncScenario, say: Say) -> bool:
    scenario.add_currencies()
    say("the org's currencies set up by an administrator: EUR, GBP, SEK beside the base currency USD")
    code, keys = _cli(say, "provision", "--keys-only")
    say(f"  {len(keys['columns'])} columns of the connector's own: "
        + ", ".join(sorted({c["column"] for c in keys["columns"]})))  # fmt: skip
    for key in keys["keys"]:
        say(f"  alternate key {key['table']}({key['columns']}): {key['status']}")
    started = time.monotonic()
    code, loaded = _cli(say, "sync", "--once", "--entity", "customers", "--entity", "sales_parts")
    elapsed = time.monotonic() - started
    for row in loaded["entities"]:
        written = row["created"] + row["updated"]
        say(f"  {row['entity']}: {row['changed']} changed in IFS -> {written} written to Dataverse, "
            f"{row['parked']} parked")  # fmt: skip
    total = sum(row["created"] for row in loaded["entities"])
    say(f"  initial load: {total} records in {elapsed:.1f} s ({total / elapsed:,.0f} records/s)")
    documents_ok = _load_documents(scenario, say)

    ours = [c for c in _ifs_rows(scenario, "CustomerInfoSet") if c.get("Company") == "10"]
    customer = min(ours, key=lambda c: str(c["CustomerId"]))
    customer_id = customer["CustomerId"]
    scenario.admin("ifs").action(
        "touch",
        {
            "entity_set": "CustomerInfoSet",
            "key": {"CustomerId": customer_id},
            "changes": {"CreditLimit": 777000.0},
        },
    )
    before = customer["CreditLimit"]
    say(f"in IFS, a user raises customer {customer_id}'s credit limit from {before:,.0f} to 777,000")
    with LocalHost(settings=scenario.values) as host:
        say("function_app.py under devhost: timer poll_customers fires, queue worker sync_customers runs")
        host.fire_timer("poll_customers")
        host.drain(timeout=60)
        [account] = scenario.rows("accounts", ["name", "creditlimit"], accountnumber=customer_id)
        limit = account["creditlimit"]
        say(f"  Dynamics account {customer_id} ({account['name']}): credit limit {limit:,.0f}")
        say("and the orders: timer poll_orders fires, queue worker sync_orders runs")
        order_ok = _new_order(scenario, say, host)
    customers, parts = _in_scope(scenario)
    counts = [
        ("customers", customers, len(scenario.rows("accounts", ["accountid"]))),
        ("sales_parts", parts, len(scenario.rows("products", ["productid"]))),
        ("orders", len(_ifs_rows(scenario, "CustomerOrderSet")),
         len(scenario.rows("salesorders", ["salesorderid"]))),
        ("quotations", len(_ifs_rows(scenario, "OrderQuotationSet")), len({
            r["ifs_quotationno"] for r in scenario.rows("quotes", ["ifs_quotationno"])})),
    ]  # fmt: skip
    say(f"{'entity':<12} {'IFS':>6} {'Dataverse':>10}")
    for entity, in_ifs, in_dataverse in counts:
        say(f"{entity:<12} {in_ifs:>6} {in_dataverse:>10}")
    code, again = _cli(say, "sync", "--once")
    quiet = all(row["changed"] == 0 for row in again["entities"])
    say(f"  nothing changed since: {quiet}")
    return (
        code == 0
        and documents_ok
        and order_ok
        and account["creditlimit"] == 777000
        and all(in_ifs == in_dataverse for _, in_ifs, in_dataverse in counts)
        and quiet
    )
