"""Rows as the Web API returns them: ``@odata.etag``, properties (``_x_value`` lookups), annotations, $expand.

Every row carries its weak ETag. Without ``$select`` every column is returned (null when empty); with it,
the selected properties plus the primary key, as Dataverse does. Formatted values of choices, yes/no
columns, money, numbers and dates come from ``formatting.py``. Lookup annotations
(``@OData.Community.Display.V1.FormattedValue``, ``@Microsoft.Dynamics.CRM.associatednavigationproperty``,
``@Microsoft.Dynamics.CRM.lookuplogicalname``) are added when ``Prefer: odata.include-annotations`` asks
for them (``"*"`` or a comma list with wildcards). ``$expand`` follows single-valued navigation properties
(``customerid_account($select=name)``) and nests the target row, or null.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from simulators.dataverse import errors, values
from simulators.dataverse.formatting import currency_symbol, formatted
from simulators.dataverse.records import etag
from simulators.dataverse.store import Ref, Row
from simulators.dataverse.tables import Navigation, Table

FORMATTED = "OData.Community.Display.V1.FormattedValue"
NAVIGATION = "Microsoft.Dynamics.CRM.associatednavigationproperty"
LOGICAL_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
_INCLUDE = re.compile(r'odata\.include-annotations\s*=\s*"?([^";]*)"?', re.IGNORECASE)

LoadRow = Callable[[str, Any], Row | None]  # (logical name, id) -> row


@dataclass(frozen=True)
class Annotations:
    """Which instance annotations the client asked for (``Prefer: odata.include-annotations``)."""

    patterns: tuple[str, ...] = ()

    @classmethod
    def from_prefer(cls, prefer: str | None) -> Annotations:
        """Parse the Prefer header (absent or without include-annotations: none)."""
        match = _INCLUDE.search(prefer or "")
        if not match:
            return cls()
        return cls(tuple(p.strip() for p in match.group(1).split(",") if p.strip()))

    def wants(self, term: str) -> bool:
        """Whether annotation ``term`` is included."""
        return any(fnmatch.fnmatchcase(term, pattern) for pattern in self.patterns)


@dataclass(frozen=True)
class Expansion:
    """One ``$expand`` item: a single-valued navigation property and its nested ``$select``."""

    navigation: Navigation
    select: tuple[str, ...] | None


def no_property(table: Table, name: str) -> errors.WebApiError:
    """The OData layer's refusal of an unknown property in $select/$expand (code ASSUMED)."""
    return errors.bad_request(
        f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{table.logical_name}'."
    )


def _split(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    depth, start = 0, 0
    for index, character in enumerate(text):
        if character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
        elif character == separator and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def check_select(table: Table, names: Sequence[str]) -> tuple[str, ...]:
    """Validate ``$select`` names against the table's JSON properties."""
    for name in names:
        column = table.by_value_property(name)
        if column is None or not column.readable:
            raise no_property(table, name)
    return tuple(names)


def parse_expand(table: Table, text: str | None, tables: Callable[[str], Table | None]) -> list[Expansion]:
    """The ``$expand`` items (single-valued navigation properties only; nested ``$select`` only)."""
    expansions: list[Expansion] = []
    for item in _split(text or "", ","):
        name, _, options = item.partition("(")
        navigation = table.navigations.get(name.strip())
        if navigation is None:
            raise no_property(table, name.strip())
        select: tuple[str, ...] | None = None
        for option in _split(options.rstrip(")"), ";"):
            key, _, value = option.partition("=")
            if key.strip() != "$select":
                raise errors.bad_request(f"The query option '{key.strip()}' is not supported inside $expand.")
            target = tables(navigation.targets[0])
            names = [n.strip() for n in value.split(",") if n.strip()]
            select = check_select(target, names) if target is not None else tuple(names)
        expansions.append(Expansion(navigation, select))
    return expansions


def _lookup_annotations(
    table: Table,
    column_name: str,
    value: Any,
    *,
    annotations: Annotations,
    load: LoadRow,
    tables: Callable[[str], Table | None],
) -> dict[str, Any]:
    if not isinstance(value, Ref):
        return {}
    prefix = f"_{column_name}_value@"
    found: dict[str, Any] = {}
    if annotations.wants(FORMATTED):
        target = tables(value.logical_name)
        row = load(value.logical_name, value.id)
        if target is not None and row is not None:
            found[prefix + FORMATTED] = row.get(target.primary_name)
    if annotations.wants(NAVIGATION):
        # The navigation property leading to this target: customerid_account, regardingobjectid_account_task.
        nav = next(
            (
                n.name
                for n in table.navigations.values()
                if n.column == column_name and value.logical_name in n.targets
            ),
            column_name,
        )
        found[prefix + NAVIGATION] = nav
    if annotations.wants(LOGICAL_NAME):
        found[prefix + LOGICAL_NAME] = value.logical_name
    return found


def render_row(
    table: Table,
    row: Row,
    *,
    select: Sequence[str] | None = None,
    expand: Sequence[Expansion] = (),
    annotations: Annotations = Annotations(),
    load: LoadRow,
    tables: Callable[[str], Table | None],
) -> dict[str, Any]:
    """The JSON object for one row."""
    body: dict[str, Any] = {"@odata.etag": etag(row)}
    wanted = None if select is None else {*select, table.primary_id}
    for column in table.columns.values():
        prop = column.value_property
        if not column.readable or (wanted is not None and prop not in wanted):
            continue
        value = row.get(column.name)
        if column.is_lookup and annotations.patterns:
            body.update(
                _lookup_annotations(
                    table, column.name, value, annotations=annotations, load=load, tables=tables
                )
            )
        elif annotations.patterns and annotations.wants(FORMATTED):
            text = formatted(table, column, value, row, currency_symbol(load))
            if text is not None:
                body[f"{prop}@{FORMATTED}"] = text
        body[prop] = values.to_json(value)
    for expansion in expand:
        reference = row.get(expansion.navigation.column)
        target = None
        if isinstance(reference, Ref) and reference.logical_name in expansion.navigation.targets:
            target_row = load(reference.logical_name, reference.id)
            target_table = tables(reference.logical_name)
            if target_row is not None and target_table is not None:
                target = render_row(
                    target_table, target_row, select=expansion.select, load=load, tables=tables
                )
        body[expansion.navigation.name] = target
    return body


def context_fragment(entity_set: str, select: Sequence[str] | None, expand: Sequence[Expansion]) -> str:
    """The part of ``@odata.context`` after ``$metadata#``: ``accounts(name,primarycontactid(fullname))``."""
    items = list(select or ())
    for expansion in expand:
        items.append(f"{expansion.navigation.name}({','.join(expansion.select or ())})")
    return f"{entity_set}({','.join(items)})" if items else entity_set
