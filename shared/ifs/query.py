"""OData query building for IFS projections, with literals formatted the way IFS parses them.

Literal rules (docs/ifs-api.md, "Literals in filters" and "Value formats and enums"): strings single-quoted
with ``'`` doubled; numbers bare; ``Edm.Date`` bare ``2025-01-15``; timestamps bare ISO-8601
``2025-01-15T02:00:42Z``; enums need the qualified literal ``IfsApp.<Projection>.<EnumType>'<Identifier>'`` (a
plain string fails). Property names are checked so a caller's value can never turn into query syntax.

Timestamps are written in UTC. IFS reads them as UTC only in a request carrying
``X-Ifs-Time-Zone-Aware-Request: true`` (``TIME_ZONE_AWARE_HEADER``, which ``IfsClient`` sends unless told
not to); without it IFS reads ``…Z`` in its server or site time zone.

Filters are small immutable expressions combined with ``&`` / ``|`` / ``~``; ``Query`` carries the system
query options and renders them in the order IFS documents them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")
_QUALIFIED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
# Characters left as they are in a query value: OData punctuation that every server reads literally.
# Space, '+', '&', '#', '%' and non-ASCII are percent-encoded ('+' would otherwise read as a space).
_QUERY_SAFE = "$,()':/@*!;=-._~"
# Makes IFS read timestamp literals ("…Z") as UTC instead of in its server/site time zone (docs.ifs.com,
# "Time zone aware APIs"; docs/ifs-api.md, "Time zones").
TIME_ZONE_AWARE_HEADER = "X-Ifs-Time-Zone-Aware-Request"


def check_name(name: str) -> str:
    """``name`` if it is a plain OData identifier (a property or navigation), else ValueError."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not an OData identifier: {name!r}")
    return name


def _check_path(path: str) -> str:
    if not _PATH.fullmatch(path):
        raise ValueError(f"not an OData property path: {path!r}")
    return path


@dataclass(frozen=True)
class EnumValue:
    """An IFS enum literal: the enum type's qualified name and the identifier (not the DB value)."""

    type_name: str  # e.g. IfsApp.CustomerOrderHandling.CustomerOrderState
    identifier: str  # e.g. Released

    def __post_init__(self) -> None:
        if not _QUALIFIED.fullmatch(self.type_name):
            raise ValueError(f"enum type must be a qualified name like IfsApp.P.T: {self.type_name!r}")
        if not _NAME.fullmatch(self.identifier):
            raise ValueError(f"enum identifier must be an identifier: {self.identifier!r}")


def enum(projection: str, enum_type: str, identifier: str) -> EnumValue:
    """``IfsApp.<projection>.<enum_type>'<identifier>'``.

    e.g. ``enum("CustomerOrderHandling", "CustomerOrderState", "Released")``.
    """
    return EnumValue(f"IfsApp.{check_name(projection)}.{check_name(enum_type)}", identifier)


Scalar = str | int | float | Decimal | bool | date | datetime | EnumValue | None


def literal(value: Scalar) -> str:  # noqa: PLR0911 - one branch per literal kind
    """The OData literal of a Python value, as IFS expects it in ``$filter`` and in key predicates."""
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, EnumValue):
        return f"{value.type_name}'{value.identifier}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"no OData literal for {value!r}")
        return repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"no OData literal for {value!r}")
        return format(value, "f")
    if isinstance(value, datetime):
        return timestamp_literal(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"no OData literal for {type(value).__name__}")


def timestamp_literal(value: datetime) -> str:
    """An aware datetime as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` (UTC); naive ones are refused as ambiguous.

    IFS reads it as that UTC instant only with ``TIME_ZONE_AWARE_HEADER: true`` on the request.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"timestamp needs a time zone (IFS's own default is ambiguous): {value!r}")
    utc = value.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


@dataclass(frozen=True)
class Filter:
    """A ``$filter`` expression; combine with ``&`` (and), ``|`` (or) and ``~`` (not)."""

    text: str

    def __and__(self, other: Filter) -> Filter:
        return Filter(f"({self.text}) and ({other.text})")

    def __or__(self, other: Filter) -> Filter:
        return Filter(f"({self.text}) or ({other.text})")

    def __invert__(self) -> Filter:
        return Filter(f"not ({self.text})")


def _compare(op: str, path: str, value: Scalar) -> Filter:
    return Filter(f"{_check_path(path)} {op} {literal(value)}")


def eq(path: str, value: Scalar) -> Filter:
    """``path eq value``."""
    return _compare("eq", path, value)


def ne(path: str, value: Scalar) -> Filter:
    """``path ne value``."""
    return _compare("ne", path, value)


def gt(path: str, value: Scalar) -> Filter:
    """``path gt value``."""
    return _compare("gt", path, value)


def ge(path: str, value: Scalar) -> Filter:
    """``path ge value``."""
    return _compare("ge", path, value)


def lt(path: str, value: Scalar) -> Filter:
    """``path lt value``."""
    return _compare("lt", path, value)


def le(path: str, value: Scalar) -> Filter:
    """``path le value``."""
    return _compare("le", path, value)


def _call(function: str, path: str, text: str) -> Filter:
    return Filter(f"{function}({_check_path(path)},{literal(text)})")


def contains(path: str, text: str) -> Filter:
    """``contains(path,'text')``."""
    return _call("contains", path, text)


def startswith(path: str, text: str) -> Filter:
    """``startswith(path,'text')``."""
    return _call("startswith", path, text)


def all_of(filters: Iterable[Filter]) -> Filter:
    """The conjunction of ``filters`` (at least one)."""
    items = list(filters)
    if not items:
        raise ValueError("all_of needs at least one filter")
    if len(items) == 1:
        return items[0]
    return Filter(" and ".join(f"({f.text})" for f in items))


def any_of(filters: Iterable[Filter]) -> Filter:
    """The disjunction of ``filters`` (at least one); flat, so long key lists stay readable."""
    items = list(filters)
    if not items:
        raise ValueError("any_of needs at least one filter")
    if len(items) == 1:
        return items[0]
    return Filter(" or ".join(f"({f.text})" for f in items))


def one_of(path: str, values: Iterable[Scalar]) -> Filter:
    """``path`` equal to any of ``values``, written as an ``or`` chain (IFS documents no ``in``)."""
    return any_of(eq(path, v) for v in values)


def matching(values: Mapping[str, Scalar]) -> Filter:
    """Every property in ``values`` equal to its value (``A eq x and B eq y``)."""
    return all_of(eq(name, value) for name, value in values.items())


@dataclass(frozen=True)
class Query:
    """System query options for one request (paging options are usually left to the client)."""

    select: tuple[str, ...] = ()
    filter: Filter | None = None
    orderby: tuple[str, ...] = ()  # "Name" or "Name desc"
    expand: tuple[str, ...] = ()
    top: int | None = None
    skip: int | None = None
    count: bool = False

    def __post_init__(self) -> None:
        for name in self.select:
            _check_path(name)
        for name in self.expand:
            check_name(name)
        for item in self.orderby:
            path, _, direction = item.partition(" ")
            _check_path(path)
            if direction not in ("", "asc", "desc"):
                raise ValueError(f"orderby direction must be asc or desc: {item!r}")
        for number in (self.top, self.skip):
            if number is not None and number < 0:
                raise ValueError("top and skip must not be negative")

    def with_(self, **changes: Any) -> Query:
        """A copy with some options replaced."""
        return replace(self, **changes)

    def params(self) -> list[tuple[str, str]]:
        """The options as (name, raw value) pairs, in a stable order."""
        pairs: list[tuple[str, str]] = []
        if self.select:
            pairs.append(("$select", ",".join(self.select)))
        if self.expand:
            pairs.append(("$expand", ",".join(self.expand)))
        if self.filter is not None:
            pairs.append(("$filter", self.filter.text))
        if self.orderby:
            pairs.append(("$orderby", ",".join(self.orderby)))
        if self.top is not None:
            pairs.append(("$top", str(self.top)))
        if self.skip is not None:
            pairs.append(("$skip", str(self.skip)))
        if self.count:
            pairs.append(("$count", "true"))
        return pairs

    def query_string(self) -> str:
        """The encoded query string (without ``?``); empty when there are no options."""
        return encode_query(self.params())


def encode_query(pairs: Sequence[tuple[str, str]]) -> str:
    """``name=value&…`` with values percent-encoded for a URL (spaces as ``%20``, never ``+``)."""
    return "&".join(f"{quote(name, safe='$')}={quote(value, safe=_QUERY_SAFE)}" for name, value in pairs)
