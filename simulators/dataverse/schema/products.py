"""Tables of the product catalog: units and unit groups, price lists, products and their prices.

Column facts come from the generated table references (product, uom, uomschedule, pricelevel,
productpricelevel); see ``simulators/dataverse/tables.py`` for what a declaration means.
"""

from __future__ import annotations

from simulators.dataverse.tables import (
    CURRENCY,
    EXCHANGE_RATE,
    Column,
    Default,
    Kind,
    Table,
    choice,
    define_table,
    lookup,
    memo,
    money,
    read_only,
    text,
)

PRODUCT_TABLES: tuple[Table, ...] = (
    define_table(
        "uomschedule", "uomschedules", "UoMSchedule", 1056, "name", ownership="OrganizationOwned",
        columns=[
            text("name", 200, "SystemRequired"),
            text("baseuomname", 100, "SystemRequired"),
            memo("description"),
        ],
    ),
    define_table(
        "uom", "uoms", "UoM", 1055, "name", ownership="OrganizationOwned",
        columns=[
            text("name", 100, "SystemRequired"),
            lookup("uomscheduleid", "uomschedule", required="SystemRequired"),
            Column("quantity", Kind.DECIMAL, "SystemRequired"),
            lookup("baseuom", "uom", required="SystemRequired"),
            read_only("isschedulebaseuom", Kind.BOOLEAN),
        ],
    ),
    define_table(
        "pricelevel", "pricelevels", "PriceLevel", 1022, "name", ownership="OrganizationOwned",
        columns=[
            text("name", 100, "SystemRequired"),
            lookup(
                "transactioncurrencyid", "transactioncurrency", required="ApplicationRequired",
                default=Default.BASE_CURRENCY,
            ),
            EXCHANGE_RATE,
            Column("begindate", Kind.DATETIME, date_only=True),
            Column("enddate", Kind.DATETIME, date_only=True),
            memo("description"),
        ],
    ),
    define_table(
        "product", "products", "Product", 1024, "name", ownership="OrganizationOwned",
        columns=[
            text("name", 100, "ApplicationRequired"),
            text("productnumber", 100, "SystemRequired"),
            choice("productstructure", 1, 2, 3, required="SystemRequired", default=1),
            choice("producttypecode", 1, 2, 3, 4),
            lookup("defaultuomscheduleid", "uomschedule", required="ApplicationRequired"),
            lookup("defaultuomid", "uom", required="ApplicationRequired"),
            lookup("pricelevelid", "pricelevel", required="Recommended"),
            lookup("parentproductid", "product"),
            Column("quantitydecimal", Kind.INTEGER, "ApplicationRequired", default=0),
            *money("price"),
            *money("currentcost"),
            *money("standardcost"),
            Column("quantityonhand", Kind.DECIMAL),
            Column("isstockitem", Kind.BOOLEAN, default=False),
            memo("description", 1048576),
            CURRENCY,
            EXCHANGE_RATE,
        ],
        states=(0, 1, 2, 3),
        change_tracking=True,
    ),
    define_table(
        "productpricelevel", "productpricelevels", "ProductPriceLevel", 1026, "productidname",
        ownership="OrganizationOwned",
        columns=[
            lookup("pricelevelid", "pricelevel", required="SystemRequired"),
            lookup("productid", "product", required="SystemRequired"),
            lookup("uomid", "uom", required="SystemRequired"),
            read_only("uomscheduleid", Kind.LOOKUP, "uomschedule"),
            *money("amount", "ApplicationRequired"),
            Column("percentage", Kind.DECIMAL),
            choice("pricingmethodcode", 1, 2, 3, 4, 5, 6, required="SystemRequired", default=1),
            choice("quantitysellingcode", 1, 2, 3, default=1),
            lookup("transactioncurrencyid", "transactioncurrency"),
            EXCHANGE_RATE,
        ],
    ),
)  # fmt: skip
