"""Mapping files of the Dynamics → IFS direction: which IFS field gets which Dynamics value.

The same rule language as the IFS → Dynamics files (``shared/sync/mapping``), turned around: a section
names an IFS body (``[order]`` for the customer order header, ``[line]`` for its lines, ``[opportunity]``,
``[lead]``) and each key is an IFS field (``CustomerPoNo``), whose rule reads a *part* of the Dynamics
view the flow assembles (``order.ordernumber``, ``product.productnumber``, ``customer.CustomerId``)::

    CustomerPoNo = { from = "order.ordernumber", required = true, max_length = 50 }
    PriceFreeze = { value = "Frozen" }
    Discount = { from = "line.discount_percent", type = "decimal", default = 0 }

Options are ``from``, ``value``, ``default``, ``map`` (a ``[maps.<name>]`` table; ``"*"`` is the fallback,
``"*" = "*"`` keeps the value, ``""`` means no value), ``type`` (``string``, ``integer``, ``decimal``,
``boolean``, ``date``, ``datetime``, ``timestamp``: a Dynamics date-only or date-time value as the UTC
timestamp IFS wants), ``max_length`` with ``truncate`` and ``required``. A field whose value is empty is
left out of the body, so IFS fills its default. ``[options]`` holds the flow's switches.

Every problem of a file is reported at once, with file, line and field (``d365_orders.toml:12:
order.CustomerPoNo.type: unknown type``); a bad file disables its flow only. A value problem of one record
(an unmapped value, a text too long, a required value missing) is a ``MappingValueError``: that record is
parked with the rule's location, the others go on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from shared.sync.mapping.evaluate import KEEP, NO_VALUE, MappingValueError, convert
from shared.sync.mapping.load import (
    Checker,
    MappingError,
    parse_toml,
    read_mapping_file,
    value_maps,
)
from shared.sync.mapping.model import KINDS, ColumnRule, Kind, ValueMap

_FIELD = re.compile(r"^[A-Z][A-Za-z0-9_]*$")
_SOURCE = re.compile(r"^[a-z_][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
_OPTIONS = frozenset({"from", "value", "default", "map", "type", "max_length", "truncate", "required"})
INBOUND_KINDS: tuple[str, ...] = (*KINDS, "timestamp")
View = Mapping[str, Mapping[str, Any] | None]


@dataclass(frozen=True)
class InboundSchema:
    """What a flow expects of its file: its sections with the view parts each may read, and options."""

    entity: str
    sections: Mapping[str, frozenset[str]]
    options: Mapping[str, type] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldRule:
    """One IFS field's rule; ``timestamp`` marks the inbound-only type (the rule's own kind is then any)."""

    rule: ColumnRule
    timestamp: bool = False


@dataclass(frozen=True)
class InboundMapping:
    """One validated Dynamics → IFS mapping file."""

    entity: str
    path: str
    sections: Mapping[str, tuple[FieldRule, ...]]
    maps: Mapping[str, ValueMap]
    options: Mapping[str, Any]

    def option(self, name: str, default: Any = None) -> Any:
        """An option's value, or ``default`` when the file does not set it."""
        return self.options.get(name, default)

    def body(self, section: str, view: View) -> dict[str, Any]:
        """The IFS body of ``section`` for ``view``; MappingValueError when a value cannot be sent."""
        body: dict[str, Any] = {}
        for field_rule in self.sections[section]:
            rule = field_rule.rule
            value = _raw(rule, view)
            if _empty(value) and rule.has_default:
                value = rule.default
            if not _empty(value) and rule.value_map is not None:
                value = self._mapped(rule, value)
            if _empty(value):
                if rule.required:
                    raise MappingValueError("missing_value", f"{rule.location}: {rule.source} has no value")
                continue
            body[rule.column] = _timestamp(rule, value) if field_rule.timestamp else convert(rule, value)
        return body

    def _mapped(self, rule: ColumnRule, value: Any) -> Any:
        assert rule.value_map is not None
        table = self.maps[rule.value_map]
        text = _key(value)
        if text in table.entries:
            found = table.entries[text]
        elif table.has_fallback:
            found = value if table.fallback == KEEP else table.fallback
        else:
            raise MappingValueError(
                "unmapped_value",
                f"{rule.location}: value {text!r} of {rule.source} has no entry in value map {table.name!r} "
                f'({self.path}:{table.location.line}); add it or a "*" fallback',
            )
        return None if found == NO_VALUE else found


def _raw(rule: ColumnRule, view: View) -> Any:
    if rule.source is None:
        return rule.value
    part, name = rule.source.split(".", 1)
    row = view.get(part)
    return None if row is None else row.get(name)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _timestamp(rule: ColumnRule, value: Any) -> str:
    """A date (midnight UTC) or an aware date-time, as ``YYYY-MM-DDTHH:MM:SSZ``."""
    moment: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                day = dt.date.fromisoformat(text)
                moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            else:
                moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None:
        raise MappingValueError(
            "invalid_value", f"{rule.location}: {value!r} from {rule.source or 'value'} is not a date or time"
        )
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- loading ------------------------------------------------------------------------------------------


def load_inbound(path: Path, schema: InboundSchema) -> InboundMapping:
    """Read and validate the file at ``path``; MappingError naming every problem."""
    return parse_inbound(read_mapping_file(path), path.name, schema)


def parse_inbound(text: str, name: str, schema: InboundSchema) -> InboundMapping:
    """Validate the TOML ``text`` of the file ``name`` against ``schema``."""
    document = parse_toml(text, name)
    check = Checker(name, text)
    if document.get("entity") != schema.entity:
        check.fail(f"must say entity = {schema.entity!r} (found {document.get('entity')!r})", "entity")
    options = document.get("options", {})
    if not isinstance(options, dict):
        check.fail("must be a table", "options")
        options = {}
    for key, value in options.items():
        expected = schema.options.get(key)
        if expected is None:
            check.fail(
                f"unknown option (known: {', '.join(sorted(schema.options)) or 'none'})", "options", key
            )
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            check.fail(f"must be {expected.__name__}, not {type(value).__name__}", "options", key)
    maps = value_maps(check, document.get("maps", {}))
    known = {"entity", "options", "maps", *schema.sections}
    for key in document:
        if key not in known:
            check.fail(f"unknown section (this file may have: {', '.join(sorted(known))})", key)
    sections: dict[str, tuple[FieldRule, ...]] = {}
    for section, parts in schema.sections.items():
        raw = document.get(section)
        if not isinstance(raw, dict):
            check.fail(f"missing the [{section}] section", section)
            continue
        rules = [_rule(check, section, key, value, parts, maps) for key, value in raw.items()]
        sections[section] = tuple(rule for rule in rules if rule is not None)
    if check.problems:
        raise MappingError(name, check.problems)
    return InboundMapping(schema.entity, name, sections, maps, dict(options))


def _rule(  # noqa: PLR0912, PLR0917 - one check per option, in the order a reader meets them
    check: Checker, section: str, key: str, raw: Any, parts: frozenset[str], maps: Mapping[str, ValueMap]
) -> FieldRule | None:
    path = (section, key)
    if not _FIELD.fullmatch(key):
        check.fail("an IFS field name starts with a capital letter (CustomerPoNo)", *path)
        return None
    if isinstance(raw, str):
        raw = {"from": raw}
    if not isinstance(raw, dict):
        check.fail('a rule is "part.column" or an inline table { from = …, … }', *path)
        return None
    before = len(check.problems)
    for option in raw:
        if option not in _OPTIONS:
            check.fail(f"unknown option (known: {', '.join(sorted(_OPTIONS))})", *path, option)
    source = raw.get("from")
    if source is not None:
        if not isinstance(source, str) or not _SOURCE.fullmatch(source):
            check.fail("must be part.column, e.g. order.ordernumber", *path, "from")
        elif source.split(".", 1)[0] not in parts:
            known = ", ".join(sorted(parts))
            check.fail(f"no view part {source.split('.', 1)[0]!r} here (parts: {known})", *path, "from")
    if ("value" in raw) == (source is not None):
        check.fail("needs exactly one of 'from' (a Dynamics value) or 'value' (a constant)", *path)
    value_map = raw.get("map")
    if value_map is not None and value_map not in maps:
        check.fail(f"no value map {value_map!r} (defined: {', '.join(sorted(maps)) or 'none'})", *path, "map")
    kind = raw.get("type", "any")
    if kind not in INBOUND_KINDS:
        check.fail(f"unknown type (known: {', '.join(INBOUND_KINDS)})", *path, "type")
    max_length = raw.get("max_length")
    if max_length is not None and (
        not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1
    ):
        check.fail("must be a positive integer", *path, "max_length")
    for flag in ("truncate", "required"):
        if flag in raw and not isinstance(raw[flag], bool):
            check.fail("must be true or false", *path, flag)
    if len(check.problems) > before:
        return None
    rule = ColumnRule(
        column=key,
        location=check.at(*path),
        source=source,
        value=raw.get("value"),
        has_value="value" in raw,
        default=raw.get("default"),
        has_default="default" in raw,
        value_map=value_map,
        kind=cast(Kind, "any" if kind == "timestamp" else kind),
        max_length=max_length,
        truncate=bool(raw.get("truncate", False)),
        required=bool(raw.get("required", False)),
    )
    return FieldRule(rule, timestamp=kind == "timestamp")
