"""Read and validate a mapping file (TOML, read with the standard library's ``tomllib``).

Validation is against the flow's ``MappingSchema``: which targets it writes, which view parts each target
may read, which options it understands. Every problem is collected and reported at once, each naming the
file, the line and the field (``customers.toml:14: account.columns.paymenttermscode.map: no value map
'terms' (defined: payment_terms)``). A file with problems raises ``MappingError``: its entity is disabled,
the others keep running.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from shared.sync.mapping.lines import LineIndex
from shared.sync.mapping.model import (
    KINDS,
    ColumnRule,
    EntityMapping,
    Kind,
    Location,
    Lookup,
    Owner,
    TargetMapping,
    ValueMap,
)

_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*$")
_SET = re.compile(r"^[a-z_][a-z0-9_]*$")
_SOURCE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
_RULE_OPTIONS = frozenset(
    {"from", "value", "default", "map", "lookup", "type", "max_length", "truncate", "owner", "required"}
)
_LOOKUP_OPTIONS = frozenset({"table", "by", "entity", "bind", "entity_set"})
_TARGET_OPTIONS = frozenset({"table", "entity_set", "key", "key_max_length", "columns"})
FALLBACK = "*"
CUSTOM_PREFIX = "ifs_"  # columns named so are the connector's own: ``provision`` creates them as text


@dataclass(frozen=True)
class Within:
    """A target whose rows belong to a row of another target of the same record (lines of an order).

    The rows of one record form a set: rows Dataverse holds under the parent row that the record no longer
    plans are removed (the engine finds them by ``parent_column``, the lookup to the parent).
    """

    parent: str  # the parent target's name, e.g. "order"
    parent_column: str  # the lookup column to the parent row, e.g. "salesorderid"


@dataclass(frozen=True)
class TargetSchema:
    """What a flow lets one of its targets read: the view parts, and the table it expects.

    ``key_with``: columns the flow adds to the mapping's ``key`` to make the alternate key (the parent's
    lookup for lines keyed within their order, the revision of a quote); ``within``: the rows are a set
    under another target's row.
    """

    parts: frozenset[str]
    table: str
    key_required: bool = False
    key_with: tuple[str, ...] = ()
    within: Within | None = None


@dataclass(frozen=True)
class MappingSchema:
    """What a flow expects of its mapping file."""

    entity: str
    targets: Mapping[str, TargetSchema]
    options: Mapping[str, type] = field(default_factory=dict)
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # options limited to these values
    entities: frozenset[str] = frozenset()  # entities a lookup may name (``lookup = {entity = "…"}``)


@dataclass(frozen=True)
class MappingProblem:
    """One thing wrong with a mapping file."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class MappingError(Exception):
    """A mapping file is invalid; ``problems`` names each fault with its file, line and field."""

    def __init__(self, path: str, problems: Sequence[MappingProblem]) -> None:
        self.path = path
        self.problems = list(problems)
        super().__init__(f"mapping {path} is invalid: " + "; ".join(str(p) for p in self.problems))


class Checker:
    """Collects the problems of one mapping file, each located by its TOML path (file, line, field)."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = LineIndex(text)
        self.problems: list[MappingProblem] = []

    def at(self, *path: str) -> Location:
        """Where the TOML path ``path`` stands in the file."""
        return Location(self.path, self.lines.line_of(path), ".".join(path))

    def fail(self, message: str, *path: str) -> None:
        """Record a problem at the TOML path ``path``."""
        self.problems.append(MappingProblem(self.at(*path), message))


def load_mapping(path: Path, schema: MappingSchema) -> EntityMapping:
    """Read the mapping at ``path``; MappingError naming every problem (file, line, field) if invalid."""
    return parse_mapping(read_mapping_file(path), path.name, schema)


def read_mapping_file(path: Path) -> str:
    """The text of the mapping file at ``path``; MappingError when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        problem = MappingProblem(Location(path.name, 1, ""), f"cannot read: {exc}")
        raise MappingError(path.name, [problem]) from exc


def parse_toml(text: str, name: str) -> dict[str, Any]:
    """The TOML document ``text`` of the file ``name``; MappingError with the line TOML names if invalid."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        location = Location(name, int(line.group(1)) if line else 1, "")
        raise MappingError(name, [MappingProblem(location, f"not valid TOML: {exc}")]) from exc


def parse_mapping(text: str, name: str, schema: MappingSchema) -> EntityMapping:
    """Validate the TOML ``text`` of the file called ``name`` against ``schema``."""
    document = parse_toml(text, name)
    check = Checker(name, text)
    entity = document.get("entity")
    if entity != schema.entity:
        check.fail(f"must say entity = {schema.entity!r} (found {entity!r})", "entity")
    options = _options(check, document.get("options", {}), schema)
    maps = value_maps(check, document.get("maps", {}))
    known = {"entity", "options", "maps", *schema.targets}
    for key in document:
        if key not in known:
            check.fail(
                f"unknown section (this file may have: {', '.join(sorted(known))})",
                key,
            )
    targets: dict[str, TargetMapping] = {}
    for target_name, target_schema in schema.targets.items():
        section = document.get(target_name)
        if not isinstance(section, dict):
            check.fail(f"missing the [{target_name}] section (table {target_schema.table})", target_name)
            continue
        target = _target(check, target_name, section, target_schema, maps, schema)
        if target is not None:
            targets[target_name] = target
    if check.problems:
        raise MappingError(name, check.problems)
    return EntityMapping(entity=schema.entity, path=name, targets=targets, maps=maps, options=options)


def _options(check: Checker, section: Any, schema: MappingSchema) -> dict[str, Any]:
    if not isinstance(section, dict):
        check.fail("must be a table", "options")
        return {}
    for key, value in section.items():
        expected = schema.options.get(key)
        if expected is None:
            allowed = ", ".join(sorted(schema.options)) or "none"
            check.fail(f"unknown option (known: {allowed})", "options", key)
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            check.fail(f"must be {expected.__name__}, not {type(value).__name__}", "options", key)
        elif key in schema.choices and value not in schema.choices[key]:
            check.fail(f"must be one of {', '.join(schema.choices[key])} (found {value!r})", "options", key)
    return dict(section)


def value_maps(check: Checker, section: Any) -> dict[str, ValueMap]:
    """The ``[maps]`` section's value maps (source value = target value, ``_`` the fallback)."""
    if not isinstance(section, dict):
        check.fail("must be a table of value maps", "maps")
        return {}
    maps: dict[str, ValueMap] = {}
    for map_name, entries in section.items():
        if not isinstance(entries, dict):
            check.fail("a value map is a table of source value = target value", "maps", map_name)
            continue
        values: dict[str, Any] = {}
        lines: dict[str, int] = {}
        for source, target in entries.items():
            if isinstance(target, dict | list):
                check.fail("a mapped value must be a string, number or boolean", "maps", map_name, source)
                continue
            if source != FALLBACK:
                values[source] = target
                lines[source] = check.lines.line_of(("maps", map_name, source))
        maps[map_name] = ValueMap(
            name=map_name,
            location=check.at("maps", map_name),
            entries=values,
            fallback=entries.get(FALLBACK),
            has_fallback=FALLBACK in entries,
            entry_lines=lines,
        )
    return maps


def _target(  # noqa: PLR0917 - the checker, where, and what the section is checked against
    check: Checker,
    name: str,
    section: dict[str, Any],
    schema: TargetSchema,
    maps: Mapping[str, ValueMap],
    mapping_schema: MappingSchema,
) -> TargetMapping | None:
    for option in section:
        if option not in _TARGET_OPTIONS:
            check.fail(f"unknown option (known: {', '.join(sorted(_TARGET_OPTIONS))})", name, option)
    table = section.get("table")
    if table != schema.table:
        check.fail(f"must be {schema.table!r} (found {table!r})", name, "table")
    entity_set: Any = section.get("entity_set")
    if not isinstance(entity_set, str) or not _SET.fullmatch(entity_set):
        check.fail("must be the table's entity set name, e.g. 'accounts'", name, "entity_set")
        entity_set = ""
    key: Any = section.get("key")
    if key is not None and (not isinstance(key, str) or not _COLUMN.fullmatch(key)):
        check.fail("must be a column name", name, "key")
        key = None
    if schema.key_required and key is None:
        check.fail("needs key = <alternate-key column that holds the IFS key>", name, "key")
    key_max_length = section.get("key_max_length")
    if key_max_length is not None and (
        not isinstance(key_max_length, int) or isinstance(key_max_length, bool) or key_max_length < 1
    ):
        check.fail("must be a positive integer", name, "key_max_length")
        key_max_length = None
    columns = section.get("columns", {})
    if not isinstance(columns, dict):
        check.fail("must be a table of column = rule", name, "columns")
        return None
    rules: list[ColumnRule] = []
    for column, raw in columns.items():
        if not _COLUMN.fullmatch(column):
            check.fail(
                "a Dataverse column's logical name is lowercase letters, digits and _",
                name,
                "columns",
                column,
            )
            continue
        if column == key:
            check.fail("the key column is written from the IFS key; do not map it", name, "columns", column)
            continue
        rule = _rule(check, (name, "columns", column), column, raw, schema, maps, mapping_schema)
        if rule is not None:
            _check_custom(check, (name, "columns", column), rule)
            rules.append(rule)
    _check_custom_key(check, name, key, key_max_length)
    return TargetMapping(
        name=name,
        location=check.at(name),
        table=str(table),
        entity_set=entity_set,
        key=key,
        key_max_length=key_max_length,
        columns=tuple(rules),
        key_with=schema.key_with,
    )


def _check_custom_key(check: Checker, name: str, key: Any, key_max_length: Any) -> None:
    """A key column with the connector's prefix is created by ``provision``: it needs its length."""
    if isinstance(key, str) and key.startswith(CUSTOM_PREFIX) and key_max_length is None:
        check.fail(
            f"a key column named {CUSTOM_PREFIX}… is created by provision as text: give key_max_length",
            name,
            "key",
        )


def _check_custom(check: Checker, path: tuple[str, ...], rule: ColumnRule) -> None:
    """A column with the connector's prefix is created by ``provision``: it must say its text type."""
    if not rule.column.startswith(CUSTOM_PREFIX) or rule.lookup is not None:
        return
    if rule.kind != "string" or rule.max_length is None:
        check.fail(
            f'a column named {CUSTOM_PREFIX}… is created by provision as text: give type = "string" and '
            "max_length",
            *path,
        )


def _rule(  # noqa: PLR0912, PLR0917 - one check per option, in the order a reader meets them
    check: Checker,
    path: tuple[str, ...],
    column: str,
    raw: Any,
    schema: TargetSchema,
    maps: Mapping[str, ValueMap],
    mapping_schema: MappingSchema,
) -> ColumnRule | None:
    if isinstance(raw, str):
        raw = {"from": raw}  # shorthand: column = "part.Field"
    if not isinstance(raw, dict):
        check.fail('a rule is "part.Field" or an inline table { from = …, … }', *path)
        return None
    bad = len(check.problems)
    for option in raw:
        if option not in _RULE_OPTIONS:
            check.fail(f"unknown option (known: {', '.join(sorted(_RULE_OPTIONS))})", *path, option)
    source = raw.get("from")
    if source is not None:
        if not isinstance(source, str) or not _SOURCE.fullmatch(source):
            check.fail("must be part.Field, e.g. customer.Name", *path, "from")
        elif source.split(".", 1)[0] not in schema.parts:
            parts = ", ".join(sorted(schema.parts))
            check.fail(f"no view part {source.split('.', 1)[0]!r} here (parts: {parts})", *path, "from")
    if ("value" in raw) == (source is not None):
        check.fail("needs exactly one of 'from' (a source field) or 'value' (a constant)", *path)
    value_map = raw.get("map")
    if value_map is not None and value_map not in maps:
        defined = ", ".join(sorted(maps)) or "none"
        check.fail(f"no value map {value_map!r} (defined: {defined})", *path, "map")
    kind = raw.get("type", "any")
    if kind not in KINDS:
        check.fail(f"unknown type (known: {', '.join(KINDS)})", *path, "type")
    max_length = raw.get("max_length")
    if max_length is not None and (
        not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1
    ):
        check.fail("must be a positive integer", *path, "max_length")
    owner = raw.get("owner", "ifs")
    if owner not in ("ifs", "dynamics"):
        check.fail("must be 'ifs' or 'dynamics'", *path, "owner")
    for flag in ("truncate", "required"):
        if flag in raw and not isinstance(raw[flag], bool):
            check.fail("must be true or false", *path, flag)
    lookup = _lookup(check, path, column, raw.get("lookup"), mapping_schema) if "lookup" in raw else None
    if len(check.problems) > bad:
        return None
    return ColumnRule(
        column=column,
        location=check.at(*path),
        source=source,
        value=raw.get("value"),
        has_value="value" in raw,
        default=raw.get("default"),
        has_default="default" in raw,
        value_map=value_map,
        lookup=lookup,
        kind=cast(Kind, kind),
        max_length=max_length,
        truncate=bool(raw.get("truncate", False)),
        owner=cast(Owner, owner),
        required=bool(raw.get("required", False)),
    )


def _lookup(
    check: Checker, path: tuple[str, ...], column: str, raw: Any, schema: MappingSchema
) -> Lookup | None:
    where = (*path, "lookup")
    before = len(check.problems)
    if not isinstance(raw, dict):
        check.fail("a lookup is { table = …, by = … } or { entity = … }", *where)
        return None
    for option in raw:
        if option not in _LOOKUP_OPTIONS:
            check.fail(f"unknown option (known: {', '.join(sorted(_LOOKUP_OPTIONS))})", *where, option)
    table, by, entity = raw.get("table"), raw.get("by"), raw.get("entity")
    bind = raw.get("bind", column)
    entity_set = raw.get("entity_set")
    if entity is not None:
        if table is not None or by is not None:
            check.fail("either entity = … (a synced entity) or table/by, not both", *where)
        if entity not in schema.entities:
            known = ", ".join(sorted(schema.entities)) or "none"
            check.fail(f"unknown entity {entity!r} (synced entities: {known})", *where, "entity")
    elif not (
        isinstance(table, str) and _COLUMN.fullmatch(table) and isinstance(by, str) and _COLUMN.fullmatch(by)
    ):
        check.fail("needs table = <logical name> and by = <column> (or entity = …)", *where)
    if not isinstance(bind, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", bind):
        check.fail("must be a navigation property name", *where, "bind")
    if not isinstance(entity_set, str) or not _SET.fullmatch(entity_set):
        check.fail(
            "must name the entity set of the row looked up, e.g. 'transactioncurrencies'",
            *where,
            "entity_set",
        )
    if len(check.problems) > before:
        return None
    return Lookup(
        bind=str(bind),
        entity_set=str(entity_set),
        table=table if entity is None else None,
        by=by if entity is None else None,
        entity=entity,
    )
