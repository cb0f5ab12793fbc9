"""What a mapping file says, once read and validated: targets, column rules and value maps.

A mapping file describes, for one synced entity, how the rows the flow assembles from IFS (its *view*:
named parts such as ``customer`` or ``bill_to``) become the columns of one or more Dataverse tables (its
*targets*). Every rule remembers the line it came from, so errors found later (an unmapped value, a value
too long) can still name the file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Owner = Literal["ifs", "dynamics"]
Kind = Literal["string", "integer", "decimal", "money", "boolean", "date", "datetime", "choice", "any"]
KINDS: tuple[str, ...] = (
    "string",
    "integer",
    "decimal",
    "money",
    "boolean",
    "date",
    "datetime",
    "choice",
    "any",
)


@dataclass(frozen=True)
class Location:
    """Where a rule is written: file, line and dotted field path (``account.columns.name.map``)."""

    file: str
    line: int
    field: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}"


@dataclass(frozen=True)
class Lookup:
    """A lookup column: the Dataverse row it points to, found by a column's value or by the id map.

    ``table``/``by``: the row of ``table`` whose column ``by`` equals the source value (e.g. the
    ``transactioncurrency`` whose ``isocurrencycode`` is ``EUR``), resolved once and cached. ``entity``:
    the Dataverse row the connector itself synced for that IFS key (id map first, alternate key second),
    synced first when it is not there yet. ``bind`` is the navigation property the ``@odata.bind``
    annotation is written on (default: the column name).
    """

    bind: str
    entity_set: str
    table: str | None = None
    by: str | None = None
    entity: str | None = None


@dataclass(frozen=True)
class ColumnRule:
    """How one target column gets its value."""

    column: str
    location: Location
    source: str | None = None  # "part.Field" in the flow's view
    value: Any = None  # a constant (when source is None)
    has_value: bool = False
    default: Any = None
    has_default: bool = False
    value_map: str | None = None
    lookup: Lookup | None = None
    kind: Kind = "any"
    max_length: int | None = None
    truncate: bool = False
    owner: Owner = "ifs"
    required: bool = False

    @property
    def part(self) -> str | None:
        """The view part the source reads (``customer`` of ``customer.Name``)."""
        return None if self.source is None else self.source.split(".", 1)[0]


@dataclass(frozen=True)
class ValueMap:
    """A named translation of source values (payment terms, countries, states) to target values."""

    name: str
    location: Location
    entries: Mapping[str, Any]
    fallback: Any = None
    has_fallback: bool = False
    entry_lines: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetMapping:
    """The columns of one Dataverse table the entity writes."""

    name: str  # the target's name in the file, e.g. "account"
    location: Location
    table: str  # logical name
    entity_set: str
    key: str | None  # alternate-key column that holds the IFS key, if any
    key_max_length: int | None
    columns: tuple[ColumnRule, ...]
    key_with: tuple[str, ...] = ()  # columns the flow adds to ``key`` in the alternate key (the parent …)

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The columns of the target's alternate key (``key_with`` first), or () without a key."""
        return (*self.key_with, self.key) if self.key is not None else ()

    def written(self) -> tuple[ColumnRule, ...]:
        """The rules of columns IFS owns: the only ones the IFS → Dynamics flow writes."""
        return tuple(rule for rule in self.columns if rule.owner == "ifs")


@dataclass(frozen=True)
class EntityMapping:
    """One validated mapping file."""

    entity: str
    path: str
    targets: Mapping[str, TargetMapping]
    maps: Mapping[str, ValueMap]
    options: Mapping[str, Any] = field(default_factory=dict)

    def target(self, name: str) -> TargetMapping:
        """The target called ``name`` (validated to exist for the flow that asks)."""
        return self.targets[name]
