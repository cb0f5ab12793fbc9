"""Orders that cannot be written park with their reason, the rest go on; a fix and a replay heal them."""

from __future__ import annotations

from pathlib import Path

import pytest

from devhost.scenario import SyncScenario
from shared.config.sync import SHIPPED_MAPPINGS
from shared.sync.messages import ChangedKey
from tests.integration.sync.documents_oracle import assert_order, orders
from tests.integration.sync.oracle import ifs, ifs_rows
from tests.integration.sync.test_orders import new_order

pytestmark = pytest.mark.azurite


def test_bad_orders_park_and_heal_after_a_replay(scenario: SyncScenario) -> None:
    """Unknown customer, unknown part, no currency: parked with reasons; a good order in the batch lands."""
    good, ghost, part, money = (new_order(scenario) for _ in range(4))
    ifs(scenario, "touch", "CustomerOrderSet", key={"OrderNo": ghost}, changes={"CustomerNo": "GHOST1"})
    line = ifs_rows(scenario, "CustomerOrderLineSet", OrderNo=part)[0]
    line_key = {k: line[k] for k in ("OrderNo", "LineNo", "RelNo", "LineItemNo")}
    ifs(scenario, "touch", "CustomerOrderLineSet", key=line_key, changes={"CatalogNo": "NO-SUCH-PART"})
    ifs(scenario, "touch", "CustomerOrderSet", key={"OrderNo": money}, changes={"CurrencyCode": None})

    keys = [ChangedKey(k) for k in (good, ghost, part, money)]
    engine = scenario.runtime.engine
    report = engine.process("orders", keys, correlation_id="first")
    assert report.outcomes == {"created": 1, "parked": 3}
    assert_order(scenario, good)
    parked = {p.source_key: p for p in scenario.runtime.storage.parked.list() if p.entity == "orders"}
    assert set(parked) == {ghost, part, money}
    assert parked[ghost].error_class == "missing_dependency"
    assert "customers 'GHOST1'" in parked[ghost].message
    assert parked[part].error_class == "missing_dependency"
    assert "NO-SUCH-PART" in parked[part].message
    assert parked[money].error_class == "missing_value"
    assert set(orders(scenario)) & {ghost, part, money} == set()

    ifs(scenario, "create", "CustomerInfoSet", values={"CustomerId": "GHOST1", "Name": "FOUND AT LAST",
        "Country": "DE", "Company": "10", "CurrencyCode": "EUR"})  # fmt: skip
    ifs(scenario, "create", "SalesPartSet", values={"Contract": line["Contract"], "CatalogNo": "NO-SUCH-PART",
        "CatalogDesc": "Late part", "SalesUnitMeas": "pcs", "ListPrice": 9.5, "CurrencyCode": "EUR",
        "Activeind": "ActivePart", "CatalogType": "InventoryPart"})  # fmt: skip
    ifs(scenario, "touch", "CustomerOrderSet", key={"OrderNo": money}, changes={"CurrencyCode": "EUR"})
    report = engine.process("orders", keys, correlation_id="replay")
    assert report.outcomes == {"created": 3, "unchanged": 1}
    for number in (good, ghost, part, money):
        assert_order(scenario, number)
    assert [p for p in scenario.runtime.storage.parked.list() if p.entity == "orders"] == []


def test_an_unmapped_state_parks_the_order(scenario: SyncScenario) -> None:
    """An IFS state the value map lacks parks the order with the file, line and field to fix."""
    number = new_order(scenario)
    ifs(scenario, "touch", "CustomerOrderSet", key={"OrderNo": number}, changes={"Objstate": "Quoted"})
    report = scenario.runtime.engine.process("orders", [ChangedKey(number)], correlation_id="x")
    assert report.outcomes == {"parked": 1}
    [parked] = [p for p in scenario.runtime.storage.parked.list() if p.source_key == number]
    assert parked.error_class == "unmapped_value"
    assert "orders.toml" in parked.message
    assert "order_state" in parked.message


def test_the_salesman_becomes_the_owner(scenario: SyncScenario, tmp_path: Path) -> None:
    """With a salesman mapped to a user's email, that user owns the order; unmapped ones keep the default."""
    user = scenario.admin("dataverse").action("add_user", {"name": "Anna Berg", "email": "anna@contoso.com"})
    number = new_order(scenario)
    [order] = ifs_rows(scenario, "CustomerOrderSet", OrderNo=number)
    ifs(scenario, "touch", "CustomerOrderSet", key={"OrderNo": number}, changes={"SalesmanCode": "S10"})
    other = new_order(scenario)
    ifs(scenario, "touch", "CustomerOrderSet", key={"OrderNo": other}, changes={"SalesmanCode": "S99"})
    for name in ("customers", "sales_parts", "orders", "quotations"):
        text = (SHIPPED_MAPPINGS / f"{name}.toml").read_text()
        owned = text.replace('# S10 = "anna.berg@contoso.com"', 'S10 = "anna@contoso.com"')
        (tmp_path / f"{name}.toml").write_text(owned)
    scenario.values["SYNC_MAPPINGS_DIR"] = str(tmp_path)
    scenario.run_once("orders")
    owners = {
        r["ifs_ordernumber"]: r["_ownerid_value"]
        for r in scenario.rows("salesorders", ["ifs_ordernumber", "_ownerid_value"])
    }
    assert owners[number] == user["systemuserid"]
    assert owners[other] != user["systemuserid"]
    assert order["OrderNo"] == number
