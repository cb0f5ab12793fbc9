"""The test oracle of orders and quotations: what Dataverse must hold, worked out from the IFS rows by hand.

Independent of the connector's mapping and flow code: each rule of the shipped orders.toml and
quotations.toml is restated here, the totals IFS shows (its lines' net, tax and gross amounts, its charges)
are summed from the IFS rows, and the totals are read from what the Dataverse simulator computed.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from devhost.scenario import SyncScenario
from tests.integration.sync.oracle import ifs_rows

CENT = Decimal("0.01")
ORDER_STATES = {
    "Planned": (0, 1), "Blocked": (0, 2), "Released": (1, 3), "Reserved": (1, 3), "Picked": (1, 3),
    "PartiallyDelivered": (1, 3), "Delivered": (1, 3), "Invoiced": (3, 100001), "Cancelled": (2, 4),
}  # fmt: skip
QUOTE_STATES = {
    "Planned": (0, 1), "Revised": (0, 1), "Released": (1, 2), "Won": (2, 4), "Lost": (3, 5),
    "Cancelled": (3, 6),
}  # fmt: skip
HEADER_TOTALS = ["totalamount", "totaltax", "totallineitemamount", "totalamountlessfreight"]
ORDER_COLUMNS = [
    "salesorderid", "ifs_ordernumber", "name", "statecode", "statuscode", "ifs_state", "ifs_customerponumber",
    "freightamount", "discountamount", "requestdeliveryby", "_customerid_value", "_pricelevelid_value",
    "_transactioncurrencyid_value", "shipto_name", "billto_city", *HEADER_TOTALS,
]  # fmt: skip
LINE_COLUMNS = [
    "salesorderdetailid", "_salesorderid_value", "ifs_linekey", "quantity", "priceperunit",
    "ispriceoverridden", "manualdiscountamount", "tax", "extendedamount", "baseamount", "_productid_value",
    "_uomid_value", "ifs_state", "pricingerrorcode",
]  # fmt: skip
QUOTE_COLUMNS = [
    "quoteid", "ifs_quotationno", "revisionnumber", "quotenumber", "name", "statecode", "statuscode",
    "_customerid_value", "_pricelevelid_value", *HEADER_TOTALS,
]  # fmt: skip
QUOTE_LINE_COLUMNS = [
    "quotedetailid", "_quoteid_value", "ifs_linekey", "quantity", "priceperunit", "manualdiscountamount",
    "tax", "extendedamount", "_productid_value",
]  # fmt: skip


def dec(value: Any) -> Decimal:
    """A number as a Decimal rounded to cents (None is 0)."""
    return Decimal(str(value or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def line_key(line: dict[str, Any]) -> str:
    """``LineNo|RelNo|LineItemNo``."""
    return f"{line['LineNo']}|{line['RelNo']}|{line['LineItemNo']}"


def ifs_order_totals(scenario: SyncScenario, order_no: str) -> dict[str, Decimal]:
    """The totals IFS shows for one order: its live lines' amounts and its charges, with tax."""
    lines = [
        line
        for line in ifs_rows(scenario, "CustomerOrderLineSet", OrderNo=order_no)
        if line["Objstate"] != "Cancelled"
    ]
    charges = ifs_rows(scenario, "CustomerOrderChargeSet", OrderNo=order_no)
    gross_charges = [
        dec(Decimal(str(c["ChargeAmountInclTax"])) * Decimal(str(c["ChargedQty"]))) for c in charges
    ]
    plus = sum((c for c in gross_charges if c >= 0), Decimal(0))
    minus = -sum((c for c in gross_charges if c < 0), Decimal(0))
    net = sum((dec(line["NetAmountCurr"]) for line in lines), Decimal(0))
    tax = sum((dec(line["TaxAmountCurr"]) for line in lines), Decimal(0))
    return {
        "totallineitemamount": net,
        "totaltax": tax,
        "totalamountlessfreight": net - minus,
        "totalamount": net + tax + plus - minus,
        "freightamount": plus,
        "discountamount": minus,
    }


def orders(scenario: SyncScenario) -> dict[str, dict[str, Any]]:
    """Dataverse orders by IFS order number (each must be there once)."""
    found: dict[str, dict[str, Any]] = {}
    for row in scenario.rows("salesorders", ORDER_COLUMNS):
        number = row["ifs_ordernumber"]
        assert number not in found, f"two Dataverse orders for IFS order {number}"
        found[number] = row
    return found


def order_lines(scenario: SyncScenario) -> dict[str, dict[str, dict[str, Any]]]:
    """Dataverse order lines by order id, then by IFS line key."""
    found: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in scenario.rows("salesorderdetails", LINE_COLUMNS):
        lines = found[row["_salesorderid_value"]]
        assert row["ifs_linekey"] not in lines, (
            f"two lines {row['ifs_linekey']} in order {row['_salesorderid_value']}"
        )
        lines[row["ifs_linekey"]] = row
    return found


def assert_order(
    scenario: SyncScenario,
    order_no: str,
    synced: dict[str, dict[str, Any]] | None = None,
    lines_by_order: dict[str, dict[str, dict[str, Any]]] | None = None,
    products: dict[str, str] | None = None,
) -> None:
    """One IFS order as Dataverse must hold it: header, state, every line, and IFS's totals."""
    synced = orders(scenario) if synced is None else synced
    lines_by_order = order_lines(scenario) if lines_by_order is None else lines_by_order
    [header] = ifs_rows(scenario, "CustomerOrderSet", OrderNo=order_no)
    row = synced[order_no]
    assert row["name"] == order_no
    assert (row["statecode"], row["statuscode"]) == ORDER_STATES[header["Objstate"]], order_no
    assert row["ifs_state"] == header["Objstate"]
    assert row["ifs_customerponumber"] == header.get("CustomerPoNo")
    assert row["requestdeliveryby"] == header["WantedDeliveryDate"][:10]
    totals = ifs_order_totals(scenario, order_no)
    for column, expected in totals.items():
        assert dec(row[column]) == expected, f"{order_no} {column}: Dataverse {row[column]}, IFS {expected}"
    live = {
        line_key(line): line
        for line in ifs_rows(scenario, "CustomerOrderLineSet", OrderNo=order_no)
        if line["Objstate"] != "Cancelled"
    }
    written = lines_by_order.get(row["salesorderid"], {})
    assert set(written) == set(live), order_no
    for key, line in live.items():
        got = written[key]
        quantity, price = Decimal(str(line["BuyQtyDue"])), dec(line["SaleUnitPrice"])
        assert Decimal(str(got["quantity"])) == quantity, (order_no, key)
        assert dec(got["priceperunit"]) == price, (order_no, key)
        assert got["ispriceoverridden"] is True
        assert dec(got["manualdiscountamount"]) == dec(price * quantity) - dec(line["NetAmountCurr"]), (
            order_no,
            key,
        )
        assert dec(got["tax"]) == dec(line["TaxAmountCurr"]), (order_no, key)
        assert dec(got["extendedamount"]) == dec(line["NetAmountCurr"]) + dec(line["TaxAmountCurr"])
        assert got["ifs_state"] == line["Objstate"]
        assert got["pricingerrorcode"] == 0
        if products is not None:
            assert products[got["_productid_value"]] == line["CatalogNo"]


def assert_orders_in_step(scenario: SyncScenario) -> None:
    """Every IFS order is one Dataverse order with its header, state, lines and IFS's totals."""
    synced = orders(scenario)
    headers = ifs_rows(scenario, "CustomerOrderSet")
    assert set(synced) == {h["OrderNo"] for h in headers}
    assert len(scenario.rows("salesorders", ["salesorderid"])) == len(headers)
    lines_by_order = order_lines(scenario)
    products = {
        r["productid"]: r["productnumber"] for r in scenario.rows("products", ["productid", "productnumber"])
    }
    for header in headers:
        assert_order(scenario, header["OrderNo"], synced, lines_by_order, products)


def quotes(scenario: SyncScenario) -> dict[str, dict[str, Any]]:
    """The newest Dataverse revision of each quote, by IFS quotation number."""
    found: dict[str, dict[str, Any]] = {}
    for row in scenario.rows("quotes", QUOTE_COLUMNS):
        number = row["ifs_quotationno"]
        if number not in found or row["revisionnumber"] > found[number]["revisionnumber"]:
            found[number] = row
    return found


def quote_lines(scenario: SyncScenario, quote_id: str) -> dict[str, dict[str, Any]]:
    """The lines of one quote by IFS line key."""
    rows = scenario.rows("quotedetails", QUOTE_LINE_COLUMNS)
    return {r["ifs_linekey"]: r for r in rows if r["_quoteid_value"] == quote_id}


def assert_quotes_in_step(scenario: SyncScenario) -> None:
    """Every IFS quotation's newest Dataverse revision holds its state, every line and IFS's totals."""
    synced = quotes(scenario)
    headers = ifs_rows(scenario, "OrderQuotationSet")
    assert set(synced) == {h["QuotationNo"] for h in headers}
    for header in headers:
        number = header["QuotationNo"]
        row = synced[number]
        assert (row["statecode"], row["statuscode"]) == QUOTE_STATES[header["Objstate"]], number
        live = {
            line_key(line): line
            for line in ifs_rows(scenario, "OrderQuotationLineSet", QuotationNo=number)
            if line["Objstate"] != "Cancelled"
        }
        written = quote_lines(scenario, row["quoteid"])
        assert set(written) == set(live), number
        net = sum((dec(x["NetAmountCurr"]) for x in live.values()), Decimal(0))
        tax = sum((dec(x["TaxAmountCurr"]) for x in live.values()), Decimal(0))
        assert (dec(row["totallineitemamount"]), dec(row["totaltax"]), dec(row["totalamount"])) == (
            net,
            tax,
            net + tax,
        ), number


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row without ids, lookups, ETags and autonumbers (each run of a scenario has its own)."""
    return {
        c: v
        for c, v in row.items()
        if not (c.endswith("id") or c.endswith("_value") or c.startswith("@") or c == "quotenumber")
    }


def documents_snapshot(scenario: SyncScenario) -> dict[str, Any]:
    """Orders, their lines and the newest quotes without ids: what two runs of one scenario must agree on."""
    synced = orders(scenario)
    lines = order_lines(scenario)
    newest = quotes(scenario)
    return {
        "orders": {
            number: {
                **_plain(row),
                "lines": {k: _plain(v) for k, v in lines.get(row["salesorderid"], {}).items()},
            }
            for number, row in synced.items()
        },
        "quotes": {
            number: {
                **_plain(row),
                "lines": {k: _plain(v) for k, v in quote_lines(scenario, row["quoteid"]).items()},
            }
            for number, row in newest.items()
        },
        "quote_rows": len(scenario.rows("quotes", ["quoteid"])),
    }
