"""What the simulator's tables are made of: columns, types, required levels, and the system columns.

Column facts (types, MaxLength, RequiredLevel, lookup targets, choices) come from the generated table
references (MicrosoftDocs dynamics-365-customer-engagement ``ce/developer/reference/entities/*.md``) as
summarised in docs/dataverse-api.md, "Sales orders and lines", for salesorder, salesorderdetail and account,
from the product reference, and from a real ``opportunity`` EntityDefinitions document (a test checks the
simulator against it). Only the columns the connector and its tests need are modelled; the system columns
every table has are added by ``define_table``. The tables themselves are declared per domain in
``simulators/dataverse/schema/``. A required level here drives behaviour exactly as the Web API does: only
``SystemRequired`` is enforced on create, ``ApplicationRequired`` is a form-level hint the API ignores.

``default`` is what the platform fills in when a create leaves the column out (owner, state, autonumbers,
currency); such SystemRequired columns therefore never fail a create.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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
    labels: tuple[tuple[int, str], ...] = ()  # a custom choice's (value, label); built-ins: schema/choices.py
    schema_name: str = ""  # "" : the logical name (custom columns keep their casing, new_Budget)
    display_name: str = ""
    min_value: float | None = None
    max_value: float | None = None
    precision: int | None = None
    custom: bool = False

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
    custom: bool = False  # created through the metadata API (CreateEntities, POST EntityDefinitions)
    display_name: str = ""

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


def define_table(
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
    """A table with the system columns every table has (id, created/modified, version; state and owner)."""
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
    return define_table(
        logical_name,
        entity_set,
        schema_name or logical_name,
        object_type_code,
        primary_name,
        ownership=ownership,
        columns=columns,
        change_tracking=True,
    )


# Columns several tables share.
CURRENCY = lookup("transactioncurrencyid", "transactioncurrency", default=Default.BASE_CURRENCY)
EXCHANGE_RATE = read_only("exchangerate", Kind.DECIMAL)
PAYMENT_TERMS = choice("paymenttermscode", 1, 2, 3, 4)
