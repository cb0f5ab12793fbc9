"""What IFS does to a parsed ``$filter`` beyond generic OData: enum literal types and server-time timestamps.

- An enum literal must name the property's own enum type: ``Objstate eq
  IfsApp.CustomerOrderHandling.GenYesNo'Released'`` is refused as ODataLib refuses operands of different
  types (the message is ODataLib's; no IFS capture shows it).
- Without ``X-Ifs-Time-Zone-Aware-Request: true`` IFS reads a ``…Z`` timestamp literal in its server (or
  site) time zone, not as UTC (docs.ifs.com "Time zone aware APIs"; docs/ifs-api.md, "Time zones"): the
  literal's wall-clock time is taken as the server zone's and compared as that instant.
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
    """``expr`` and every expression inside it, depth first, without recursion.

    A filter of many ``or`` terms is a tree as deep as it has terms; recursing through it would overflow
    Python's stack long before the URL reaches any length limit.
    """
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(_children(node)))


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


def _with_children(expr: Expr, children: list[Expr]) -> Expr:
    """``expr`` with its direct children replaced by ``children`` (in ``_children``' order)."""
    if isinstance(expr, Not | Negate):
        return replace(expr, operand=children[0])
    if isinstance(expr, Compare | Logical | Arithmetic):
        return replace(expr, left=children[0], right=children[1])
    if isinstance(expr, In):
        return In(children[0], tuple(children[1:]))
    if isinstance(expr, Call):
        return Call(expr.name, tuple(children))
    return expr


def map_literals(expr: Expr, change: Callable[[Literal], Expr]) -> Expr:
    """``expr`` rebuilt with ``change`` applied to every literal, post-order and without recursion."""
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    built: list[Expr] = []
    while stack:
        node, expanded = stack.pop()
        children = _children(node)
        if not children:
            built.append(change(node) if isinstance(node, Literal) else node)
        elif expanded:
            rebuilt = built[-len(children) :]
            del built[-len(children) :]
            built.append(_with_children(node, rebuilt))
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
    return built[0]


def in_server_time(expr: Expr, zone: tzinfo) -> Expr:
    """``expr`` with every ``…Z`` timestamp literal read as wall-clock time in ``zone``."""

    def shift(literal: Literal) -> Expr:
        value = literal.value
        if isinstance(value, datetime) and literal.text.upper().endswith("Z"):
            return Literal(value.replace(tzinfo=zone).astimezone(UTC), literal.text)
        return literal

    return map_literals(expr, shift)
