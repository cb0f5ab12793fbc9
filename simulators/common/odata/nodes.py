"""The parsed form of a ``$filter`` / ``$orderby`` expression: small immutable nodes.

Literal values are Python values: ``None``, ``bool``, ``int``, ``float`` (OData decimals and doubles),
``str``, ``datetime.date`` (Edm.Date), timezone-aware ``datetime.datetime`` (Edm.DateTimeOffset),
``uuid.UUID`` (Edm.Guid) and :class:`EnumValue` (qualified enum literals such as
``IfsApp.CustomerOrderHandling.CustomerOrderState'Released'``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EnumValue:
    """A qualified enum literal; it equals a row's plain enum identifier string (IFS sends ``"Released"``)."""

    type_name: str
    value: str


LiteralValue = None | bool | int | float | str | dt.date | dt.datetime | uuid.UUID | EnumValue


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: a literal in the text, or the value of a parameter alias (``@p``)."""

    value: LiteralValue
    text: str


@dataclass(frozen=True, slots=True)
class Property:
    """A property path such as ``Company`` or the navigation path ``sdkmessageid/name``."""

    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Logical negation (``not``)."""

    operand: Expr


@dataclass(frozen=True, slots=True)
class Negate:
    """Arithmetic negation (unary ``-``)."""

    operand: Expr


@dataclass(frozen=True, slots=True)
class Compare:
    """A comparison: ``op`` is one of eq, ne, gt, ge, lt, le."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Logical:
    """``and`` / ``or`` (three-valued: null is unknown)."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Arithmetic:
    """``add`` / ``sub`` / ``mul`` / ``div`` on numbers."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class In:
    """``operand in (item, …)``."""

    operand: Expr
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Call:
    """A built-in function call such as ``contains(name,'x')`` or ``year(DateEntered)``."""

    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A service's own qualified function with named parameters (Dataverse's query functions).

    ``Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=["a","b"])`` has ``name``
    ``Microsoft.Dynamics.CRM.In`` and ``parameters`` (("PropertyName", "name"),
    ("PropertyValues", ("a", "b"))): each value a literal's value or, for a JSON array, a tuple of values.
    """

    name: str
    parameters: tuple[tuple[str, object], ...]

    def parameter(self, name: str) -> object:
        """The value of parameter ``name`` (None when absent)."""
        return next((value for key, value in self.parameters if key == name), None)


Expr = Literal | Property | Not | Negate | Compare | Logical | Arithmetic | In | Call | FunctionCall
