"""The simulated organization's record semantics: what the platform fills, enforces and refuses."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest

from simulators.dataverse.errors import WebApiError
from simulators.dataverse.keys import IndexStatus
from simulators.dataverse.records import etag
from simulators.dataverse.store import Ref
from tests.unit.dataverse.simulated_org import fresh_org

MISSING = "00000000-0000-0000-0000-000000000001"


def test_a_create_gets_what_the_platform_fills_in() -> None:
    """Owner, business unit, state and status, base currency, timestamps and a W/"n" ETag."""
    sim = fresh_org()
    row = sim.create("account", {"name": "Contoso", "creditlimit": 1000})
    assert row["ownerid"] == Ref("systemuser", sim.caller.user_id)
    assert row["owningbusinessunit"] == Ref("businessunit", sim.caller.business_unit_id)
    assert (row["statecode"], row["statuscode"]) == (0, 1)
    assert row["transactioncurrencyid"] == Ref("transactioncurrency", sim.org.base_currency_id)
    assert row["creditlimit_base"] == Decimal("1000.00")
    assert row["createdon"] == row["modifiedon"]
    assert etag(row) == f'W/"{row["versionnumber"]}"'


def test_every_write_changes_the_etag() -> None:
    """Updating a row gives it a new, higher version."""
    sim = fresh_org()
    row = sim.create("account", {"name": "Contoso"})
    updated, created = sim.upsert("account", str(row["accountid"]), {"name": "Contoso Ltd"})
    assert not created
    assert updated["versionnumber"] > row["versionnumber"]
    assert etag(updated) != etag(row)


def test_system_required_is_enforced_application_required_is_not() -> None:
    """An order line without its order fails; an order without name, customer or price list is created."""
    sim = fresh_org()
    order = sim.create("salesorder", {})
    assert order["ordernumber"].startswith("ORD-")
    with pytest.raises(WebApiError) as caught:
        sim.create(
            "salesorderdetail", {"quantity": 1, "isproductoverridden": True, "productdescription": "x"}
        )
    assert caught.value.status == 400
    assert "'salesorderid'" in caught.value.message


def test_a_system_required_column_cannot_be_emptied() -> None:
    """Setting productnumber to null on update is refused."""
    sim = fresh_org()
    product = sim.create("product", {"name": "Bolt", "productnumber": "P1"})
    with pytest.raises(WebApiError) as caught:
        sim.upsert("product", str(product["productid"]), {"productnumber": None}, if_match="*")
    assert "'productnumber'" in caught.value.message


def test_bind_to_a_missing_row_is_an_error() -> None:
    """A line bound to a product that does not exist is refused with ObjectDoesNotExist."""
    sim = fresh_org()
    order = sim.create("salesorder", {"name": "SO"})
    with pytest.raises(WebApiError) as caught:
        sim.create(
            "salesorderdetail",
            {
                "salesorderid@odata.bind": f"/salesorders({order['salesorderid']})",
                "productid@odata.bind": f"/products({MISSING})",
                "quantity": 1,
            },
        )
    assert (caught.value.status, caught.value.code) == (404, "0x80040217")
    assert caught.value.message == f"product With Id = {MISSING} Does Not Exist"


def test_bind_by_alternate_key_and_absolute_url() -> None:
    """A bind may name its row by an active alternate key, in any URL spelling."""
    sim = fresh_org()
    sim.key("account", "accountnumber")
    account = sim.create("account", {"name": "Contoso", "accountnumber": "C1"})
    order = sim.create(
        "salesorder", {"name": "SO", "customerid_account@odata.bind": "/accounts(accountnumber='C1')"}
    )
    assert order["customerid"] == Ref("account", account["accountid"])
    other = sim.create(
        "salesorder",
        {
            "customerid_account@odata.bind": f"https://org.example/api/data/v9.2/accounts({account['accountid']})"
        },
    )
    assert other["customerid"] == Ref("account", account["accountid"])
    with pytest.raises(WebApiError) as caught:
        sim.create("salesorder", {"customerid_account@odata.bind": "/accounts(accountnumber='NOPE')"})
    assert caught.value.message == "A record with the specified key values does not exist in account entity"


def test_bind_to_the_wrong_table_or_an_undeclared_navigation_is_refused() -> None:
    """customerid_account cannot point at a contact; a made-up navigation property is refused."""
    sim = fresh_org()
    contact = sim.create("contact", {"lastname": "Doe"})
    with pytest.raises(WebApiError, match="names a contact"):
        sim.create("salesorder", {"customerid_account@odata.bind": f"/contacts({contact['contactid']})"})
    with pytest.raises(WebApiError, match="undeclared property 'nosuch'"):
        sim.create("salesorder", {"nosuch@odata.bind": f"/contacts({contact['contactid']})"})


def test_unknown_read_only_and_badly_typed_properties_are_refused() -> None:
    """Each gets a 400 naming the property or the literal."""
    sim = fresh_org()
    with pytest.raises(
        WebApiError,
        match=re.escape("property 'colour' does not exist on type 'Microsoft.Dynamics.CRM.account'"),
    ):
        sim.create("account", {"name": "A", "colour": "red"})
    with pytest.raises(WebApiError, match="'createdon'"):
        sim.create("account", {"name": "A", "createdon": "2026-01-01T00:00:00Z"})
    with pytest.raises(
        WebApiError, match=re.escape("Cannot convert the literal 'many' to the expected type 'Edm.Int32'")
    ):
        sim.create("account", {"name": "A", "numberofemployees": "many"})
    with pytest.raises(WebApiError, match="outside the valid range"):
        sim.create("account", {"name": "A", "paymenttermscode": 99})


def test_a_string_over_its_max_length_gets_the_documented_validation_error() -> None:
    """The accountnumber column holds 20 characters."""
    sim = fresh_org()
    with pytest.raises(WebApiError) as caught:
        sim.create("account", {"name": "A", "accountnumber": "X" * 21})
    assert caught.value.code == "0x80044331"
    assert caught.value.message == (
        "A validation error occurred.  The length of the 'accountnumber' attribute of the 'account' entity "
        "exceeded the maximum allowed length of '20'."
    )


def test_upsert_by_key_creates_then_updates() -> None:
    """The first PATCH by key creates (with the URL's key value), the second updates the same row."""
    sim = fresh_org()
    sim.key("account", "accountnumber")
    created, was_created = sim.upsert("account", "accountnumber='C1'", {"name": "First"})
    updated, was_created_again = sim.upsert("account", "accountnumber='C1'", {"name": "Second"})
    assert (was_created, was_created_again) == (True, False)
    assert created["accountid"] == updated["accountid"]
    assert (updated["name"], updated["accountnumber"]) == ("Second", "C1")
    assert len(sim.org.store.rows("account")) == 1


def test_key_columns_in_the_body_are_ignored_on_update_and_win_on_create() -> None:
    """As the upsert article says: stripped on update; on create the body's value is used."""
    sim = fresh_org()
    sim.key("account", "accountnumber")
    created, _ = sim.upsert("account", "accountnumber='C1'", {"name": "A", "accountnumber": "C9"})
    assert created["accountnumber"] == "C9"
    updated, was_created = sim.upsert("account", "accountnumber='C9'", {"name": "B", "accountnumber": "C5"})
    assert not was_created
    assert updated["accountnumber"] == "C9"


def test_upsert_with_a_two_column_key() -> None:
    """A key of two columns addresses one row; the URL literals are typed per column."""
    sim = fresh_org()
    sim.key("contact", "firstname", "emailaddress1")
    row, created = sim.upsert(
        "contact", "firstname='Joe',emailaddress1='abc@example.com'", {"lastname": "Doe"}
    )
    assert created
    assert (row["firstname"], row["emailaddress1"], row["fullname"]) == ("Joe", "abc@example.com", "Joe Doe")


def test_if_match_star_prevents_the_create() -> None:
    """PATCH with If-Match: * on a missing row is the documented 404."""
    sim = fresh_org()
    with pytest.raises(WebApiError) as caught:
        sim.upsert("account", MISSING, {"name": "X"}, if_match="*")
    assert (caught.value.status, caught.value.code) == (404, "")
    assert caught.value.message == f"account With Id = {MISSING} Does Not Exist"


def test_if_none_match_star_prevents_the_update() -> None:
    """PATCH with If-None-Match: * on an existing row is the documented 412."""
    sim = fresh_org()
    sim.upsert("account", MISSING, {"name": "X"})
    with pytest.raises(WebApiError) as caught:
        sim.upsert("account", MISSING, {"name": "Y"}, if_none_match="*")
    assert (caught.value.status, caught.value.message) == (
        412,
        "A record with matching key values already exists.",
    )


def test_if_match_with_a_stale_etag_refuses_update_and_delete() -> None:
    """A stale ETag gets the documented 412 for PATCH and DELETE; the current one succeeds."""
    sim = fresh_org()
    row = sim.create("account", {"name": "A"})
    row_id = str(row["accountid"])
    stale = etag(row)
    sim.upsert("account", row_id, {"name": "B"})
    mismatch = (412, "", "The version of the existing record doesn't match the RowVersion property provided.")
    with pytest.raises(WebApiError) as caught:
        sim.upsert("account", row_id, {"name": "C"}, if_match=stale)
    assert (caught.value.status, caught.value.code, caught.value.message) == mismatch
    with pytest.raises(WebApiError) as caught:
        sim.delete("account", row_id, if_match=stale)
    assert (caught.value.status, caught.value.code, caught.value.message) == mismatch
    current = etag(sim.get("account", row["accountid"]))
    updated, _ = sim.upsert("account", row_id, {"name": "D"}, if_match=current)
    assert updated["name"] == "D"
    sim.delete("account", row_id, if_match=etag(updated))
    assert sim.org.store.rows("account") == []


def test_retrieve_and_delete_of_a_missing_row_are_404() -> None:
    """By id: '<table> With Id = … Does Not Exist'."""
    sim = fresh_org()
    for action in (lambda: sim.get("account", uuid.UUID(MISSING)), lambda: sim.delete("account", MISSING)):
        with pytest.raises(WebApiError) as caught:
            action()
        assert (caught.value.status, caught.value.message) == (
            404,
            f"account With Id = {MISSING} Does Not Exist",
        )


def test_a_pending_key_cannot_address_rows_until_its_index_is_active() -> None:
    """Keys move Pending -> InProgress -> Active with the clock; before that the key URL is invalid."""
    sim = fresh_org(key_activation_seconds=60)
    table = sim.table("account")
    key = sim.org.keys.define(table, "new_accountnumber", ["accountnumber"])
    assert key.status is IndexStatus.PENDING
    with pytest.raises(WebApiError, match="The key in the request URI is not valid for resource"):
        sim.upsert("account", "accountnumber='C1'", {"name": "A"})
    sim.time.advance(30)
    assert sim.org.keys.for_table(table)[0].status is IndexStatus.IN_PROGRESS
    sim.time.advance(30)
    assert sim.org.keys.for_table(table)[0].status is IndexStatus.ACTIVE
    _, created = sim.upsert("account", "accountnumber='C1'", {"name": "A"})
    assert created


def test_a_key_over_duplicate_data_fails_and_can_be_reactivated() -> None:
    """Existing duplicates fail the index build; after fixing the data ReactivateEntityKey makes it Active."""
    sim = fresh_org(key_activation_seconds=10)
    table = sim.table("account")
    first = sim.create("account", {"name": "A", "accountnumber": "C1"})
    sim.create("account", {"name": "B", "accountnumber": "c1"})  # the same value to SQL Server's collation
    key = sim.org.keys.define(table, "new_accountnumber", ["accountnumber"])
    sim.time.advance(10)
    assert sim.org.keys.for_table(table)[0].status is IndexStatus.FAILED
    sim.upsert("account", str(first["accountid"]), {"accountnumber": "C2"})
    sim.org.keys.reactivate(table, key.metadata_id)
    sim.time.advance(10)
    assert sim.org.keys.for_table(table)[0].status is IndexStatus.ACTIVE


def test_an_active_key_is_unique() -> None:
    """A second row with the same key value is refused with DuplicateRecordEntityKey."""
    sim = fresh_org()
    sim.key("account", "accountnumber")
    sim.create("account", {"name": "A", "accountnumber": "C1"})
    with pytest.raises(WebApiError) as caught:
        sim.create("account", {"name": "B", "accountnumber": "C1"})
    assert (caught.value.status, caught.value.code) == (412, "0x80060892")
    assert caught.value.message.startswith("Entity Key key_accountnumber violated.")


def test_key_values_with_unaddressable_characters_are_refused() -> None:
    """Each character the alternate-keys article names is refused in a key URL."""
    sim = fresh_org()
    sim.key("account", "accountnumber")
    for character in "/<>*%&:\\?+":
        with pytest.raises(WebApiError) as caught:
            sim.upsert("account", f"accountnumber='A{character}B'", {"name": "A"})
        assert caught.value.status == 400
        assert f"({character})" in caught.value.message


def test_a_quote_in_a_key_value_is_escaped_by_doubling() -> None:
    """O''Brien in the URL is the value O'Brien."""
    sim = fresh_org()
    sim.key("account", "accountnumber")
    row, _ = sim.upsert("account", "accountnumber='O''Brien'", {"name": "A"})
    assert row["accountnumber"] == "O'Brien"


def test_the_wrong_key_columns_get_the_documented_message() -> None:
    """Key properties that are not a defined key: the alternate-key article's message."""
    sim = fresh_org()
    with pytest.raises(WebApiError) as caught:
        sim.upsert("account", "name='A'", {"name": "A"})
    assert caught.value.message == (
        "The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.account'. Ensure that "
        "the names and number of key properties match the declared or alternate key properties for the "
        "resource 'Microsoft.Dynamics.CRM.account'."
    )


def test_deleting_an_order_deletes_its_lines() -> None:
    """Order lines go with their order."""
    sim = fresh_org()
    order = sim.create("salesorder", {"name": "SO"})
    sim.create(
        "salesorderdetail",
        {
            "salesorderid@odata.bind": f"/salesorders({order['salesorderid']})",
            "isproductoverridden": True,
            "productdescription": "write-in",
            "quantity": 1,
        },
    )
    sim.delete("salesorder", str(order["salesorderid"]))
    assert sim.org.store.rows("salesorderdetail") == []


def test_a_new_unit_group_gets_its_base_unit() -> None:
    """Creating a uomschedule creates the uom named baseuomname, quantity 1, its own base."""
    sim = fresh_org()
    schedule = sim.create("uomschedule", {"name": "Weight", "baseuomname": "kg"})
    units = [
        u
        for u in sim.org.store.rows("uom")
        if u["uomscheduleid"] == Ref("uomschedule", schedule["uomscheduleid"])
    ]
    assert [(u["name"], u["quantity"], u["isschedulebaseuom"]) for u in units] == [("kg", 1, True)]
    assert units[0]["baseuom"] == Ref("uom", units[0]["uomid"])
