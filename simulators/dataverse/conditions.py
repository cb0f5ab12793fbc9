"""Conditions of FetchXML and SQL queries, as expressions of the OData engine over rendered rows.

Both query languages name columns by logical name and give values as text; a condition becomes the same
expression tree ``$filter`` produces (``Compare``, ``Logical``, ``Not``, ``FunctionCall``), so one engine
with Dataverse's dialect evaluates all three: strings compare case-insensitively, ``like`` patterns use
T-SQL wildcards, dates and ids use the query functions.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from simulators.common.odata import Expr, FunctionCall, ODataError
from simulators.common.odata.lexer import parse_date, parse_timestamp
from simulators.common.odata.nodes import Compare, Literal, Logical, Not, Property
from simulators.dataverse.query_functions import LIKE, PREFIX
from simulators.dataverse.tables import Column, Kind, Table


def column(table: Table, name: str) -> Column:
    """The readable column ``name`` of ``table`` (by logical name), else the platform's refusal."""
    found = table.column(name.lower())
    if found is None or not found.readable:
        raise ODataError(f"'{table.logical_name}' entity doesn't contain attribute with Name = '{name}'.")
    return found


def typed(target: Column, text: Any) -> Any:  # noqa: PLR0911 - one return per type
    """A condition value, given as text, in the column's wire type (what the rendered row holds)."""
    if text is None:
        return None
    raw = str(text).strip()
    try:
        if target.kind in (Kind.INTEGER, Kind.BIGINT, Kind.PICKLIST, Kind.STATE, Kind.STATUS):
            return int(raw)
        if target.kind in (Kind.DECIMAL, Kind.DOUBLE, Kind.MONEY):
            return float(raw)
        if target.kind is Kind.BOOLEAN:
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError(raw)
            return raw.lower() in ("true", "1")
        if target.kind is Kind.DATETIME:
            moment = parse_timestamp(raw) or parse_date(raw)
            if moment is None:
                raise ValueError(raw)
            if isinstance(moment, dt.datetime):
                return moment
            return dt.datetime(moment.year, moment.month, moment.day, tzinfo=dt.UTC)
        if target.kind is Kind.UNIQUEIDENTIFIER or target.is_lookup:
            return uuid.UUID(raw.strip("{}"))
    except ValueError as exc:
        raise ODataError(f"The value '{raw}' is not valid for the attribute '{target.name}'.") from exc
    return raw


def _property(target: Column) -> Property:
    return Property((target.value_property,))


def _function(name: str, target: Column, **parameters: Any) -> FunctionCall:
    return FunctionCall(name, (("PropertyName", target.name), *parameters.items()))


_COMPARISONS = {"eq": "eq", "ne": "ne", "neq": "ne", "gt": "gt", "ge": "ge", "lt": "lt", "le": "le"}
_WILDCARD_FORMS = {
    "begins-with": ("", "%"),
    "not-begin-with": ("", "%"),
    "ends-with": ("%", ""),
    "not-end-with": ("%", ""),
    "like": ("", ""),
    "not-like": ("", ""),
}
_ANY_NAMED_FUNCTION = {
    "eq-userid": "EqualUserId", "ne-userid": "NotEqualUserId", "eq-businessid": "EqualBusinessId",
    "ne-businessid": "NotEqualBusinessId", "eq-userlanguage": "EqualUserLanguage", "today": "Today",
    "yesterday": "Yesterday", "tomorrow": "Tomorrow", "last-seven-days": "Last7Days",
    "next-seven-days": "Next7Days", "last-week": "LastWeek", "this-week": "ThisWeek", "next-week": "NextWeek",
    "last-month": "LastMonth", "this-month": "ThisMonth", "next-month": "NextMonth", "last-year": "LastYear",
    "this-year": "ThisYear", "next-year": "NextYear",
}  # fmt: skip
_VALUE_FUNCTION = {
    "on": "On", "on-or-after": "OnOrAfter", "on-or-before": "OnOrBefore", "last-x-hours": "LastXHours",
    "next-x-hours": "NextXHours", "last-x-days": "LastXDays", "next-x-days": "NextXDays",
    "last-x-weeks": "LastXWeeks", "next-x-weeks": "NextXWeeks", "last-x-months": "LastXMonths",
    "next-x-months": "NextXMonths", "last-x-years": "LastXYears", "next-x-years": "NextXYears",
    "olderthan-x-days": "OlderThanXDays", "olderthan-x-months": "OlderThanXMonths", "under": "Under",
    "eq-or-under": "UnderOrEqual", "not-under": "NotUnder", "above": "Above", "eq-or-above": "AboveOrEqual",
}  # fmt: skip


def condition(  # noqa: PLR0911 - one return per kind of operator
    table: Table, attribute: str, operator: str, values: Sequence[Any]
) -> Expr:
    """One FetchXML-style condition (``operator`` as FetchXML names it) as an expression."""
    target = column(table, attribute)
    op = operator.lower()
    if op in _COMPARISONS:
        _count(op, values, 1)
        return Compare(_COMPARISONS[op], _property(target), Literal(typed(target, values[0]), str(values[0])))
    if op in ("null", "not-null"):
        null_test = Compare("eq", _property(target), Literal(None, "null"))
        return null_test if op == "null" else Not(null_test)
    if op in ("in", "not-in"):
        if not values:
            raise ODataError(f"The condition operator '{operator}' needs at least one value.")
        name = PREFIX + ("In" if op == "in" else "NotIn")
        return _function(name, target, PropertyValues=tuple(str(v) for v in values))
    if op in ("between", "not-between"):
        _count(op, values, 2)
        name = PREFIX + ("Between" if op == "between" else "NotBetween")
        return _function(name, target, PropertyValues=tuple(str(v) for v in values))
    if op in _WILDCARD_FORMS:
        _count(op, values, 1)
        before, after = _WILDCARD_FORMS[op]
        test = _function(LIKE, target, PropertyValue=f"{before}{values[0]}{after}")
        return Not(test) if op.startswith("not-") else test
    if op in _ANY_NAMED_FUNCTION:
        return _function(PREFIX + _ANY_NAMED_FUNCTION[op], target)
    if op in _VALUE_FUNCTION:
        _count(op, values, 1)
        return _function(PREFIX + _VALUE_FUNCTION[op], target, PropertyValue=str(values[0]))
    raise ODataError(f"The condition operator '{operator}' is not valid or not supported.")


def _count(operator: str, values: Sequence[Any], wanted: int) -> None:
    if len(values) != wanted:
        raise ODataError(f"The condition operator '{operator}' needs {wanted} value(s), not {len(values)}.")


def combine(op: str, parts: Sequence[Expr]) -> Expr | None:
    """``and``/``or`` of ``parts`` (None when there are none)."""
    if not parts:
        return None
    result = parts[0]
    for part in parts[1:]:
        result = Logical(op, result, part)
    return result
