"""The test oracle of the sync: what Dataverse must hold, worked out from the IFS simulator's own rows.

Independent of the connector's mapping code: each rule of the shipped mapping files is restated here by
hand, so a mapping or engine fault shows as a difference. Shared by the integration and end-to-end tests.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from devhost.scenario import SyncScenario
from shared.state.keys import decode_key

ACCOUNT_COLUMNS = [
    "accountid", "accountnumber", "name", "creditlimit", "creditonhold", "paymenttermscode",
    "address1_line1", "address1_postalcode", "address1_city", "address1_country",
    "address2_line1", "address2_city", "address2_country", "telephone1", "emailaddress1",
    "statecode", "statuscode",
    "_transactioncurrencyid_value",
]  # fmt: skip
TERMS = {"30": 1, "30FDM": 1, "45": 3, "60": 4, "10D2": 2}
COUNTRIES = {"DE": "Germany", "FR": "France", "GB": "United Kingdom", "NL": "Netherlands", "SE": "Sweden"}


def ifs_rows(scenario: SyncScenario, entity_set: str, **match: Any) -> list[dict[str, Any]]:
    """Rows of an IFS table as the simulator holds them (the test's view of the truth)."""
    state = next(s for s in scenario.stack.ifs.tenant.sets.values() if s.model.name == entity_set)
    return [
        dict(r.values)
        for r in state.table.rows.values()
        if all(r.values.get(k) == v for k, v in match.items())
    ]


def ifs(scenario: SyncScenario, action: str, entity_set: str, **body: Any) -> Any:
    """What a user does in IFS (through the simulator's admin surface)."""
    return scenario.admin("ifs").action(action, {"entity_set": entity_set, **body})


def expected_account(scenario: SyncScenario, customer: dict[str, Any]) -> dict[str, Any]:
    """What the account of ``customer`` must hold, worked out independently of the mapping code."""
    addresses = ifs_rows(scenario, "CustomerInfoAddressSet", CustomerId=customer["CustomerId"])
    addresses.sort(key=lambda a: a["AddressId"])
    bill = next((a for a in addresses if a["DefaultDocumentAddress"]), addresses[0] if addresses else {})
    ship = next((a for a in addresses if a["DefaultDeliveryAddress"]), bill)
    own_company = customer.get("Company") in (None, "10")
    methods = sorted(
        ifs_rows(scenario, "CustomerInfoCommMethodSet", CustomerId=customer["CustomerId"]),
        key=lambda m: m["CommId"],
    )

    def method(kind: str) -> str | None:
        found = [m for m in methods if m["Method"] == kind]
        chosen = next((m for m in found if m["MethodDefault"]), found[0] if found else None)
        return None if chosen is None else chosen["Value"]

    blocked = customer.get("CreditBlocked") is True
    return {
        "accountnumber": customer["CustomerId"] if len(customer["CustomerId"]) <= 20 else None,
        "name": customer["Name"],
        "creditlimit": customer.get("CreditLimit") if own_company else None,
        "creditonhold": blocked,
        "paymenttermscode": TERMS.get(customer.get("PayTermId") or "") if own_company else None,
        "address1_line1": bill.get("Address1"),
        "address1_postalcode": bill.get("ZipCode"),
        "address1_city": bill.get("City"),
        "address1_country": COUNTRIES.get(bill.get("Country") or "", bill.get("Country")),
        "address2_line1": ship.get("Address1"),
        "address2_city": ship.get("City"),
        "address2_country": COUNTRIES.get(ship.get("Country") or "", ship.get("Country")),
        "telephone1": method("Phone"),
        "emailaddress1": method("EMail"),
        "statecode": 1 if blocked else 0,
        "statuscode": 2 if blocked else 1,
    }


def accounts(scenario: SyncScenario) -> dict[str, dict[str, Any]]:
    """Every account by the IFS customer it was synced from (the id map), as Dataverse holds it."""
    rows = {r["accountid"]: r for r in scenario.rows("accounts", ACCOUNT_COLUMNS)}
    links = scenario.runtime.storage.tables.table("idmap").query_entities(
        "PartitionKey eq @p", parameters={"p": "customers|source"}
    )
    return {decode_key(link["RowKey"]): rows[link["TargetId"]] for link in links}


def assert_in_step(scenario: SyncScenario) -> None:
    """Every IFS customer has exactly one account, holding every mapped column as IFS has it."""
    customers = {c["CustomerId"]: c for c in ifs_rows(scenario, "CustomerInfoSet")}
    synced = accounts(scenario)
    assert len(scenario.rows("accounts", ["accountid"])) == len(customers)
    assert set(synced) == set(customers)
    for customer_id, customer in customers.items():
        row = synced[customer_id]
        actual = {k: row[k] for k in expected_account(scenario, customer)}
        assert actual == expected_account(scenario, customer), customer_id


SITES = ("MFG10", "MFG11", "DIS20", "UK30", "SE40", "FR020")  # SALES_PARTS_SITES of the sample settings


def parts(scenario: SyncScenario) -> dict[str, list[dict[str, Any]]]:
    """IFS sales-part rows by catalog number, in site priority order."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in ifs_rows(scenario, "SalesPartSet"):
        if row["Contract"] in SITES:
            found[row["CatalogNo"]].append(row)
    for rows in found.values():
        rows.sort(key=lambda r: SITES.index(r["Contract"]))
    return dict(found)


def products(scenario: SyncScenario) -> dict[str, dict[str, Any]]:
    rows = scenario.rows(
        "products",
        ["productid", "productnumber", "name", "statecode", "statuscode", "price", "_defaultuomid_value",
         "_defaultuomscheduleid_value", "_pricelevelid_value"],
    )  # fmt: skip
    return {r["productnumber"]: r for r in rows}


def prices(scenario: SyncScenario) -> dict[tuple[str, str], Decimal]:
    """(catalog number, price list name) -> amount, as Dataverse holds the price-list items."""
    lists = {r["pricelevelid"]: r["name"] for r in scenario.rows("pricelevels", ["pricelevelid", "name"])}
    numbers = {
        r["productid"]: r["productnumber"] for r in scenario.rows("products", ["productid", "productnumber"])
    }
    items = scenario.rows("productpricelevels", ["_productid_value", "_pricelevelid_value", "amount"])
    return {
        (numbers[i["_productid_value"]], lists[i["_pricelevelid_value"]]): Decimal(str(i["amount"]))
        for i in items
    }


def assert_products_in_step(scenario: SyncScenario) -> None:
    """One product per catalog number, named from the master site; one price per active site row."""
    ifs_parts = parts(scenario)
    synced = products(scenario)
    assert set(synced) == set(ifs_parts)
    assert len(scenario.rows("products", ["productid"])) == len(ifs_parts)
    units = {r["uomid"]: r["name"] for r in scenario.rows("uoms", ["uomid", "name"])}
    expected_prices = {}
    for number, rows in ifs_parts.items():
        master, product = rows[0], synced[number]
        active = any(r["Activeind"] == "ActivePart" for r in rows)
        assert product["name"] == master["CatalogDesc"][:100], number
        assert (product["statecode"], product["statuscode"]) == ((0, 1) if active else (1, 2)), number
        assert units[product["_defaultuomid_value"]] == master["SalesUnitMeas"], number
        for row in rows:
            if row["Activeind"] == "ActivePart":
                key = (number, f"IFS {row['Contract']} {row['CurrencyCode']}")
                expected_prices[key] = Decimal(str(row["ListPrice"])).quantize(Decimal("0.01"))
    assert {k: v.quantize(Decimal("0.01")) for k, v in prices(scenario).items()} == expected_prices


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row without ids and ETags (each run of a scenario has its own; a retried write moves an ETag)."""
    return {
        c: v for c, v in row.items() if not (c.endswith("id") or c.endswith("_value") or c.startswith("@"))
    }


def snapshot(scenario: SyncScenario) -> dict[str, Any]:
    """Dataverse's synced state without its ids: what two runs of one scenario must agree on."""
    return {
        "accounts": {k: _plain(row) for k, row in accounts(scenario).items()},
        "account_count": len(scenario.rows("accounts", ["accountid"])),
        "products": {k: _plain(row) for k, row in products(scenario).items()},
        "product_count": len(scenario.rows("products", ["productid"])),
        "prices": prices(scenario),
        "price_lists": sorted(r["name"] for r in scenario.rows("pricelevels", ["name"])),
        "unit_groups": sorted(r["name"] for r in scenario.rows("uomschedules", ["name"])),
    }
