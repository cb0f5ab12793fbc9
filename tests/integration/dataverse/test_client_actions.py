"""Sales actions through DataverseActions against the simulator over HTTPS: convert, win, fulfil."""

from __future__ import annotations

import uuid

import pytest

from shared.dataverse.actions import DataverseActions
from shared.dataverse.errors import BadRequestError, NotFoundError
from tests.integration.dataverse.conftest import DataverseStack
from tests.integration.dataverse.sales import QUOTE_WON, quote

INVALID_STATE = "0x80040233"


def test_a_quote_converted_through_the_action_produces_an_order_carrying_quoteid(
    dataverse: DataverseStack,
) -> None:
    """The order has quoteid, the ColumnSet's columns, the quote's lines (with quotedetailid) and prices."""
    client = dataverse.client()
    quote_id = quote(client)
    order = DataverseActions(client).convert_quote_to_order(
        quote_id, ["ordernumber", "quoteid", "totalamount"]
    )
    assert order["_quoteid_value"] == str(quote_id)
    assert order["totalamount"] == 24.5
    assert order["ordernumber"].startswith("ORD-")
    assert set(order) == {
        "@odata.context", "@odata.etag", "salesorderid", "ordernumber", "_quoteid_value", "totalamount",
    }  # fmt: skip
    assert order["@odata.context"].endswith("$metadata#salesorders/$entity")
    lines = list(
        client.query(
            "salesorderdetails",
            select=["productdescription", "quantity", "priceperunit", "_quotedetailid_value"],
            filter=f"_salesorderid_value eq {order['salesorderid']}",
            orderby="lineitemnumber",
        )
    )
    quote_lines = {
        row["quotedetailid"]: row["productdescription"]
        for row in client.query("quotedetails", filter=f"_quoteid_value eq {quote_id}")
    }
    assert [(r["productdescription"], r["quantity"], r["priceperunit"]) for r in lines] == [
        ("Bolt", 2, 10),
        ("Nut", 3, 1.5),
    ]
    assert {r["_quotedetailid_value"]: r["productdescription"] for r in lines} == quote_lines


def test_converting_an_active_quote_wins_it_with_a_quote_close(dataverse: DataverseStack) -> None:
    """The quote ends Won (2/4) and a Completed quoteclose names it."""
    client = dataverse.client()
    quote_id = quote(client)
    DataverseActions(client).convert_quote_to_order(quote_id, None, close_subject="Won in IFS")
    won = client.get("quotes", quote_id, select=["statecode", "statuscode"])
    assert won is not None
    assert (won["statecode"], won["statuscode"]) == (QUOTE_WON, 4)
    (close,) = client.query("quotecloses", filter=f"_quoteid_value eq {quote_id}")
    assert (close["subject"], close["statecode"], close["statuscode"]) == ("Won in IFS", 1, 2)


def test_all_columns_returns_the_whole_order(dataverse: DataverseStack) -> None:
    """ColumnSet.AllColumns gives every column, the order's creation method and price lock among them."""
    client = dataverse.client()
    order = DataverseActions(client).convert_quote_to_order(quote(client), None)
    assert order["ispricelocked"] is True
    assert order["ordercreationmethod"] == 776160001
    assert order["name"] == "Q-100"


def test_a_draft_quote_cannot_be_converted_or_won(dataverse: DataverseStack) -> None:
    """Both actions refuse a Draft quote with InvalidState and write nothing."""
    client = dataverse.client()
    actions = DataverseActions(client)
    quote_id = quote(client, activate=False)
    with pytest.raises(BadRequestError) as converting:
        actions.convert_quote_to_order(quote_id, ["ordernumber"])
    with pytest.raises(BadRequestError) as winning:
        actions.win_quote(quote_id)
    assert converting.value.code == winning.value.code == INVALID_STATE
    assert list(client.query("salesorders")) == []
    assert list(client.query("quotecloses")) == []


def test_win_quote_then_convert(dataverse: DataverseStack) -> None:
    """WinQuote closes the Active quote as Won; a Won quote still converts, without a second close."""
    client = dataverse.client()
    actions = DataverseActions(client)
    quote_id = quote(client)
    actions.win_quote(quote_id, subject="Customer signed")
    order = actions.convert_quote_to_order(quote_id, ["quoteid"])
    assert order["_quoteid_value"] == str(quote_id)
    closes = list(client.query("quotecloses", select=["subject"]))
    assert [c["subject"] for c in closes] == ["Customer signed"]
    with pytest.raises(BadRequestError) as again:
        actions.win_quote(quote_id)
    assert again.value.code == INVALID_STATE


def test_fulfil_an_order(dataverse: DataverseStack) -> None:
    """FulfillSalesOrder: statecode 3 with the reason, datefulfilled, an orderclose; twice is refused."""
    client = dataverse.client()
    actions = DataverseActions(client)
    order = actions.convert_quote_to_order(quote(client), ["salesorderid"])
    order_id = uuid.UUID(order["salesorderid"])
    actions.fulfill_order(order_id, 100002, subject="Shipped from IFS")
    fulfilled = client.get("salesorders", order_id, select=["statecode", "statuscode", "datefulfilled"])
    assert fulfilled is not None
    assert (fulfilled["statecode"], fulfilled["statuscode"]) == (3, 100002)
    assert fulfilled["datefulfilled"] is not None
    (close,) = client.query("ordercloses", filter=f"_salesorderid_value eq {order_id}")
    assert close["subject"] == "Shipped from IFS"
    with pytest.raises(BadRequestError) as again:
        actions.fulfill_order(order_id)
    assert again.value.code == INVALID_STATE


def test_a_fulfilment_status_must_belong_to_fulfilled(dataverse: DataverseStack) -> None:
    """Status 3 is not a Fulfilled reason: InvalidStateCodeStatusCode, and the order stays Active."""
    client = dataverse.client()
    actions = DataverseActions(client)
    order_id = uuid.UUID(actions.convert_quote_to_order(quote(client), ["salesorderid"])["salesorderid"])
    with pytest.raises(BadRequestError) as caught:
        actions.fulfill_order(order_id, 3)
    assert caught.value.code == "0x80048408"
    row = client.get("salesorders", order_id, select=["statecode"])
    assert row is not None
    assert row["statecode"] == 0
    assert list(client.query("ordercloses")) == []


def test_action_errors(dataverse: DataverseStack) -> None:
    """A missing quote is 404; an unknown parameter, a bad column and an unknown action are refused."""
    client = dataverse.client()
    actions = DataverseActions(client)
    missing = uuid.uuid4()
    with pytest.raises(NotFoundError) as not_found:
        actions.convert_quote_to_order(missing, ["ordernumber"])
    assert not_found.value.message == f"quote With Id = {missing} Does Not Exist"
    with pytest.raises(BadRequestError) as unknown:
        actions.call_action("WinQuote", {"Quote": {}, "Status": -1})
    assert "'Quote'" in unknown.value.message
    with pytest.raises(BadRequestError):
        actions.convert_quote_to_order(quote(client), ["nosuchcolumn"])
    with pytest.raises(NotFoundError):
        actions.call_action("NoSuchAction", {})


def test_a_bound_action_path(dataverse: DataverseStack) -> None:
    """call_action(bound_to=…) posts to <row>/Microsoft.Dynamics.CRM.<name> (not served here: 404)."""
    client = dataverse.client()
    order_id = uuid.uuid4()
    with pytest.raises(NotFoundError) as caught:
        DataverseActions(client).call_action("CalculatePrice", {}, bound_to=f"salesorders({order_id})")
    assert caught.value.url.endswith(f"salesorders({order_id})/Microsoft.Dynamics.CRM.CalculatePrice")
