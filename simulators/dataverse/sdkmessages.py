"""The message catalog: one ``sdkmessage`` row per message, one ``sdkmessagefilter`` per message and table.

What it is for: a filter row says that a message exists for a table (``primaryobjecttypecode``) and
whether custom steps may be registered on it (``iscustomprocessingstepallowed``, the generated table
references' "Event: True/False"). Clients read it in two documented ways, both served through the
ordinary OData engine:

- the bulk-availability probe (bulk-operations.md): ``sdkmessagefilters?$select=sdkmessagefilterid
  &$filter=sdkmessageid/name eq @message and primaryobjecttypecode eq @table`` -- non-empty means the
  table supports the message;
- the step look-ups (event-framework.md, register-web-hook.md): ``sdkmessages?$filter=name eq 'Update'``
  then ``sdkmessagefilters?$filter=_sdkmessageid_value eq <id> and primaryobjecttypecode eq 'salesorder'
  and iscustomprocessingstepallowed eq true``.

The simulator consults the same rows: a bulk action on a table without its filter is refused
(``message_available``), so tests switch bulk support per table (``set_message_availability``) and
exercise a client's fallback.

Which messages each table has, and their Event flag, follow the generated references (salesorder,
salesorderdetail and quote list CreateMultiple/UpdateMultiple with Event True, Upsert/UpsertMultiple
with Event False, ConvertQuoteToSalesOrder and FulfillSalesOrder with Event False, WinQuote, CloseQuote,
CancelSalesOrder, GenerateQuoteFromOpportunity, WinOpportunity with Event True;
docs/dataverse-api.md, "Sales actions").
Bulk messages: by default on salesorder, salesorderdetail, quote, account, opportunity (the current generated
references list CreateMultiple and UpdateMultiple for them; the older optimize-performance text said
Account/Contact lacked them), contact (ASSUMED like account) and custom tables (bulk-operations.md: "custom
standard tables and many common standard tables, but not all"); UpsertMultiple wherever the other two are
(bulk-operations.md). ASSUMED: the remaining columns (``availability`` 0,
``customizationlevel`` 0, ``isvisible`` true for every filter, ``categoryname``) and that lines have no
SetState/Assign, as the salesorderdetail reference lists none.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from simulators.dataverse.records import Organization
from simulators.dataverse.store import Ref, Row
from simulators.dataverse.tables import Table

BULK_MESSAGES = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")
# The generated references list CreateMultiple/UpdateMultiple for salesorder, salesorderdetail and quote, and
# today for account and opportunity too (learn.microsoft.com …/reference/entities/account, …/opportunity);
# contact is assumed to follow account. UpsertMultiple goes with them: bulk-operations.md says it exists
# wherever CreateMultiple and UpdateMultiple do.
DEFAULT_BULK_TABLES = frozenset(
    {"salesorder", "salesorderdetail", "quote", "account", "contact", "opportunity"}
)
CUSTOM_OBJECT_TYPE_CODE = 10000  # custom tables' object type codes start here
_LINE_TABLES = frozenset({"salesorderdetail", "quotedetail"})
_CATALOG_TABLES = frozenset({"sdkmessage", "sdkmessagefilter"})
_READ_MESSAGES = frozenset({"Retrieve", "RetrieveMultiple"})


@dataclass(frozen=True)
class Message:
    """One message of the catalog: its name and category."""

    name: str
    category: str


# Every message the simulated org knows; `filters_for` says which tables each applies to.
MESSAGES: tuple[Message, ...] = (
    Message("Create", "Create"),
    Message("Update", "Update"),
    Message("Delete", "Delete"),
    Message("Retrieve", "Retrieve"),
    Message("RetrieveMultiple", "RetrieveMultiple"),
    Message("SetState", "SetState"),
    Message("Assign", "Assign"),
    Message("Upsert", "Upsert"),
    Message("CreateMultiple", "CreateMultiple"),
    Message("UpdateMultiple", "UpdateMultiple"),
    Message("UpsertMultiple", "UpsertMultiple"),
    Message("WinQuote", "Action"),
    Message("CloseQuote", "Action"),
    Message("ReviseQuote", "Action"),
    Message("ConvertQuoteToSalesOrder", "Action"),
    Message("GenerateQuoteFromOpportunity", "Action"),
    Message("WinOpportunity", "Action"),
    Message("CancelSalesOrder", "Action"),
    Message("FulfillSalesOrder", "Action"),
)

# Table-specific messages and their Event flag (iscustomprocessingstepallowed), from the references.
_SPECIFIC: Mapping[str, Mapping[str, bool]] = {
    "quote": {
        "WinQuote": True,
        "CloseQuote": True,
        "ReviseQuote": False,  # ASSUMED: the flag is not in the references this catalog was built from
        "ConvertQuoteToSalesOrder": False,
        "GenerateQuoteFromOpportunity": True,
        "WinOpportunity": True,
    },
    "salesorder": {"CancelSalesOrder": True, "FulfillSalesOrder": False},
    "opportunity": {"WinOpportunity": True},
}
_BULK_EVENTS = {"CreateMultiple": True, "UpdateMultiple": True, "UpsertMultiple": False}


def default_bulk_tables(tables: Iterable[Table]) -> frozenset[str]:
    """The tables that have the bulk messages unless told otherwise: the Sales three and custom tables."""
    return frozenset(
        t.logical_name
        for t in tables
        if t.logical_name in DEFAULT_BULK_TABLES or t.object_type_code >= CUSTOM_OBJECT_TYPE_CODE
    )


def filters_for(table: Table, *, bulk: bool) -> dict[str, bool]:
    """The messages a table has (message name → custom steps allowed)."""
    if table.logical_name in _CATALOG_TABLES:
        return {"Retrieve": False, "RetrieveMultiple": False}
    found = {
        "Create": True,
        "Update": True,
        "Delete": True,
        "Retrieve": True,
        "RetrieveMultiple": True,
        "Upsert": False,
    }
    if table.logical_name not in _LINE_TABLES and "statecode" in table.columns:
        found["SetState"] = True
    if table.ownership == "UserOwned" and table.logical_name not in _LINE_TABLES:
        found["Assign"] = True
    if bulk:
        found.update(_BULK_EVENTS)
    found.update(_SPECIFIC.get(table.logical_name, {}))
    return found


def seed_catalog(org: Organization, bulk_tables: Iterable[str] | None = None) -> None:
    """Insert the message rows and one filter row per (message, table) the org serves.

    ``bulk_tables``: the tables that get CreateMultiple/UpdateMultiple/UpsertMultiple (None: the default).
    """
    message_table, filter_table = _catalog_tables(org)
    bulk = default_bulk_tables(org.tables) if bulk_tables is None else frozenset(bulk_tables)
    for message in MESSAGES:
        org.insert_system_row(
            message_table,
            {
                "name": message.name,
                "categoryname": message.category,
                "isprivate": False,
                "isactive": True,
                "isreadonly": message.name in _READ_MESSAGES,
                "autotransact": message.name not in _READ_MESSAGES,
                "workflowsdkstepenabled": False,
                "availability": 0,
                "customizationlevel": 0,
            },
        )
    for table in org.tables:
        for name, allowed in filters_for(table, bulk=table.logical_name in bulk).items():
            _insert_filter(org, filter_table, name, table.logical_name, allowed)


def add_table_filters(org: Organization, table: Table) -> None:
    """The filter rows of a table created through the metadata API (a custom table: bulk messages too)."""
    if org.table("sdkmessagefilter") is None:
        return
    _message_table, filter_table = _catalog_tables(org)
    for name, allowed in filters_for(table, bulk=True).items():
        if message_filter(org, name, table.logical_name) is None:
            _insert_filter(org, filter_table, name, table.logical_name, allowed)


def _catalog_tables(org: Organization) -> tuple[Table, Table]:
    message_table, filter_table = org.table("sdkmessage"), org.table("sdkmessagefilter")
    if message_table is None or filter_table is None:
        raise LookupError("the organization does not serve the sdkmessage and sdkmessagefilter tables")
    return message_table, filter_table


def _insert_filter(
    org: Organization, filter_table: Table, message: str, logical_name: str, allowed: bool
) -> Row:
    message_row = message_by_name(org, message)
    if message_row is None:
        raise LookupError(f"no sdkmessage named {message}")
    return org.insert_system_row(
        filter_table,
        {
            "name": f"{message} of {logical_name}",
            "sdkmessageid": Ref("sdkmessage", message_row["sdkmessageid"]),
            "primaryobjecttypecode": logical_name,
            "secondaryobjecttypecode": "none",
            "iscustomprocessingstepallowed": allowed,
            "isvisible": True,
            "workflowsdkstepenabled": False,
            "availability": 0,
            "customizationlevel": 0,
        },
    )


def message_by_name(org: Organization, name: str) -> Row | None:
    """The sdkmessage row called ``name`` (message names compare case-insensitively), or None."""
    wanted = name.casefold()
    return next(
        (row for row in org.store.rows("sdkmessage") if str(row.get("name", "")).casefold() == wanted), None
    )


def message_filter(org: Organization, message: str, logical_name: str) -> Row | None:
    """The sdkmessagefilter row of ``message`` on table ``logical_name``, or None when it has none."""
    message_row = message_by_name(org, message)
    if message_row is None:
        return None
    message_id: uuid.UUID = message_row["sdkmessageid"]
    for row in org.store.rows("sdkmessagefilter"):
        reference = row.get("sdkmessageid")
        if (
            isinstance(reference, Ref)
            and reference.id == message_id
            and row.get("primaryobjecttypecode") == logical_name
        ):
            return row
    return None


def message_available(org: Organization, message: str, logical_name: str) -> bool:
    """Whether the table has the message (the probe's answer)."""
    return message_filter(org, message, logical_name) is not None


def set_message_availability(
    org: Organization, logical_name: str, messages: Iterable[str], *, available: bool
) -> None:
    """Add or remove the filter rows of ``messages`` for a table (what a platform update would change).

    Added filters take the Event flag the catalog gives that message (True when it gives none).
    """
    table = org.table(logical_name)
    if table is None:
        raise LookupError(f"the organization does not serve the {logical_name} table")
    _message_table, filter_table = _catalog_tables(org)
    flags = {**filters_for(table, bulk=True), **_BULK_EVENTS}
    for message in messages:
        if message_by_name(org, message) is None:
            raise LookupError(f"no sdkmessage named {message}")
        existing = message_filter(org, message, logical_name)
        if available and existing is None:
            _insert_filter(org, filter_table, message, logical_name, flags.get(message, True))
        elif not available and existing is not None:
            org.store.remove("sdkmessagefilter", existing["sdkmessagefilterid"])
