"""The tables of a fresh Dynamics 365 Sales org that the simulator serves: columns, types, required levels.

Column facts (types, MaxLength, RequiredLevel, lookup targets, choices) come from the generated table
references (MicrosoftDocs dynamics-365-customer-engagement ``ce/developer/reference/entities/*.md``) as
summarised in reference/dataverse.md §2 for salesorder, salesorderdetail and account, from the product
reference, and from a real ``opportunity`` EntityDefinitions document (a test checks the simulator against
it). Only the columns the connector and its tests need are modelled; the system columns every table has
are added by ``_table``. A required level here drives behaviour exactly as the Web API does: only
``SystemRequired`` is enforced on create, ``ApplicationRequired`` is a form-level hint the API ignores.

``default`` is what the platform fills in when a create leaves the column out (owner, state, autonumbers,
currency); such SystemRequired columns therefore never fail a create.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Literal

RequiredLevel = Literal["None", "SystemRequired", "ApplicationRequired", "Recommended"]
Ownership = Literal["UserOwned", "OrganizationOwned"]


class Kind(StrEnum):
    """AttributeType values of EntityDefinitions' AttributeMetadata."""

    STRING = "String"
    MEMO = "Memo"
    INTEGER = "Integer"
    BIGINT = "BigInt"
    DECIMAL = "Decimal"
    DOUBLE = "Double"
    MONEY = "Money"
    BOOLEAN = "Boolean"
    DATETIME = "DateTime"
    PICKLIST = "Picklist"
    STATE = "State"
    STATUS = "Status"
    LOOKUP = "Lookup"
    CUSTOMER = "Customer"
    OWNER = "Owner"
    UNIQUEIDENTIFIER = "Uniqueidentifier"
    ENTITYNAME = "EntityName"  # a table's logical name (sdkmessagefilter.primaryobjecttypecode)


LOOKUP_KINDS = frozenset({Kind.LOOKUP, Kind.CUSTOMER, Kind.OWNER})
NUMBER_KINDS = frozenset({Kind.DECIMAL, Kind.DOUBLE, Kind.MONEY})
CHOICE_KINDS = frozenset({Kind.PICKLIST, Kind.STATE, Kind.STATUS})


class Default(StrEnum):
    """Values the platform computes for a column a create leaves out."""

    CALLER = "caller"  # ownerid: the calling user
    BASE_CURRENCY = "base-currency"  # transactioncurrencyid: the organization's base currency
    AUTONUMBER = "autonumber"  # ordernumber/quotenumber: ORD-01000-XXXXXX


@dataclass(frozen=True)
class Column:
    """One attribute of a table."""

    name: str
    kind: Kind
    required: RequiredLevel = "None"
    max_length: int | None = None
    targets: tuple[str, ...] = ()
    valid_for_create: bool = True
    valid_for_update: bool = True
    default: object = None
    options: tuple[int, ...] = ()
    date_only: bool = False
    autonumber_prefix: str = ""
    valid_for_read: bool = True  # False: write-only (serviceendpoint.authvalue), never returned

    @property
    def is_lookup(self) -> bool:
        """Whether the column holds a reference to another row."""
        return self.kind in LOOKUP_KINDS

    @property
    def readable(self) -> bool:
        """Whether reads return the column (IsValidForRead)."""
        return self.valid_for_read

    @property
    def per_target_navigation(self) -> bool:
        """Whether each target has its own navigation property (``customerid_account``, ``eventhandler_…``).

        Customer lookups and multi-table lookups do; an Owner has one ``ownerid`` property.
        """
        return self.kind is Kind.CUSTOMER or (self.kind is Kind.LOOKUP and len(self.targets) > 1)

    @property
    def value_property(self) -> str:
        """The name the Web API uses for the column in JSON: ``_x_value`` for lookups."""
        return f"_{self.name}_value" if self.is_lookup else self.name


@dataclass(frozen=True)
class Navigation:
    """A single-valued navigation property: what ``<name>@odata.bind`` and ``$expand=<name>`` refer to."""

    name: str
    column: str
    targets: tuple[str, ...]


@dataclass(frozen=True)
class CollectionNavigation:
    """A collection-valued navigation property (``accounts(<id>)/Account_Tasks``).

    It leads to the rows of ``table`` whose lookup ``column`` names the row.
    """

    name: str
    table: str
    column: str


@dataclass(frozen=True)
class Table:
    """A table (entity): its names, columns and navigation properties."""

    logical_name: str
    entity_set: str
    schema_name: str
    primary_id: str
    primary_name: str
    object_type_code: int
    ownership: Ownership
    columns: Mapping[str, Column]
    metadata_id: str
    change_tracking: bool = False
    navigations: Mapping[str, Navigation] = field(default_factory=dict)
    api_writable: bool = True  # False: a system table the Web API only reads (sdkmessage, sdkmessagefilter)
    collections: Mapping[str, CollectionNavigation] = field(default_factory=dict)

    def column(self, name: str) -> Column | None:
        """The column called ``name`` (logical name), if any."""
        return self.columns.get(name)

    def by_value_property(self, name: str) -> Column | None:
        """The column whose JSON property is ``name`` (``_x_value`` for lookups, else the logical name)."""
        if name.startswith("_") and name.endswith("_value"):
            column = self.columns.get(name[1:-6])
            return column if column is not None and column.is_lookup else None
        column = self.columns.get(name)
        return column if column is not None and not column.is_lookup else None

    @property
    def money_columns(self) -> list[Column]:
        """Money columns (each has a read-only ``_base`` twin)."""
        return [c for c in self.columns.values() if c.kind is Kind.MONEY and not c.name.endswith("_base")]


# -- column helpers ---------------------------------------------------------------------------------


def text(
    name: str,
    max_length: int,
    required: RequiredLevel = "None",
    *,
    valid_for_update: bool = True,
    default: object = None,
    autonumber_prefix: str = "",
) -> Column:
    """A single line of text."""
    return Column(
        name,
        Kind.STRING,
        required,
        max_length=max_length,
        valid_for_update=valid_for_update,
        default=default,
        autonumber_prefix=autonumber_prefix,
    )


def memo(name: str, max_length: int = 2000) -> Column:
    """Multiple lines of text."""
    return Column(name, Kind.MEMO, max_length=max_length)


def lookup(name: str, *targets: str, required: RequiredLevel = "None", default: object = None) -> Column:
    """A lookup to one table."""
    return Column(name, Kind.LOOKUP, required, targets=targets, default=default)


def money(name: str, required: RequiredLevel = "None", *, writable: bool = True) -> list[Column]:
    """A money column and its read-only ``_base`` twin (value in the base currency)."""
    return [
        Column(name, Kind.MONEY, required, valid_for_create=writable, valid_for_update=writable),
        Column(f"{name}_base", Kind.MONEY, valid_for_create=False, valid_for_update=False),
    ]


def computed_money(*names: str) -> list[Column]:
    """Money columns the pricing engine computes (read-only), each with its ``_base`` twin."""
    columns: list[Column] = []
    for name in names:
        columns += money(name, writable=False)
    return columns


def choice(name: str, *options: int, required: RequiredLevel = "None", default: int | None = None) -> Column:
    """A choice (picklist) with its allowed values."""
    return Column(name, Kind.PICKLIST, required, options=options, default=default)


def read_only(name: str, kind: Kind, *targets: str) -> Column:
    """A column the platform maintains."""
    return Column(name, kind, targets=targets, valid_for_create=False, valid_for_update=False)


def address(prefix: str) -> list[Column]:
    """The composite address columns (``address1_``, ``billto_``, ``shipto_``)."""
    return [
        text(f"{prefix}line1", 250),
        text(f"{prefix}line2", 250),
        text(f"{prefix}line3", 250),
        text(f"{prefix}city", 80),
        text(f"{prefix}postalcode", 20),
        text(f"{prefix}stateorprovince", 50),
        text(f"{prefix}country", 80),
    ]


def _navigations(columns: Iterable[Column]) -> dict[str, Navigation]:
    navigations: dict[str, Navigation] = {}
    for column in columns:
        if not column.is_lookup:
            continue
        if column.per_target_navigation:
            # One navigation property per target (customerid_account, eventhandler_serviceendpoint).
            for target in column.targets:
                name = f"{column.name}_{target}"
                navigations[name] = Navigation(name, column.name, (target,))
        else:
            navigations[column.name] = Navigation(column.name, column.name, column.targets)
    return navigations


def _table(
    logical_name: str,
    entity_set: str,
    schema_name: str,
    object_type_code: int,
    primary_name: str,
    *,
    ownership: Ownership,
    columns: Iterable[Column],
    metadata_id: str | None = None,
    states: tuple[int, ...] = (0, 1),
    change_tracking: bool = False,
    stateful: bool = True,
    api_writable: bool = True,
    primary_id: str | None = None,
    collections: Iterable[CollectionNavigation] = (),
) -> Table:
    primary_id = primary_id or f"{logical_name}id"
    system = [
        Column(primary_id, Kind.UNIQUEIDENTIFIER, "SystemRequired", valid_for_update=False),
        read_only("createdon", Kind.DATETIME),
        read_only("modifiedon", Kind.DATETIME),
        read_only("createdby", Kind.LOOKUP, "systemuser"),
        read_only("modifiedby", Kind.LOOKUP, "systemuser"),
        read_only("versionnumber", Kind.BIGINT),
    ]
    if stateful:
        system += [
            Column("overriddencreatedon", Kind.DATETIME, valid_for_update=False),
            Column("importsequencenumber", Kind.INTEGER, valid_for_update=False),
            Column("statecode", Kind.STATE, "SystemRequired", options=states, default=0),
            Column("statuscode", Kind.STATUS),
        ]
    if ownership == "UserOwned":
        system += [
            Column(
                "ownerid",
                Kind.OWNER,
                "SystemRequired",
                targets=("systemuser", "team"),
                default=Default.CALLER,
            ),
            read_only("owningbusinessunit", Kind.LOOKUP, "businessunit"),
        ]
    all_columns = {c.name: c for c in [*system, *columns]}
    return Table(
        logical_name=logical_name,
        entity_set=entity_set,
        schema_name=schema_name,
        primary_id=primary_id,
        primary_name=primary_name,
        object_type_code=object_type_code,
        ownership=ownership,
        columns=all_columns,
        metadata_id=metadata_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"dataverse-sim:{logical_name}")),
        change_tracking=change_tracking,
        navigations=_navigations(all_columns.values()),
        api_writable=api_writable,
        collections={c.name: c for c in collections},
    )


def custom_table(
    logical_name: str,
    entity_set: str,
    columns: Iterable[Column],
    *,
    primary_name: str,
    schema_name: str | None = None,
    object_type_code: int = 10000,
    ownership: Ownership = "UserOwned",
) -> Table:
    """A custom table (e.g. the upsert article's ``example_record``) with the system columns added."""
    return _table(
        logical_name,
        entity_set,
        schema_name or logical_name,
        object_type_code,
        primary_name,
        ownership=ownership,
        columns=columns,
        change_tracking=True,
    )


CURRENCY = lookup("transactioncurrencyid", "transactioncurrency", default=Default.BASE_CURRENCY)
ORDER_CURRENCY = lookup(
    "transactioncurrencyid",
    "transactioncurrency",
    required="ApplicationRequired",
    default=Default.BASE_CURRENCY,
)
EXCHANGE_RATE = read_only("exchangerate", Kind.DECIMAL)
PAYMENT_TERMS = choice("paymenttermscode", 1, 2, 3, 4)
SHIPPING_METHOD = choice("shippingmethodcode", 1, 2, 3, 4, 5, 6, 7)
PRICING_ERROR = read_only("pricingerrorcode", Kind.PICKLIST)
HEADER_TOTALS = computed_money(
    "totalamount", "totallineitemamount", "totaldiscountamount", "totaltax", "totalamountlessfreight",
    "totallineitemdiscountamount",
)  # fmt: skip
LINE_AMOUNTS = computed_money("baseamount", "extendedamount", "volumediscountamount")
LINE_COMMON = [
    Column("quantity", Kind.DECIMAL, "ApplicationRequired"),
    lookup("productid", "product"),
    lookup("uomid", "uom"),
    *money("priceperunit"),
    Column("ispriceoverridden", Kind.BOOLEAN, default=False),
    Column("isproductoverridden", Kind.BOOLEAN, default=False),
    text("productdescription", 500),
    *money("manualdiscountamount"),
    *money("tax"),
    Column("lineitemnumber", Kind.INTEGER),
    choice("producttypecode", 1, 2, 3, 4, 5, required="SystemRequired", default=1),
    choice("skippricecalculation", 0, 1, 2, 3, default=0),
    memo("description"),
    read_only("transactioncurrencyid", Kind.LOOKUP, "transactioncurrency"),
    EXCHANGE_RATE,
    PRICING_ERROR,
    *LINE_AMOUNTS,
]


# Tables whose rows a system job may be "regarding" (asyncoperation.regardingobjectid; the real lookup
# targets nearly every table).
ASYNC_REGARDING = (
    "account", "contact", "opportunity", "lead", "quote", "quotedetail", "salesorder", "salesorderdetail",
    "product", "quoteclose", "orderclose",
)  # fmt: skip


def _tables() -> list[Table]:
    return [
        _table(
            "account", "accounts", "Account", 1, "name", ownership="UserOwned",
            columns=[
                text("name", 160, "ApplicationRequired"),
                text("accountnumber", 20),
                *money("creditlimit"),
                Column("creditonhold", Kind.BOOLEAN, default=False),
                PAYMENT_TERMS,
                choice("accountcategorycode", 1, 2),
                *address("address1_"),
                Column("address1_latitude", Kind.DOUBLE),
                Column("address1_longitude", Kind.DOUBLE),
                text("telephone1", 50),
                text("fax", 50),
                text("emailaddress1", 100),
                text("websiteurl", 200),
                Column("numberofemployees", Kind.INTEGER),
                *money("revenue"),
                memo("description"),
                CURRENCY,
                EXCHANGE_RATE,
                lookup("primarycontactid", "contact"),
                lookup("parentaccountid", "account"),
                lookup("originatingleadid", "lead"),
            ],
            metadata_id="70816501-edb9-4740-a16c-6a5efbc05d84",
            change_tracking=True,
            collections=[CollectionNavigation("Account_Tasks", "task", "regardingobjectid")],
        ),
        _table(
            "contact", "contacts", "Contact", 2, "fullname", ownership="UserOwned",
            columns=[
                text("firstname", 50, "Recommended"),
                text("lastname", 50, "ApplicationRequired"),
                read_only("fullname", Kind.STRING),
                text("emailaddress1", 100),
                text("telephone1", 50),
                text("jobtitle", 100),
                *address("address1_"),
                Column("parentcustomerid", Kind.CUSTOMER, targets=("account", "contact")),
                memo("description"),
            ],
            change_tracking=True,
        ),
        _table(
            "businessunit", "businessunits", "BusinessUnit", 10, "name", ownership="OrganizationOwned",
            columns=[text("name", 160, "SystemRequired"), lookup("parentbusinessunitid", "businessunit")],
        ),
        _table(
            "systemuser", "systemusers", "SystemUser", 8, "fullname", ownership="OrganizationOwned",
            columns=[
                text("domainname", 1024),
                text("firstname", 256),
                text("lastname", 256),
                read_only("fullname", Kind.STRING),
                text("internalemailaddress", 100),
                Column("applicationid", Kind.UNIQUEIDENTIFIER),
                Column("azureactivedirectoryobjectid", Kind.UNIQUEIDENTIFIER),
                lookup("businessunitid", "businessunit", required="SystemRequired"),
                Column("isdisabled", Kind.BOOLEAN, default=False),
                choice("accessmode", 0, 1, 2, 3, 4, 5, 6, default=0),
            ],
        ),
        _table(
            "transactioncurrency", "transactioncurrencies", "TransactionCurrency", 9105, "currencyname",
            ownership="OrganizationOwned",
            columns=[
                text("currencyname", 100, "SystemRequired"),
                text("isocurrencycode", 5, "SystemRequired"),
                text("currencysymbol", 13, "SystemRequired"),
                Column("exchangerate", Kind.DECIMAL, "SystemRequired"),
                Column("currencyprecision", Kind.INTEGER, "SystemRequired", default=2),
            ],
        ),
        _table(
            "uomschedule", "uomschedules", "UoMSchedule", 1056, "name", ownership="OrganizationOwned",
            columns=[
                text("name", 200, "SystemRequired"),
                text("baseuomname", 100, "SystemRequired"),
                memo("description"),
            ],
        ),
        _table(
            "uom", "uoms", "UoM", 1055, "name", ownership="OrganizationOwned",
            columns=[
                text("name", 100, "SystemRequired"),
                lookup("uomscheduleid", "uomschedule", required="SystemRequired"),
                Column("quantity", Kind.DECIMAL, "SystemRequired"),
                lookup("baseuom", "uom", required="SystemRequired"),
                read_only("isschedulebaseuom", Kind.BOOLEAN),
            ],
        ),
        _table(
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
        _table(
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
        _table(
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
        _table(
            "opportunity", "opportunities", "Opportunity", 3, "name", ownership="UserOwned",
            columns=[
                text("name", 300, "ApplicationRequired"),
                Column("customerid", Kind.CUSTOMER, "ApplicationRequired", targets=("account", "contact")),
                lookup("parentaccountid", "account"),
                lookup("parentcontactid", "contact"),
                lookup("originatingleadid", "lead"),
                lookup("pricelevelid", "pricelevel"),
                ORDER_CURRENCY,
                EXCHANGE_RATE,
                *money("estimatedvalue"),
                Column("estimatedclosedate", Kind.DATETIME, date_only=True),
                *money("actualvalue"),
                Column("actualclosedate", Kind.DATETIME, date_only=True),
                *money("budgetamount"),
                Column("closeprobability", Kind.INTEGER),
                choice("opportunityratingcode", 1, 2, 3),
                choice("purchasetimeframe", 0, 1, 2, 3, 4),
                text("stepname", 200),
                memo("description"),
                PRICING_ERROR,
                *HEADER_TOTALS,
            ],
            metadata_id="30b0cd7e-0081-42e1-9a48-688442277fae",
            states=(0, 1, 2),
            change_tracking=True,
        ),
        _table(
            "lead", "leads", "Lead", 4, "fullname", ownership="UserOwned",
            columns=[
                text("subject", 300, "ApplicationRequired"),
                text("firstname", 50, "Recommended"),
                text("lastname", 50, "ApplicationRequired"),
                read_only("fullname", Kind.STRING),
                text("companyname", 100, "Recommended"),
                text("emailaddress1", 100),
                text("telephone1", 50),
                text("mobilephone", 50),
                text("jobtitle", 100),
                *address("address1_"),
                choice("leadsourcecode", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
                *money("estimatedamount"),
                Column("estimatedclosedate", Kind.DATETIME, date_only=True),
                lookup("parentaccountid", "account"),
                lookup("parentcontactid", "contact"),
                lookup("qualifyingopportunityid", "opportunity"),
                CURRENCY,
                EXCHANGE_RATE,
                memo("description"),
            ],
            states=(0, 1, 2),
            change_tracking=True,
        ),
        _table(
            "quote", "quotes", "Quote", 1084, "name", ownership="UserOwned",
            columns=[
                text("name", 300, "ApplicationRequired"),
                text(
                    "quotenumber", 100, "SystemRequired", valid_for_update=False, default=Default.AUTONUMBER,
                    autonumber_prefix="QUO",
                ),
                Column("revisionnumber", Kind.INTEGER, "SystemRequired", valid_for_update=False, default=0),
                Column("customerid", Kind.CUSTOMER, "ApplicationRequired", targets=("account", "contact")),
                lookup("pricelevelid", "pricelevel", required="ApplicationRequired"),
                ORDER_CURRENCY,
                EXCHANGE_RATE,
                lookup("opportunityid", "opportunity"),
                PAYMENT_TERMS,
                SHIPPING_METHOD,
                Column("effectivefrom", Kind.DATETIME, date_only=True),
                Column("effectiveto", Kind.DATETIME, date_only=True),
                Column("requestdeliveryby", Kind.DATETIME, date_only=True),
                *address("billto_"),
                *address("shipto_"),
                *money("discountamount"),
                Column("discountpercentage", Kind.DECIMAL),
                *money("freightamount"),
                memo("description"),
                PRICING_ERROR,
                *HEADER_TOTALS,
            ],
            states=(0, 1, 2, 3),
            change_tracking=True,
            collections=[CollectionNavigation("quote_details", "quotedetail", "quoteid")],
        ),
        _table(
            "quotedetail", "quotedetails", "QuoteDetail", 1085, "productidname", ownership="UserOwned",
            columns=[lookup("quoteid", "quote", required="SystemRequired"), *LINE_COMMON],
            change_tracking=True,
        ),
        _table(
            "salesorder", "salesorders", "SalesOrder", 1088, "name", ownership="UserOwned",
            columns=[
                text("name", 300, "ApplicationRequired"),
                text(
                    "ordernumber", 100, "SystemRequired", valid_for_update=False, default=Default.AUTONUMBER,
                    autonumber_prefix="ORD",
                ),
                Column("customerid", Kind.CUSTOMER, "ApplicationRequired", targets=("account", "contact")),
                lookup("pricelevelid", "pricelevel", required="ApplicationRequired"),
                ORDER_CURRENCY,
                EXCHANGE_RATE,
                lookup("quoteid", "quote"),
                lookup("opportunityid", "opportunity"),
                PAYMENT_TERMS,
                SHIPPING_METHOD,
                *address("billto_"),
                *address("shipto_"),
                Column("requestdeliveryby", Kind.DATETIME, date_only=True),
                Column("datefulfilled", Kind.DATETIME),
                Column("ispricelocked", Kind.BOOLEAN, default=False),
                choice("ordercreationmethod", 776160000, 776160001),
                *money("discountamount"),
                Column("discountpercentage", Kind.DECIMAL),
                *money("freightamount"),
                memo("description"),
                PRICING_ERROR,
                *HEADER_TOTALS,
            ],
            states=(0, 1, 2, 3, 4),
            change_tracking=True,
            collections=[CollectionNavigation("order_details", "salesorderdetail", "salesorderid")],
        ),
        _table(
            "salesorderdetail", "salesorderdetails", "SalesOrderDetail", 1089, "salesorderdetailname",
            ownership="UserOwned",
            columns=[
                lookup("salesorderid", "salesorder", required="SystemRequired"),
                text("salesorderdetailname", 500, "ApplicationRequired"),
                lookup("quotedetailid", "quotedetail"),
                Column("requestdeliveryby", Kind.DATETIME, date_only=True),
                *LINE_COMMON,
            ],
            change_tracking=True,
        ),
        # The message catalog (sdkmessage/sdkmessagefilter table references): read-only system tables
        # without state, seeded by simulators/dataverse/sdkmessages.py.
        _table(
            "sdkmessage", "sdkmessages", "SdkMessage", 4606, "name", ownership="OrganizationOwned",
            columns=[
                read_only("name", Kind.STRING),
                read_only("categoryname", Kind.STRING),
                read_only("isprivate", Kind.BOOLEAN),
                read_only("isactive", Kind.BOOLEAN),
                read_only("isreadonly", Kind.BOOLEAN),
                read_only("autotransact", Kind.BOOLEAN),
                read_only("workflowsdkstepenabled", Kind.BOOLEAN),
                read_only("availability", Kind.INTEGER),
                read_only("customizationlevel", Kind.INTEGER),
            ],
            stateful=False,
            api_writable=False,
            collections=[
                CollectionNavigation("sdkmessageid_sdkmessagefilter", "sdkmessagefilter", "sdkmessageid")
            ],
        ),
        _table(
            "sdkmessagefilter", "sdkmessagefilters", "SdkMessageFilter", 4607, "name",
            ownership="OrganizationOwned",
            columns=[
                read_only("name", Kind.STRING),
                Column("sdkmessageid", Kind.LOOKUP, "SystemRequired", targets=("sdkmessage",),
                       valid_for_create=False, valid_for_update=False),
                Column("primaryobjecttypecode", Kind.ENTITYNAME, "SystemRequired", valid_for_create=False,
                       valid_for_update=False),
                Column("secondaryobjecttypecode", Kind.ENTITYNAME, "SystemRequired", valid_for_create=False,
                       valid_for_update=False),
                read_only("iscustomprocessingstepallowed", Kind.BOOLEAN),
                read_only("isvisible", Kind.BOOLEAN),
                read_only("workflowsdkstepenabled", Kind.BOOLEAN),
                read_only("availability", Kind.INTEGER),
                read_only("customizationlevel", Kind.INTEGER),
            ],
            stateful=False,
            api_writable=False,
        ),
        # The close activities of quotes and orders (quoteclose/orderclose references): WinQuote,
        # ConvertQuoteToSalesOrder and FulfillSalesOrder create them Completed.
        _table(
            "quoteclose", "quotecloses", "QuoteClose", 4211, "subject", ownership="UserOwned",
            primary_id="activityid",
            columns=[
                text("subject", 200, "ApplicationRequired"),
                lookup("quoteid", "quote", required="ApplicationRequired"),
                text("quotenumber", 100),
                Column("revision", Kind.INTEGER),
                memo("description"),
                Column("actualstart", Kind.DATETIME),
                Column("actualend", Kind.DATETIME),
                text("category", 250),
                read_only("activitytypecode", Kind.ENTITYNAME),
            ],
            states=(0, 1, 2),
        ),
        _table(
            "orderclose", "ordercloses", "OrderClose", 4209, "subject", ownership="UserOwned",
            primary_id="activityid",
            columns=[
                text("subject", 200, "ApplicationRequired"),
                lookup("salesorderid", "salesorder", required="ApplicationRequired"),
                text("ordernumber", 100),
                Column("revision", Kind.INTEGER),
                memo("description"),
                Column("actualstart", Kind.DATETIME),
                Column("actualend", Kind.DATETIME),
                text("category", 250),
                read_only("activitytypecode", Kind.ENTITYNAME),
            ],
            states=(0, 1, 2),
        ),
        # Webhook registration (serviceendpoint, sdkmessageprocessingstep, sdkmessageprocessingstepimage
        # references) and the system jobs of asynchronous steps (asyncoperation reference).
        _table(
            "serviceendpoint", "serviceendpoints", "ServiceEndpoint", 4618, "name",
            ownership="OrganizationOwned",
            columns=[
                text("name", 256, "SystemRequired"),
                text("url", 2000),
                choice("contract", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, required="SystemRequired"),
                choice("authtype", 1, 2, 3, 4, 5, 6, 7, 8),
                Column("authvalue", Kind.STRING, max_length=2048, valid_for_read=False),
                read_only("isauthvalueset", Kind.BOOLEAN),
                choice("messageformat", 1, 2, 3),
                choice("messagecharset", 0, 1),
                choice("connectionmode", 1, 2, required="SystemRequired", default=1),
                choice("userclaim", 1, 2, 3, required="SystemRequired", default=1),
                choice("namespaceformat", 1, 2),
                text("namespaceaddress", 255),
                text("path", 160),
                text("solutionnamespace", 160),
                text("saskeyname", 256),
                memo("description"),
            ],
            stateful=False,
        ),
        _table(
            "sdkmessageprocessingstep", "sdkmessageprocessingsteps", "SdkMessageProcessingStep", 4608,
            "name", ownership="OrganizationOwned",
            columns=[
                text("name", 256, "SystemRequired"),
                text("description", 256),
                choice("stage", 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 80, 90, required="SystemRequired"),
                choice("mode", 0, 1, required="SystemRequired", default=0),
                Column("rank", Kind.INTEGER, "SystemRequired"),
                choice("supporteddeployment", 0, 1, 2, required="SystemRequired", default=0),
                choice("invocationsource", -1, 0, 1, required="SystemRequired", default=0),
                Column("asyncautodelete", Kind.BOOLEAN, "SystemRequired", default=False),
                text("filteringattributes", 100000),
                text("configuration", 1073741823),
                lookup("eventhandler", "plugintype", "serviceendpoint", required="SystemRequired"),
                lookup("sdkmessageid", "sdkmessage", required="SystemRequired"),
                lookup("sdkmessagefilterid", "sdkmessagefilter"),
                lookup("impersonatinguserid", "systemuser"),
            ],
        ),
        _table(
            "sdkmessageprocessingstepimage", "sdkmessageprocessingstepimages",
            "SdkMessageProcessingStepImage", 4615, "name", ownership="OrganizationOwned",
            columns=[
                text("name", 256),
                text("entityalias", 256, "SystemRequired"),
                choice("imagetype", 0, 1, 2, required="SystemRequired"),
                text("messagepropertyname", 256, "SystemRequired"),
                text("attributes", 100000),
                text("relatedattributename", 256),
                text("description", 256),
                lookup("sdkmessageprocessingstepid", "sdkmessageprocessingstep", required="SystemRequired"),
            ],
            stateful=False,
        ),
        _table(
            "asyncoperation", "asyncoperations", "AsyncOperation", 4700, "name", ownership="UserOwned",
            columns=[
                read_only("name", Kind.STRING),
                read_only("operationtype", Kind.PICKLIST),
                read_only("messagename", Kind.STRING),
                read_only("primaryentitytype", Kind.ENTITYNAME),
                read_only("regardingobjectid", Kind.LOOKUP, *ASYNC_REGARDING),
                read_only("owningextensionid", Kind.LOOKUP, "sdkmessageprocessingstep"),
                read_only("correlationid", Kind.UNIQUEIDENTIFIER),
                read_only("requestid", Kind.UNIQUEIDENTIFIER),
                read_only("depth", Kind.INTEGER),
                read_only("retrycount", Kind.INTEGER),
                read_only("errorcode", Kind.INTEGER),
                read_only("message", Kind.MEMO),
                read_only("friendlymessage", Kind.MEMO),
                read_only("data", Kind.MEMO),
                read_only("startedon", Kind.DATETIME),
                read_only("completedon", Kind.DATETIME),
                Column("postponeuntil", Kind.DATETIME),
            ],
            states=(0, 1, 2, 3),
        ),
        _task(),
    ]  # fmt: skip


# Tables a task can be regarding (its polymorphic regardingobjectid), each with its own navigation property.
_REGARDING = ("account", "contact", "lead", "opportunity", "quote", "salesorder")


def _task() -> Table:
    """The task activity (the $batch article's examples): primary key ``activityid``, subject of 200."""
    base = _table(
        "task", "tasks", "Task", 4212, "subject", ownership="UserOwned", primary_id="activityid",
        states=(0, 1, 2), change_tracking=True,
        columns=[
            text("subject", 200, "ApplicationRequired"),
            memo("description"),
            Column("regardingobjectid", Kind.LOOKUP, targets=_REGARDING),
            Column("scheduledend", Kind.DATETIME),
            choice("prioritycode", 0, 1, 2, default=1),
            Column("percentcomplete", Kind.INTEGER),
        ],
    )  # fmt: skip
    # A polymorphic lookup has one navigation property per target: regardingobjectid_account_task, …
    navigations = {k: v for k, v in base.navigations.items() if v.column != "regardingobjectid"}
    for target in _REGARDING:
        name = f"regardingobjectid_{target}_task"
        navigations[name] = Navigation(name, "regardingobjectid", (target,))
    return replace(base, navigations=navigations)


TABLES: tuple[Table, ...] = tuple(_tables())
BY_LOGICAL_NAME: Mapping[str, Table] = {t.logical_name: t for t in TABLES}
BY_ENTITY_SET: Mapping[str, Table] = {t.entity_set: t for t in TABLES}
