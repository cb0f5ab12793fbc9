"""System pricing in the simulated organization: line prices from the price list, totals, price-list rules."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from simulators.dataverse.errors import WebApiError
from simulators.dataverse.store import Ref, Row
from tests.unit.dataverse.simulated_org import SimulatedOrg, fresh_org


def primary_unit(sim: SimulatedOrg) -> Row:
    return next(u for u in sim.org.store.rows("uom") if u["name"] == "Primary Unit")


def catalog(sim: SimulatedOrg, amount: float) -> tuple[Row, Row, Row]:
    """A price list with one product priced at ``amount`` per Primary Unit."""
    unit = primary_unit(sim)
    price_list = sim.create("pricelevel", {"name": "Retail"})
    product = sim.create(
        "product",
        {
            "name": "Bolt",
            "productnumber": "P1",
            "defaultuomid@odata.bind": f"/uoms({unit['uomid']})",
            "defaultuomscheduleid@odata.bind": f"/uomschedules({unit['uomscheduleid'].id})",
            "price": 20,
        },
    )
    sim.create(
        "productpricelevel",
        {
            "pricelevelid@odata.bind": f"/pricelevels({price_list['pricelevelid']})",
            "productid@odata.bind": f"/products({product['productid']})",
            "uomid@odata.bind": f"/uoms({unit['uomid']})",
            "amount": amount,
        },
    )
    return price_list, product, unit


def order_for(sim: SimulatedOrg, price_list: Row | None, **extra: Any) -> Row:
    body: dict[str, Any] = {"name": "SO", **extra}
    if price_list is not None:
        body["pricelevelid@odata.bind"] = f"/pricelevels({price_list['pricelevelid']})"
    return sim.create("salesorder", body)


def line(sim: SimulatedOrg, order: Row, **values: Any) -> Row:
    return sim.create(
        "salesorderdetail", {"salesorderid@odata.bind": f"/salesorders({order['salesorderid']})", **values}
    )


def product_line(product: Row, unit: Row | None, quantity: float, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "productid@odata.bind": f"/products({product['productid']})",
        "quantity": quantity,
    }
    if unit is not None:
        body["uomid@odata.bind"] = f"/uoms({unit['uomid']})"
    return {**body, **extra}


def test_a_catalog_line_takes_its_price_from_the_price_list() -> None:
    """The price per unit comes from the price list item; amounts follow."""
    sim = fresh_org()
    price_list, product, unit = catalog(sim, 12.5)
    order = order_for(sim, price_list)
    row = line(sim, order, **product_line(product, unit, 4))
    assert (row["priceperunit"], row["baseamount"], row["extendedamount"]) == (
        Decimal("12.50"),
        Decimal("50.00"),
        Decimal("50.00"),
    )
    assert row["pricingerrorcode"] == 0
    assert row["transactioncurrencyid"] == order["transactioncurrencyid"]


def test_overridden_and_write_in_prices_are_kept() -> None:
    """An overridden price is kept; a write-in line needs no product at all."""
    sim = fresh_org()
    price_list, product, unit = catalog(sim, 12.5)
    order = order_for(sim, price_list)
    overridden = line(
        sim, order, **product_line(product, unit, 2, priceperunit=125.5, ispriceoverridden=True)
    )
    write_in = line(
        sim, order, isproductoverridden=True, productdescription="IFS part 4711", quantity=1, priceperunit=99
    )
    assert overridden["extendedamount"] == Decimal("251.00")
    assert write_in["extendedamount"] == Decimal("99.00")


@pytest.mark.parametrize(
    ("with_price_list", "with_unit", "in_list", "code"),
    [(False, True, True, 2), (True, False, True, 10), (True, True, False, 11)],
)
def test_pricing_problems_land_in_pricingerrorcode(
    with_price_list: bool, with_unit: bool, in_list: bool, code: int
) -> None:
    """Missing price level (2), missing unit (10), product not in the price list (11): saved, flagged."""
    sim = fresh_org()
    price_list, product, unit = catalog(sim, 10)
    if not in_list:
        product = sim.create("product", {"name": "Nut", "productnumber": "P2"})
    order = order_for(sim, price_list if with_price_list else None)
    row = line(sim, order, **product_line(product, unit if with_unit else None, 1))
    assert row["pricingerrorcode"] == code
    assert row["priceperunit"] == 0


def test_header_totals_follow_lines_discounts_tax_and_freight() -> None:
    """Detail amount, order discount, pre-freight amount and total are recomputed on every line write."""
    sim = fresh_org()
    price_list, product, unit = catalog(sim, 10)
    order = order_for(sim, price_list, discountpercentage=10, freightamount=5)
    line(sim, order, **product_line(product, unit, 10, manualdiscountamount=20, tax=8))
    write_in = line(sim, order, isproductoverridden=True, productdescription="x", quantity=1, priceperunit=20)
    header = sim.get("salesorder", order["salesorderid"])
    # detail = (100 - 20) + 20 = 100; order discount = 10; pre-freight = 90; total = 90 + 5 + 8
    assert header["totallineitemamount"] == Decimal("100.00")
    assert header["totaldiscountamount"] == Decimal("30.00")
    assert header["totalamountlessfreight"] == Decimal("90.00")
    assert header["totaltax"] == Decimal("8.00")
    assert header["totalamount"] == Decimal("103.00")
    sim.delete("salesorderdetail", str(write_in["salesorderdetailid"]))
    assert sim.get("salesorder", order["salesorderid"])["totalamount"] == Decimal("85.00")


def test_an_order_in_another_currency_than_its_price_list_is_refused() -> None:
    """QuoteAndSalesOrderCurrencyNotEqual."""
    sim = fresh_org()
    euro = sim.create(
        "transactioncurrency",
        {
            "currencyname": "Euro",
            "isocurrencycode": "EUR",
            "currencysymbol": "€",
            "exchangerate": 0.9,
            "currencyprecision": 2,
        },
    )
    price_list = sim.create(
        "pricelevel",
        {
            "name": "EU",
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({euro['transactioncurrencyid']})",
        },
    )
    with pytest.raises(WebApiError) as caught:
        order_for(sim, price_list)
    assert caught.value.code == "0x80048cee"
    order = order_for(
        sim,
        price_list,
        **{"transactioncurrencyid@odata.bind": f"/transactioncurrencies({euro['transactioncurrencyid']})"},
    )
    assert order["exchangerate"] == Decimal("0.9")


def test_one_price_per_product_and_unit_in_a_price_list() -> None:
    """A second price list item for the same product and unit is DuplicateProductPriceLevel."""
    sim = fresh_org()
    price_list, product, unit = catalog(sim, 10)
    with pytest.raises(WebApiError) as caught:
        sim.create(
            "productpricelevel",
            {
                "pricelevelid@odata.bind": f"/pricelevels({price_list['pricelevelid']})",
                "productid@odata.bind": f"/products({product['productid']})",
                "uomid@odata.bind": f"/uoms({unit['uomid']})",
                "amount": 11,
            },
        )
    assert caught.value.code == "0x80043b08"


def test_a_price_list_item_takes_its_currency_and_unit_group_from_its_list_and_unit() -> None:
    """Its currency and unit group are filled in by the platform."""
    sim = fresh_org()
    price_list, _product, unit = catalog(sim, 10)
    item = sim.org.store.rows("productpricelevel")[0]
    assert item["transactioncurrencyid"] == price_list["transactioncurrencyid"]
    assert item["uomscheduleid"] == unit["uomscheduleid"]
    assert isinstance(item["uomscheduleid"], Ref)
    assert uuid.UUID(str(item["productpricelevelid"]))
