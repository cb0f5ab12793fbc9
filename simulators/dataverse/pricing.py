"""System pricing of order and quote lines, header totals, and the price-list rules Dataverse enforces.

A catalog line (``isproductoverridden`` false) whose price is not overridden takes ``priceperunit`` from the
header's price list item for its product and unit (pricing method 1, Currency Amount; 2, Percent of List,
uses the product's list price). When that is impossible the line is still saved and the reason lands in
``pricingerrorcode`` (2 Missing Price Level, 10 Missing UOM, 11 Product Not In Price Level), as the
salesorderdetail reference describes. A write-in line or an overridden price keeps the given price.

Line amounts: ``baseamount = priceperunit * quantity``; ``extendedamount = baseamount - manualdiscountamount
- volumediscountamount + tax``. Header totals (ASSUMED formulas, following the Sales pricing model):
detail amount = sum(extendedamount - tax); order discount = detail * discountpercentage/100 +
discountamount; pre-freight = detail - order discount; total = pre-freight + freightamount + sum(tax).
Amounts are rounded to the currency's precision.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from simulators.dataverse import errors
from simulators.dataverse.store import Ref, Row, Store

# line table -> (lookup to the header, header table)
LINE_PARENT = {"salesorderdetail": ("salesorderid", "salesorder"), "quotedetail": ("quoteid", "quote")}
# header table -> (line table, lookup from the line to the header)
HEADER_LINES = {"salesorder": ("salesorderdetail", "salesorderid"), "quote": ("quotedetail", "quoteid")}

MISSING_PRICE_LEVEL = 2
MISSING_UOM = 10
PRODUCT_NOT_IN_PRICE_LEVEL = 11

QUOTE_AND_ORDER_CURRENCY = "0x80048cee"
RECORD_AND_PRICELIST_CURRENCY = "0x80048cf6"
DUPLICATE_PRODUCT_PRICE_LEVEL = "0x80043b08"
_ZERO = Decimal(0)
_CENT = Decimal("0.01")


def _amount(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else _ZERO


def _ref_id(value: Any) -> uuid.UUID | None:
    return value.id if isinstance(value, Ref) else None


def _round(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def currency_mismatch(code: str) -> errors.WebApiError:
    """The record's currency differs from its price list's (error-table text; status 400 ASSUMED)."""
    return errors.WebApiError(
        400, code, "The currency of the record does not match the currency of the price list."
    )


def check_header(store: Store, row: Row) -> None:
    """An order or quote must be in its price list's currency."""
    price_list_id = _ref_id(row.get("pricelevelid"))
    if price_list_id is None:
        return
    price_list = store.get("pricelevel", price_list_id)
    if price_list is not None and _ref_id(price_list.get("transactioncurrencyid")) != _ref_id(
        row.get("transactioncurrencyid")
    ):
        raise currency_mismatch(QUOTE_AND_ORDER_CURRENCY)


def prepare_price_list_item(store: Store, row: Row, creating: bool) -> None:
    """A price list item: currency and unit group from its list and unit; one price per product and unit."""
    price_list = store.get("pricelevel", _ref_id(row.get("pricelevelid")) or uuid.UUID(int=0))
    if price_list is not None:
        list_currency = price_list.get("transactioncurrencyid")
        if row.get("transactioncurrencyid") is None:
            row["transactioncurrencyid"] = list_currency
        elif _ref_id(row["transactioncurrencyid"]) != _ref_id(list_currency):
            raise currency_mismatch(RECORD_AND_PRICELIST_CURRENCY)
    unit = store.get("uom", _ref_id(row.get("uomid")) or uuid.UUID(int=0))
    if unit is not None:
        row["uomscheduleid"] = unit.get("uomscheduleid")
    identity = (_ref_id(row.get("pricelevelid")), _ref_id(row.get("productid")), _ref_id(row.get("uomid")))
    for other in store.iter_live("productpricelevel"):
        if other["productpricelevelid"] == row["productpricelevelid"]:
            continue
        if (
            _ref_id(other.get("pricelevelid")),
            _ref_id(other.get("productid")),
            _ref_id(other.get("uomid")),
        ) == identity:
            raise errors.WebApiError(
                400,
                DUPLICATE_PRODUCT_PRICE_LEVEL,
                "This product and unit combination has a price for this price list.",
            )
    del creating  # same rules for create and update


def _list_price(store: Store, header: Row, row: Row) -> tuple[Decimal | None, int]:
    if row.get("uomid") is None:
        return None, MISSING_UOM
    price_list_id = _ref_id(header.get("pricelevelid"))
    if price_list_id is None:
        return None, MISSING_PRICE_LEVEL
    wanted = (price_list_id, _ref_id(row.get("productid")), _ref_id(row.get("uomid")))
    for item in store.iter_live("productpricelevel"):
        if (
            _ref_id(item.get("pricelevelid")),
            _ref_id(item.get("productid")),
            _ref_id(item.get("uomid")),
        ) != wanted:
            continue
        if item.get("pricingmethodcode") == 2:  # Percent of List
            product = store.get("product", wanted[1] or uuid.UUID(int=0)) or {}
            return _amount(product.get("price")) * _amount(item.get("percentage")) / 100, 0
        return _amount(item.get("amount")), 0
    return None, PRODUCT_NOT_IN_PRICE_LEVEL


def price_line(store: Store, logical_name: str, row: Row, creating: bool) -> None:
    """Fill a line's currency, price (unless overridden), amounts and pricingerrorcode."""
    parent_column, parent_table = LINE_PARENT[logical_name]
    header = store.get(parent_table, _ref_id(row.get(parent_column)) or uuid.UUID(int=0))
    if header is None:
        return  # the required-column check reports the missing parent
    row["transactioncurrencyid"] = header.get("transactioncurrencyid")
    skip = row.get("skippricecalculation") or 0
    skip_now = skip == 3 or (skip == 1 and creating) or (skip == 2 and not creating)
    error = 0
    catalog = not row.get("isproductoverridden") and row.get("productid") is not None
    locked = bool(header.get("ispricelocked")) and row.get("priceperunit") is not None
    if catalog and not row.get("ispriceoverridden") and not skip_now and not locked:
        price, error = _list_price(store, header, row)
        if price is not None:
            row["priceperunit"] = _round(price)
    price = _amount(row.get("priceperunit"))
    if row.get("priceperunit") is None:
        row["priceperunit"] = _ZERO
    base = _round(price * _amount(row.get("quantity")))
    row["baseamount"] = base
    row["volumediscountamount"] = _ZERO
    row["extendedamount"] = _round(base - _amount(row.get("manualdiscountamount")) + _amount(row.get("tax")))
    row["pricingerrorcode"] = error


def total_header(store: Store, logical_name: str, row: Row) -> None:
    """Recompute an order's or quote's totals from its lines (in place)."""
    line_table, parent_column = HEADER_LINES[logical_name]
    header_id = row[f"{logical_name}id"]
    detail = line_discounts = tax = _ZERO
    for line in store.children(line_table, parent_column, header_id):
        detail += _amount(line.get("extendedamount")) - _amount(line.get("tax"))
        line_discounts += _amount(line.get("manualdiscountamount")) + _amount(
            line.get("volumediscountamount")
        )
        tax += _amount(line.get("tax"))
    order_discount = detail * _amount(row.get("discountpercentage")) / 100 + _amount(
        row.get("discountamount")
    )
    less_freight = detail - order_discount
    row["totallineitemamount"] = _round(detail)
    row["totallineitemdiscountamount"] = _round(line_discounts)
    row["totaldiscountamount"] = _round(order_discount + line_discounts)
    row["totaltax"] = _round(tax)
    row["totalamountlessfreight"] = _round(less_freight)
    row["totalamount"] = _round(less_freight + _amount(row.get("freightamount")) + tax)
    row.setdefault("pricingerrorcode", 0)
    if row.get("pricingerrorcode") is None:
        row["pricingerrorcode"] = 0


def retotal(store: Store, header_table: str, header_id: uuid.UUID, finish: Callable[[Row], Row]) -> None:
    """After a line changed: recompute the totals of its header, then ``finish`` (derive and store) it."""
    header = store.get(header_table, header_id)
    if header is None:
        return
    total_header(store, header_table, header)
    finish(header)
