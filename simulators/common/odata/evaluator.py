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

A ``Dialect`` (``dialect.py``) says how strings compare (case-insensitively on Dataverse) and implements the
service's own qualified functions. A chain of ``and``/``or`` is evaluated as a list, not by recursion, so a
filter of thousands of ``or`` terms works as it does on the services.
"""

from __future__ import annotations

import datetime as dt
import operator
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from simulators.common.odata.dialect import DEFAULT, Dialect, Resolver, like_pattern
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

__all__ = ["Resolver", "comparable", "compare", "describe", "evaluate", "resolve_nested"]

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


def evaluate(
    expr: Expr | AnyOf, row: Mapping[str, Any], resolve: Resolver, dialect: Dialect = DEFAULT
) -> Any:
    """The value of ``expr`` for ``row`` (True/False/None for boolean expressions)."""
    evaluation = _Evaluation(row, resolve, dialect)
    return evaluation.any_of(expr) if isinstance(expr, AnyOf) else evaluation.value(expr)


@dataclass(frozen=True)
class AnyOf:
    """A top-level ``or`` chain prepared for many rows: ``P eq 'text'`` terms become set look-ups.

    Reading many rows by key sends ``(K eq 'a') or (K eq 'b') or …`` with hundreds of terms; testing each
    term against each row is quadratic. Terms of another form stay in ``rest``, evaluated in order.
    """

    sets: tuple[tuple[tuple[str, ...], frozenset[str], tuple[Expr, ...]], ...]  # (path, folded values, terms)
    rest: tuple[Expr, ...]


def prepare(expr: Expr, dialect: Dialect = DEFAULT) -> Expr | AnyOf:
    """``expr`` as evaluated for many rows: an ``or`` chain of string equalities becomes an ``AnyOf``."""
    if not (isinstance(expr, Logical) and expr.op == "or"):
        return expr
    by_path: dict[tuple[str, ...], tuple[set[str], list[Expr]]] = {}
    rest: list[Expr] = []
    for term in _chain(expr):
        if (
            isinstance(term, Compare)
            and term.op == "eq"
            and isinstance(term.left, Property)
            and isinstance(term.right, Literal)
            and type(term.right.value) is str
        ):
            values, terms = by_path.setdefault(term.left.path, (set(), []))
            values.add(dialect.fold(term.right.value))
            terms.append(term)
        else:
            rest.append(term)
    if not by_path:
        return expr
    sets = tuple((path, frozenset(values), tuple(terms)) for path, (values, terms) in by_path.items())
    return AnyOf(sets, tuple(rest))


def _chain(expr: Logical) -> list[Expr]:
    """The operands of a chain of one logical operator, left to right, without recursion."""
    operands: list[Expr] = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Logical) and node.op == expr.op:
            stack.append(node.right)
            stack.append(node.left)
        else:
            operands.append(node)
    return operands


class _Evaluation:
    """One row's evaluation under one dialect."""

    def __init__(self, row: Mapping[str, Any], resolve: Resolver, dialect: Dialect) -> None:
        self.row = row
        self.resolve = resolve
        self.dialect = dialect

    def value(self, expr: Expr) -> Any:  # noqa: PLR0911 - one branch per node type
        if isinstance(expr, Literal):
            return expr.value
        if isinstance(expr, Property):
            return self.resolve(self.row, expr.path)
        if isinstance(expr, Logical):
            return self._logical(expr)
        if isinstance(expr, Compare):
            return compare(expr.op, self.value(expr.left), self.value(expr.right), self.dialect)
        if isinstance(expr, Not):
            operand = _boolean(self.value(expr.operand), "not")
            return None if operand is None else not operand
        if isinstance(expr, Negate):
            number = self.value(expr.operand)
            return None if number is None else -_number(number, "-")
        if isinstance(expr, In):
            found = self.value(expr.operand)
            return any(compare("eq", found, self.value(item), self.dialect) for item in expr.items)
        if isinstance(expr, Arithmetic):
            return _arithmetic(expr.op, self.value(expr.left), self.value(expr.right))
        if isinstance(expr, Call):
            return _call(expr.name, [self.value(arg) for arg in expr.args], self.dialect)
        function = self.dialect.functions.get(expr.name)
        if function is None:
            message = f"The function '{expr.name}' is not implemented by this service."
            raise ODataError(message, unsupported=True)
        return function(expr, self.row, self.resolve)

    def any_of(self, prepared: AnyOf) -> bool | None:
        unknown = False
        for path, values, terms in prepared.sets:
            found = self.resolve(self.row, path)
            if isinstance(found, str):
                if self.dialect.fold(found) in values:
                    return True
            # Not a string: compare term by term (a type mismatch is an error, as it is unprepared).
            elif found is not None and any(self.value(term) for term in terms):
                return True
        for term in prepared.rest:
            result = _boolean(self.value(term), "or")
            if result is True:
                return True
            unknown = unknown or result is None
        return None if unknown else False

    def _logical(self, expr: Logical) -> bool | None:
        """``a or b or c …`` as one chain, without recursion: 1000 ``or`` terms make a tree 1000 deep."""
        decisive = expr.op == "or"  # True decides an "or", False decides an "and"
        unknown = False
        for operand in _chain(expr):
            result = _boolean(self.value(operand), expr.op)
            if result is decisive:
                return decisive
            unknown = unknown or result is None
        return None if unknown else not decisive


def _boolean(value: Any, operator_name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ODataError(f"The operand of '{operator_name}' is {describe(value)}, not a boolean.")


def compare(op: str, left: Any, right: Any, dialect: Dialect = DEFAULT) -> bool | None:
    """Compare two values with an OData comparison operator (eq ne gt ge lt le) under ``dialect``."""
    if left is None or right is None:
        if op == "eq":
            return left is None and right is None
        if op == "ne":
            return not (left is None and right is None)
        return None
    a, b = comparable(left, right)
    if isinstance(a, str) and isinstance(b, str):
        a, b = dialect.fold(a), dialect.fold(b)
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


def _call(name: str, args: list[Any], dialect: Dialect) -> Any:
    if any(arg is None for arg in args):
        return None
    if name in _DATE_PARTS:
        return _date_part(name, args[0])
    if name == "substring":
        return _substring(args)
    strings = [_string(arg, name) for arg in args]
    if name in _MATCHES:
        return _matches(name, strings[0], strings[1], dialect)
    return _STRING_FUNCTIONS[name](*strings)


# function -> (implicit % before, implicit % after) of its LIKE pattern
_MATCHES = {"contains": (True, True), "startswith": (False, True), "endswith": (True, False)}


def _matches(name: str, text: str, part: str, dialect: Dialect) -> bool:
    """contains/startswith/endswith: a substring test, or a LIKE match where the service reads wildcards."""
    if dialect.like_wildcards:
        prefix, suffix = _MATCHES[name]
        pattern = like_pattern(part, ignore_case=dialect.ignore_case, prefix=prefix, suffix=suffix)
        return pattern.fullmatch(text) is not None
    text, part = dialect.fold(text), dialect.fold(part)
    if name == "contains":
        return part in text
    return text.startswith(part) if name == "startswith" else text.endswith(part)


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
