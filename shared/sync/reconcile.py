"""Reconcile: compare an entity in IFS with Dataverse on its mapped columns; ``fix`` enqueues the differences.

The comparison does not restate the mapping: a ``Planner`` runs the engine's own dry run over every record
(read from IFS, planned through the flow and its mapping file, lookups and reference rows resolved, nothing
written) and keeps each record's plan — exactly the rows and values a sync would write. Each planned row is
then read back from Dataverse (by id, or by alternate key) and compared column by column. What a sync would
not write (columns Dynamics owns, columns the mapping does not name) is never compared.

The result, per entity:

- counts: records in IFS (those in the poll's scope, and those outside it that Dataverse holds — a closed
  order loaded with the history), records in Dataverse (distinct key values, and rows linked in the id map:
  the revisions of one quote are one record);
- **missing in Dataverse**: IFS records whose row does not exist;
- **missing in IFS**: Dataverse rows whose IFS record is gone and that are still active, or that the
  connector never wrote (a key value no IFS record has, and no link) — retired ones are in step;
- **differs**: records whose Dataverse rows differ from the plan, column by column (``ifs`` is the value the
  mapping gives, ``dataverse`` the value found; ``row`` names the row among the record's rows, e.g. a
  line's key); a missing price-list item or line, a line Dataverse holds under the header that IFS does not
  have, and a header not in the state the mapping gives (``statecode``/``statuscode``) count here too;
- **cannot be planned**: records a sync would park (the reason is the error it would park with).

Rows that belong to a header (order and quote lines: the target's ``Within``) are read under their header,
by the header's id, and matched by their key within it: a line key such as ``1|1|0`` names a line of every
order, so it is never looked up alone.

``fix`` enqueues the keys that are missing in Dataverse or differ, with ``force``, so the workers rewrite
them; records that cannot be planned are left for ``replay`` once their cause is fixed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.records import AuditEntry, ParkedRecord
from shared.sync.engine import EntityBinding, Planned, SyncEngine
from shared.sync.flow import Flow, Link
from shared.sync.mapping.load import MappingSchema, Within
from shared.sync.mapping.model import EntityMapping, TargetMapping
from shared.sync.messages import ChangedKey, new_correlation_id
from shared.sync.plan import RecordPlan, TargetRow
from shared.sync.ports import (
    Aggregate,
    ChangeSource,
    IdLinks,
    Ledger,
    RecordRef,
    Request,
    RequestOutcome,
    Requeue,
    RowReader,
    RowResult,
    Target,
)

ROW = "(row)"  # the "column" of a finding about a whole row
BIND = "@odata.bind"
Progress = Callable[[int, int], None]


class WritesRefusedError(RuntimeError):
    """Reconcile only reads: a write it would have made (a dependency synced on demand) was refused."""

    transient = False


class _Capturing:
    """A flow that plans as the real one does and keeps every plan; reference rows are never created."""

    def __init__(self, inner: Flow, plans: dict[str, RecordPlan], found: set[str]) -> None:
        self._inner = inner
        self._plans = plans
        self._found = found  # the keys IFS had a record for (planned from it, even when planning failed)

    @property
    def entity(self) -> str:
        return self._inner.entity

    @property
    def schema(self) -> MappingSchema:
        return self._inner.schema

    def plan(
        self, key: str, version: str | None, aggregate: Aggregate, mapping: EntityMapping, link: Link
    ) -> RecordPlan:
        self._found.add(key)
        plan = self._inner.plan(key, version, aggregate, mapping, link)
        self._plans[key] = plan
        return plan

    def plan_missing(self, key: str, mapping: EntityMapping, link: Link) -> RecordPlan | None:
        plan = self._inner.plan_missing(key, mapping, link)
        if plan is not None:
            self._plans[key] = plan
        return plan

    def prepare(
        self, plans: Sequence[RecordPlan], mapping: EntityMapping, *, dry_run: bool = False
    ) -> dict[str, Exception]:
        return self._inner.prepare(plans, mapping, dry_run=True)

    def before_write(self, plans: Sequence[RecordPlan], mapping: EntityMapping) -> dict[str, Exception]:
        # A dry run stops before the writes, so the engine never gets here; refuse rather than write.
        raise WritesRefusedError("reconcile writes nothing (a flow's before_write refused)")

    def after_write(self, plans: Sequence[RecordPlan], mapping: EntityMapping) -> dict[str, Exception]:
        raise WritesRefusedError("reconcile writes nothing (a flow's after_write refused)")


class _ReadOnlyTarget:
    """The real target for look-ups; every write is refused."""

    def __init__(self, inner: Target) -> None:
        self._inner = inner

    def upsert(
        self, entity_set: str, table: str, rows: Sequence[tuple[RecordRef, Mapping[str, Any]]]
    ) -> Sequence[RowResult]:
        raise WritesRefusedError(f"reconcile writes nothing ({len(rows)} {table} rows refused)")

    def ids_by(self, entity_set: str, table: str, column: str, values: Iterable[Any]) -> dict[Any, uuid.UUID]:
        return self._inner.ids_by(entity_set, table, column, values)

    def find(
        self, entity_set: str, filters: Mapping[str, Any], select: Sequence[str]
    ) -> list[dict[str, Any]]:
        return self._inner.find(entity_set, filters, select)

    def create(self, entity_set: str, values: Mapping[str, Any]) -> uuid.UUID:
        raise WritesRefusedError(f"reconcile writes nothing (a {entity_set} row refused)")

    def delete(self, entity_set: str, row_id: uuid.UUID) -> None:
        raise WritesRefusedError(f"reconcile writes nothing (deleting {entity_set}({row_id}) refused)")

    def rows_by(
        self, entity_set: str, column: str, values: Iterable[Any], select: Sequence[str]
    ) -> list[dict[str, Any]]:
        return self._inner.rows_by(entity_set, column, values, select)

    def delete_many(self, entity_set: str, row_ids: Sequence[uuid.UUID]) -> Sequence[RequestOutcome]:
        raise WritesRefusedError(f"reconcile writes nothing ({len(row_ids)} {entity_set} deletes refused)")

    def execute(self, requests: Sequence[Request]) -> Sequence[RequestOutcome]:
        raise WritesRefusedError(f"reconcile writes nothing ({len(requests)} requests refused)")


class _ReadOnlyIds:
    def __init__(self, inner: IdLinks) -> None:
        self._inner = inner

    def link_many(self, entity: str, links: Mapping[str, str]) -> None:
        return None

    def target_ids(self, entity: str, source_keys: Iterable[str]) -> dict[str, str]:
        return self._inner.target_ids(entity, source_keys)


class _Nowhere:
    """Audit, parking and requeue that keep nothing (a dry run never reaches them)."""

    def record(self, entries: Iterable[AuditEntry]) -> None:
        return None

    def park(self, record: ParkedRecord) -> ParkedRecord:
        return record

    def open_keys(self, entity: str) -> set[str]:
        return set()

    def resolve(self, entity: str, source_key: str) -> bool:
        return False

    def __call__(self, keys: Sequence[ChangedKey], *, delay_seconds: int, body: Mapping[str, Any]) -> None:
        return None


class Planner:
    """The engine's planning with every write refused: what a sync would write, record by record."""

    def __init__(
        self,
        engine: SyncEngine,
        *,
        target: Target,
        ledger: Ledger,
        idmap: IdLinks,
        clock: Callable[[], datetime],
    ) -> None:
        self._plans: dict[str, dict[str, RecordPlan]] = {}
        self._found: dict[str, set[str]] = {}
        self._schemas = {name: engine.binding(name).flow.schema for name in engine.entities}
        nowhere = _Nowhere()
        bindings = {}
        for name in engine.entities:
            binding = engine.binding(name)
            plans = self._plans.setdefault(name, {})
            bindings[name] = EntityBinding(
                flow=_Capturing(binding.flow, plans, self._found.setdefault(name, set())),
                source=binding.source,
                mapping_path=binding.mapping_path,
                queue=binding.queue,
                requeue=nowhere,
            )
        self._engine = SyncEngine(
            entities=bindings,
            target=_ReadOnlyTarget(target),
            ledger=ledger,
            idmap=_ReadOnlyIds(idmap),
            audit=nowhere,
            parking=nowhere,
            clock=clock,
        )

    def mapping(self, entity: str) -> EntityMapping:
        """The entity's mapping."""
        return self._engine.mapping(entity)

    def within(self, entity: str) -> dict[str, Within]:
        """The entity's targets whose rows belong to a row of another target (lines), by target name."""
        targets = self._schemas[entity].targets
        return {name: target.within for name, target in targets.items() if target.within is not None}

    def plan(self, entity: str, keys: Sequence[ChangedKey]) -> PlannedChunk:
        """What a sync of ``keys`` would do (per record), the rows it would write and which keys IFS has."""
        captured, found = self._plans[entity], self._found[entity]
        captured.clear()
        found.clear()
        report = self._engine.process(
            entity, keys, correlation_id=new_correlation_id(), dry_run=True, force=True
        )
        return PlannedChunk(report.planned, dict(captured), set(found))


@dataclass(frozen=True)
class PlannedChunk:
    """A dry run over some keys: per record what a sync would do, its rows, and the keys IFS has."""

    planned: list[Planned]
    plans: dict[str, RecordPlan]
    in_ifs: set[str]  # read from IFS (whatever the poll's scope), as opposed to gone from it


@dataclass(frozen=True)
class Finding:
    """One thing reconcile found: a record missing on one side, a column that differs, or no plan."""

    key: str
    issue: str  # "missing in Dataverse", "missing in IFS", "differs", "cannot be planned"
    target: str = ""
    column: str = ""
    ifs: Any = None
    dataverse: Any = None
    row: str = ""  # which of the record's rows of ``target`` (a line's key), when it has several

    def to_json(self) -> dict[str, Any]:
        """The finding as a JSON object."""
        return {
            "key": self.key,
            "issue": self.issue,
            "target": self.target,
            "row": self.row,
            "column": self.column,
            "ifs": self.ifs,
            "dataverse": self.dataverse,
        }


@dataclass
class ReconcileReport:
    """What reconcile found for one entity, and what ``fix`` enqueued."""

    entity: str
    ifs_count: int = 0
    dataverse_count: int = 0
    in_step: int = 0
    retired: int = 0  # gone from IFS, and deactivated/retired in Dataverse as the flow does it
    findings: list[Finding] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)

    def keys(self, issue: str) -> list[str]:
        """The keys with a finding of ``issue``, once each, in order."""
        return list(dict.fromkeys(f.key for f in self.findings if f.issue == issue))

    def summary(self) -> dict[str, int]:
        """The counts."""
        return {
            "ifs": self.ifs_count,
            "dataverse": self.dataverse_count,
            "in_step": self.in_step,
            "retired": self.retired,
            "missing_in_dataverse": len(self.keys("missing in Dataverse")),
            "missing_in_ifs": len(self.keys("missing in IFS")),
            "differs": len(self.keys("differs")),
            "cannot_be_planned": len(self.keys("cannot be planned")),
            "enqueued": len(self.fixed),
        }

    def to_json(self, limit: int | None = None) -> dict[str, Any]:
        """The report as a JSON document (at most ``limit`` findings; the counts are always whole)."""
        shown = self.findings if limit is None else self.findings[:limit]
        return {
            "entity": self.entity,
            "summary": self.summary(),
            "findings": [f.to_json() for f in shown],
            "findings_truncated": len(shown) < len(self.findings),
            "missing_in_dataverse": self.keys("missing in Dataverse"),
            "missing_in_ifs": self.keys("missing in IFS"),
            "differs": self.keys("differs"),
            "enqueued": self.fixed,
        }


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def same(planned: Any, found: Any) -> bool:
    """Whether a planned value and the value Dataverse holds are equal as Dataverse stores them.

    Empty text and no value are the same; numbers compare to four decimals (money's precision); booleans,
    text and everything else compare exactly.
    """
    if planned in (None, "") and found in (None, ""):
        return True
    if isinstance(planned, bool) or isinstance(found, bool):
        return planned is found
    if isinstance(planned, int | float | Decimal) and not isinstance(planned, bool):
        a, b = _number(planned), _number(found)
        if a is None or b is None:
            return False
        return a.quantize(Decimal("0.0001")) == b.quantize(Decimal("0.0001"))
    return bool(planned == found)


def _bound_id(value: Any) -> str | None:
    """The id an ``@odata.bind`` names: ``/pricelevels(<id>)`` → ``<id>`` (lower case)."""
    text = str(value)
    if "(" not in text or not text.endswith(")"):
        return text.lower()
    return text[text.rindex("(") + 1 : -1].lower()


def _bound_columns(row: TargetRow) -> dict[str, str]:
    """Navigation property → lookup column, where they differ (``customerid_account`` → ``customerid``).

    Dataverse returns a lookup's value as ``_<column>_value`` whichever navigation property wrote it: a
    polymorphic lookup (a customer: account or contact) has one navigation property per table it may name.
    """
    return {
        rule.lookup.bind: rule.column
        for rule in row.target.columns
        if rule.lookup is not None and rule.lookup.bind != rule.column
    }


def compare_row(row: TargetRow, current: Mapping[str, Any] | None) -> list[tuple[str, Any, Any]]:
    """(column, planned, found) for every difference between a planned row and its Dataverse row."""
    if row.delete:
        return [] if current is None else [(ROW, "removed", "present")]
    if current is None:
        return [(ROW, "present", "absent")]
    found: list[tuple[str, Any, Any]] = []
    bound = _bound_columns(row)
    for name, value in row.values.items():
        if name.endswith(BIND):
            column = name[: -len(BIND)]
            actual = current.get(f"_{bound.get(column, column)}_value")
            expected = _bound_id(value)
            if expected != (str(actual).lower() if actual is not None else None):
                found.append((column, expected, actual))
        elif "@" in name:
            continue  # other annotations are instructions, not values
        elif not same(value, current.get(name)):
            found.append((name, value, current.get(name)))
    return found


def _row_id(row: TargetRow) -> uuid.UUID | None:
    return row.record if isinstance(row.record, uuid.UUID) else row.id


class _Rows:
    """The Dataverse rows of a chunk's plans, read in bulk.

    By id per table, by alternate key per key column, and the rows of a ``Within`` target (lines) under
    their headers' ids: a line's key is unique only within its header.
    """

    def __init__(
        self,
        reader: RowReader,
        plans: Mapping[str, RecordPlan],
        within: Mapping[str, tuple[Within, TargetMapping]],
    ) -> None:
        self._within = within
        ids: dict[tuple[str, str], set[uuid.UUID]] = {}
        keys: dict[tuple[str, str], set[str]] = {}
        for plan in plans.values():
            for row in plan.rows:
                target = row.target
                row_id = _row_id(row)
                if row_id is not None:
                    ids.setdefault((target.entity_set, target.table), set()).add(row_id)
                elif target.key is not None and isinstance(row.record, Mapping) and target.name not in within:
                    keys.setdefault((target.entity_set, target.key), set()).add(str(row.record[target.key]))
        self._by_id = {spec: reader.by_ids(spec[0], spec[1], wanted) for spec, wanted in ids.items()}
        self._by_key = {spec: reader.by_key(spec[0], spec[1], wanted) for spec, wanted in keys.items()}
        # (target name, header id) -> the rows Dataverse holds under that header
        self._under: dict[tuple[str, uuid.UUID], list[dict[str, Any]]] = {}
        for name, (inside, target) in within.items():
            wanted = {p for plan in plans.values() if (p := self.parent_id(plan, name)) is not None}
            if not wanted:
                continue
            lookup = f"_{inside.parent_column}_value"
            for found in reader.under(target.entity_set, inside.parent_column, wanted):
                if found.get(lookup):
                    self._under.setdefault((name, uuid.UUID(str(found[lookup]))), []).append(found)

    def _found(self, row: TargetRow) -> Mapping[str, Any] | None:
        target = row.target
        row_id = _row_id(row)
        if row_id is not None:
            return self._by_id.get((target.entity_set, target.table), {}).get(row_id)
        if target.key is not None and isinstance(row.record, Mapping):
            wanted = str(row.record[target.key]).casefold()
            return self._by_key.get((target.entity_set, target.key), {}).get(wanted)
        return None

    def parent_id(self, plan: RecordPlan, target_name: str) -> uuid.UUID | None:
        """The id of the header row the plan's ``target_name`` rows belong to, when Dataverse has it."""
        parent = plan.row(self._within[target_name][0].parent)
        if parent is None:
            return None
        row_id = _row_id(parent)
        if row_id is not None:
            return row_id
        current = self._found(parent)
        pk = f"{parent.target.table}id"
        return uuid.UUID(str(current[pk])) if current is not None and current.get(pk) else None

    def current(self, plan: RecordPlan, row: TargetRow) -> Mapping[str, Any] | None:
        """The Dataverse row a planned row is written to, or None when there is none."""
        name = row.target.name
        if name not in self._within or _row_id(row) is not None or row.target.key is None:
            return self._found(row)
        parent = self.parent_id(plan, name)
        if parent is None:
            return None
        wanted = str(row.key_value).casefold()
        under = self._under.get((name, parent), [])
        return next((found for found in under if str(found.get(row.target.key)).casefold() == wanted), None)

    def unplanned(self, plan: RecordPlan) -> list[tuple[TargetMapping, dict[str, Any]]]:
        """Rows Dataverse holds under the plan's header that the plan does not have (a line IFS lacks)."""
        extra: list[tuple[TargetMapping, dict[str, Any]]] = []
        for name, (_inside, target) in self._within.items():
            rows = [r for r in plan.rows if r.target.name == name and not r.delete]
            parent = self.parent_id(plan, name)
            if parent is None:
                continue
            pk = f"{target.table}id"
            ids = {_row_id(r) for r in rows} | {
                uuid.UUID(str(c[pk])) for r in rows if (c := self.current(plan, r)) is not None and c.get(pk)
            }
            keys = {str(r.key_value).casefold() for r in rows if r.key_value is not None}
            for found in self._under.get((name, parent), []):
                key = found.get(target.key) if target.key else None
                if uuid.UUID(str(found[pk])) in ids or (key is not None and str(key).casefold() in keys):
                    continue
                extra.append((target, found))
        return extra


def reconcile(
    entity: str,
    *,
    planner: Planner,
    source: ChangeSource,
    main_target: str,
    reader: RowReader,
    links: Mapping[str, str],
    requeue: Requeue | None = None,
    chunk_size: int = 200,
    progress: Progress | None = None,
) -> ReconcileReport:
    """Compare ``entity`` in IFS and Dataverse; with ``requeue``, enqueue what is missing or differs."""
    report = ReconcileReport(entity)
    scanned = dict(source.scan())
    report.ifs_count = len(scanned)
    mapping = planner.mapping(entity)
    main = mapping.target(main_target)
    within = {name: (inside, mapping.target(name)) for name, inside in planner.within(entity).items()}
    keyed: dict[str, str] = {}  # key value folded -> as Dataverse spells it (a quote's revisions share one)
    keyed_ids: set[uuid.UUID] = set()
    for value, row_id in reader.keyed(main.entity_set, main.table, main.key) if main.key else ():
        keyed.setdefault(value.casefold(), value)
        keyed_ids.add(row_id)
    unkeyed = {key: uuid.UUID(value) for key, value in links.items() if uuid.UUID(value) not in keyed_ids}
    existing = set(reader.by_ids(main.entity_set, main.table, unkeyed.values())) if unkeyed else set()
    linked = {key for key, row_id in unkeyed.items() if row_id in existing}
    report.dataverse_count = len(set(keyed) | {key.casefold() for key in linked})
    in_scope = {key.casefold() for key in scanned}
    outside = {value for folded, value in keyed.items() if folded not in in_scope}
    outside |= {key for key in linked if key.casefold() not in in_scope}
    todo = sorted(scanned) + sorted(outside)
    done = 0
    for start in range(0, len(todo), chunk_size):
        chunk = todo[start : start + chunk_size]
        result = planner.plan(entity, [ChangedKey(key, scanned.get(key)) for key in chunk])
        # A record outside the poll's scope that IFS still has (a closed order) is in IFS, not gone.
        report.ifs_count += len({key for key in chunk if key not in scanned} & result.in_ifs)
        rows = _Rows(reader, result.plans, within)
        for item in result.planned:
            in_ifs = item.key in scanned or item.key in result.in_ifs
            _judge(report, item, result.plans.get(item.key), rows, in_ifs=in_ifs)
        done += len(chunk)
        if progress is not None:
            progress(done, len(todo))
    if requeue is not None:
        report.fixed = sorted(set(report.keys("missing in Dataverse")) | set(report.keys("differs")))
        if report.fixed:
            requeue(
                [ChangedKey(key, scanned.get(key)) for key in report.fixed],
                delay_seconds=0,
                body={"force": True, "reason": "reconcile"},
            )
    return report


def _differences(plan: RecordPlan, rows: _Rows, *, in_ifs: bool) -> list[Finding]:
    """Every difference between a record's plan and the Dataverse rows it writes."""
    key = plan.key
    found = [
        Finding(key, "differs", row.target.name, column, planned, actual, _label(plan, row))
        for row in plan.rows
        for column, planned, actual in compare_row(row, rows.current(plan, row))
    ]
    header = rows.current(plan, plan.main)
    if plan.transition and header is not None and not plan.main.delete:
        found += [
            Finding(key, "differs", plan.main.target.name, column, wanted, header.get(column))
            for column, wanted in plan.transition.items()
            if wanted is not None and not same(wanted, header.get(column))
        ]
    if in_ifs:
        for target, extra in rows.unplanned(plan):
            label = str(extra.get(target.key) or "") if target.key else ""
            found.append(Finding(key, "differs", target.name, ROW, "absent", "present", label))
    return found


def _label(plan: RecordPlan, row: TargetRow) -> str:
    """Which of the plan's rows of its target ``row`` is, when the plan has several (a line's key)."""
    if sum(1 for r in plan.rows if r.target.name == row.target.name) < 2:
        return ""
    key = row.key_value
    return str(key) if key is not None else str(row.record)


def _judge(
    report: ReconcileReport, item: Planned, plan: RecordPlan | None, rows: _Rows, *, in_ifs: bool
) -> None:
    """Add what one record's plan and its Dataverse rows say to the report."""
    key = item.key
    if item.action in ("park", "retry"):
        report.findings.append(Finding(key, "cannot be planned", ifs=item.detail))
        return
    if plan is None:  # not in IFS, never synced by the connector: a row someone else made
        report.findings.append(Finding(key, "missing in IFS", dataverse="a row the connector did not write"))
        return
    if in_ifs and rows.current(plan, plan.main) is None:
        report.findings.append(Finding(key, "missing in Dataverse", plan.main.target.name))
        return
    differences = _differences(plan, rows, in_ifs=in_ifs)
    if differences and not in_ifs:
        report.findings.append(Finding(key, "missing in IFS", plan.main.target.name, ifs=plan.note))
    report.findings += differences
    if not differences:
        if in_ifs:
            report.in_step += 1
        else:
            report.retired += 1
