"""The Sales actions of the Web API: quote conversion, winning, closing and revising; fulfilling, canceling.

Each is an unbound ``POST <root>/<Name>`` whose body holds the action's parameters (docs/dataverse-api.md,
"Sales actions": the CRM 2016 action pages for ConvertQuoteToSalesOrder and FulfillSalesOrder; WinQuote's
shape is ASSUMED from a third-party library) and runs as one request: its writes are one transaction under one
correlation id, and every row it writes raises its own Create/Update events (plus the action's own event,
which steps may use where the message allows them: WinQuote).

- ``WinQuote {"QuoteClose": {…, "quoteid@odata.bind"}, "Status": -1}``: the quote must be Active; it becomes
  Won (state 2) with ``Status`` (-1: the state's default, 4 Won) and a Completed quoteclose activity is
  written. Otherwise InvalidState.
- ``FulfillSalesOrder {"OrderClose": {…, "salesorderid@odata.bind"}, "Status": 100001}``: the order must be
  Active or Submitted; it becomes Fulfilled (state 3) with ``Status`` (100001 Complete, 100002 Partial)
  and ``datefulfilled``, and a Completed orderclose activity is written. Returns nothing.
- ``CancelSalesOrder {"OrderClose": {…, "salesorderid@odata.bind"}, "Status": 4}`` (CRM 2016 action page
  mt607587): the order must be Active or Submitted; it becomes Canceled (state 2) with ``Status`` (-1: the
  state's default, 4 No Money) and a Completed orderclose activity is written. Returns nothing.
- ``CloseQuote {"QuoteClose": {…, "quoteid@odata.bind"}, "Status": 5}`` (action page mt607685): an Active
  quote becomes Closed (state 3) with ``Status`` (5 Lost, 6 Canceled; -1: 5), with a quoteclose activity.
- ``ReviseQuote {"QuoteId", "ColumnSet"}`` (action page mt607543, "sets the state of a quote to Draft" and
  returns the quote): a new quote row, a Draft copy of the quote with the same ``quotenumber``, the next
  ``revisionnumber`` and copies of its lines, is returned with the ColumnSet's columns; an Active original is
  closed as Revised (3/7). A Closed quote may be revised only while no Draft or Active revision of its
  number exists (public guides to the quote life cycle); Draft and Won quotes are refused with InvalidState.
- ``ConvertQuoteToSalesOrder {"QuoteId", "ColumnSet", "QuoteClose…"}``: returns the new salesorder with the
  ColumnSet's columns. The order copies the quote's header (customer, price list, currency, addresses,
  terms, discounts) and carries ``quoteid``; each quote line becomes an order line carrying
  ``quotedetailid`` at the quoted price.

ASSUMED where the documents are silent: ReviseQuote copies every column a create may set, the connector's
custom columns included, onto the revision and its lines; CloseQuote's -1 means Lost;
ConvertQuoteToSalesOrder accepts an Active quote (closing it as Won
with a quoteclose built from the QuoteClose* parameters, which is what those parameters are for) or a Won
one (left as is) and refuses Draft and Closed quotes with InvalidState; the order is price-locked
(``ispricelocked``) so the quoted prices hold, and its ``ordercreationmethod`` is 776160001; activities are
created Completed with ``actualend`` now; unknown parameters are refused with the OData layer's message.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.dataverse.webhook import OpaqueValue, OptionSetValue, Value
from simulators.common.provenance import assumed, captured
from simulators.dataverse import errors, values
from simulators.dataverse.events import Caller, RowEvent
from simulators.dataverse.payload import parse_body
from simulators.dataverse.records import Organization
from simulators.dataverse.step_context import entity
from simulators.dataverse.store import Ref, Row
from simulators.dataverse.tables import Table

QUOTE_DRAFT, QUOTE_ACTIVE, QUOTE_WON, QUOTE_CLOSED = 0, 1, 2, 3
QUOTE_STATUS_WON, QUOTE_STATUS_LOST, QUOTE_STATUS_REVISED = 4, 5, 7
QUOTE_CLOSED_STATUSES = frozenset({5, 6})
ORDER_CANCELED, ORDER_FULFILLED = 2, 3
ORDER_STATUS_NO_MONEY = 4
ORDER_OPEN_STATES = frozenset({0, 1})
ORDER_FULFILLED_STATUSES = frozenset({100001, 100002})
ORDER_CREATION_WIN_QUOTE = 776160001
ACTIVITY_COMPLETED, ACTIVITY_COMPLETED_STATUS = 1, 2

captured(
    "dataverse",
    "Sales action parameters",
    "ConvertQuoteToSalesOrder (QuoteId, ColumnSet, QuoteClose*; returns salesorder) and FulfillSalesOrder "
    "(OrderClose, Status): CRM 2016 Web API action pages mt607842 and mt607784 "
    "(docs/dataverse-api.md, 'Sales actions')",
)
assumed(
    "dataverse",
    "WinQuote parameters",
    "QuoteClose bound to the quote and Status -1: from the third-party library MrThearMan/dynamics-client "
    "as docs/dataverse-api.md, 'Sales actions' quotes it (a library docstring, not a Microsoft document).",
)
assumed(
    "dataverse",
    "action state refusals",
    "InvalidState (0x80040233) and InvalidStateCodeStatusCode (0x80048408) with their texts: attributed to "
    "the Web API error table, which neither docs/dataverse-api.md nor the vectors reproduce.",
)
captured(
    "dataverse",
    "CancelSalesOrder, CloseQuote and ReviseQuote parameters",
    "OrderClose and Status; QuoteClose and Status; QuoteId and ColumnSet returning a quote: CRM 2016 Web API "
    "action pages mt607587, mt607685 and mt607543",
)
assumed(
    "dataverse",
    "revision and close effects",
    "ReviseQuote copies every creatable column (custom ones too) of the quote and its lines onto a Draft "
    "revision with the next revisionnumber and closes an Active original as Revised (3/7); a Closed quote "
    "is revised only while no Draft or Active revision of its number exists; CloseQuote's Status -1 is "
    "Lost; CancelSalesOrder's -1 is No Money; each writes a Completed close activity",
)
assumed(
    "dataverse",
    "quote conversion effects",
    "Active quotes are won by the conversion, Won ones converted as they are, Draft/Closed refused; the "
    "order is price-locked with ordercreationmethod 776160001; action refusals are 400s.",
)
_HEADER_COPY = (
    "name", "customerid", "pricelevelid", "transactioncurrencyid", "opportunityid", "paymenttermscode",
    "shippingmethodcode", "requestdeliveryby", "discountamount", "discountpercentage", "freightamount",
    "description",
    *(f"{prefix}{part}" for prefix in ("billto_", "shipto_")
      for part in ("line1", "line2", "line3", "city", "postalcode", "stateorprovince", "country")),
)  # fmt: skip
_LINE_COPY = (
    "productid", "uomid", "quantity", "priceperunit", "ispriceoverridden", "isproductoverridden",
    "productdescription", "manualdiscountamount", "tax", "lineitemnumber", "producttypecode", "description",
)  # fmt: skip


@dataclass(frozen=True)
class ReturnedEntity:
    """An action's entity result (the converted order, the revised quote) and its ColumnSet (None: all)."""

    table: Table
    row: Row
    columns: tuple[str, ...] | None


ConvertedOrder = ReturnedEntity


def _table(org: Organization, logical_name: str) -> Table:
    table = org.table(logical_name)
    if table is None:
        raise errors.resource_not_found(logical_name)
    return table


def _parameters(name: str, body: Any, allowed: frozenset[str], required: frozenset[str]) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise errors.bad_request(f"The body of {name} must be a JSON object of its parameters.")
    for key in body:
        if key not in allowed and not key.startswith("@"):
            raise errors.bad_request(
                f"The parameter '{key}' in the request payload is not a valid parameter for the operation "
                f"'{name}'."
            )
    for key in required:
        if body.get(key) is None:
            raise errors.bad_request(f"The parameter '{key}' of the operation '{name}' is required.")
    return dict(body)


def _guid(name: str, value: Any) -> uuid.UUID:
    if not isinstance(value, str) or not values.is_guid(value):
        raise errors.bad_request(
            f"Cannot convert the literal '{value}' of parameter '{name}' to the expected type 'Edm.Guid'."
        )
    return uuid.UUID(value)


def _int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.bad_request(f"The parameter '{name}' must be an Edm.Int32, not '{value}'.")
    return value


def _activity(
    org: Organization, logical_name: str, body: Any, parent_column: str
) -> tuple[Table, dict[str, Any]]:
    """A close activity's columns from its JSON (binds resolved), refusing a missing parent."""
    table = _table(org, logical_name)
    if not isinstance(body, Mapping):
        raise errors.bad_request(f"The {logical_name} parameter must be a {logical_name} entity.")
    changes = parse_body(table, body, creating=True, resolve=org.resolve_reference)
    if not isinstance(changes.get(parent_column), Ref):
        raise errors.bad_request(f"The {logical_name} must name its {parent_column} with an @odata.bind.")
    return table, changes


def _complete(org: Organization, changes: dict[str, Any]) -> dict[str, Any]:
    return {
        **changes,
        "statecode": ACTIVITY_COMPLETED,
        "statuscode": ACTIVITY_COMPLETED_STATUS,
        "actualend": changes.get("actualend") or org.now_datetime(),
    }


def _close_quote(
    org: Organization, quote_table: Table, quote: Row, close: dict[str, Any], *, status: int, caller: Caller
) -> Row:
    """Write the Completed quoteclose and make the quote Won; returns the activity."""
    close_table = _table(org, "quoteclose")
    activity_id = uuid.uuid4()
    close = _complete(
        org,
        {
            "quotenumber": quote.get("quotenumber"),
            "revision": quote.get("revisionnumber"),
            **close,
        },
    )
    activity = org.platform_create(close_table, close, caller, row_id=activity_id)
    status = QUOTE_STATUS_WON if status == -1 else status
    org.platform_update(quote_table, quote["quoteid"], {"statecode": QUOTE_WON, "statuscode": status}, caller)
    return activity


def win_quote(org: Organization, body: Any, caller: Caller) -> None:
    """WinQuote: an Active quote becomes Won, with a quoteclose activity."""
    params = _parameters(
        "WinQuote", body, frozenset({"QuoteClose", "Status"}), frozenset({"QuoteClose", "Status"})
    )
    status = _int("Status", params["Status"])
    close_table, close = _activity(org, "quoteclose", params["QuoteClose"], "quoteid")
    quote_table = _table(org, "quote")
    quote_id = close["quoteid"].id
    typed: dict[str, Value] = {
        "QuoteClose": entity(close_table, uuid.UUID(int=0), close),
        "Status": OptionSetValue(status),
    }
    with org.operation(caller, "WinQuote", table=quote_table, row_id=quote_id, parameters=typed):
        quote = org.retrieve_row(quote_table, quote_id)
        if quote.get("statecode") != QUOTE_ACTIVE:
            raise errors.invalid_state()
        event = RowEvent("WinQuote", quote_table, quote_id, before=quote, parameters=typed)
        org.raise_before(event)
        activity = _close_quote(org, quote_table, quote, close, status=status, caller=caller)
        after = org.retrieve_row(quote_table, quote_id)
        parameters = {**typed, "QuoteClose": entity(close_table, activity["activityid"], activity)}
        org.raise_after(
            RowEvent("WinQuote", quote_table, quote_id, before=quote, after=after, parameters=parameters)
        )


def fulfill_sales_order(org: Organization, body: Any, caller: Caller) -> None:
    """FulfillSalesOrder: an Active or Submitted order becomes Fulfilled, with an orderclose activity."""
    params = _parameters(
        "FulfillSalesOrder", body, frozenset({"OrderClose", "Status"}), frozenset({"OrderClose", "Status"})
    )
    status = _int("Status", params["Status"])
    status = 100001 if status == -1 else status
    close_table, close = _activity(org, "orderclose", params["OrderClose"], "salesorderid")
    order_table = _table(org, "salesorder")
    order_id = close["salesorderid"].id
    typed: dict[str, Value] = {
        "OrderClose": entity(close_table, uuid.UUID(int=0), close),
        "Status": OptionSetValue(status),
    }
    with org.operation(caller, "FulfillSalesOrder", table=order_table, row_id=order_id, parameters=typed):
        order = org.retrieve_row(order_table, order_id)
        if order.get("statecode") not in ORDER_OPEN_STATES:
            raise errors.invalid_state()
        if status not in ORDER_FULFILLED_STATUSES:
            raise errors.invalid_state_status()
        event = RowEvent("FulfillSalesOrder", order_table, order_id, before=order, parameters=typed)
        org.raise_before(event)
        close = _complete(org, {"ordernumber": order.get("ordernumber"), **close})
        org.platform_create(close_table, close, caller)
        changes = {"statecode": ORDER_FULFILLED, "statuscode": status, "datefulfilled": org.now_datetime()}
        after = org.platform_update(order_table, order_id, changes, caller)
        org.raise_after(
            RowEvent("FulfillSalesOrder", order_table, order_id, before=order, after=after, parameters=typed)
        )


def _column_set(raw: Any, table: Table) -> tuple[tuple[str, ...] | None, Value]:
    """(columns or None for all, the ColumnSet as a context value)."""
    if raw is None:
        raw = {"AllColumns": False, "Columns": []}
    if not isinstance(raw, Mapping):
        raise errors.bad_request('ColumnSet must be an object {"AllColumns": bool, "Columns": [...]}.')
    all_columns = raw.get("AllColumns") is True
    columns = raw.get("Columns") or []
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise errors.bad_request("ColumnSet.Columns must be a list of column logical names.")
    for name in columns:
        column = table.column(name)
        if column is None or not column.readable:
            raise errors.bad_request(
                f"'{table.logical_name}' entity doesn't contain attribute with Name = '{name}'."
            )
    typed = OpaqueValue("ColumnSet", {"AllColumns": all_columns, "Columns": tuple(columns)})
    return (None if all_columns else tuple(columns)), typed


def convert_quote_to_sales_order(org: Organization, body: Any, caller: Caller) -> ConvertedOrder:
    """ConvertQuoteToSalesOrder: a new order (and lines) from an Active or Won quote."""
    allowed = frozenset(
        {"QuoteId", "ColumnSet", "QuoteCloseDate", "QuoteCloseStatus", "QuoteCloseSubject",
         "QuoteCloseDescription", "ProcessInstanceId"}
    )  # fmt: skip
    params = _parameters("ConvertQuoteToSalesOrder", body, allowed, frozenset({"QuoteId"}))
    quote_id = _guid("QuoteId", params["QuoteId"])
    quote_table, order_table = _table(org, "quote"), _table(org, "salesorder")
    columns, typed_columns = _column_set(params.get("ColumnSet"), order_table)
    typed: dict[str, Value] = {"QuoteId": str(quote_id), "ColumnSet": typed_columns}
    with org.operation(
        caller, "ConvertQuoteToSalesOrder", table=quote_table, row_id=quote_id, parameters=typed
    ):
        quote = org.retrieve_row(quote_table, quote_id)
        state = quote.get("statecode")
        if state not in (QUOTE_ACTIVE, QUOTE_WON):
            raise errors.invalid_state()
        org.raise_before(
            RowEvent("ConvertQuoteToSalesOrder", quote_table, quote_id, before=quote, parameters=typed)
        )
        if state == QUOTE_ACTIVE:
            close = _quote_close_from_parameters(org, params, quote)
            status = _int("QuoteCloseStatus", params.get("QuoteCloseStatus", -1))
            _close_quote(org, quote_table, quote, close, status=status, caller=caller)
        order = _create_order(org, order_table, quote, caller)
        org.raise_after(
            RowEvent("ConvertQuoteToSalesOrder", quote_table, quote_id, before=quote, parameters=typed)
        )
        return ConvertedOrder(order_table, org.retrieve_row(order_table, order["salesorderid"]), columns)


def _quote_close_from_parameters(org: Organization, params: Mapping[str, Any], quote: Row) -> dict[str, Any]:
    close_table = _table(org, "quoteclose")
    body: dict[str, Any] = {
        "subject": params.get("QuoteCloseSubject") or f"Quote won: {quote.get('name') or ''}"
    }
    if params.get("QuoteCloseDescription") is not None:
        body["description"] = params["QuoteCloseDescription"]
    if params.get("QuoteCloseDate") is not None:
        body["actualend"] = params["QuoteCloseDate"]
    changes = parse_body(close_table, body, creating=True, resolve=org.resolve_reference)
    changes["quoteid"] = Ref("quote", quote["quoteid"])
    return changes


def _create_order(org: Organization, order_table: Table, quote: Row, caller: Caller) -> Row:
    header = {name: quote.get(name) for name in _HEADER_COPY if quote.get(name) is not None}
    header.update(
        quoteid=Ref("quote", quote["quoteid"]),
        ispricelocked=True,
        ordercreationmethod=ORDER_CREATION_WIN_QUOTE,
    )
    order = org.platform_create(order_table, header, caller)
    line_table = _table(org, "salesorderdetail")
    lines = [dict(line) for line in org.store.children("quotedetail", "quoteid", quote["quoteid"])]
    lines.sort(key=_line_order)
    for line in lines:
        values = {name: line.get(name) for name in _LINE_COPY if line.get(name) is not None}
        values.update(
            salesorderid=Ref("salesorder", order["salesorderid"]),
            quotedetailid=Ref("quotedetail", line["quotedetailid"]),
            salesorderdetailname=line.get("productdescription"),
        )
        org.platform_create(line_table, values, caller)
    return order


def _line_order(line: Row) -> tuple[int, Any]:
    number = line.get("lineitemnumber")
    return (number if isinstance(number, int) else 0, line.get("createdon"))


def cancel_sales_order(org: Organization, body: Any, caller: Caller) -> None:
    """CancelSalesOrder: an Active or Submitted order becomes Canceled, with an orderclose activity."""
    params = _parameters(
        "CancelSalesOrder", body, frozenset({"OrderClose", "Status"}), frozenset({"OrderClose", "Status"})
    )
    status = _int("Status", params["Status"])
    status = ORDER_STATUS_NO_MONEY if status == -1 else status
    close_table, close = _activity(org, "orderclose", params["OrderClose"], "salesorderid")
    order_table = _table(org, "salesorder")
    order_id = close["salesorderid"].id
    typed: dict[str, Value] = {
        "OrderClose": entity(close_table, uuid.UUID(int=0), close),
        "Status": OptionSetValue(status),
    }
    with org.operation(caller, "CancelSalesOrder", table=order_table, row_id=order_id, parameters=typed):
        order = org.retrieve_row(order_table, order_id)
        if order.get("statecode") not in ORDER_OPEN_STATES:
            raise errors.invalid_state()
        if status != ORDER_STATUS_NO_MONEY:
            raise errors.invalid_state_status()
        event = RowEvent("CancelSalesOrder", order_table, order_id, before=order, parameters=typed)
        org.raise_before(event)
        org.platform_create(
            close_table, _complete(org, {"ordernumber": order.get("ordernumber"), **close}), caller
        )
        after = org.platform_update(
            order_table, order_id, {"statecode": ORDER_CANCELED, "statuscode": status}, caller
        )
        org.raise_after(
            RowEvent("CancelSalesOrder", order_table, order_id, before=order, after=after, parameters=typed)
        )


def close_quote(org: Organization, body: Any, caller: Caller) -> None:
    """CloseQuote: an Active quote becomes Closed (Lost or Canceled), with a quoteclose activity."""
    params = _parameters(
        "CloseQuote", body, frozenset({"QuoteClose", "Status"}), frozenset({"QuoteClose", "Status"})
    )
    status = _int("Status", params["Status"])
    status = QUOTE_STATUS_LOST if status == -1 else status
    close_table, close = _activity(org, "quoteclose", params["QuoteClose"], "quoteid")
    quote_table = _table(org, "quote")
    quote_id = close["quoteid"].id
    typed: dict[str, Value] = {
        "QuoteClose": entity(close_table, uuid.UUID(int=0), close),
        "Status": OptionSetValue(status),
    }
    with org.operation(caller, "CloseQuote", table=quote_table, row_id=quote_id, parameters=typed):
        quote = org.retrieve_row(quote_table, quote_id)
        if quote.get("statecode") != QUOTE_ACTIVE:
            raise errors.invalid_state()
        if status not in QUOTE_CLOSED_STATUSES:
            raise errors.invalid_state_status()
        org.raise_before(RowEvent("CloseQuote", quote_table, quote_id, before=quote, parameters=typed))
        activity = _complete(
            org, {"quotenumber": quote.get("quotenumber"), "revision": quote.get("revisionnumber"), **close}
        )
        org.platform_create(close_table, activity, caller)
        after = org.platform_update(
            quote_table, quote_id, {"statecode": QUOTE_CLOSED, "statuscode": status}, caller
        )
        org.raise_after(
            RowEvent("CloseQuote", quote_table, quote_id, before=quote, after=after, parameters=typed)
        )


_NOT_COPIED = frozenset(
    {"statecode", "statuscode", "revisionnumber", "createdon", "modifiedon", "createdby", "modifiedby"}
)


def _copy(table: Table, row: Row) -> dict[str, Any]:
    """The columns of ``row`` a create may set (the connector's custom columns too), for a revision."""
    return {
        name: row.get(name)
        for name, column in table.columns.items()
        if column.valid_for_create
        and name != table.primary_id
        and name not in _NOT_COPIED
        and row.get(name) is not None
    }


def revise_quote(org: Organization, body: Any, caller: Caller) -> ReturnedEntity:
    """ReviseQuote: a Draft copy of an Active or Closed quote, its next revision, with copies of its lines."""
    params = _parameters("ReviseQuote", body, frozenset({"QuoteId", "ColumnSet"}), frozenset({"QuoteId"}))
    quote_id = _guid("QuoteId", params["QuoteId"])
    quote_table, line_table = _table(org, "quote"), _table(org, "quotedetail")
    columns, typed_columns = _column_set(params.get("ColumnSet"), quote_table)
    typed: dict[str, Value] = {"QuoteId": str(quote_id), "ColumnSet": typed_columns}
    with org.operation(caller, "ReviseQuote", table=quote_table, row_id=quote_id, parameters=typed):
        quote = org.retrieve_row(quote_table, quote_id)
        state = quote.get("statecode")
        if state not in (QUOTE_ACTIVE, QUOTE_CLOSED):
            raise errors.invalid_state()
        live = [
            other
            for other in org.store.rows("quote")
            if other.get("quotenumber") == quote.get("quotenumber")
            and other["quoteid"] != quote_id
            and other.get("statecode") in (QUOTE_DRAFT, QUOTE_ACTIVE)
        ]
        if state == QUOTE_CLOSED and live:
            raise errors.invalid_state()
        org.raise_before(RowEvent("ReviseQuote", quote_table, quote_id, before=quote, parameters=typed))
        if state == QUOTE_ACTIVE:
            org.platform_update(
                quote_table, quote_id, {"statecode": QUOTE_CLOSED, "statuscode": QUOTE_STATUS_REVISED}, caller
            )
        revision = org.platform_create(
            quote_table,
            {**_copy(quote_table, quote), "revisionnumber": (quote.get("revisionnumber") or 0) + 1},
            caller,
        )
        lines = [dict(line) for line in org.store.children("quotedetail", "quoteid", quote_id)]
        for line in sorted(lines, key=_line_order):
            values = {**_copy(line_table, line), "quoteid": Ref("quote", revision["quoteid"])}
            org.platform_create(line_table, values, caller)
        org.raise_after(RowEvent("ReviseQuote", quote_table, quote_id, before=quote, parameters=typed))
        return ReturnedEntity(quote_table, org.retrieve_row(quote_table, revision["quoteid"]), columns)


ACTIONS: Mapping[str, Callable[[Organization, Any, Caller], Any]] = {
    "ConvertQuoteToSalesOrder": convert_quote_to_sales_order,
    "WinQuote": win_quote,
    "CloseQuote": close_quote,
    "ReviseQuote": revise_quote,
    "FulfillSalesOrder": fulfill_sales_order,
    "CancelSalesOrder": cancel_sales_order,
}
