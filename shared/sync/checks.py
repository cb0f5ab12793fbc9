"""The judgements of the ``check`` command that need no network: what the mappings need of both systems.

Each check gives a ``CheckResult``: where (``area``), what (``name``), ``ok``/``fail``/``warn``/``skip``, what
was found, and for a failure what to do and where. The adapters fetch the facts (privileges, column metadata,
``$metadata``, alternate keys, webhook steps); the functions here compare them with what the mapping files
and the flows need, so a wrong configuration is named before any record fails on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.sync.mapping.model import EntityMapping
from shared.sync.provision import custom_columns, key_name
from shared.sync.registry import ROOT_ROWS

OK, FAIL, WARN, SKIP = "ok", "fail", "warn", "skip"
PROVISION = "run `python -m shared.cli provision` (it creates the key and waits until it is Active)"
REACTIVATE = (
    "the key's index failed to build: fix rows sharing a value, then reactivate it (ReactivateEntityKey)"
)
WRITE_PRIVILEGES = ("Read", "Create", "Write")  # an upsert creates or updates, and reads back ids


@dataclass(frozen=True)
class CheckResult:
    """One check: where, what, the verdict, what was found, and what to do about a failure."""

    area: str
    name: str
    status: str
    detail: str = ""
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        """The result as a JSON object."""
        return {
            "area": self.area,
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "fix": self.fix,
        }


def needed_privileges(
    mappings: Iterable[EntityMapping], extra: Mapping[str, Mapping[str, Iterable[str]]]
) -> dict[str, set[str]]:
    """Privilege types per table the sync needs.

    Read/Create/Write on every table a mapping writes, Read on lookup tables, and the flows' own needs
    (``extra``: entity → table → types).
    """
    needed: dict[str, set[str]] = {}
    for mapping in mappings:
        for target in mapping.targets.values():
            needed.setdefault(target.table, set()).update(WRITE_PRIVILEGES)
            for rule in target.written():
                if rule.lookup is not None and rule.lookup.table is not None:
                    needed.setdefault(rule.lookup.table, set()).add("Read")
        for table, kinds in extra.get(mapping.entity, {}).items():
            needed.setdefault(table, set()).update(kinds)
    return needed


def privilege_results(
    needed: Mapping[str, set[str]],
    table_privileges: Mapping[str, Mapping[str, tuple[str, uuid.UUID]]],
    held: Mapping[uuid.UUID, tuple[str, str]],
) -> list[CheckResult]:
    """One result per table: whether every needed privilege is held (below Global depth: a warning).

    ``table_privileges``: table → type → (privilege name, id), from the table's metadata; ``held``: privilege
    id → (name, depth), from RetrieveUserPrivileges.
    """
    results = []
    for table in sorted(needed):
        kinds = sorted(needed[table])
        known = table_privileges.get(table, {})
        missing = [kind for kind in kinds if kind not in known or known[kind][1] not in held]
        shallow = [
            kind
            for kind in kinds
            if kind in known and known[kind][1] in held and held[known[kind][1]][1] != "Global"
        ]
        name = f"application user's privileges on {table}"
        if missing:
            names = ", ".join(known[k][0] if k in known else f"{k} (no such privilege)" for k in missing)
            results.append(
                CheckResult(
                    "privileges",
                    name,
                    FAIL,
                    f"missing {names}",
                    f"grant the application user {' and '.join(missing)} on {table} in its security role "
                    "(Power Platform admin center → the environment → Settings → Security roles)",
                )
            )
        elif shallow:
            results.append(
                CheckResult(
                    "privileges",
                    name,
                    WARN,
                    f"{', '.join(shallow)} held below Global depth: rows other users own cannot be changed",
                    f"give the role {', '.join(shallow)} on {table} at Organization level",
                )
            )
        else:
            results.append(CheckResult("privileges", name, OK, ", ".join(kinds)))
    return results


def column_results(
    mapping: EntityMapping, columns: Mapping[str, Mapping[str, tuple[bool, bool]]]
) -> list[CheckResult]:
    """Every column a mapping writes exists in its table and can be written.

    ``columns``: table → column → (valid for create, valid for update), from EntityDefinitions.
    """
    results = []
    ours = {(table, column) for table, column, _length in custom_columns([mapping])}
    for target in mapping.targets.values():
        known = columns.get(target.table)
        name = f"{mapping.entity}: {target.name} columns against {target.table}'s metadata"
        if known is None:
            results.append(CheckResult("mappings", name, SKIP, f"no metadata read for {target.table}"))
            continue
        problems = []
        unprovisioned = []
        wanted = [rule.column for rule in target.written()] + ([target.key] if target.key else [])
        for column in dict.fromkeys(wanted):
            if column not in known and (target.table, column) in ours:
                unprovisioned.append(column)
            elif column not in known:
                problems.append(f"{column} is not a column of {target.table}")
            elif not any(known[column]):
                problems.append(f"{column} cannot be written (neither on create nor on update)")
        fixes = []
        if problems:
            fixes.append(f"fix {mapping.path}: use {target.table}'s logical column names (EntityDefinitions)")
        if unprovisioned:
            # The connector's own columns are made by provisioning, not by the person editing the mapping.
            problems.append(f"{', '.join(unprovisioned)}: the connector's column(s) not created yet")
            fixes.append("run `python -m shared.cli provision` (it creates the connector's columns)")
        if problems:
            results.append(CheckResult("mappings", name, FAIL, "; ".join(problems), "; ".join(fixes)))
        else:
            results.append(CheckResult("mappings", name, OK, f"{len(wanted)} columns"))
    return results


def field_results(
    mapping: EntityMapping, parts: Mapping[str, str], fields: Mapping[str, frozenset[str] | None]
) -> list[CheckResult]:
    """Every IFS field a mapping reads exists in its entity type.

    ``parts``: view part → source rows, as ``registry.PART_SOURCES``; ``fields``: source rows → property names
    from ``$metadata`` (None when they could not be read).
    """
    problems = []
    checked = 0
    unchecked: set[str] = set()
    for target in mapping.targets.values():
        for rule in target.written():
            part = rule.part
            if rule.source is None or part is None:
                continue
            if part not in parts:
                unchecked.add(part)
                continue
            known = fields.get(parts[part])
            if known is None:
                unchecked.add(part)
                continue
            field_name = rule.source.split(".", 1)[1]
            checked += 1
            if field_name not in known:
                where = "the root entity set" if parts[part] == ROOT_ROWS else f"the {parts[part]} collection"
                problems.append(f"{rule.location}: {field_name} is not a field of {where}")
    name = f"{mapping.entity}: fields against IFS $metadata"
    if problems:
        return [
            CheckResult(
                "mappings",
                name,
                FAIL,
                "; ".join(problems),
                "fix the mapping file, or the IFS_*_ENTITY setting if the projection is another one",
            )
        ]
    note = f"{checked} fields" + (
        f"; computed or unchecked parts: {', '.join(sorted(unchecked))}" if unchecked else ""
    )
    return [CheckResult("mappings", name, OK, note)]


def key_results(
    mappings: Iterable[EntityMapping], keys: Mapping[str, Mapping[str, str]]
) -> list[CheckResult]:
    """The alternate key of every keyed target exists and is Active (``keys``: table → name → status)."""
    results = []
    seen: set[tuple[str, str]] = set()
    for mapping in mappings:
        for target in mapping.targets.values():
            if target.key is None:
                continue
            # Provisioning names the key after all its columns (a line's key includes its order's id).
            schema = key_name(target.key_columns)
            if (target.table, schema) in seen:
                continue
            seen.add((target.table, schema))
            found = {name.lower(): status for name, status in keys.get(target.table, {}).items()}
            status = found.get(schema.lower())
            name = f"alternate key {schema} on {target.table}"
            if status == "Active":
                results.append(CheckResult("keys", name, OK, "Active"))
            else:
                detail = "missing" if status is None else status
                results.append(
                    CheckResult(
                        "keys",
                        name,
                        FAIL,
                        detail,
                        PROVISION if status in (None, "Pending", "InProgress") else REACTIVATE,
                    )
                )
    return results
