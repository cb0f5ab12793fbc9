"""What IFS does to a parsed ``$filter`` beyond generic OData: enum literal types and server-time timestamps.

- An enum literal must name the property's own enum type: ``Objstate eq
  IfsApp.CustomerOrderHandling.GenYesNo'Released'`` is refused as ODataLib refuses operands of different
  types (the message is ODataLib's; no IFS capture shows it).
- Without ``X-Ifs-Time-Zone-Aware-Request: true`` IFS reads a ``…Z`` timestamp literal in its server (or
  site) time zone, not as UTC (docs.ifs.com "Time zone aware APIs", reference/ifs.md §3.2): the literal's
  wall-clock time is taken as the server zone's and compared as that instant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, tzinfo

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

_OPERATOR_KINDS = {"eq": "Equal", "ne": "NotEqual", "in": "In"}


class IncompatibleEnumError(ValueError):
    """An enum literal of another type than the property it is compared with; the message is ODataLib's."""


def _children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, Not | Negate):
        return (expr.operand,)
    if isinstance(expr, Compare | Logical | Arithmetic):
        return (expr.left, expr.right)
    if isinstance(expr, In):
        return (expr.operand, *expr.items)
    if isinstance(expr, Call):
        return expr.args
    return ()


def walk(expr: Expr) -> Iterator[Expr]:
    """``expr`` and every expression inside it, depth first."""
    yield expr
    for child in _children(expr):
        yield from walk(child)


def check_enum_types(expr: Expr, type_of: Callable[[str], str]) -> None:
    """Refuse a comparison of a property with an enum literal of another type (``type_of``: property type)."""
    for node in walk(expr):
        if isinstance(node, Compare):
            pairs, op = [(node.left, node.right)], node.op
        elif isinstance(node, In):
            pairs, op = [(node.operand, item) for item in node.items], "in"
        else:
            continue
        for left, right in pairs:
            for prop, other in ((left, right), (right, left)):
                if not (
                    isinstance(prop, Property)
                    and len(prop.path) == 1
                    and isinstance(other, Literal)
                    and isinstance(other.value, EnumValue)
                ):
                    continue
                expected = type_of(prop.path[0])
                if other.value.type_name != expected:
                    raise IncompatibleEnumError(
                        "A binary operator with incompatible types was detected. Found operand types "
                        f"'{expected}' and '{other.value.type_name}' for operator kind "
                        f"'{_OPERATOR_KINDS.get(op, op)}'."
                    )


def _with_children(expr: Expr, change: Callable[[Expr], Expr]) -> Expr:
    """``expr`` with ``change`` applied to each of its direct children."""
    if isinstance(expr, Not | Negate):
        return replace(expr, operand=change(expr.operand))
    if isinstance(expr, Compare | Logical | Arithmetic):
        return replace(expr, left=change(expr.left), right=change(expr.right))
    if isinstance(expr, In):
        return In(change(expr.operand), tuple(change(item) for item in expr.items))
    if isinstance(expr, Call):
        return Call(expr.name, tuple(change(arg) for arg in expr.args))
    return expr


def in_server_time(expr: Expr, zone: tzinfo) -> Expr:
    """``expr`` with every ``…Z`` timestamp literal read as wall-clock time in ``zone``."""
    if isinstance(expr, Literal):
        value = expr.value
        if isinstance(value, datetime) and expr.text.upper().endswith("Z"):
            return Literal(value.replace(tzinfo=zone).astimezone(UTC), expr.text)
        return expr
    return _with_children(expr, lambda child: in_server_time(child, zone))
