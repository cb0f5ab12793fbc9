"""IFS customer orders → Dataverse sales orders with their lines, against the simulators."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from devhost.scenario import SyncScenario
from shared.config import IfsSettings
from shared.config.sync import SHIPPED_MAPPINGS
from shared.state.idmap import IdMap
from shared.sync import backfill
from shared.sync.engine import TransientSyncError
from shared.sync.messages import ChangedKey
from tests.integration.sync.documents_oracle import (
    LINE_COLUMNS,
    assert_order,
    assert_orders_in_step,
    orders,
)
from tests.integration.sync.oracle import ifs, ifs_rows

pytestmark = pytest.mark.azurite


def load_all(scenario: SyncScenario, entity: str) -> None:
    """The first load of every record IFS has (``backfill --all``), then the first poll.

    The poll reads the records outside its scope (closed, older than the recent days) once more, finds
    them unchanged and writes nothing; from then on it sees only the open and recent ones.
    """
    runtime = scenario.runtime
    backfill.backfill(runtime.engine, runtime.sources[entity], runtime.watermarks, entity, whole=True)
    scenario.drain(entity)
    polled, report = scenario.run_once(entity)
    assert report.written == 0
    assert polled.changed == 0


def writes(scenario: SyncScenario, system: str = "dataverse") -> list[dict[str, Any]]:
    """The write requests a simulator has seen since its log was cleared."""
    return [r for r in scenario.admin(system).requests() if r["method"] != "GET"]


def open_order(scenario: SyncScenario) -> dict[str, Any]:
    """A Released order of a seeded customer with at least two lines (not a captured one)."""
    counts = Counter(line["OrderNo"] for line in ifs_rows(scenario, "CustomerOrderLineSet"))
    return next(
        order
        for order in sorted(ifs_rows(scenario, "CustomerOrderSet"), key=lambda o: o["OrderNo"])
        if order["Objstate"] == "Released" and counts[order["OrderNo"]] >= 2
    )


def new_order(scenario: SyncScenario, lines: int = 2) -> str:
    """An order entered in IFS (Planned) with ``lines`` lines of parts its site sells."""
    customer = next(c for c in ifs_rows(scenario, "CustomerInfoSet") if c.get("Company") == "10")
    site = "MFG10"
    values = {"CustomerNo": customer["CustomerId"], "Contract": site, "CustomerPoNo": "PO-NEW-1",
              "WantedDeliveryDate": "2025-12-24T00:00:00Z"}  # fmt: skip
    order = ifs(scenario, "create", "CustomerOrderSet", values=values)
    parts = [p for p in ifs_rows(scenario, "SalesPartSet", Contract=site) if p["Activeind"] == "ActivePart"]
    for part in parts[:lines]:
        ifs(scenario, "create", "CustomerOrderLineSet", values={"OrderNo": order["OrderNo"],
            "CatalogNo": part["CatalogNo"], "BuyQtyDue": 3, "Contract": site})  # fmt: skip
    return str(order["OrderNo"])


def ifs_update(scenario: SyncScenario, entity: str, key: dict[str, Any], changes: dict[str, Any]) -> None:
    """A change made through IFS's API (IFS derives the amounts), as a user of IFS would make it."""
    client = scenario.runtime.ifs
    entity_set = getattr(scenario.settings.get(IfsSettings).entities, entity)
    current = client.get(entity_set, key)
    client.update(entity_set, key, changes, current.etag or "*")


def ifs_action(scenario: SyncScenario, order_no: str, action: str) -> None:
    """A bound action on an order (release, cancel) through IFS's API."""
    client, entity = scenario.runtime.ifs, scenario.settings.get(IfsSettings).entities.orders
    current = client.get(entity, {"OrderNo": order_no})
    client.call_action(entity, {"OrderNo": order_no}, action, etag=current.etag or "*")


def set_state(scenario: SyncScenario, order_no: str, state: str) -> None:
    """An order (and its lines) moved to ``state`` inside IFS, as delivery and invoicing do."""
    ifs(scenario, "touch", "CustomerOrderSet", key={"OrderNo": order_no}, changes={"Objstate": state})
    for line in ifs_rows(scenario, "CustomerOrderLineSet", OrderNo=order_no):
        if line["Objstate"] != "Cancelled":
            key = {k: line[k] for k in ("OrderNo", "LineNo", "RelNo", "LineItemNo")}
            ifs(scenario, "touch", "CustomerOrderLineSet", key=key, changes={"Objstate": state})


def line_etags(scenario: SyncScenario, order_id: str) -> dict[str, str]:
    """The ETag of every line of one Dataverse order, by IFS line key."""
    rows = scenario.rows("salesorderdetails", ["ifs_linekey", "_salesorderid_value"])
    return {r["ifs_linekey"]: r["@odata.etag"] for r in rows if r["_salesorderid_value"] == order_id}


def test_initial_load_of_every_order_with_its_lines_and_totals(scenario: SyncScenario) -> None:
    """Every seeded and captured order: lines, state, IFS's totals; customers and parts come on demand."""
    load_all(scenario, "orders")
    assert {"C1000000933", "C1000000934"} <= {h["OrderNo"] for h in ifs_rows(scenario, "CustomerOrderSet")}
    assert list(scenario.runtime.storage.parked.list()) == []
    assert_orders_in_step(scenario)
    assert any(row["freightamount"] for row in orders(scenario).values())
    assert any(row["discountamount"] for row in orders(scenario).values())


def test_reading_and_writing_go_in_bulk(scenario: SyncScenario) -> None:
    """Orders and their lines cost a few IFS reads and one Dataverse write per table, not one per order."""
    scenario.run_once("customers")
    scenario.run_once("sales_parts")
    for system in ("ifs", "dataverse"):
        scenario.admin(system).clear_requests()
    runtime = scenario.runtime
    backfill.backfill(runtime.engine, runtime.sources["orders"], runtime.watermarks, "orders", whole=True)
    count = len(ifs_rows(scenario, "CustomerOrderSet"))
    ifs_reads = [r for r in scenario.admin("ifs").requests() if "/projection/" in r["path"]]
    # the keys and ETags of orders, lines and charges; then the orders (with their addresses), lines, charges
    assert len(ifs_reads) == 6, [r["path"] for r in ifs_reads]
    by_path = Counter(r["path"].rsplit("/", 1)[-1] for r in writes(scenario))
    assert by_path["Microsoft.Dynamics.CRM.UpsertMultiple"] == 2  # the headers, then every line
    assert sum(by_path.values()) <= 6, by_path  # plus the state changes in $batch
    assert count == len(orders(scenario))


def test_resyncing_unchanged_orders_writes_nothing(scenario: SyncScenario) -> None:
    """Every order processed again, twice: nothing is written to Dataverse."""
    load_all(scenario, "orders")
    keys = [ChangedKey(h["OrderNo"]) for h in ifs_rows(scenario, "CustomerOrderSet")]
    scenario.admin("dataverse").clear_requests()
    for _ in range(2):
        report = scenario.runtime.engine.process("orders", keys, correlation_id="replay")
        assert report.outcomes == {"unchanged": len(keys)}
    assert writes(scenario) == []


def test_lines_are_reconciled_not_appended(scenario: SyncScenario) -> None:
    """A line added, a quantity changed, a line removed: one write each, the other lines untouched."""
    load_all(scenario, "orders")
    order = open_order(scenario)
    number = order["OrderNo"]
    order_id = orders(scenario)[number]["salesorderid"]
    lines = sorted(ifs_rows(scenario, "CustomerOrderLineSet", OrderNo=number), key=lambda x: int(x["LineNo"]))
    part = lines[0]["CatalogNo"]

    ifs(scenario, "create", "CustomerOrderLineSet", values={"OrderNo": number, "CatalogNo": part,
        "BuyQtyDue": 7, "Contract": order["Contract"]})  # fmt: skip
    before = line_etags(scenario, order_id)
    polled, report = scenario.run_once("orders")
    assert (polled.changed, report.outcomes) == (1, {"updated": 1})
    after = line_etags(scenario, order_id)
    assert len(after) == len(before) + 1
    assert {k: after[k] for k in before} == before  # the existing lines were not written
    assert_order(scenario, number)

    first = lines[0]
    key = {k: first[k] for k in ("OrderNo", "LineNo", "RelNo", "LineItemNo")}
    ifs_update(scenario, "order_lines", key, {"BuyQtyDue": 11})
    before = line_etags(scenario, order_id)
    scenario.run_once("orders")
    after = line_etags(scenario, order_id)
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {f"{first['LineNo']}|{first['RelNo']}|{first['LineItemNo']}"}
    assert_order(scenario, number)

    second = lines[1]
    ifs(scenario, "delete", "CustomerOrderLineSet", key={k: second[k] for k in key})
    scenario.run_once("orders")
    assert f"{second['LineNo']}|1|0" not in line_etags(scenario, order_id)
    assert_order(scenario, number)
    assert len(scenario.rows("salesorders", ["salesorderid"], ifs_ordernumber=number)) == 1


def test_a_new_order_then_its_life_in_ifs(scenario: SyncScenario) -> None:
    """Entered, released, delivered, invoiced: each state reaches the Dataverse order, lines first."""
    scenario.run_once("orders")
    number = new_order(scenario)
    scenario.run_once("orders")
    assert_order(scenario, number)
    assert (orders(scenario)[number]["statecode"], orders(scenario)[number]["statuscode"]) == (0, 1)

    ifs_action(scenario, number, "CustomerOrder_ReleaseOrder")
    scenario.run_once("orders")
    assert_order(scenario, number)
    assert orders(scenario)[number]["statecode"] == 1

    set_state(scenario, number, "Delivered")
    scenario.run_once("orders")
    assert_order(scenario, number)

    set_state(scenario, number, "Invoiced")  # closed; still polled while recent, else read once more
    polled, _ = scenario.run_once("orders")
    assert polled.changed + polled.left_scope == 1
    assert_order(scenario, number)
    row = orders(scenario)[number]
    assert (row["statecode"], row["statuscode"]) == (3, 100001)
    closes = scenario.rows("ordercloses", ["subject", "_salesorderid_value"])
    assert [c["subject"] for c in closes if c["_salesorderid_value"] == row["salesorderid"]] == [
        f"IFS order {number}"
    ]
    assert [r for r in scenario.admin("dataverse").requests() if "nvoice" in r["path"]] == []
    who = scenario.runtime.dataverse.send("GET", "WhoAmI", idempotent=True).json()["UserId"]
    [modified] = scenario.rows("salesorders", ["_modifiedby_value"], ifs_ordernumber=number)
    assert modified["_modifiedby_value"] == who  # the connector's own user: Dynamics -> IFS ignores it


def test_a_cancelled_order_and_a_cancelled_line(scenario: SyncScenario) -> None:
    """A cancelled line leaves the order; a cancelled order is canceled through CancelSalesOrder."""
    load_all(scenario, "orders")
    number = new_order(scenario, lines=3)
    scenario.run_once("orders")
    line = ifs_rows(scenario, "CustomerOrderLineSet", OrderNo=number)[0]
    key = {k: line[k] for k in ("OrderNo", "LineNo", "RelNo", "LineItemNo")}
    ifs(scenario, "touch", "CustomerOrderLineSet", key=key, changes={"Objstate": "Cancelled"})
    scenario.run_once("orders")
    assert_order(scenario, number)
    ifs_action(scenario, number, "CustomerOrder_SetCancelled")
    scenario.run_once("orders")
    assert_order(scenario, number)
    assert (orders(scenario)[number]["statecode"], orders(scenario)[number]["statuscode"]) == (2, 4)


def test_cancelled_lines_can_be_marked_instead(scenario: SyncScenario, tmp_path: Path) -> None:
    """With cancelled_lines = "mark" a cancelled line stays, with quantity 0 and its IFS state."""
    for name in ("customers", "sales_parts", "orders", "quotations"):
        text = (SHIPPED_MAPPINGS / f"{name}.toml").read_text()
        (tmp_path / f"{name}.toml").write_text(
            text.replace('cancelled_lines = "remove"', 'cancelled_lines = "mark"')
        )
    scenario.values["SYNC_MAPPINGS_DIR"] = str(tmp_path)
    number = new_order(scenario, lines=2)
    scenario.run_once("orders")
    line = ifs_rows(scenario, "CustomerOrderLineSet", OrderNo=number)[0]
    key = {k: line[k] for k in ("OrderNo", "LineNo", "RelNo", "LineItemNo")}
    ifs(scenario, "touch", "CustomerOrderLineSet", key=key, changes={"Objstate": "Cancelled"})
    scenario.run_once("orders")
    order_id = orders(scenario)[number]["salesorderid"]
    lines = {r["ifs_linekey"]: r for r in scenario.rows("salesorderdetails", LINE_COLUMNS)
             if r["_salesorderid_value"] == order_id}  # fmt: skip
    marked = lines[f"{line['LineNo']}|1|0"]
    assert (marked["quantity"], marked["ifs_state"], marked["extendedamount"]) == (0, "Cancelled", 0)
    assert len(lines) == 2


def test_an_order_closed_in_dynamics_is_reopened_to_change(scenario: SyncScenario) -> None:
    """A change to an invoiced order reopens it, writes, and fulfils it again; refused, it is parked."""
    load_all(scenario, "orders")
    number = next(o["OrderNo"] for o in ifs_rows(scenario, "CustomerOrderSet") if o["Objstate"] == "Invoiced")
    engine = scenario.runtime.engine
    scenario.admin("dataverse").action("set_sales_rules", {"reopen_closed_orders": False})
    ifs(scenario, "touch", "CustomerOrderSet", key={"OrderNo": number}, changes={"CustomerPoNo": "PO-LATE"})
    report = engine.process("orders", [ChangedKey(number)], correlation_id="late")
    assert report.outcomes == {"parked": 1}
    [parked] = [p for p in scenario.runtime.storage.parked.list() if p.source_key == number]
    assert "cannot be reopened" in parked.message
    assert orders(scenario)[number]["ifs_customerponumber"] != "PO-LATE"

    scenario.admin("dataverse").action("set_sales_rules", {"reopen_closed_orders": True})
    report = engine.process("orders", [ChangedKey(number)], correlation_id="replay")
    assert report.outcomes == {"updated": 1}
    assert_order(scenario, number)
    assert orders(scenario)[number]["ifs_customerponumber"] == "PO-LATE"
    assert [p for p in scenario.runtime.storage.parked.list() if p.source_key == number] == []


def test_an_order_pushed_from_dynamics_is_the_one_updated(scenario: SyncScenario) -> None:
    """The id map written when a Dynamics order went to IFS wins over the alternate key: no second order."""
    load_all(scenario, "customers")
    number = new_order(scenario)
    account = scenario.rows("accounts", ["accountid"])[0]["accountid"]
    dataverse = scenario.runtime.dataverse
    price_list = dataverse.create("pricelevels", {"name": "Retail"}).id
    order_id = dataverse.create(
        "salesorders",
        {
            "name": "made in Dynamics",
            "customerid_account@odata.bind": f"/accounts({account})",
            "pricelevelid@odata.bind": f"/pricelevels({price_list})",
        },
    ).id
    dataverse.create(
        "salesorderdetails",
        {"salesorderid@odata.bind": f"/salesorders({order_id})", "isproductoverridden": True,
         "productdescription": "typed in Dynamics", "quantity": 1, "priceperunit": 5},
    )  # fmt: skip
    IdMap(scenario.runtime.storage.tables).link_many("orders", {number: str(order_id)})
    scenario.run_once("orders")
    [row] = scenario.rows("salesorders", ["salesorderid", "ifs_ordernumber", "name"], ifs_ordernumber=number)
    assert row["salesorderid"] == str(order_id)
    assert row["name"] == number
    assert_order(scenario, number)  # the hand-made line is gone: IFS owns the order's lines
    assert uuid.UUID(row["salesorderid"]) == order_id


def test_a_failed_state_change_is_retried_without_writing_the_rows_again(scenario: SyncScenario) -> None:
    """The lines went through, FulfillSalesOrder did not: the retry sends only the state change."""
    load_all(scenario, "orders")
    number = new_order(scenario)
    scenario.run_once("orders")
    set_state(scenario, number, "Invoiced")
    dataverse = scenario.admin("dataverse")
    dataverse.set_faults({"script": ["error"], "methods": ["POST"], "paths": ["/api/data/v9.2/$batch"]})
    engine = scenario.runtime.engine
    with pytest.raises(TransientSyncError):
        engine.process("orders", [ChangedKey(number)], correlation_id="first")
    assert orders(scenario)[number]["ifs_state"] == "Invoiced"  # the rows were written
    assert orders(scenario)[number]["statecode"] == 0  # the state was not (still Active, as Planned)
    dataverse.clear_faults()
    dataverse.clear_requests()
    report = engine.process("orders", [ChangedKey(number)], correlation_id="retry")
    assert report.outcomes == {"updated": 1}
    assert [r["path"].rsplit("/", 1)[-1] for r in writes(scenario)] == ["$batch"]  # FulfillSalesOrder alone
    assert_order(scenario, number)
