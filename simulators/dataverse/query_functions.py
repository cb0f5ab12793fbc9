"""Dataverse's query functions in ``$filter``: ``Microsoft.Dynamics.CRM.In(PropertyName=…,…)``.

Every function the filter-rows article lists ("Dataverse query functions", QueryFunctionIndex) is served:

- In, NotIn, Between, NotBetween: ``PropertyValues``, a JSON array of strings, in the column's type;
- dates: Today, Yesterday, Tomorrow, Last7Days, Next7Days, Last/This/Next Week, Month and Year,
  LastX/NextX Hours, Days, Weeks, Months and Years, OlderThanX Minutes, Hours, Days, Weeks, Months and
  Years, On, OnOrAfter, OnOrBefore, and the fiscal ones (InFiscalYear, InFiscalPeriod,
  InFiscalPeriodAndYear, InOrAfter/InOrBefore FiscalPeriodAndYear, Last/This/Next FiscalYear and
  FiscalPeriod, LastX/NextX FiscalYears and FiscalPeriods);
- ids: EqualUserId, NotEqualUserId, EqualBusinessId, NotEqualBusinessId, EqualUserLanguage;
- hierarchy: Under, UnderOrEqual, NotUnder, Above, AboveOrEqual (through the table's self-referencing
  lookup: ``parentaccountid`` of account), and the user and team ones;
- ContainValues, DoesNotContainValues (multi-select choices) and Contains (full-text, only the article
  table has it) are refused: the organization has no such column.

ASSUMED, as no document fixes them for this organization: the caller's time zone is UTC, weeks start on
Sunday (en-US), the fiscal year starts on 1 January with monthly periods, users have no manager hierarchy
and belong to no team (so the user/team functions reduce to EqualUserId), and a missing row value makes a
function unknown (the row is not returned, as SQL's NULL does).
"""

from __future__ import annotations

import calendar
import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from simulators.common.odata import Dialect, FunctionCall, ODataError, QueryFunction, like_pattern
from simulators.common.odata.evaluator import Resolver
from simulators.common.odata.lexer import parse_date, parse_timestamp
from simulators.common.provenance import assumed, captured
from simulators.dataverse.events import Caller
from simulators.dataverse.store import Ref, Row
from simulators.dataverse.tables import Column, Kind, Table

PREFIX = "Microsoft.Dynamics.CRM."
LIKE = "sim.like"  # T-SQL LIKE for FetchXML and SQL conditions; not callable from $filter
_HIERARCHY_COLUMN = {"account": "parentaccountid"}
_LANGUAGE = 1033

captured(
    "dataverse",
    "string collation and query functions",
    "Case-insensitive string filters, LIKE wildcards and the query functions' names and parameters -- "
    "powerapps-docs webapi/query/filter-rows.md; the JSON-array error text for unescaped quotes is its own",
)
assumed(
    "dataverse",
    "query function semantics",
    "UTC as the caller's zone, Sunday-first weeks, a January fiscal year with monthly periods, no teams or "
    "manager hierarchy; accent-sensitive comparisons (SQL Server's collation may ignore accents).",
)


@dataclass(frozen=True)
class Scope:
    """What the functions need besides the row: the table, the caller, the time, and other rows."""

    table: Table
    caller: Caller
    now: dt.datetime
    load: Callable[[str, uuid.UUID], Row | None]


def _column(scope: Scope, call: FunctionCall) -> Column:
    name = call.parameter("PropertyName")
    if not isinstance(name, str) or not name:
        raise ODataError(f"The function '{call.name}' needs its PropertyName parameter.")
    column = scope.table.column(name) or scope.table.by_value_property(name)
    if column is None or not column.readable:
        raise ODataError(
            f"The property '{name}' does not exist on type '{PREFIX}{scope.table.logical_name}'."
        )
    return column


def _value(scope: Scope, call: FunctionCall, row: Mapping[str, Any], resolve: Resolver) -> tuple[Column, Any]:
    column = _column(scope, call)
    return column, resolve(row, (column.value_property,))


def _typed(column: Column, text: Any, function: str) -> Any:  # noqa: PLR0911 - one return per type
    """A parameter value (usually a string) in the column's type."""
    if text is None:
        return None
    raw = str(text)
    try:
        if column.kind in (Kind.INTEGER, Kind.BIGINT, Kind.PICKLIST, Kind.STATE, Kind.STATUS):
            return int(raw)
        if column.kind in (Kind.DECIMAL, Kind.DOUBLE, Kind.MONEY):
            return Decimal(raw)
        if column.kind is Kind.BOOLEAN:
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError(raw)
            return raw.lower() in ("true", "1")
        if column.kind is Kind.DATETIME:
            moment = parse_timestamp(raw) or parse_date(raw)
            if moment is None:
                raise ValueError(raw)
            return _as_datetime(moment)
        if column.kind is Kind.UNIQUEIDENTIFIER or column.is_lookup:
            return uuid.UUID(raw)
    except (ValueError, InvalidOperation) as exc:
        message = f"The value '{raw}' of the function '{function}' does not fit the type of '{column.name}'."
        raise ODataError(message) from exc
    return raw.casefold()


def _row_typed(column: Column, value: Any) -> Any:
    """A row's wire value in the same type as ``_typed`` gives."""
    if value is None:
        return None
    if column.kind in (Kind.DECIMAL, Kind.DOUBLE, Kind.MONEY):
        return Decimal(str(value))
    if column.kind is Kind.DATETIME:
        moment = parse_timestamp(str(value)) or parse_date(str(value))
        return None if moment is None else _as_datetime(moment)
    if column.kind is Kind.UNIQUEIDENTIFIER or column.is_lookup:
        return uuid.UUID(str(value))
    if isinstance(value, str):
        return value.casefold()
    return value


def _as_datetime(moment: dt.date) -> dt.datetime:
    if isinstance(moment, dt.datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return dt.datetime(moment.year, moment.month, moment.day, tzinfo=dt.UTC)


def _values(call: FunctionCall) -> tuple[Any, ...]:
    values = call.parameter("PropertyValues")
    if not isinstance(values, tuple) or not values:
        raise ODataError(f"The function '{call.name}' needs PropertyValues: a non-empty JSON array.")
    return values


def _number(call: FunctionCall, name: str = "PropertyValue") -> int:
    value = call.parameter(name)
    try:
        return int(str(value))
    except ValueError as exc:
        raise ODataError(f"The function '{call.name}' needs an integer {name}, not '{value}'.") from exc


# -- membership and ranges ---------------------------------------------------------------------------------


def _in(scope: Scope, negate: bool) -> QueryFunction:
    # The values are converted once per call, not once per row: a read by key may list thousands.
    converted: dict[int, tuple[FunctionCall, frozenset[Any]]] = {}

    def run(call: FunctionCall, row: Mapping[str, Any], resolve: Resolver) -> bool | None:
        column, value = _value(scope, call, row, resolve)
        cached = converted.get(id(call))
        if cached is None or cached[0] is not call:
            cached = (call, frozenset(_typed(column, v, call.name) for v in _values(call)))
            converted[id(call)] = cached
        wanted = cached[1]
        found = _row_typed(column, value)
        if found is None:
            return None
        return (found in wanted) != negate

    return run


def _between(scope: Scope, negate: bool) -> QueryFunction:
    def run(call: FunctionCall, row: Mapping[str, Any], resolve: Resolver) -> bool | None:
        column, value = _value(scope, call, row, resolve)
        values = _values(call)
        if len(values) != 2:
            raise ODataError(f"The function '{call.name}' needs exactly two PropertyValues.")
        low, high = (_typed(column, v, call.name) for v in values)
        found = _row_typed(column, value)
        if found is None:
            return None
        return bool(low <= found <= high) != negate

    return run


# -- dates ---------------------------------------------------------------------------------------------------

Window = tuple[dt.datetime, dt.datetime]  # [start, end)
_NOW = dt.timedelta(seconds=1)  # windows ending "now" include the current (whole) second


def _day(moment: dt.datetime) -> dt.datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _add_months(moment: dt.datetime, months: int) -> dt.datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _month_start(moment: dt.datetime) -> dt.datetime:
    return _day(moment).replace(day=1)


def _week_start(moment: dt.datetime) -> dt.datetime:
    return _day(moment) - dt.timedelta(days=(moment.weekday() + 1) % 7)  # weeks start on Sunday


def _year_start(moment: dt.datetime) -> dt.datetime:
    return _day(moment).replace(month=1, day=1)


def _fixed_windows(now: dt.datetime) -> dict[str, Window]:
    today = _day(now)
    day = dt.timedelta(days=1)
    week = _week_start(now)
    month = _month_start(now)
    year = _year_start(now)
    return {
        "Today": (today, today + day),
        "Yesterday": (today - day, today),
        "Tomorrow": (today + day, today + 2 * day),
        "Last7Days": (today - 7 * day, now + _NOW),
        "Next7Days": (now, today + 8 * day),
        "LastWeek": (week - 7 * day, week),
        "ThisWeek": (week, week + 7 * day),
        "NextWeek": (week + 7 * day, week + 14 * day),
        "LastMonth": (_add_months(month, -1), month),
        "ThisMonth": (month, _add_months(month, 1)),
        "NextMonth": (_add_months(month, 1), _add_months(month, 2)),
        "LastYear": (_add_months(year, -12), year),
        "ThisYear": (year, _add_months(year, 12)),
        "NextYear": (_add_months(year, 12), _add_months(year, 24)),
        # Fiscal year = calendar year, fiscal period = month (ASSUMED organization settings).
        "LastFiscalYear": (_add_months(year, -12), year),
        "ThisFiscalYear": (year, _add_months(year, 12)),
        "NextFiscalYear": (_add_months(year, 12), _add_months(year, 24)),
        "LastFiscalPeriod": (_add_months(month, -1), month),
        "ThisFiscalPeriod": (month, _add_months(month, 1)),
        "NextFiscalPeriod": (_add_months(month, 1), _add_months(month, 2)),
    }


def _relative_window(name: str, now: dt.datetime, count: int) -> Window:
    """LastX…/NextX…/OlderThanX… windows; OlderThan gives (the beginning of time, the cut-off)."""
    today = _day(now)
    unit = name.removeprefix("LastX").removeprefix("NextX").removeprefix("OlderThanX")
    months = {"Months": 1, "Years": 12, "FiscalPeriods": 1, "FiscalYears": 12}.get(unit)
    span = {
        "Minutes": dt.timedelta(minutes=count),
        "Hours": dt.timedelta(hours=count),
        "Days": dt.timedelta(days=count),
        "Weeks": dt.timedelta(weeks=count),
    }.get(unit)
    if name.startswith("OlderThanX"):
        cut = _add_months(now, -count * months) if months else now - (span or dt.timedelta())
        return dt.datetime.min.replace(tzinfo=dt.UTC), cut
    if name.startswith("LastX"):
        if unit in ("Hours", "Minutes"):
            return now - (span or dt.timedelta()), now + _NOW
        start = _add_months(today, -count * months) if months else today - (span or dt.timedelta())
        return start, now + _NOW
    if unit in ("Hours", "Minutes"):
        return now, now + (span or dt.timedelta())
    end = _add_months(today, count * months) if months else today + (span or dt.timedelta())
    return now, end + dt.timedelta(days=1)


def _in_window(
    scope: Scope, call: FunctionCall, row: Mapping[str, Any], resolve: Resolver, window: Window
) -> bool | None:
    column, value = _value(scope, call, row, resolve)
    if column.kind is not Kind.DATETIME:
        raise ODataError(f"The function '{call.name}' needs a date and time column, not '{column.name}'.")
    found = _row_typed(column, value)
    if found is None:
        return None
    return bool(window[0] <= found < window[1])


def _fixed(scope: Scope, name: str) -> QueryFunction:
    def run(call: FunctionCall, row: Mapping[str, Any], resolve: Resolver) -> bool | None:
        return _in_window(scope, call, row, resolve, _fixed_windows(scope.now)[name])

    return run


def _relative(scope: Scope, name: str) -> QueryFunction:
    def run(call: FunctionCall, row: Mapping[str, Any], resolve: Resolver) -> bool | None:
        window = _relative_window(name, scope.now, _number(call))
        return _in_window(scope, call, row, resolve, window)

    return run


def _on(scope: Scope, name: str) -> QueryFunction:
    def run(call: FunctionCall, row: Mapping[str, Any], resolve: Resolver) -> bool | None:
        column = _column(scope, call)
        day = _typed(column, call.parameter("PropertyValue"), call.name)
        if not isinstance(day, dt.datetime):
            raise ODataError(f"The function '{call.name}' needs a date PropertyValue.")
        start = _day(day)
        window = {
            "On": (start, start + dt.timedelta(days=1)),
            "OnOrAfter": (start, dt.datetime.max.replace(tzinfo=dt.UTC)),
            "OnOrBefore": (dt.datetime.min.replace(tzinfo=dt.UTC), start + dt.timedelta(days=1)),
        }[name]
        return _in_window(scope, call, row, resolve, window)

    return run


def _fiscal(scope: Scope, name: str) -> QueryFunction:
    def run(call: FunctionCall, row: Mapping[str, Any], resolve: Resolver) -> bool | None:
        column, value = _value(scope, call, row, resolve)
        found = _row_typed(column, value)
        if column.kind is not Kind.DATETIME:
            raise ODataError(f"The function '{call.name}' needs a date and time column, not '{column.name}'.")
        if found is None:
            return None
        if name == "InFiscalYear":
            return bool(found.year == _number(call))
        if name == "InFiscalPeriod":
            return bool(found.month == _number(call))
        period, year = _number(call, "PropertyValue1"), _number(call, "PropertyValue2")
        here, there = (found.year, found.month), (year, period)
        if name == "InFiscalPeriodAndYear":
            return here == there
        return here >= there if name == "InOrAfterFiscalPeriodAndYear" else here <= there

    return run


# -- ids, language, hierarchy ------------------------------------------------------------------------------


def _equal_to(scope: Scope, target: Callable[[], Any], negate: bool) -> QueryFunction:
    def run(call: FunctionCall, row: Mapping[str, Any], resolve: Resolver) -> bool | None:
        column, value = _value(scope, call, row, resolve)
        found = _row_typed(column, value) if column.kind is not Kind.INTEGER else value
        if found is None:
            return None
        return bool(found == target()) != negate

    return run


def _ancestors(scope: Scope, row_id: uuid.UUID) -> list[uuid.UUID]:
    """The ids above ``row_id`` through the table's hierarchy lookup, nearest first."""
    column = _HIERARCHY_COLUMN.get(scope.table.logical_name)
    if column is None:
        raise ODataError(f"The entity {scope.table.logical_name} does not have a hierarchical relationship.")
    found: list[uuid.UUID] = []
    current = scope.load(scope.table.logical_name, row_id)
    while current is not None:
        parent = current.get(column)
        if not isinstance(parent, Ref) or parent.id in found or parent.id == row_id:
            break
        found.append(parent.id)
        current = scope.load(scope.table.logical_name, parent.id)
    return found


def _hierarchy(scope: Scope, name: str) -> QueryFunction:
    def run(call: FunctionCall, row: Mapping[str, Any], resolve: Resolver) -> bool | None:
        column, value = _value(scope, call, row, resolve)
        anchor = _typed(column, call.parameter("PropertyValue"), call.name)
        row_id = _row_typed(column, value)
        if not isinstance(anchor, uuid.UUID) or row_id is None:
            return None
        if name in ("Under", "UnderOrEqual", "NotUnder"):
            inside = anchor in _ancestors(scope, row_id) or (name == "UnderOrEqual" and row_id == anchor)
            return not inside if name == "NotUnder" else inside
        above = row_id in _ancestors(scope, anchor)
        return above or (name == "AboveOrEqual" and row_id == anchor)

    return run


def _like(scope: Scope) -> QueryFunction:
    """T-SQL ``LIKE`` for FetchXML and SQL conditions (PropertyName, PropertyValue: the pattern)."""

    def run(call: FunctionCall, row: Mapping[str, Any], resolve: Resolver) -> bool | None:
        _, value = _value(scope, call, row, resolve)
        if value is None:
            return None
        pattern = like_pattern(
            str(call.parameter("PropertyValue")), ignore_case=True, prefix=False, suffix=False
        )
        return pattern.fullmatch(str(value)) is not None

    return run


def _no_team(scope: Scope) -> QueryFunction:
    """The caller belongs to no team: nothing is owned by one of its teams."""

    def run(call: FunctionCall, row: Mapping[str, Any], resolve: Resolver) -> bool | None:
        _column(scope, call)
        return False

    return run


def _refused(reason: str) -> QueryFunction:
    def run(call: FunctionCall, row: Mapping[str, Any], resolve: Resolver) -> bool | None:
        raise ODataError(reason.format(name=call.name, property=call.parameter("PropertyName")))

    return run


_FIXED = tuple(_fixed_windows(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
_RELATIVE = tuple(
    f"{prefix}{unit}"
    for prefix, units in (
        ("LastX", ("Hours", "Days", "Weeks", "Months", "Years", "FiscalPeriods", "FiscalYears")),
        ("NextX", ("Hours", "Days", "Weeks", "Months", "Years", "FiscalPeriods", "FiscalYears")),
        ("OlderThanX", ("Minutes", "Hours", "Days", "Weeks", "Months", "Years")),
    )
    for unit in units
)
_FISCAL = ("InFiscalYear", "InFiscalPeriod", "InFiscalPeriodAndYear", "InOrAfterFiscalPeriodAndYear",
           "InOrBeforeFiscalPeriodAndYear")  # fmt: skip
_HIERARCHY = ("Under", "UnderOrEqual", "NotUnder", "Above", "AboveOrEqual")
_USER = ("EqualUserOrUserHierarchy", "EqualUserOrUserHierarchyAndTeams", "EqualUserOrUserTeams")
NAMES = frozenset(
    PREFIX + name
    for name in (
        "In", "NotIn", "Between", "NotBetween", "On", "OnOrAfter", "OnOrBefore", "EqualUserId",
        "NotEqualUserId", "EqualBusinessId", "NotEqualBusinessId", "EqualUserLanguage", "EqualUserTeams",
        "ContainValues", "DoesNotContainValues", "Contains",
        *_FIXED, *_RELATIVE, *_FISCAL, *_HIERARCHY, *_USER,
    )
)  # fmt: skip


def functions(scope: Scope) -> dict[str, QueryFunction]:
    """Every query function, bound to ``scope``."""
    user = scope.caller.user_id
    unit = scope.caller.business_unit_id
    found: dict[str, QueryFunction] = {
        "In": _in(scope, negate=False),
        "NotIn": _in(scope, negate=True),
        "Between": _between(scope, negate=False),
        "NotBetween": _between(scope, negate=True),
        "EqualUserId": _equal_to(scope, lambda: user, negate=False),
        "NotEqualUserId": _equal_to(scope, lambda: user, negate=True),
        "EqualBusinessId": _equal_to(scope, lambda: unit, negate=False),
        "NotEqualBusinessId": _equal_to(scope, lambda: unit, negate=True),
        "EqualUserLanguage": _equal_to(scope, lambda: _LANGUAGE, negate=False),
        "EqualUserTeams": _no_team(scope),
        "ContainValues": _refused("The attribute '{property}' is not a multi-select choice column."),
        "DoesNotContainValues": _refused("The attribute '{property}' is not a multi-select choice column."),
        "Contains": _refused(
            "The function '{name}' needs a full-text indexed column; use the OData contains function."
        ),
    }
    found.update({name: _equal_to(scope, lambda: user, negate=False) for name in _USER})
    found.update({name: _fixed(scope, name) for name in _FIXED})
    found.update({name: _relative(scope, name) for name in _RELATIVE})
    found.update({name: _on(scope, name) for name in ("On", "OnOrAfter", "OnOrBefore")})
    found.update({name: _fiscal(scope, name) for name in _FISCAL})
    found.update({name: _hierarchy(scope, name) for name in _HIERARCHY})
    bound = {PREFIX + name: function for name, function in found.items()}
    bound[LIKE] = _like(scope)
    return bound


def dialect(scope: Scope) -> Dialect:
    """Dataverse's dialect for one request: case-insensitive strings, LIKE wildcards, query functions."""
    return Dialect(ignore_case=True, like_wildcards=True, functions=functions(scope))


CASE_INSENSITIVE = Dialect(ignore_case=True, like_wildcards=True)
