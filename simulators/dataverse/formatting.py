"""Formatted values: ``<property>@OData.Community.Display.V1.FormattedValue`` for a row's columns.

Dataverse annotates, when asked (``Prefer: odata.include-annotations``), the columns whose display differs
from their value ("Query data using the Web API", Formatted values): choices, states and statuses by their
label, yes/no columns by their option label, money with its currency symbol, numbers with grouping, dates
in the user's format, and lookups by the primary name of the row they point to (``render.py``). The caller
is taken to use en-US formats and UTC (ASSUMED, as a new application user has no other settings):
``$1,234.50``, ``1,000``, ``1/31/2026 4:05 PM``, ``1/31/2026`` for date-only columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from simulators.common.provenance import assumed
from simulators.dataverse.schema.choices import boolean_labels, labels
from simulators.dataverse.store import Ref, Row
from simulators.dataverse.tables import CHOICE_KINDS, Column, Kind, Table

assumed(
    "dataverse",
    "formatted values of money, numbers and dates",
    "en-US formats in UTC for the application user ($1,234.50, 1,000, 1/31/2026 4:05 PM, 1/31/2026); choice "
    "and yes/no labels from the generated references (simulators/dataverse/schema/choices.py).",
)

CurrencySymbol = Callable[[Row], str]


def formatted(  # noqa: PLR0911 - one return per kind of column
    table: Table, column: Column, value: Any, row: Row, symbol: CurrencySymbol
) -> str | None:
    """The formatted value of a non-lookup column (None: the column has none, or the value is null)."""
    if value is None or column.is_lookup:
        return None
    kind = column.kind
    if kind in CHOICE_KINDS:
        return labels(table, column).get(int(value), str(value))
    if kind is Kind.BOOLEAN:
        yes, no = boolean_labels(column)
        return yes if value else no
    if kind is Kind.MONEY:
        places = column.precision if column.precision is not None else 2
        return f"{symbol(row)}{Decimal(value):,.{places}f}"
    if kind in (Kind.INTEGER, Kind.BIGINT):
        return f"{int(value):,}"
    if kind in (Kind.DECIMAL, Kind.DOUBLE):
        places = column.precision if column.precision is not None else 2
        return f"{Decimal(str(value)):,.{places}f}"
    if kind is Kind.DATETIME:
        return _date(value, date_only=column.date_only)
    return None


def _date(value: Any, *, date_only: bool) -> str | None:
    if isinstance(value, dt.datetime):
        moment = value.astimezone(dt.UTC)
        if date_only:
            return f"{moment.month}/{moment.day}/{moment.year}"
        hour = moment.hour % 12 or 12
        half = "AM" if moment.hour < 12 else "PM"
        return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment.minute:02d} {half}"
    if isinstance(value, dt.date):
        return f"{value.month}/{value.day}/{value.year}"
    return None


def currency_symbol(load: Callable[[str, Any], Row | None], default: str = "$") -> CurrencySymbol:
    """The symbol of a row's transaction currency (its ``currencysymbol``), else ``default``."""

    def symbol(row: Row) -> str:
        reference = row.get("transactioncurrencyid")
        if isinstance(reference, Ref):
            currency = load("transactioncurrency", reference.id)
            if currency is not None and isinstance(currency.get("currencysymbol"), str):
                return str(currency["currencysymbol"])
        return default

    return symbol
