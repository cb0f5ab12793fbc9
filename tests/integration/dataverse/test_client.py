"""DataverseClient against the Dataverse simulator over HTTPS, with Entra tokens from azure-identity."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.dataverse.client import DataverseClient
from shared.dataverse.errors import (
    AlreadyExistsError,
    BadRequestError,
    ConcurrencyConflictError,
    DuplicateKeyError,
    NotFoundError,
)
from shared.dataverse.keys import UnaddressableKeyError
from tests.integration.dataverse.conftest import DataverseStack

ACCOUNT_KEY = {"SchemaName": "sync_AccountNumber", "KeyAttributes": ["accountnumber"]}


def account_key(dataverse: DataverseStack, client: DataverseClient) -> None:
    """Create the accountnumber key through the Web API and let its index build (10 s of simulated time)."""
    client.create("EntityDefinitions(LogicalName='account')/Keys", ACCOUNT_KEY)
    dataverse.clock.advance(10)


def key_status(client: DataverseClient) -> str:
    page = client.query_page("EntityDefinitions(LogicalName='account')/Keys", select=["EntityKeyIndexStatus"])
    status: str = page.rows[0]["EntityKeyIndexStatus"]
    return status


def test_who_am_i_is_the_application_user(dataverse: DataverseStack) -> None:
    """WhoAmI answers the systemuser bound to the connector's Entra app."""
    me = dataverse.client().who_am_i()
    user = dataverse.simulator.org.store.get("systemuser", me.user_id)
    assert user is not None
    assert str(user["applicationid"]) == dataverse.identity.client.client_id
    assert me.business_unit_id == dataverse.simulator.org.business_unit_id
    assert me.organization_id == dataverse.simulator.org.organization_id


def test_create_read_update_delete(dataverse: DataverseStack) -> None:
    """A row goes through its whole life; every write changes its ETag."""
    client = dataverse.client()
    written = client.create("accounts", {"name": "Contoso", "creditlimit": 5000})
    assert written.id is not None
    assert written.created is True
    row = client.get("accounts", written.id, select=["name", "creditlimit"])
    assert row is not None
    assert (row["name"], row["creditlimit"], row["accountid"]) == ("Contoso", 5000, str(written.id))
    client.update("accounts", written.id, {"name": "Contoso Ltd"})
    updated = client.get("accounts", written.id, select=["name"])
    assert updated is not None
    assert updated["name"] == "Contoso Ltd"
    assert updated["@odata.etag"] != row["@odata.etag"]
    client.delete("accounts", written.id)
    with pytest.raises(NotFoundError) as caught:
        client.get("accounts", written.id)
    assert caught.value.message == f"account With Id = {written.id} Does Not Exist"


def test_get_if_none_match_returns_none_when_unchanged(dataverse: DataverseStack) -> None:
    """A conditional GET with the current ETag is a 304; after a write it returns the row."""
    client = dataverse.client()
    row_id = client.create("accounts", {"name": "A"}).id
    assert row_id is not None
    current = client.get("accounts", row_id)
    assert current is not None
    assert client.get("accounts", row_id, if_none_match=current["@odata.etag"]) is None
    client.update("accounts", row_id, {"name": "B"})
    assert client.get("accounts", row_id, if_none_match=current["@odata.etag"]) is not None


def test_alternate_key_created_through_the_web_api_then_upsert(dataverse: DataverseStack) -> None:
    """The key is Pending until its index is Active; then PATCH by key creates once and updates after."""
    client = dataverse.client()
    client.create("EntityDefinitions(LogicalName='account')/Keys", ACCOUNT_KEY)
    assert key_status(client) == "Pending"
    with pytest.raises(BadRequestError, match="The key in the request URI is not valid"):
        client.upsert("accounts", {"accountnumber": "C1"}, {"name": "too early"})
    dataverse.clock.advance(10)
    assert key_status(client) == "Active"

    first = client.upsert("accounts", {"accountnumber": "C1"}, {"name": "First"})
    assert first.created is None  # a 204 does not say which it was
    assert first.entity_id == f"{dataverse.url}/api/data/v9.2/accounts(accountnumber='C1')"
    second = client.upsert(
        "accounts", {"accountnumber": "C1"}, {"name": "Second"}, return_representation=True, select=["name"]
    )
    assert second.created is False
    assert second.record is not None
    assert second.record["name"] == "Second"
    rows = list(client.query("accounts", select=["name", "accountnumber"], filter="accountnumber eq 'C1'"))
    assert [(r["name"], r["accountnumber"]) for r in rows] == [("Second", "C1")]


def test_create_only_and_update_only_upserts(dataverse: DataverseStack) -> None:
    """If-None-Match: * refuses to update; If-Match: * refuses to create."""
    client = dataverse.client()
    account_key(dataverse, client)
    with pytest.raises(NotFoundError, match="does not exist in account entity"):
        client.upsert("accounts", {"accountnumber": "C2"}, {"name": "x"}, mode="update_only")
    created = client.upsert(
        "accounts", {"accountnumber": "C2"}, {"name": "x"}, mode="create_only", return_representation=True
    )
    assert created.created is True
    with pytest.raises(AlreadyExistsError):
        client.upsert("accounts", {"accountnumber": "C2"}, {"name": "y"}, mode="create_only")


def test_stale_etags_are_concurrency_conflicts(dataverse: DataverseStack) -> None:
    """Update and delete with an old ETag fail; with the current one they succeed."""
    client = dataverse.client()
    row_id = client.create("accounts", {"name": "A"}).id
    assert row_id is not None
    old = client.get("accounts", row_id)
    assert old is not None
    client.update("accounts", row_id, {"name": "B"}, if_match=old["@odata.etag"])
    with pytest.raises(ConcurrencyConflictError):
        client.update("accounts", row_id, {"name": "C"}, if_match=old["@odata.etag"])
    with pytest.raises(ConcurrencyConflictError):
        client.delete("accounts", row_id, if_match=old["@odata.etag"])
    current = client.get("accounts", row_id)
    assert current is not None
    client.delete("accounts", row_id, if_match=current["@odata.etag"])


def test_paged_query_follows_next_links(dataverse: DataverseStack) -> None:
    """Prefer: odata.maxpagesize=3 over 7 rows gives pages of 3, 3 and 1 linked by @odata.nextLink."""
    client = dataverse.client(page_size="3")
    for index in range(7):
        client.create("accounts", {"name": f"Account {index}"})
    page = client.query_page("accounts", select=["name"], orderby="name desc", count=True)
    sizes = [len(page.rows)]
    assert page.count == 7
    while page.next_link:
        assert "$skiptoken=" in page.next_link
        page = client.query_page(page.next_link)
        sizes.append(len(page.rows))
    assert sizes == [3, 3, 1]
    names = [row["name"] for row in client.query("accounts", select=["name"], orderby="name desc")]
    assert names == [f"Account {index}" for index in reversed(range(7))]


def test_filter_through_a_navigation_property_and_single_valued_expand(dataverse: DataverseStack) -> None:
    """Orders of one customer, each with its customer expanded."""
    client = dataverse.client()
    account_key(dataverse, client)
    client.upsert("accounts", {"accountnumber": "C1"}, {"name": "Contoso"})
    client.upsert("accounts", {"accountnumber": "C2"}, {"name": "Fabrikam"})
    for number, customer in (("SO-1", "C1"), ("SO-2", "C2"), ("SO-3", "C1")):
        client.create(
            "salesorders",
            {"name": number, "customerid_account@odata.bind": f"/accounts(accountnumber='{customer}')"},
        )
    rows = list(
        client.query(
            "salesorders",
            select=["name"],
            filter="customerid_account/accountnumber eq 'C1'",
            orderby="name",
            expand="customerid_account($select=name,accountnumber)",
        )
    )
    assert [r["name"] for r in rows] == ["SO-1", "SO-3"]
    assert rows[0]["customerid_account"]["name"] == "Contoso"
    assert set(rows[0]["customerid_account"]) >= {"@odata.etag", "accountid", "name", "accountnumber"}


def catalog(client: DataverseClient) -> dict[str, Any]:
    """Price list Retail with product P1 at 12.50 per Primary Unit (the default unit group's base unit)."""
    unit = next(
        client.query("uoms", select=["uomid", "_uomscheduleid_value"], filter="name eq 'Primary Unit'")
    )
    price_list = client.create("pricelevels", {"name": "Retail"}).id
    product = client.create(
        "products",
        {
            "name": "Bolt",
            "productnumber": "P1",
            "defaultuomid@odata.bind": f"/uoms({unit['uomid']})",
            "defaultuomscheduleid@odata.bind": f"/uomschedules({unit['_uomscheduleid_value']})",
        },
    ).id
    client.create(
        "productpricelevels",
        {
            "pricelevelid@odata.bind": f"/pricelevels({price_list})",
            "productid@odata.bind": f"/products({product})",
            "uomid@odata.bind": f"/uoms({unit['uomid']})",
            "amount": 12.5,
        },
    )
    return {"unit": unit["uomid"], "price_list": price_list, "product": product}


def test_order_lines_are_priced_and_a_missing_product_is_refused(dataverse: DataverseStack) -> None:
    """A catalog line takes the price list's price; a line for a product that does not exist is a 404."""
    client = dataverse.client()
    ids = catalog(client)
    order = client.create(
        "salesorders", {"name": "SO-1", "pricelevelid@odata.bind": f"/pricelevels({ids['price_list']})"}
    ).id
    assert order is not None
    line = client.create(
        "salesorderdetails",
        {
            "salesorderid@odata.bind": f"/salesorders({order})",
            "productid@odata.bind": f"/products({ids['product']})",
            "uomid@odata.bind": f"/uoms({ids['unit']})",
            "quantity": 4,
        },
        return_representation=True,
        select=["priceperunit", "extendedamount", "pricingerrorcode"],
    )
    assert line.record is not None
    assert (line.record["priceperunit"], line.record["extendedamount"], line.record["pricingerrorcode"]) == (
        12.5,
        50,
        0,
    )
    header = client.get("salesorders", order, select=["totalamount", "ordernumber"])
    assert header is not None
    assert header["totalamount"] == 50
    assert header["ordernumber"].startswith("ORD-")
    missing = uuid.uuid4()
    with pytest.raises(NotFoundError) as caught:
        client.create(
            "salesorderdetails",
            {
                "salesorderid@odata.bind": f"/salesorders({order})",
                "productid@odata.bind": f"/products({missing})",
                "uomid@odata.bind": f"/uoms({ids['unit']})",
                "quantity": 1,
            },
        )
    assert (caught.value.code, caught.value.message) == (
        "0x80040217",
        f"product With Id = {missing} Does Not Exist",
    )


def test_system_required_enforced_application_required_not(dataverse: DataverseStack) -> None:
    """An order with no name, customer or price list is created; a line without its order is refused."""
    client = dataverse.client()
    assert client.create("salesorders", {}).id is not None
    with pytest.raises(BadRequestError, match="'salesorderid'"):
        client.create(
            "salesorderdetails", {"isproductoverridden": True, "productdescription": "x", "quantity": 1}
        )


def test_invalid_data_gives_typed_errors_with_the_dataverse_message(dataverse: DataverseStack) -> None:
    """Unknown column, over-long value and duplicate key each raise their error with code and message."""
    client = dataverse.client()
    account_key(dataverse, client)
    with pytest.raises(BadRequestError, match="The property 'colour' does not exist"):
        client.create("accounts", {"name": "A", "colour": "red"})
    with pytest.raises(BadRequestError) as caught:
        client.create("accounts", {"name": "A", "accountnumber": "X" * 21})
    assert caught.value.code == "0x80044331"
    client.create("accounts", {"name": "A", "accountnumber": "C1"})
    with pytest.raises(DuplicateKeyError) as duplicate:
        client.create("accounts", {"name": "B", "accountnumber": "C1"})
    assert (duplicate.value.status, duplicate.value.code) == (412, "0x80060892")


def test_unaddressable_key_values_never_leave_the_client(dataverse: DataverseStack) -> None:
    """The client refuses a '/' in a key value before sending; the simulator refuses an encoded '&'."""
    client = dataverse.client()
    account_key(dataverse, client)
    before = len(dataverse.simulator.admin.log.entries())
    with pytest.raises(UnaddressableKeyError):
        client.upsert("accounts", {"accountnumber": "A/B"}, {"name": "x"})
    assert len(dataverse.simulator.admin.log.entries()) == before
    token = dataverse.token()
    with dataverse.raw() as http:
        response = http.patch(
            f"{dataverse.url}/api/data/v9.2/accounts(accountnumber='A%26B')",
            json={"name": "x"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "A potentially dangerous Request.Path value was detected from the client (&)."
    )


def test_entity_definitions_name_entity_sets_and_keys(dataverse: DataverseStack) -> None:
    """The runtime check of an EntitySetName and the alternate-keys article's listing query both work."""
    client = dataverse.client()
    account_key(dataverse, client)
    definition = client.send(
        "GET",
        "EntityDefinitions(LogicalName='salesorderdetail')",
        params={"$select": "EntitySetName"},
        idempotent=True,
    ).json()
    assert definition["EntitySetName"] == "salesorderdetails"
    listing = client.query_page(
        "EntityDefinitions",
        select=["SchemaName"],
        expand="Keys($select=KeyAttributes)",
        filter="SchemaName eq 'Account'",
    )
    assert [(row["SchemaName"], [k["KeyAttributes"] for k in row["Keys"]]) for row in listing.rows] == [
        ("Account", [["accountnumber"]])
    ]


def test_lookup_annotations_when_asked_for(dataverse: DataverseStack) -> None:
    """Prefer: odata.include-annotations gives a lookup's target table, navigation property and name."""
    client = dataverse.client()
    account = client.create("accounts", {"name": "Contoso"}).id
    order = client.create(
        "salesorders", {"name": "SO", "customerid_account@odata.bind": f"/accounts({account})"}
    ).id
    assert order is not None
    row = client.get("salesorders", order, select=["_customerid_value"], annotations="*")
    assert row is not None
    prefix = "_customerid_value@"
    assert row[prefix + "Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert row[prefix + "Microsoft.Dynamics.CRM.associatednavigationproperty"] == "customerid_account"
    assert row[prefix + "OData.Community.Display.V1.FormattedValue"] == "Contoso"
    plain = client.get("salesorders", order, select=["_customerid_value"])
    assert plain is not None
    assert set(plain) == {"@odata.context", "@odata.etag", "_customerid_value", "salesorderid"}


def test_top_skip_and_unknown_columns_in_queries(dataverse: DataverseStack) -> None:
    """$top limits without paging; $skip is refused as Dataverse does; an unknown column names itself."""
    client = dataverse.client(page_size="2")
    for index in range(3):
        client.create("accounts", {"name": f"A{index}"})
    page = client.query_page("accounts", select=["name"], top=3)
    assert (len(page.rows), page.next_link) == (3, None)
    with pytest.raises(BadRequestError, match=r"\$skip"):
        client.query_page("accounts", params={"$skip": "1"})
    with pytest.raises(BadRequestError, match="'nosuch'"):
        client.query_page("accounts", select=["nosuch"])
