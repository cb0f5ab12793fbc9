"""Reconcile: compare an entity in IFS with Dataverse on its mapped columns; ``fix`` enqueues the differences.

The comparison does not restate the mapping: a ``Planner`` runs the engine's own dry run over every record
(read from IFS, planned through the flow and its mapping file, lookups and reference rows resolved, nothing
written) and keeps each record's plan — exactly the rows and values a sync would write. Each planned row is
then read back from Dataverse (by id, or by alternate key) and compared column by column. What a sync would
not write (columns Dynamics owns, columns the mapping does not name) is never compared.

The result, per entity:

- counts: records in IFS (in scope), rows in Dataverse (with a key value, or linked in the id map);
- **missing in Dataverse**: IFS records whose row does not exist;
- **missing in IFS**: Dataverse rows whose IFS record is gone and that are still active, or that the
  connector never wrote (a key value no IFS record has, and no link) — retired ones are in step;
- **differs**: records whose Dataverse rows differ from the plan, column by column (``ifs`` is the value the
  mapping gives, ``dataverse`` the value found); a missing price-list item counts here too;
- **cannot be planned**: records a sync would park (the reason is the error it would park with).

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
from shared.sync.mapping.load import MappingSchema
from shared.sync.mapping.model import EntityMapping
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

    def __init__(self, inner: Flow, plans: dict[str, RecordPlan]) -> None:
        self._inner = inner
        self._plans = plans

    @property
    def entity(self) -> str:
        return self._inner.entity

    @property
    def schema(self) -> MappingSchema:
        return self._inner.schema

    def plan(
        self, key: str, version: str | None, aggregate: Aggregate, mapping: EntityMapping, link: Link
    ) -> RecordPlan:
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
        nowhere = _Nowhere()
        bindings = {}
        for name in engine.entities:
            binding = engine.binding(name)
            plans = self._plans.setdefault(name, {})
            bindings[name] = EntityBinding(
                flow=_Capturing(binding.flow, plans),
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

    def plan(self, entity: str, keys: Sequence[ChangedKey]) -> tuple[list[Planned], dict[str, RecordPlan]]:
        """What a sync of ``keys`` would do (per record) and the rows it would write (per key)."""
        captured = self._plans[entity]
        captured.clear()
        report = self._engine.process(
            entity, keys, correlation_id=new_correlation_id(), dry_run=True, force=True
        )
        return report.planned, dict(captured)


@dataclass(frozen=True)
class Finding:
    """One thing reconcile found: a record missing on one side, a column that differs, or no plan."""

    key: str
    issue: str  # "missing in Dataverse", "missing in IFS", "differs", "cannot be planned"
    target: str = ""
    column: str = ""
    ifs: Any = None
    dataverse: Any = None

    def to_json(self) -> dict[str, Any]:
        """The finding as a JSON object."""
        return {
            "key": self.key,
            "issue": self.issue,
            "target": self.target,
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


def compare_row(row: TargetRow, current: Mapping[str, Any] | None) -> list[tuple[str, Any, Any]]:
    """(column, planned, found) for every difference between a planned row and its Dataverse row."""
    if row.delete:
        return [] if current is None else [(ROW, "removed", "present")]
    if current is None:
        return [(ROW, "present", "absent")]
    found: list[tuple[str, Any, Any]] = []
    for name, value in row.values.items():
        if name.endswith(BIND):
            column = name[: -len(BIND)]
            actual = current.get(f"_{column}_value")
            expected = _bound_id(value)
            if expected != (str(actual).lower() if actual is not None else None):
                found.append((column, expected, actual))
        elif "@" in name:
            continue  # other annotations are instructions, not values
        elif not same(value, current.get(name)):
            found.append((name, value, current.get(name)))
    return found


class _Rows:
    """The Dataverse rows of a chunk's plans, read in bulk: by id per table, by key per key column."""

    def __init__(self, reader: RowReader, plans: Mapping[str, RecordPlan]) -> None:
        ids: dict[tuple[str, str], set[uuid.UUID]] = {}
        keys: dict[tuple[str, str], set[str]] = {}
        for plan in plans.values():
            for row in plan.rows:
                target = row.target
                row_id = row.record if isinstance(row.record, uuid.UUID) else row.id
                if row_id is not None:
                    ids.setdefault((target.entity_set, target.table), set()).add(row_id)
                elif target.key is not None and isinstance(row.record, Mapping):
                    keys.setdefault((target.entity_set, target.key), set()).add(str(row.record[target.key]))
        self._by_id = {spec: reader.by_ids(spec[0], spec[1], wanted) for spec, wanted in ids.items()}
        self._by_key = {spec: reader.by_key(spec[0], spec[1], wanted) for spec, wanted in keys.items()}

    def current(self, row: TargetRow) -> Mapping[str, Any] | None:
        target = row.target
        row_id = row.record if isinstance(row.record, uuid.UUID) else row.id
        if row_id is not None:
            return self._by_id.get((target.entity_set, target.table), {}).get(row_id)
        if target.key is not None and isinstance(row.record, Mapping):
            wanted = str(row.record[target.key]).casefold()
            return self._by_key.get((target.entity_set, target.key), {}).get(wanted)
        return None


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
    main = planner.mapping(entity).target(main_target)
    keyed = dict(reader.keyed(main.entity_set, main.table, main.key)) if main.key else {}
    known = {row_id for row_id in keyed.values()}
    unkeyed = {key: uuid.UUID(value) for key, value in links.items() if uuid.UUID(value) not in known}
    existing = set(reader.by_ids(main.entity_set, main.table, unkeyed.values())) if unkeyed else set()
    report.dataverse_count = len(known | existing)
    in_ifs = {key.casefold() for key in scanned}
    gone = {value for value in keyed if value.casefold() not in in_ifs}
    gone |= {key for key, row_id in unkeyed.items() if row_id in existing and key.casefold() not in in_ifs}
    todo = sorted(scanned) + sorted(gone)
    done = 0
    for start in range(0, len(todo), chunk_size):
        chunk = todo[start : start + chunk_size]
        planned, plans = planner.plan(entity, [ChangedKey(key, scanned.get(key)) for key in chunk])
        rows = _Rows(reader, plans)
        for item in planned:
            _judge(report, item, plans.get(item.key), rows, in_ifs=item.key in scanned)
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
    if in_ifs and rows.current(plan.main) is None:
        report.findings.append(Finding(key, "missing in Dataverse", plan.main.target.name))
        return
    differences = [
        Finding(key, "differs", row.target.name, column, planned, found)
        for row in plan.rows
        for column, planned, found in compare_row(row, rows.current(row))
    ]
    if differences and not in_ifs:
        report.findings.append(Finding(key, "missing in IFS", plan.main.target.name, ifs=plan.note))
    report.findings += differences
    if not differences:
        if in_ifs:
            report.in_step += 1
        else:
            report.retired += 1
