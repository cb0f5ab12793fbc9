"""Dataverse Web API actions: any action by name, and the Sales lifecycle actions the connector uses.

An action is a POST of its parameters as a JSON object: unbound to ``<root>/<Name>``, or bound to a row or
collection at ``<root>/<entity set>(…)/Microsoft.Dynamics.CRM.<Name>``. It answers 200 with its response
(a complex type, or an entity such as the new order) or 204 when it returns nothing.

Shapes (docs/dataverse-api.md, "Sales actions"): ``ConvertQuoteToSalesOrder`` takes ``QuoteId`` and a
``ColumnSet`` ``{"AllColumns": bool, "Columns": […]}`` and returns the new salesorder; ``WinQuote`` takes a
``QuoteClose`` activity bound to the quote and a ``Status`` (-1: the Won state's default reason);
``FulfillSalesOrder`` takes an ``OrderClose`` activity bound to the order and a ``Status`` (100001 Complete,
100002 Partial).

None of them is idempotent: a repeated ConvertQuoteToSalesOrder creates a second order, a repeated WinQuote
or FulfillSalesOrder is refused because the row is no longer Active. So they are retried only when
Dataverse cannot have run them (429, or no connection), like a create.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from shared.dataverse.client import DataverseClient
from shared.dataverse.keys import utc_literal

WIN_QUOTE_DEFAULT_STATUS = -1
"""WinQuote's ``Status`` meaning "the default status reason of the Won state" (4 Won)."""
ORDER_COMPLETE = 100001
ORDER_PARTIAL = 100002
ORDER_CANCELED = 4  # salesorder status reason "No Money", the Canceled state's


def column_set(columns: Iterable[str] | None) -> dict[str, Any]:
    """The ColumnSet complex type: the named columns, or all columns when ``columns`` is None."""
    if columns is None:
        return {"AllColumns": True, "Columns": []}
    return {"AllColumns": False, "Columns": list(columns)}


class DataverseActions:
    """Calls Web API actions through a ``DataverseClient`` (its tokens, retry policy and typed errors)."""

    def __init__(self, client: DataverseClient) -> None:
        self._client = client

    def call_action(
        self, name: str, body: Mapping[str, Any] | None = None, *, bound_to: str | None = None
    ) -> dict[str, Any] | None:
        """POST action ``name`` with ``body``; its JSON response, or None for a 204.

        ``bound_to`` is the path of the row or collection a bound action runs on (``salesorders(<id>)``);
        unbound actions leave it None. Raises DataverseError subclasses for error responses.
        """
        path = f"{bound_to.rstrip('/')}/Microsoft.Dynamics.CRM.{name}" if bound_to else name
        response = self._client.send("POST", path, json=dict(body or {}), idempotent=False)
        if response.status_code == 204 or not response.content:
            return None
        result: dict[str, Any] = response.json()
        return result

    def convert_quote_to_order(
        self,
        quote_id: uuid.UUID,
        columns: Iterable[str] | None = None,
        *,
        close_status: int | None = None,
        close_subject: str | None = None,
        close_description: str | None = None,
        close_date: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """ConvertQuoteToSalesOrder: the new salesorder with ``columns`` (None: all), carrying ``quoteid``.

        The ``close_*`` parameters describe the quote-close activity when the conversion wins the quote;
        ``close_date`` must be timezone-aware (ValueError otherwise, before anything is sent).
        """
        body: dict[str, Any] = {"QuoteId": str(quote_id), "ColumnSet": column_set(columns)}
        optional = {
            "QuoteCloseStatus": close_status,
            "QuoteCloseSubject": close_subject,
            "QuoteCloseDescription": close_description,
            "QuoteCloseDate": utc_literal(close_date, "close_date") if close_date else None,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        order = self.call_action("ConvertQuoteToSalesOrder", body)
        if order is None:
            raise ValueError("ConvertQuoteToSalesOrder answered without the new order")
        return order

    def win_quote(
        self, quote_id: uuid.UUID, status: int = WIN_QUOTE_DEFAULT_STATUS, *, subject: str = "Quote won"
    ) -> None:
        """WinQuote: close an Active quote as Won, recording a quoteclose activity with ``subject``."""
        self.call_action(
            "WinQuote",
            {
                "QuoteClose": {
                    "@odata.type": "Microsoft.Dynamics.CRM.quoteclose",
                    "subject": subject,
                    "quoteid@odata.bind": f"/quotes({quote_id})",
                },
                "Status": status,
            },
        )

    def cancel_order(self, order_id: uuid.UUID, *, subject: str = "Order cancelled") -> None:
        """CancelSalesOrder: mark an Active or Submitted order Canceled, recording an orderclose activity."""
        self.call_action(
            "CancelSalesOrder",
            {
                "OrderClose": {
                    "@odata.type": "Microsoft.Dynamics.CRM.orderclose",
                    "subject": subject,
                    "salesorderid@odata.bind": f"/salesorders({order_id})",
                },
                "Status": ORDER_CANCELED,
            },
        )

    def fulfill_order(
        self, order_id: uuid.UUID, status: int = ORDER_COMPLETE, *, subject: str = "Order fulfilled"
    ) -> None:
        """FulfillSalesOrder: mark an order Fulfilled with ``status``, recording an orderclose activity."""
        self.call_action(
            "FulfillSalesOrder",
            {
                "OrderClose": {
                    "@odata.type": "Microsoft.Dynamics.CRM.orderclose",
                    "subject": subject,
                    "salesorderid@odata.bind": f"/salesorders({order_id})",
                },
                "Status": status,
            },
        )
