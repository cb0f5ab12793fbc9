"""IFS sales parts → Dataverse products, units and price lists, against the simulators."""

from __future__ import annotations

from decimal import Decimal

import pytest

from devhost.scenario import SyncScenario
from shared.sync.messages import ChangedKey
from tests.integration.sync.oracle import assert_products_in_step, ifs, parts, prices, products

pytestmark = pytest.mark.azurite


def test_initial_load_of_products_units_and_prices(scenario: SyncScenario) -> None:
    """Products, unit groups per IFS unit, a price list per site and currency, a price per active site row."""
    polled, report = scenario.run_once("sales_parts")
    assert polled.changed == len(parts(scenario)) == report.outcomes["created"]
    assert_products_in_step(scenario)
    groups = {r["name"] for r in scenario.rows("uomschedules", ["name"])}
    assert {f"IFS {row[0]['SalesUnitMeas']}" for row in parts(scenario).values()} <= groups
    quiet, nothing = scenario.run_once("sales_parts")
    assert (quiet.messages, nothing.written) == (0, 0)


def test_a_first_sync_sends_no_delete_for_inactive_site_rows(scenario: SyncScenario) -> None:
    """A part never synced has no price item to remove: its inactive site row costs no DELETE."""
    number, rows = next((n, r) for n, r in parts(scenario).items() if len(r) > 1)
    site = rows[-1]["Contract"]
    key = {"Contract": site, "CatalogNo": number}
    ifs(scenario, "touch", "SalesPartSet", key=key, changes={"Activeind": "InactivePart"})
    dataverse = scenario.admin("dataverse")
    dataverse.clear_requests()
    scenario.run_once("sales_parts")
    assert [r["path"] for r in dataverse.requests(method="DELETE")] == []
    assert_products_in_step(scenario)


def test_an_active_product_is_usable_on_an_order_line(scenario: SyncScenario) -> None:
    """An order in a site's price list prices a line of a synced product at the IFS list price."""
    scenario.run_once("sales_parts")
    scenario.run_once("customers")
    number, rows = next(
        (n, r)
        for n, r in parts(scenario).items()
        if r[0]["Contract"] == "MFG10" and r[0]["Activeind"] == "ActivePart"
    )
    product = products(scenario)[number]
    dataverse = scenario.runtime.dataverse
    [price_list] = scenario.rows(
        "pricelevels", ["pricelevelid", "_transactioncurrencyid_value"], name="IFS MFG10 EUR"
    )
    account = scenario.rows("accounts", ["accountid"])[0]["accountid"]
    order = dataverse.create(
        "salesorders",
        {
            "name": "order from a synced product",
            "customerid_account@odata.bind": f"/accounts({account})",
            "pricelevelid@odata.bind": f"/pricelevels({price_list['pricelevelid']})",
            "transactioncurrencyid@odata.bind": (
                f"/transactioncurrencies({price_list['_transactioncurrencyid_value']})"
            ),
        },
    ).id
    dataverse.create(
        "salesorderdetails",
        {
            "salesorderid@odata.bind": f"/salesorders({order})",
            "productid@odata.bind": f"/products({product['productid']})",
            "uomid@odata.bind": f"/uoms({product['_defaultuomid_value']})",
            "quantity": 2,
        },
    )
    [line] = scenario.rows("salesorderdetails", ["priceperunit", "pricingerrorcode", "baseamount"])
    assert line["pricingerrorcode"] == 0
    assert Decimal(str(line["priceperunit"])) == Decimal(str(rows[0]["ListPrice"])).quantize(Decimal("0.01"))


def test_renames_and_price_changes_follow_ifs(scenario: SyncScenario) -> None:
    """A master-site rename renames the product, one elsewhere does not; a price change moves one item."""
    scenario.run_once("sales_parts")
    multi = next(n for n, rows in parts(scenario).items() if len(rows) > 1)
    master, other = parts(scenario)[multi][:2]
    ifs(
        scenario,
        "touch",
        "SalesPartSet",
        key={"Contract": master["Contract"], "CatalogNo": multi},
        changes={"CatalogDesc": "Renamed pump"},
    )
    ifs(scenario, "touch", "SalesPartSet", key={"Contract": other["Contract"], "CatalogNo": multi},
        changes={"CatalogDesc": "Local name", "ListPrice": 1234.5, "Activeind": "ActivePart"})  # fmt: skip
    polled, report = scenario.run_once("sales_parts")
    assert (polled.changed, report.outcomes) == (1, {"updated": 1})
    assert products(scenario)[multi]["name"] == "Renamed pump"
    assert prices(scenario)[(multi, f"IFS {other['Contract']} {other['CurrencyCode']}")] == Decimal("1234.5")
    assert_products_in_step(scenario)


def test_a_part_inactive_everywhere_becomes_a_retired_product(scenario: SyncScenario) -> None:
    """Inactive on every site: retired; active again: active."""
    scenario.run_once("sales_parts")
    number, rows = next(iter(parts(scenario).items()))
    for row in rows:
        ifs(
            scenario,
            "touch",
            "SalesPartSet",
            key={"Contract": row["Contract"], "CatalogNo": number},
            changes={"Activeind": "InactivePart"},
        )
    scenario.run_once("sales_parts")
    assert products(scenario)[number]["statecode"] == 1
    assert_products_in_step(scenario)
    ifs(
        scenario,
        "touch",
        "SalesPartSet",
        key={"Contract": rows[0]["Contract"], "CatalogNo": number},
        changes={"Activeind": "ActivePart"},
    )
    scenario.run_once("sales_parts")
    assert products(scenario)[number]["statecode"] == 0
    assert_products_in_step(scenario)


def test_a_site_currency_missing_in_the_org_parks_the_part(scenario: SyncScenario) -> None:
    """A part sold in a currency the org lacks is parked with that reason; the others load; a replay heals."""
    ifs(scenario, "create", "SalesPartSet", values={"Contract": "SE40", "CatalogNo": "NOK-1",
        "CatalogDesc": "Krone part", "SalesUnitMeas": "pcs", "ListPrice": 10.0, "CurrencyCode": "NOK",
        "Activeind": "ActivePart", "CatalogType": "InventoryPart"})  # fmt: skip
    polled, report = scenario.run_once("sales_parts")
    assert report.outcomes == {"created": polled.changed - 1, "parked": 1}
    parked = scenario.runtime.storage.parked.get("sales_parts", "NOK-1")
    assert parked is not None
    assert parked.error_class == "missing_reference"
    assert "no transactioncurrency with isocurrencycode = 'NOK' in Dataverse" in parked.message
    scenario.add_currencies(["NOK"])
    report = scenario.runtime.engine.process("sales_parts", [ChangedKey("NOK-1")], correlation_id="replay")
    assert report.outcomes == {"created": 1}
    assert ("NOK-1", "IFS SE40 NOK") in prices(scenario)


def test_replaying_unchanged_parts_writes_nothing(scenario: SyncScenario) -> None:
    """A replay of every part compares with the ledger: no product or price write (bound ids included)."""
    scenario.run_once("sales_parts")
    keys = [ChangedKey(number) for number in parts(scenario)]
    scenario.admin("dataverse").clear_requests()
    report = scenario.runtime.engine.process("sales_parts", keys, correlation_id="replay")
    assert report.outcomes == {"unchanged": len(keys)}
    assert [r for r in scenario.admin("dataverse").requests() if r["method"] != "GET"] == []
