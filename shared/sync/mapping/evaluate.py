"""Apply a target mapping to one record's view: the column values to write, and the lookups to resolve.

A value problem found here (a value with no mapping, a text too long, a required value missing, a value
of the wrong type) is a ``MappingValueError``: a permanent fault of that record, parked with its class and the
rule's file, line and field, while the rest of the batch goes on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.sync.mapping.model import ColumnRule, EntityMapping, TargetMapping

View = Mapping[str, Mapping[str, Any] | None]
KEEP = "*"  # a fallback of "*" keeps the source value
NO_VALUE = ""  # a mapped value of "" means: no value (TOML has no null)


class MappingValueError(Exception):
    """A record's value cannot be written as the mapping says; ``error_class`` classifies it for parking."""

    def __init__(self, error_class: str, message: str) -> None:
        self.error_class = error_class
        self.transient = False
        super().__init__(message)


@dataclass(frozen=True)
class PendingLookup:
    """A lookup column whose target row must be found before the record is written."""

    rule: ColumnRule
    value: Any  # the value to find the row by (a currency code, an IFS key)


@dataclass(frozen=True)
class Evaluated:
    """The plain column values of one target row, and the lookups still to resolve."""

    values: dict[str, Any]
    lookups: tuple[PendingLookup, ...]


def evaluate(mapping: EntityMapping, target: TargetMapping, view: View) -> Evaluated:
    """The columns IFS owns in ``target``, computed from ``view``; MappingValueError on a bad value."""
    values: dict[str, Any] = {}
    lookups: list[PendingLookup] = []
    for rule in target.written():
        value = _raw(rule, view)
        if value is None and rule.has_default:
            value = rule.default
        if value is not None and rule.value_map is not None:
            value = _mapped(mapping, rule, value)
        if value is None:
            if rule.required:
                raise MappingValueError("missing_value", f"{rule.location}: {rule.source} has no value")
            if rule.lookup is None:
                values[rule.column] = None
            continue
        value = convert(rule, value)
        if rule.lookup is not None:
            lookups.append(PendingLookup(rule, value))
        else:
            values[rule.column] = value
    return Evaluated(values, tuple(lookups))


def _raw(rule: ColumnRule, view: View) -> Any:
    if rule.source is None:
        return rule.value
    part, field = rule.source.split(".", 1)
    row = view.get(part)
    return None if row is None else row.get(field)


def _mapped(mapping: EntityMapping, rule: ColumnRule, value: Any) -> Any:
    assert rule.value_map is not None  # checked by the caller
    table = mapping.maps[rule.value_map]
    text = _map_key(value)
    if text in table.entries:
        found = table.entries[text]
    elif table.has_fallback:
        found = value if table.fallback == KEEP else table.fallback
    else:
        found = None
    if text in table.entries or table.has_fallback:
        return None if found == NO_VALUE else found
    raise MappingValueError(
        "unmapped_value",
        f"{rule.location}: value {text!r} of {rule.source} has no entry in value map {table.name!r} "
        f'({mapping.path}:{table.location.line}); add it or a "*" fallback',
    )


def _map_key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def convert(rule: ColumnRule, value: Any) -> Any:  # noqa: PLR0912 - one branch per kind
    """``value`` as the rule's type wants it in the Web API's JSON; MappingValueError if it cannot be."""

    def bad(expected: str) -> MappingValueError:
        return MappingValueError(
            "invalid_value", f"{rule.location}: {value!r} from {rule.source or 'value'} is not {expected}"
        )

    kind = rule.kind
    if kind == "any":
        result = value
    elif kind == "string":
        if isinstance(value, dict | list):
            raise bad("text")
        result = value if isinstance(value, str) else _map_key(value)
    elif kind in ("integer", "choice"):
        if isinstance(value, bool):
            raise bad("an integer")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise bad("an integer") from None
        if number != number.to_integral_value():
            raise bad("an integer")
        result = int(number)
    elif kind in ("decimal", "money"):
        if isinstance(value, bool):
            raise bad("a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise bad("a number") from None
        if not number.is_finite():
            raise bad("a finite number")
        result = float(number)
    elif kind == "boolean":
        if isinstance(value, bool):
            result = value
        elif isinstance(value, str) and value.lower() in ("true", "false"):
            result = value.lower() == "true"
        else:
            raise bad("true or false")
    elif kind == "date":
        result = _date(value)
        if result is None:
            raise bad("a date")
    else:  # datetime
        result = _datetime(value)
        if result is None:
            raise bad("a timestamp with a time zone")
    if isinstance(result, str) and rule.max_length is not None and len(result) > rule.max_length:
        if not rule.truncate:
            raise MappingValueError(
                "value_too_long",
                f"{rule.location}: {len(result)} characters from {rule.source or 'value'} exceed "
                f"max_length {rule.max_length} (set truncate = true to cut it)",
            )
        result = result[: rule.max_length]
    return result


def _date(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            return None
    return None


def _datetime(value: Any) -> str | None:
    moment: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment is None or moment.tzinfo is None:
        return None
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
