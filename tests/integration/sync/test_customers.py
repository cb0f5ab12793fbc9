"""IFS customers → Dataverse accounts, end to end through the connector's runtime, against the simulators."""

from __future__ import annotations

import pytest

from devhost.scenario import SyncScenario
from shared.sync.messages import ChangedKey
from tests.integration.sync.oracle import accounts, assert_in_step, ifs, ifs_rows

pytestmark = pytest.mark.azurite


def test_initial_load_then_a_quiet_poll(scenario: SyncScenario) -> None:
    """Every customer becomes one account; a second poll finds nothing and writes nothing."""
    polled, report = scenario.run_once("customers")
    customers = ifs_rows(scenario, "CustomerInfoSet")
    assert polled.changed == len(customers)
    assert report.outcomes["created"] == len(customers)
    assert_in_step(scenario)
    euro = scenario.rows("transactioncurrencies", ["transactioncurrencyid"], isocurrencycode="EUR")[0]
    german = next(c for c in customers if c.get("Company") == "10")
    assert (
        accounts(scenario)[german["CustomerId"]]["_transactioncurrencyid_value"]
        == euro["transactioncurrencyid"]
    )

    dataverse = scenario.admin("dataverse")
    dataverse.clear_requests()
    again, quiet = scenario.run_once("customers")
    assert (again.changed, again.messages, quiet.written) == (0, 0, 0)
    assert dataverse.requests() == []


def test_unchanged_records_cost_no_dataverse_request(scenario: SyncScenario) -> None:
    """Replaying every key (a duplicate message) compares against the ledger and writes nothing."""
    scenario.run_once("customers")
    keys = [ChangedKey(c["CustomerId"]) for c in ifs_rows(scenario, "CustomerInfoSet")]
    dataverse = scenario.admin("dataverse")
    dataverse.clear_requests()
    for _ in range(2):
        report = scenario.runtime.engine.process("customers", keys, correlation_id="replay")
        assert report.outcomes == {"unchanged": len(keys)}
    assert [r for r in dataverse.requests() if r["method"] != "GET"] == []


def test_incremental_changes_reach_their_accounts(scenario: SyncScenario) -> None:
    """A new customer, a credit-limit change, a new default ship-to address and a new phone number arrive."""
    scenario.run_once("customers")
    customer = next(c for c in ifs_rows(scenario, "CustomerInfoSet") if c.get("Company") == "10")
    ifs(
        scenario,
        "touch",
        "CustomerInfoSet",
        key={"CustomerId": customer["CustomerId"]},
        changes={"CreditLimit": 777000.0},
    )
    ifs(
        scenario,
        "create",
        "CustomerInfoSet",
        values={"CustomerId": "DE9001", "Name": "NEW CUSTOMER GMBH", "Country": "DE", "Company": "10",
                "CurrencyCode": "EUR", "PayTermId": "60", "CreditLimit": 1000.0, "CreditBlocked": False},
    )  # fmt: skip
    ifs(
        scenario,
        "create",
        "CustomerInfoAddressSet",
        values={"CustomerId": "DE9001", "AddressId": "01", "Name": "NEW CUSTOMER GMBH", "Address1": "1 Quay",
                "ZipCode": "20095", "City": "Hamburg", "Country": "DE", "DefaultDeliveryAddress": True,
                "DefaultDocumentAddress": True},
    )  # fmt: skip
    for old in ifs_rows(scenario, "CustomerInfoAddressSet", CustomerId=customer["CustomerId"]):
        if old["DefaultDeliveryAddress"]:
            key = {"CustomerId": old["CustomerId"], "AddressId": old["AddressId"]}
            ifs(
                scenario,
                "touch",
                "CustomerInfoAddressSet",
                key=key,
                changes={"DefaultDeliveryAddress": False},
            )
    ifs(
        scenario,
        "create",
        "CustomerInfoAddressSet",
        values={"CustomerId": customer["CustomerId"], "AddressId": "99", "Name": "WAREHOUSE",
                "Address1": "9 Dock Road", "ZipCode": "99999", "City": "Rotterdam", "Country": "NL",
                "DefaultDeliveryAddress": True, "DefaultDocumentAddress": False},
    )  # fmt: skip
    other = next(
        c
        for c in ifs_rows(scenario, "CustomerInfoCommMethodSet")
        if c["CustomerId"] != customer["CustomerId"]
    )
    phone = {"CustomerId": other["CustomerId"], "CommId": other["CommId"]}
    ifs(scenario, "touch", "CustomerInfoCommMethodSet", key=phone, changes={"Value": "+46 555 0100"})
    polled, report = scenario.run_once("customers")
    assert polled.changed == 3
    assert report.outcomes == {"created": 1, "updated": 2}
    assert_in_step(scenario)
    account = accounts(scenario)[customer["CustomerId"]]
    assert (account["creditlimit"], account["address2_city"], account["address2_country"]) == (
        777000,
        "Rotterdam",
        "Netherlands",
    )


def test_keys_that_cannot_be_key_values_sync_by_id(scenario: SyncScenario) -> None:
    """A customer id with '/' and one over 20 characters still get one account each, written by id."""
    scenario.run_once("customers")
    for customer_id in ("ACME/001", "C" * 25):
        ifs(
            scenario,
            "create",
            "CustomerInfoSet",
            values={"CustomerId": customer_id, "Name": f"ODD {customer_id[:8]}", "Country": "GB"},
        )
    scenario.run_once("customers")
    assert_in_step(scenario)
    odd = accounts(scenario)
    assert odd["ACME/001"]["accountnumber"] == "ACME/001"
    assert odd["C" * 25]["accountnumber"] is None
    ifs(scenario, "touch", "CustomerInfoSet", key={"CustomerId": "ACME/001"}, changes={"Name": "ODD RENAMED"})
    scenario.run_once("customers")
    assert accounts(scenario)["ACME/001"]["name"] == "ODD RENAMED"
    assert len(scenario.rows("accounts", ["accountid"], name="ODD RENAMED")) == 1


def test_blocked_or_deleted_customers_deactivate_their_accounts(scenario: SyncScenario) -> None:
    """Blocked in IFS: inactive account; removed from IFS: inactive account; nothing is deleted."""
    scenario.run_once("customers")
    first, second = sorted(c["CustomerId"] for c in ifs_rows(scenario, "CustomerInfoSet"))[:2]
    ifs(scenario, "touch", "CustomerInfoSet", key={"CustomerId": first}, changes={"CreditBlocked": True})
    for address in ifs_rows(scenario, "CustomerInfoAddressSet", CustomerId=second):
        ifs(
            scenario,
            "delete",
            "CustomerInfoAddressSet",
            key={"CustomerId": second, "AddressId": address["AddressId"]},
        )
    ifs(scenario, "delete", "CustomerInfoSet", key={"CustomerId": second})
    polled, report = scenario.run_once("customers")
    assert (polled.changed, polled.left_scope) == (1, 1)
    assert report.outcomes == {"updated": 1, "deactivated": 1}
    synced = accounts(scenario)
    assert (synced[first]["statecode"], synced[first]["creditonhold"]) == (1, True)
    assert (synced[second]["statecode"], synced[second]["statuscode"]) == (1, 2)
    assert len(scenario.rows("accounts", ["accountid"])) == len(ifs_rows(scenario, "CustomerInfoSet")) + 1
    quiet, _ = scenario.run_once("customers")
    assert (quiet.changed, quiet.left_scope, quiet.messages) == (0, 0, 0)


def test_a_customer_leaving_the_scope_is_read_once_more(scenario: SyncScenario) -> None:
    """With a scope, a customer that leaves it is re-read by key once (its last change reaches Dynamics)."""
    scenario.values["SYNC_CUSTOMERS_SCOPE"] = "CreditBlocked eq false"
    scenario.run_once("customers")
    customer = next(c for c in ifs_rows(scenario, "CustomerInfoSet") if c.get("CreditBlocked") is False)
    ifs(
        scenario,
        "touch",
        "CustomerInfoSet",
        key={"CustomerId": customer["CustomerId"]},
        changes={"CreditBlocked": True},
    )
    polled, report = scenario.run_once("customers")
    assert (polled.changed, polled.left_scope) == (0, 1)
    assert report.outcomes == {"updated": 1}
    assert accounts(scenario)[customer["CustomerId"]]["statecode"] == 1
    quiet, _ = scenario.run_once("customers")
    assert (quiet.left_scope, quiet.messages) == (0, 0)


def test_a_missing_currency_parks_the_record_until_it_is_set_up(scenario: SyncScenario) -> None:
    """Customers in a currency the org lacks are parked with that reason; the rest go on; a replay heals."""
    values = {
        "CustomerId": "NO9001",
        "Name": "NORSK AS",
        "Country": "NO",
        "Company": "10",
        "CurrencyCode": "NOK",
    }
    ifs(scenario, "create", "CustomerInfoSet", values=values)
    polled, report = scenario.run_once("customers")
    assert report.outcomes["parked"] == 1
    assert report.outcomes["created"] == polled.changed - 1
    parked = scenario.runtime.storage.parked.get("customers", "NO9001")
    assert parked is not None
    assert parked.error_class == "missing_reference"
    assert "no transactioncurrency with isocurrencycode = 'NOK' in Dataverse" in parked.message
    assert "customers.toml:" in parked.message
    assert "transactioncurrencyid" in parked.message

    scenario.add_currencies(["NOK"])
    report = scenario.runtime.engine.process("customers", [ChangedKey("NO9001")], correlation_id="replay")
    assert report.outcomes == {"created": 1}
    assert scenario.runtime.storage.parked.get("customers", "NO9001") is None


def test_first_run_links_accounts_without_a_number_instead_of_duplicating(scenario: SyncScenario) -> None:
    """An existing account with the customer's name and no account number is linked and updated."""
    customer = sorted(ifs_rows(scenario, "CustomerInfoSet"), key=lambda c: c["CustomerId"])[0]
    existing = scenario.runtime.dataverse.create("accounts", {"name": customer["Name"].title()}).id
    scenario.run_once("customers")
    assert str(existing) == accounts(scenario)[customer["CustomerId"]]["accountid"]
    assert_in_step(scenario)
