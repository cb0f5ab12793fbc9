"""Column values between their three forms: Web API JSON, URL literals (keys) and stored Python values.

JSON → stored checks each value against its column's type the way the Web API's OData layer does
(a string where a number belongs is a 400 naming the literal and the expected Edm type), and checks
MaxLength and choice values the way the platform's validation does.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from simulators.dataverse import errors
from simulators.dataverse.store import Ref
from simulators.dataverse.tables import Column, Kind, Table

_EDM = {
    Kind.STRING: "Edm.String",
    Kind.MEMO: "Edm.String",
    Kind.INTEGER: "Edm.Int32",
    Kind.BIGINT: "Edm.Int64",
    Kind.DECIMAL: "Edm.Decimal",
    Kind.DOUBLE: "Edm.Double",
    Kind.MONEY: "Edm.Decimal",
    Kind.BOOLEAN: "Edm.Boolean",
    Kind.DATETIME: "Edm.DateTimeOffset",
    Kind.PICKLIST: "Edm.Int32",
    Kind.STATE: "Edm.Int32",
    Kind.STATUS: "Edm.Int32",
    Kind.UNIQUEIDENTIFIER: "Edm.Guid",
    Kind.ENTITYNAME: "Edm.String",
}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_INT32 = (-(2**31), 2**31 - 1)


def edm_type(column: Column) -> str:
    """The column's Edm type name (as in ``$metadata``)."""
    if column.kind is Kind.DATETIME and column.date_only:
        return "Edm.Date"
    return _EDM.get(column.kind, "Edm.Guid")


def _cannot_convert(value: Any, column: Column) -> errors.WebApiError:
    return errors.bad_request(
        f"Cannot convert the literal '{value}' to the expected type '{edm_type(column)}'."
    )


def _text(table: Table, column: Column, value: Any) -> Any:
    if not isinstance(value, str):
        raise _cannot_convert(value, column)
    if column.max_length is not None and len(value) > column.max_length:
        raise errors.too_long(table.logical_name, column.name, column.max_length)
    return value


def _whole(table: Table, column: Column, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _cannot_convert(value, column)
    if column.kind is not Kind.BIGINT and not _INT32[0] <= value <= _INT32[1]:
        raise _cannot_convert(value, column)
    if column.options and value not in column.options:
        raise errors.out_of_range(table.logical_name, column.name, value, column.options)
    return value


def _number(table: Table, column: Column, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _cannot_convert(value, column)
    return Decimal(str(value))


def _boolean(table: Table, column: Column, value: Any) -> Any:
    if not isinstance(value, bool):
        raise _cannot_convert(value, column)
    return value


def _datetime(table: Table, column: Column, value: Any) -> Any:
    if not isinstance(value, str):
        raise _cannot_convert(value, column)
    return parse_datetime(value, column)


def _guid_value(table: Table, column: Column, value: Any) -> Any:
    if not isinstance(value, str) or not _GUID.match(value):
        raise _cannot_convert(value, column)
    return uuid.UUID(value)


_FROM_JSON: dict[Kind, Callable[[Table, Column, Any], Any]] = {
    Kind.STRING: _text,
    Kind.MEMO: _text,
    Kind.INTEGER: _whole,
    Kind.BIGINT: _whole,
    Kind.PICKLIST: _whole,
    Kind.STATE: _whole,
    Kind.STATUS: _whole,
    Kind.DECIMAL: _number,
    Kind.DOUBLE: _number,
    Kind.MONEY: _number,
    Kind.BOOLEAN: _boolean,
    Kind.DATETIME: _datetime,
    Kind.UNIQUEIDENTIFIER: _guid_value,
    Kind.ENTITYNAME: _text,
}


def from_json(table: Table, column: Column, value: Any) -> Any:
    """The stored value for a JSON value written to ``column``; WebApiError when it does not fit."""
    if value is None:
        return None
    convert = _FROM_JSON.get(column.kind)
    if convert is None:  # lookups are written with @odata.bind, never directly
        raise _cannot_convert(value, column)
    return convert(table, column, value)


def parse_datetime(text: str, column: Column) -> dt.date:
    """A DateOnly (``2026-01-31``) or DateTimeOffset (``2026-01-31T10:00:00Z``) value."""
    try:
        if column.date_only:
            return dt.date.fromisoformat(text[:10]) if len(text) >= 10 else dt.date.fromisoformat(text)
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise _cannot_convert(text, column) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def to_json(value: Any) -> Any:
    """The JSON form of a stored value."""
    if isinstance(value, Decimal):
        integral = value == value.to_integral_value()
        return int(value) if integral else float(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Ref):
        return str(value.id)
    return value


def parse_literal(table: Table, column: Column, literal: str) -> Any:
    """The stored value of a URL key literal (``'ABC'``, ``42``, ``<guid>``); WebApiError if malformed."""
    if column.is_lookup:
        if not _GUID.match(literal):
            raise errors.invalid_key(table.logical_name)
        return uuid.UUID(literal)
    if column.kind in (Kind.STRING, Kind.MEMO, Kind.ENTITYNAME):
        if len(literal) < 2 or literal[0] != "'" or literal[-1] != "'":
            raise errors.invalid_key(table.logical_name)
        return literal[1:-1].replace("''", "'")
    if column.kind is Kind.DATETIME:
        return parse_datetime(literal, column)
    if column.kind is Kind.UNIQUEIDENTIFIER:
        if not _GUID.match(literal):
            raise errors.invalid_key(table.logical_name)
        return uuid.UUID(literal)
    try:
        number = Decimal(literal)
    except InvalidOperation as exc:
        raise errors.invalid_key(table.logical_name) from exc
    if column.kind in (Kind.INTEGER, Kind.BIGINT, Kind.PICKLIST, Kind.STATE, Kind.STATUS):
        if number != number.to_integral_value():
            raise errors.invalid_key(table.logical_name)
        return int(number)
    return number


def is_guid(text: str) -> bool:
    """Whether ``text`` is a GUID in 8-4-4-4-12 form."""
    return bool(_GUID.match(text))
