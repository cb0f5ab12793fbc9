"""What Dynamics 365 Sales lets the Web API do to orders and quotes in each state.

Orders: an order that is Canceled, Fulfilled or Invoiced is closed, and its lines cannot be written ("The
detail cannot be updated because the parent is not editable.", the platform's answer seen in a public user
report when lines were added to an invoiced order). Canceling takes ``CancelSalesOrder``: an Update to the
Canceled state is refused with the platform's text ("This message can not be used to set the state of
SalesOrder to Canceled. In order to set state of SalesOrder to Canceled, use the CancelSalesOrderRequest
Request message instead.", quoted in a public community answer). The Invoiced state takes
``ConvertSalesOrderToInvoice`` (the CRM 4.0 SetStateSalesOrder page). Fulfilling takes ``FulfillSalesOrder``
by the same rule (ASSUMED: no document quotes that refusal).

Quotes: Draft quotes can be edited; Active, Won and Closed quotes are read-only (the Sales quote life cycle
as public guides describe it). A Draft quote is activated with an Update; winning takes ``WinQuote``,
closing ``CloseQuote``, and going back to Draft ``ReviseQuote`` (ASSUMED refusals of the Update for these,
by analogy with the order rule).

ASSUMED where no document settles it, and configurable (``SalesRules``): whether a closed order can be
reopened with an Update to Active or Submitted (``reopen_closed_orders``, allowed by default); the refusals'
error code (InvalidState, 400) and the text of the read-only refusals of headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulators.common.provenance import assumed
from simulators.dataverse import errors, pricing
from simulators.dataverse.store import Ref, Row, Store

ORDER_CLOSED_STATES = frozenset({2, 3, 4})
QUOTE_LOCKED_STATES = frozenset({1, 2, 3})
_STATE_COLUMNS = frozenset({"statecode", "statuscode", "modifiedon", "modifiedby"})
PARENT_NOT_EDITABLE = "The detail cannot be updated because the parent is not editable."

assumed(
    "dataverse",
    "order and quote locks",
    "closed orders (Canceled, Fulfilled, Invoiced) refuse header and line writes, Active/Won/Closed quotes "
    "refuse them too: the line refusal's text is the platform's as a public user report quotes it, the "
    "code (InvalidState 0x80040233, 400) and the header refusal's text are assumed",
)
assumed(
    "dataverse",
    "state changes by Update",
    "an Update to Canceled is refused naming CancelSalesOrderRequest (text from a public community answer), "
    "to Invoiced naming ConvertSalesOrderToInvoice (CRM 4.0 SetStateSalesOrder page); to Fulfilled "
    "(FulfillSalesOrderRequest), to a Won or Closed quote (WinQuoteRequest, CloseQuoteRequest) and from an "
    "Active back to a Draft quote (ReviseQuoteRequest) by analogy; reopening a closed order with an Update "
    "is allowed unless set_sales_rules turns it off (no document settles it)",
)


@dataclass
class SalesRules:
    """The switches for behaviour no document settles (``set_sales_rules`` admin action)."""

    reopen_closed_orders: bool = True


def _locked(message: str) -> errors.WebApiError:
    return errors.WebApiError(400, errors.INVALID_STATE, message)


def _use(table: str, state: str, request: str) -> errors.WebApiError:
    return _locked(
        f"This message can not be used to set the state of {table} to {state}. In order to set state of "
        f"{table} to {state}, use the {request} Request message instead."
    )


_ORDER_STATE_REQUESTS = {
    2: ("Canceled", "CancelSalesOrderRequest"),
    3: ("Fulfilled", "FulfillSalesOrderRequest"),
    4: ("Invoiced", "ConvertSalesOrderToInvoice"),
}
_QUOTE_STATE_REQUESTS = {2: ("Won", "WinQuoteRequest"), 3: ("Closed", "CloseQuoteRequest")}


def check_update(rules: SalesRules, logical_name: str, current: Row, changes: Mapping[str, Any]) -> None:
    """Refuse an API Update of an order or quote that its state does not allow (WebApiError)."""
    if logical_name == "salesorder":
        _check_order(rules, current, changes)
    elif logical_name == "quote":
        _check_quote(current, changes)


def _check_order(rules: SalesRules, current: Row, changes: Mapping[str, Any]) -> None:
    before = current.get("statecode") or 0
    after = changes.get("statecode", before)
    if after != before and after in _ORDER_STATE_REQUESTS:
        name, request = _ORDER_STATE_REQUESTS[after]
        raise _use("SalesOrder", name, request)
    if before in ORDER_CLOSED_STATES:
        if after != before and rules.reopen_closed_orders:
            return  # reopened (ASSUMED allowed): the other columns of the same Update are written too
        if after != before:
            raise _locked("A closed order cannot be reopened.")
        if set(changes) - _STATE_COLUMNS:
            raise _locked("This order has been closed; it is read-only and cannot be edited.")


def _check_quote(current: Row, changes: Mapping[str, Any]) -> None:
    before = current.get("statecode") or 0
    after = changes.get("statecode", before)
    if after != before:
        if after in _QUOTE_STATE_REQUESTS:
            name, request = _QUOTE_STATE_REQUESTS[after]
            raise _use("Quote", name, request)
        if before != 0:  # Active, Won or Closed back to Draft (or Active): only ReviseQuote does it
            raise _use("Quote", "Draft", "ReviseQuoteRequest")
    if before in QUOTE_LOCKED_STATES and set(changes) - _STATE_COLUMNS:
        raise _locked("This quote is not a draft; it is read-only and cannot be edited.")


def check_line(store: Store, logical_name: str, row: Mapping[str, Any]) -> None:
    """Refuse a write or delete of an order or quote line whose header its state locks (WebApiError)."""
    parent_column, header_table = pricing.LINE_PARENT[logical_name]
    parent = row.get(parent_column)
    if not isinstance(parent, Ref):
        return
    header = store.get(header_table, parent.id) or {}
    locked = ORDER_CLOSED_STATES if header_table == "salesorder" else QUOTE_LOCKED_STATES
    if (header.get("statecode") or 0) in locked:
        raise _locked(PARENT_NOT_EDITABLE)
