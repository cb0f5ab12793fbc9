"""Tables of the organization itself: accounts, contacts, users, business units, currencies and tasks.

Column facts come from the generated table references (account, contact, systemuser, businessunit,
transactioncurrency, task); account's and contact's columns are listed in ``customers.py``. See
``simulators/dataverse/tables.py`` for what a declaration means.
"""

from __future__ import annotations

from dataclasses import replace

from simulators.dataverse.schema.customers import ACCOUNT_COLUMNS, CONTACT_COLUMNS
from simulators.dataverse.tables import (
    CollectionNavigation,
    Column,
    Kind,
    Navigation,
    Table,
    choice,
    define_table,
    lookup,
    memo,
    read_only,
    text,
)

ORGANIZATION_TABLES: tuple[Table, ...] = (
    define_table(
        "account", "accounts", "Account", 1, "name", ownership="UserOwned",
        columns=ACCOUNT_COLUMNS,
        metadata_id="70816501-edb9-4740-a16c-6a5efbc05d84",
        change_tracking=True,
        collections=[CollectionNavigation("Account_Tasks", "task", "regardingobjectid")],
    ),
    define_table(
        "contact", "contacts", "Contact", 2, "fullname", ownership="UserOwned",
        columns=CONTACT_COLUMNS,
        change_tracking=True,
    ),
    define_table(
        "businessunit", "businessunits", "BusinessUnit", 10, "name", ownership="OrganizationOwned",
        columns=[text("name", 160, "SystemRequired"), lookup("parentbusinessunitid", "businessunit")],
    ),
    define_table(
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
    define_table(
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
)  # fmt: skip

# Tables a task can be regarding (its polymorphic regardingobjectid), each with its own navigation property.
_REGARDING = ("account", "contact", "lead", "opportunity", "quote", "salesorder")


def _task() -> Table:
    """The task activity (the $batch article's examples): primary key ``activityid``, subject of 200."""
    base = define_table(
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


TASK = _task()
