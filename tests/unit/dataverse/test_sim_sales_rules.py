"""The simulated Sales rules: closed orders and non-draft quotes locked, states through their actions."""

from __future__ import annotations

import pytest

from simulators.dataverse.actions import cancel_sales_order, close_quote, revise_quote
from simulators.dataverse.errors import WebApiError
from tests.unit.dataverse.simulated_org import SimulatedOrg, fresh_org


def order_with_line(sim: SimulatedOrg) -> tuple[str, str]:
    order = sim.create("salesorder", {"name": "SO-1"})
    order_id = str(order["salesorderid"])
    line = sim.create(
        "salesorderdetail",
        {"salesorderid@odata.bind": f"/salesorders({order_id})", "isproductoverridden": True,
         "productdescription": "Bolt", "quantity": 2, "priceperunit": 3, "ispriceoverridden": True},
    )  # fmt: skip
    return order_id, str(line["salesorderdetailid"])


def test_a_canceled_order_is_locked_and_reopens_only_if_allowed() -> None:
    """CancelSalesOrder closes it; its lines refuse writes; an update reopens it unless the rule says no."""
    sim = fresh_org()
    order_id, line_id = order_with_line(sim)
    with pytest.raises(WebApiError) as refused:
        sim.upsert("salesorder", order_id, {"statecode": 2, "statuscode": 4}, if_match="*")
    assert "use the CancelSalesOrderRequest" in refused.value.message
    close = {"subject": "x", "salesorderid@odata.bind": f"/salesorders({order_id})"}
    cancel_sales_order(sim.org, {"OrderClose": close, "Status": 4}, sim.caller)
    with pytest.raises(WebApiError) as locked:
        sim.upsert("salesorderdetail", line_id, {"quantity": 5}, if_match="*")
    assert locked.value.message == "The detail cannot be updated because the parent is not editable."
    with pytest.raises(WebApiError):
        sim.upsert("salesorder", order_id, {"name": "renamed"}, if_match="*")
    with pytest.raises(WebApiError):
        sim.delete("salesorderdetail", line_id)
    sim.org.sales_rules.reopen_closed_orders = False
    with pytest.raises(WebApiError) as no_reopen:
        sim.upsert("salesorder", order_id, {"statecode": 0, "statuscode": 1}, if_match="*")
    assert "cannot be reopened" in no_reopen.value.message
    sim.org.sales_rules.reopen_closed_orders = True
    reopened, _ = sim.upsert("salesorder", order_id, {"statecode": 0, "statuscode": 1}, if_match="*")
    assert reopened["statecode"] == 0
    sim.upsert("salesorderdetail", line_id, {"quantity": 5}, if_match="*")


def test_a_revision_is_a_draft_copy_and_closes_the_active_quote() -> None:
    """ReviseQuote copies the quote (custom columns too) and its lines; Active quotes are read-only."""
    sim = fresh_org()
    quote = sim.create("quote", {"name": "Q-1"})
    quote_id = str(quote["quoteid"])
    sim.create(
        "quotedetail",
        {"quoteid@odata.bind": f"/quotes({quote_id})", "isproductoverridden": True,
         "productdescription": "Nut", "quantity": 3, "priceperunit": 2, "ispriceoverridden": True},
    )  # fmt: skip
    sim.upsert("quote", quote_id, {"statecode": 1, "statuscode": 2}, if_match="*")
    with pytest.raises(WebApiError):
        sim.upsert("quote", quote_id, {"name": "edited"}, if_match="*")
    with pytest.raises(WebApiError) as won:
        sim.upsert("quote", quote_id, {"statecode": 2, "statuscode": 4}, if_match="*")
    assert "WinQuoteRequest" in won.value.message
    result = revise_quote(sim.org, {"QuoteId": quote_id}, sim.caller)
    revision = result.row
    assert (revision["statecode"], revision["revisionnumber"]) == (0, 1)
    assert revision["quotenumber"] == quote["quotenumber"]
    assert (
        sim.get("quote", quote["quoteid"])["statecode"],
        sim.get("quote", quote["quoteid"])["statuscode"],
    ) == (3, 7)
    lines = [r for r in sim.org.store.rows("quotedetail") if r["quoteid"].id == revision["quoteid"]]
    assert [line["productdescription"] for line in lines] == ["Nut"]
    with pytest.raises(WebApiError):  # a closed quote is not revised while a live revision exists
        revise_quote(sim.org, {"QuoteId": quote_id}, sim.caller)
    sim.upsert("quote", str(revision["quoteid"]), {"statecode": 1, "statuscode": 2}, if_match="*")
    close = {"subject": "lost", "quoteid@odata.bind": f"/quotes({revision['quoteid']})"}
    close_quote(sim.org, {"QuoteClose": close, "Status": 5}, sim.caller)
    assert sim.get("quote", revision["quoteid"])["statecode"] == 3
