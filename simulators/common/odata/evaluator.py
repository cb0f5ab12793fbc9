"""Evaluate a parsed ``$filter`` expression against one JSON-like row.

Rows hold what the services put on the wire: strings for dates, timestamps, GUIDs and enum identifiers,
JSON numbers, booleans and null. A comparison converts the row's string to the literal's kind (date,
timestamp, GUID) before comparing; an Edm.Date compared with a timestamp counts as midnight UTC.
Comparing values of different kinds (a string with a number, say) is an error, not a silent ``false``:
the real services reject such a query, and in a simulator it usually means the seed data is wrong.

Null semantics: ``eq``/``ne`` treat null as a value (``x eq null`` is true when x is null); ``gt``/``ge``/
``lt``/``le`` with a null operand are unknown, and ``and``/``or``/``not`` use three-valued logic, so
``not (x gt 5)`` excludes rows where x is null — what the SQL databases behind both services do.
Arithmetic and functions return null when an argument is null.
"""

from __future__ import annotations

import datetime as dt
import operator
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from simulators.common.odata.errors import ODataError
from simulators.common.odata.lexer import parse_date, parse_timestamp
from simulators.common.odata.nodes import (
    Arithmetic,
    Call,
    Compare,
    EnumValue,
    Expr,
    In,
    Literal,
    Logical,
    Negate,
    Not,
    Property,
)

Resolver = Callable[[Mapping[str, Any], tuple[str, ...]], Any]

_ORDER_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def resolve_nested(row: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The default resolver: follow a path through nested dicts; a missing step gives null."""
    value: Any = row
    for index, segment in enumerate(path):
        if value is None:
            return None
        if isinstance(value, list):
            raise ODataError(
                f"'{'/'.join(path[:index])}' is a collection; filtering through it needs the lambda "
                "operators any/all, which are not implemented by this service.",
                unsupported=True,
            )
        if not isinstance(value, Mapping):
            return None
        value = value.get(segment)
    return value


def evaluate(expr: Expr, row: Mapping[str, Any], resolve: Resolver) -> Any:
    """The value of ``expr`` for ``row`` (True/False/None for boolean expressions)."""
    return _EVALUATORS[type(expr)](expr, row, resolve)


def _literal(expr: Literal, row: Mapping[str, Any], resolve: Resolver) -> Any:
    return expr.value


def _property(expr: Property, row: Mapping[str, Any], resolve: Resolver) -> Any:
    return resolve(row, expr.path)


def _not(expr: Not, row: Mapping[str, Any], resolve: Resolver) -> bool | None:
    value = _boolean(evaluate(expr.operand, row, resolve), "not")
    return None if value is None else not value


def _negate(expr: Negate, row: Mapping[str, Any], resolve: Resolver) -> Any:
    value = evaluate(expr.operand, row, resolve)
    return None if value is None else -_number(value, "-")


def _compare(expr: Compare, row: Mapping[str, Any], resolve: Resolver) -> bool | None:
    return compare(expr.op, evaluate(expr.left, row, resolve), evaluate(expr.right, row, resolve))


def _in(expr: In, row: Mapping[str, Any], resolve: Resolver) -> bool:
    value = evaluate(expr.operand, row, resolve)
    return any(compare("eq", value, evaluate(item, row, resolve)) for item in expr.items)


def _arithmetic_node(expr: Arithmetic, row: Mapping[str, Any], resolve: Resolver) -> Any:
    return _arithmetic(expr.op, evaluate(expr.left, row, resolve), evaluate(expr.right, row, resolve))


def _call_node(expr: Call, row: Mapping[str, Any], resolve: Resolver) -> Any:
    return _call(expr.name, [evaluate(arg, row, resolve) for arg in expr.args])


def _logical(expr: Logical, row: Mapping[str, Any], resolve: Resolver) -> bool | None:
    left = _boolean(evaluate(expr.left, row, resolve), expr.op)
    decisive = expr.op == "or"  # True decides an "or", False decides an "and"
    if left is decisive:
        return decisive
    right = _boolean(evaluate(expr.right, row, resolve), expr.op)
    if right is decisive:
        return decisive
    if left is None or right is None:
        return None
    return not decisive


def _boolean(value: Any, operator_name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ODataError(f"The operand of '{operator_name}' is {describe(value)}, not a boolean.")


def compare(op: str, left: Any, right: Any) -> bool | None:
    """Compare two values with an OData comparison operator (eq ne gt ge lt le)."""
    if left is None or right is None:
        if op == "eq":
            return left is None and right is None
        if op == "ne":
            return not (left is None and right is None)
        return None
    a, b = comparable(left, right)
    if op == "eq":
        return bool(a == b)
    if op == "ne":
        return bool(a != b)
    if isinstance(a, uuid.UUID | bool):
        raise ODataError(f"'{op}' cannot order {describe(left)} and {describe(right)}.")
    return _ORDER_OPERATORS[op](a, b)


def comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """Bring two non-null values to one comparable kind, converting row strings; raise if they differ."""
    if isinstance(left, EnumValue) or isinstance(right, EnumValue):
        return _enum_text(left, right), _enum_text(right, left)
    if isinstance(left, uuid.UUID) or isinstance(right, uuid.UUID):
        return _guid(left, right), _guid(right, left)
    if isinstance(left, dt.date) or isinstance(right, dt.date):
        return _temporal_pair(left, right)
    if _is_number(left) and _is_number(right):
        if isinstance(left, float) or isinstance(right, float):
            return float(left), float(right)
        return left, right
    if type(left) is type(right) and isinstance(left, str | bool):
        return left, right
    raise ODataError(f"Cannot compare {describe(left)} with {describe(right)}.")


def describe(value: Any) -> str:
    """A short human description of a value for error messages."""
    if value is None:
        return "null"
    for kind, text in _DESCRIPTIONS:
        if isinstance(value, kind):
            return text(value)
    return f"a {type(value).__name__} value"


# First match wins: bool before int (bool is an int), datetime before date (datetime is a date).
_DESCRIPTIONS: tuple[tuple[type | tuple[type, ...], Callable[[Any], str]], ...] = (
    (bool, lambda value: f"the boolean {str(value).lower()}"),
    ((int, float, Decimal), lambda value: f"the number {value}"),
    (str, lambda value: f"the string '{value}'"),
    (dt.datetime, lambda value: f"the timestamp {value.isoformat()}"),
    (dt.date, lambda value: f"the date {value.isoformat()}"),
    (uuid.UUID, lambda value: f"the GUID {value}"),
    (EnumValue, lambda value: f"the enum literal {value.type_name}'{value.value}'"),
    (Mapping, lambda _: "an object"),
    (list, lambda _: "a collection"),
)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _enum_text(value: Any, other: Any) -> str:
    if isinstance(value, EnumValue):
        return value.value
    if isinstance(value, str):
        return value
    raise ODataError(f"Cannot compare {describe(value)} with {describe(other)}.")


def _guid(value: Any, other: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ODataError(f"Cannot compare {describe(value)} with {describe(other)}.")


def _temporal(value: Any, other: Any) -> dt.date:
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)  # a naive timestamp in a simulator's store means UTC
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        parsed: dt.date | None = parse_timestamp(value) or parse_date(value)
        if parsed is not None:
            return parsed
    raise ODataError(f"Cannot compare {describe(value)} with {describe(other)}.")


def _temporal_pair(left: Any, right: Any) -> tuple[dt.date, dt.date]:
    a, b = _temporal(left, right), _temporal(right, left)
    if isinstance(a, dt.datetime) != isinstance(b, dt.datetime):
        a, b = _as_timestamp(a), _as_timestamp(b)
    return a, b


def _as_timestamp(value: dt.date) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)


def _number(value: Any, operator_name: str) -> Any:
    if not _is_number(value):
        raise ODataError(f"The operand of '{operator_name}' is {describe(value)}, not a number.")
    return value


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    a, b = _number(left, op), _number(right, op)
    if isinstance(a, float) or isinstance(b, float):
        a, b = float(a), float(b)
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if b == 0:
        raise ODataError("Division by zero in the $filter expression.")
    if isinstance(a, int) and isinstance(b, int):
        quotient = abs(a) // abs(b)  # OData integer division truncates toward zero
        return quotient if (a >= 0) == (b >= 0) else -quotient
    return a / b


def _call(name: str, args: list[Any]) -> Any:
    if any(arg is None for arg in args):
        return None
    if name in _DATE_PARTS:
        return _date_part(name, args[0])
    if name == "substring":
        return _substring(args)
    strings = [_string(arg, name) for arg in args]
    return _STRING_FUNCTIONS[name](*strings)


def _string(value: Any, function: str) -> str:
    if isinstance(value, str):
        return value
    raise ODataError(f"The function '{function}' needs a string argument, not {describe(value)}.")


def _substring(args: list[Any]) -> str:
    text = _string(args[0], "substring")
    for bound in args[1:]:
        if not isinstance(bound, int) or isinstance(bound, bool):
            raise ODataError(f"The function 'substring' needs integer positions, not {describe(bound)}.")
    start = max(0, args[1])
    if len(args) == 2:
        return text[start:]
    return text[start : start + max(0, args[2])]


_STRING_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": lambda text, part: part in text,
    "startswith": lambda text, part: text.startswith(part),
    "endswith": lambda text, part: text.endswith(part),
    "tolower": str.lower,
    "toupper": str.upper,
    "trim": str.strip,
    "length": len,
    "indexof": lambda text, part: text.find(part),
    "concat": lambda first, second: first + second,
}
_DATE_PARTS = {"year", "month", "day", "hour", "minute", "second", "date"}


def _date_part(name: str, value: Any) -> Any:
    moment: dt.date | None = value if isinstance(value, dt.date) else None
    if isinstance(value, str):
        moment = parse_timestamp(value) or parse_date(value)
    if moment is None:
        raise ODataError(f"The function '{name}' needs a date or timestamp, not {describe(value)}.")
    if name == "date":
        return moment.date() if isinstance(moment, dt.datetime) else moment
    if name in ("year", "month", "day"):
        return getattr(moment, name)
    if not isinstance(moment, dt.datetime):
        raise ODataError(f"The function '{name}' needs a timestamp, not {describe(value)}.")
    return getattr(moment, name)


_EVALUATORS: dict[type, Callable[[Any, Mapping[str, Any], Resolver], Any]] = {
    Literal: _literal,
    Property: _property,
    Logical: _logical,
    Not: _not,
    Negate: _negate,
    Compare: _compare,
    In: _in,
    Arithmetic: _arithmetic_node,
    Call: _call_node,
}
