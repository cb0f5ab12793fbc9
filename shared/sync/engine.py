"""The sync engine: one message of changed keys in, the current IFS state written to Dataverse.

For the keys of one entity, in bulk: read the current records from IFS (the message is only a hint),
plan each through the flow and its mapping, resolve lookups (reference rows by a column, synced entities
through the id map — a dependency not in Dataverse yet is synced first, in the same run), compare each
plan's hash with the ledger and skip what is unchanged, write the rest target by target through the bulk
path, then record the ledger, the id map, the audit trail and the parked records.

Failures are sorted by what they mean (``shared.sync.failures``): a permanent one parks that record and
the rest go on; throttling hands the affected keys back to the queue after the service's Retry-After
(never counted as a failed try); any other transient failure is raised once the rest is recorded, so the
queue retries the message and finally moves it to poison. A record that another worker synced while this
one worked is synced again from the current state (``force``), so an older read never wins.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.records import AuditEntry, LedgerEntry, ParkedRecord, SyncMark
from shared.sync.failures import Failure, classify
from shared.sync.flow import Flow, Link, RecordError
from shared.sync.mapping.evaluate import MappingValueError
from shared.sync.mapping.load import MappingError, load_mapping
from shared.sync.mapping.model import EntityMapping, TargetMapping
from shared.sync.messages import ChangedKey
from shared.sync.plan import RecordPlan, TargetRow
from shared.sync.ports import (
    AuditLog,
    ChangeSource,
    IdLinks,
    Ledger,
    ParkingLot,
    RecordRef,
    Requeue,
    Target,
)

_log = logging.getLogger(__name__)
DIRECTION = "ifs->dataverse"
_LOOKUP_CACHE_SECONDS = 300.0
PENDING = "transition-pending:"  # the ledger hash of a record whose rows were written, not its state
# Outcomes of a record that was written (a plan may name its own: linked, deactivated, retired).
WRITTEN = frozenset({"created", "updated", "linked", "deactivated", "retired"})


class TransientSyncError(Exception):
    """Some records hit a transient failure (5xx, timeout, dropped connection): the message is retried."""

    transient = True


@dataclass(frozen=True)
class EntityBinding:
    """One entity as the engine runs it: its flow, where it reads, where its mapping and queue are."""

    flow: Flow
    source: ChangeSource
    mapping_path: Any  # pathlib.Path of the mapping file
    queue: str
    requeue: Requeue


@dataclass(frozen=True)
class Planned:
    """What a dry run would do with one record: create, link, update, deactivate, unchanged or park."""

    key: str
    action: str
    target_id: str | None = None
    detail: str | None = None  # the error class and message of a record that would be parked


@dataclass
class Report:
    """What one run of the engine did, per outcome (for the CLI, the demo, benchmarks and tests)."""

    entity: str
    outcomes: Counter[str] = field(default_factory=Counter)
    requeued: int = 0
    forced: int = 0
    failures: int = 0  # message tries that raised and were retried (by the host, or by a drain)
    planned: list[Planned] = field(default_factory=list)  # a dry run's plan, record by record

    def add(self, other: Report) -> None:
        """Fold another run's counts into this one."""
        self.outcomes.update(other.outcomes)
        self.requeued += other.requeued
        self.forced += other.forced
        self.failures += other.failures
        self.planned += other.planned

    @property
    def written(self) -> int:
        """Records written (created, updated, linked, deactivated, retired)."""
        return sum(count for outcome, count in self.outcomes.items() if outcome in WRITTEN)


@dataclass
class _Work:
    """The state of one record during a run."""

    key: str
    version: str | None
    plan: RecordPlan | None = None
    failure: Failure | None = None
    outcome: str | None = None  # created, updated, unchanged, parked, missing
    previous_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    digest: str | None = None  # the plan's hash, taken before writing (binds added later do not count)
    row_digests: dict[str, str] | None = None
    rows_written: bool = False  # every row went through (a failure came later, in the flow's transition)
    previous_rows: Mapping[str, str] | None = None  # the row digests of the last write, if known
    forced: bool = False  # written whatever the ledger says (repairing drift made by hand in Dataverse)


class SyncEngine:
    """Runs entity flows against the ports."""

    def __init__(
        self,
        *,
        entities: Mapping[str, EntityBinding],
        target: Target,
        ledger: Ledger,
        idmap: IdLinks,
        audit: AuditLog,
        parking: ParkingLot,
        clock: Callable[[], datetime],
    ) -> None:
        self._entities = dict(entities)
        self._target = target
        self._ledger = ledger
        self._idmap = idmap
        self._audit = audit
        self._parking = parking
        self._clock = clock
        self._mappings: dict[str, EntityMapping] = {}
        self._lookups: dict[tuple[str, str, Any], tuple[uuid.UUID, float]] = {}
        self._depth = 0

    # ---- mappings ------------------------------------------------------------------------------

    def mapping(self, entity: str) -> EntityMapping:
        """The entity's validated mapping (read once per process); MappingError when it is invalid."""
        found = self._mappings.get(entity)
        if found is None:
            binding = self._binding(entity)
            # A lookup may name any entity this engine syncs (its dependencies are synced on demand).
            schema = dataclasses.replace(binding.flow.schema, entities=frozenset(self._entities))
            found = load_mapping(binding.mapping_path, schema)
            self._mappings[entity] = found
        return found

    def check_mappings(self) -> dict[str, MappingError]:
        """Every entity whose mapping is invalid, with the error naming file, line and field."""
        problems: dict[str, MappingError] = {}
        for entity in self._entities:
            try:
                self.mapping(entity)
            except MappingError as exc:
                problems[entity] = exc
        return problems

    def _binding(self, entity: str) -> EntityBinding:
        binding = self._entities.get(entity)
        if binding is None:
            raise KeyError(f"no flow for entity {entity!r} (known: {', '.join(sorted(self._entities))})")
        return binding

    @property
    def entities(self) -> tuple[str, ...]:
        """The entities this engine runs."""
        return tuple(self._entities)

    def binding(self, entity: str) -> EntityBinding:
        """How ``entity`` is wired."""
        return self._binding(entity)

    # ---- one message ---------------------------------------------------------------------------

    def process(
        self,
        entity: str,
        keys: Sequence[ChangedKey],
        *,
        correlation_id: str,
        enqueued_at: datetime | None = None,
        force: bool = False,
        dry_run: bool = False,
    ) -> Report:
        """Sync the current state of ``keys``; see the module docstring for what happens to failures.

        With ``dry_run`` nothing is written anywhere (Dataverse, ledger, id map, audit, parking, queues):
        the report's ``planned`` says, record by record, what a real run would do.
        """
        binding = self._binding(entity)
        mapping = self.mapping(entity)
        report = Report(entity)
        started = self._clock()
        unique = {k.key: k for k in keys}
        work = {key: _Work(key, changed.version) for key, changed in unique.items()}
        read_at = self._clock()
        try:
            before = self._ledger.entries(entity, list(work))
            aggregates = binding.source.read(list(work))
        except Exception as exc:
            failure = classify(exc)
            if failure.kind == "throttled":
                self._requeue(binding, list(unique.values()), failure, correlation_id, report)
                return report
            raise
        links = self._links(entity, work, before)
        self._plan(binding.flow, mapping, work, aggregates, links)
        self._resolve(entity, mapping, work, correlation_id, dry_run=dry_run)
        self._prepare(binding.flow, mapping, work, dry_run=dry_run)
        marks = self._compare(work, before, read_at, force)
        if dry_run:
            return self._planned(report, work)
        self._hook(binding.flow.before_write, mapping, work)
        self._write(mapping, work, binding.flow)
        for item in work.values():
            item.rows_written = self._writing(item)
        self._hook(binding.flow.after_write, mapping, work)
        marks += self._written_marks(work, read_at)
        conflicts = self._ledger.record_synced(entity, marks, before) if marks else []
        self._link(entity, work)
        self._finish(binding, entity, work, report, correlation_id, enqueued_at or started)
        if conflicts:
            _log.info(
                "%d %s records were synced by another worker meanwhile: syncing again", len(conflicts), entity
            )
            binding.requeue(
                [ChangedKey(k, work[k].version) for k in conflicts],
                delay_seconds=0,
                body={"force": True, "reason": "concurrent sync"},
            )
            report.forced += len(conflicts)
        self._raise_or_requeue(binding, work, report, correlation_id)
        return report

    # ---- steps ---------------------------------------------------------------------------------

    def _links(
        self, entity: str, work: Mapping[str, _Work], before: Mapping[str, LedgerEntry]
    ) -> dict[str, Link]:
        mapped = self._idmap.target_ids(entity, list(work))
        links: dict[str, Link] = {}
        for key, item in work.items():
            # The id map wins: an order pushed from Dynamics is linked to its Dataverse row before IFS has it.
            known = mapped.get(key) or (before[key].target_id if key in before else None)
            item.previous_id = known
            links[key] = Link(uuid.UUID(known) if known else None)
        return links

    def _plan(
        self,
        flow: Flow,
        mapping: EntityMapping,
        work: Mapping[str, _Work],
        aggregates: Mapping[str, Any],
        links: Mapping[str, Link],
    ) -> None:
        for key, item in work.items():
            try:
                aggregate = aggregates.get(key)
                if aggregate is None:
                    item.plan = flow.plan_missing(key, mapping, links[key])
                    item.outcome = "missing" if item.plan is None else None
                    continue
                item.plan = flow.plan(key, item.version, aggregate, mapping, links[key])
                item.payload = {"source": _summary(aggregate)}
            except (MappingValueError, RecordError) as exc:
                item.failure = classify(exc)

    def _resolve(
        self,
        entity: str,
        mapping: EntityMapping,
        work: Mapping[str, _Work],
        correlation_id: str,
        *,
        dry_run: bool,
    ) -> None:
        """Turn every pending lookup into an ``@odata.bind``; a record whose lookup finds nothing parks."""
        pending = [
            (item, row) for item in work.values() if item.plan and not item.failure for row in item.plan.rows
        ]
        by_column: dict[tuple[str, str, str], set[Any]] = {}
        by_entity: dict[str, set[str]] = {}
        for _item, row in pending:
            for lookup in row.lookups:
                rule = lookup.rule.lookup
                assert rule is not None
                if rule.entity is not None:
                    by_entity.setdefault(rule.entity, set()).add(str(lookup.value))
                else:
                    assert rule.table is not None
                    assert rule.by is not None
                    by_column.setdefault((rule.entity_set, rule.table, rule.by), set()).add(lookup.value)
        column_ids = {spec: self._column_ids(*spec, values) for spec, values in by_column.items()}
        entity_ids = {  # a dry run syncs no dependency: what is missing is reported, not written
            name: self._entity_ids(name, keys, entity, correlation_id, sync_missing=not dry_run)
            for name, keys in by_entity.items()
        }
        for item, row in pending:
            if item.failure:
                continue
            for lookup in row.lookups:
                rule = lookup.rule.lookup
                assert rule is not None
                if rule.entity is not None:
                    found = entity_ids[rule.entity].get(str(lookup.value))
                    what = f"IFS {rule.entity} {lookup.value!r} is not in Dataverse and could not be synced"
                    error_class = "missing_dependency"
                else:
                    assert rule.table is not None
                    assert rule.by is not None
                    found = column_ids[(rule.entity_set, rule.table, rule.by)].get(lookup.value)
                    what = f"no {rule.table} with {rule.by} = {lookup.value!r} in Dataverse"
                    error_class = "missing_reference"
                if found is None:
                    item.failure = classify(RecordError(error_class, f"{lookup.rule.location}: {what}"))
                    break
                row.values[f"{rule.bind}@odata.bind"] = f"/{rule.entity_set}({found})"

    def _column_ids(
        self, entity_set: str, table: str, column: str, values: Iterable[Any]
    ) -> dict[Any, uuid.UUID]:
        """Ids of reference rows by a column's value; found ones are cached a while.

        Misses are never cached: a currency an administrator adds must be found by the very next replay.
        """
        now = time.monotonic()
        found: dict[Any, uuid.UUID] = {}
        missing = []
        for value in values:
            cached = self._lookups.get((table, column, value))
            if cached is not None and now - cached[1] < _LOOKUP_CACHE_SECONDS:
                found[value] = cached[0]
            else:
                missing.append(value)
        if missing:
            fetched = self._target.ids_by(entity_set, table, column, missing)
            for value, row_id in fetched.items():
                self._lookups[(table, column, value)] = (row_id, now)
                found[value] = row_id
        return found

    def _entity_ids(
        self, entity: str, keys: set[str], asking: str, correlation_id: str, *, sync_missing: bool
    ) -> dict[str, uuid.UUID]:
        linked = self._idmap.target_ids(entity, keys)
        missing = sorted(keys - set(linked))
        if missing and sync_missing and entity in self._entities and self._depth < 3:
            # Dependencies on demand: sync the records this batch points at, now, instead of parking.
            _log.info(
                "%s needs %d %s records not in Dataverse yet: syncing them first",
                asking,
                len(missing),
                entity,
            )
            self._depth += 1
            try:
                self.process(entity, [ChangedKey(k) for k in missing], correlation_id=correlation_id)
            except Exception as exc:
                _log.warning("syncing %s dependencies of %s failed: %s", entity, asking, exc)
            finally:
                self._depth -= 1
            linked = self._idmap.target_ids(entity, keys)
        return {key: uuid.UUID(value) for key, value in linked.items()}

    def _prepare(
        self, flow: Flow, mapping: EntityMapping, work: Mapping[str, _Work], *, dry_run: bool
    ) -> None:
        plans = [item.plan for item in work.values() if item.plan and not item.failure]
        for key, error in flow.prepare(plans, mapping, dry_run=dry_run).items():
            work[key].failure = classify(error)

    @staticmethod
    def _planned(report: Report, work: Mapping[str, _Work]) -> Report:
        """A dry run's report: per record, what a real run would do, and the counts of each action."""
        for key, item in work.items():
            target_id = item.previous_id
            if item.failure is not None:
                kind = "retry" if item.failure.kind != "permanent" else "park"
                planned = Planned(key, kind, target_id, f"{item.failure.error_class}: {item.failure.message}")
            elif item.plan is None:
                planned = Planned(key, "missing", target_id, "not in IFS and never synced: nothing to do")
            elif item.outcome == "unchanged":
                planned = Planned(key, "unchanged", target_id)
            else:
                action = {"linked": "link", "deactivated": "deactivate", "retired": "retire"}.get(
                    item.plan.outcome or "", "create" if item.previous_id is None else "update"
                )
                main_id = item.plan.main.id
                planned = Planned(key, action, str(main_id) if main_id else target_id, item.plan.note)
            report.planned.append(planned)
            report.outcomes[planned.action] += 1
        return report

    def _compare(
        self, work: Mapping[str, _Work], before: Mapping[str, LedgerEntry], read_at: datetime, force: bool
    ) -> list[SyncMark]:
        """Skip plans whose hash equals the ledger's; their marks still record the version and read time.

        Of a changed plan, rows whose digest equals the one the ledger kept from the last write are marked
        ``skip`` (unless ``force``): only the rows that changed are written. A row other rows point at is
        skipped only when its id is known.
        """
        marks = []
        for key, item in work.items():
            if item.plan is None or item.failure:
                continue
            entry = before.get(key)
            digests = item.plan.row_digests()
            item.digest, item.row_digests = item.plan.values_hash(digests), digests
            if not force and entry is not None and entry.values_hash == item.digest and entry.target_id:
                item.outcome = "unchanged"
                marks.append(
                    SyncMark(key, item.version or entry.version_seen, entry.target_id, item.digest, read_at)
                )
                continue
            item.previous_rows = None if entry is None else entry.row_digests
            item.forced = force
            if force or item.previous_rows is None:
                continue
            referenced = {
                name for row in item.plan.rows for name in (*row.refs.values(), *row.key_refs.values())
            }
            for row in item.plan.rows:
                unchanged = item.previous_rows.get(row.identity) == digests[row.identity]
                row.skip = unchanged and (row.id is not None or row.target.name not in referenced)
        return marks

    def _hook(
        self,
        hook: Callable[[Sequence[RecordPlan], EntityMapping], dict[str, Exception]],
        mapping: EntityMapping,
        work: Mapping[str, _Work],
    ) -> None:
        """Run a flow's step on the plans still to write; a failure is that record's."""
        plans = [item.plan for item in work.values() if self._writing(item) and item.plan is not None]
        if not plans:
            return
        for key, error in hook(plans, mapping).items():
            if work[key].failure is None:
                work[key].failure = classify(error)

    @staticmethod
    def _writing(item: _Work) -> bool:
        return item.plan is not None and item.failure is None and item.outcome is None

    def _write(self, mapping: EntityMapping, work: Mapping[str, _Work], flow: Flow) -> None:
        schemas = flow.schema.targets
        # Rows whose ids other rows need; of the rest only the main row's id is read back (the id map).
        referenced = {
            name
            for item in work.values()
            if item.plan is not None
            for row in item.plan.rows
            for name in (*row.refs.values(), *row.key_refs.values())
        }
        for target_name in schemas:
            target = mapping.target(target_name)
            batch: list[tuple[_Work, TargetRow]] = []
            deletes: list[tuple[_Work, RecordRef]] = []
            for item in work.values():
                if not self._writing(item):
                    continue
                assert item.plan is not None
                for row in item.plan.rows:
                    if row.target.name != target_name or row.skip:
                        continue
                    if row.delete:
                        deletes.append((item, row.record))
                    elif self._bind_refs(item, row):
                        batch.append((item, row))
                    else:
                        break
            self._delete(target.entity_set, deletes)
            self._upsert(target, batch, needs_ids=target_name in referenced)
            within = schemas[target_name].within
            if within is not None:
                self._reconcile(target, within.parent, within.parent_column, work)

    def _upsert(
        self, target: TargetMapping, batch: list[tuple[_Work, TargetRow]], *, needs_ids: bool
    ) -> None:
        """Write rows of one table through the bulk path; read back the ids the run still needs."""
        if not batch:
            return
        results = self._target.upsert(
            target.entity_set, target.table, [(row.record, row.values) for _, row in batch]
        )
        unknown: list[tuple[_Work, TargetRow]] = []
        for (item, row), result in zip(batch, results, strict=True):
            if not result.ok:
                if item.failure is None:
                    assert result.error is not None
                    item.failure = classify(result.error)
                continue
            row.id = row.id or result.id
            if row.id is None and (needs_ids or (item.plan is not None and row is item.plan.main)):
                unknown.append((item, row))
        self._fill_ids(target.entity_set, target.table, target.key, unknown)

    def _reconcile(
        self, target: TargetMapping, parent: str, parent_column: str, work: Mapping[str, _Work]
    ) -> None:
        """Remove the rows of ``target`` under each record's parent row that the record no longer plans.

        Dataverse is asked (one query for many parents) only for records whose set may hold such rows: one
        whose last write had rows the plan no longer has, one whose earlier rows are unknown to the ledger
        while its parent row existed before (an order linked through the id map), one written with
        ``force`` (a repair: a line added by hand in Dynamics goes too), or one the flow asks for
        (``plan.context["reconcile"]``, e.g. a revision whose copied lines Dataverse made).
        """
        planned: dict[uuid.UUID, tuple[_Work, set[str], set[uuid.UUID]]] = {}
        for item in work.values():
            if not self._writing(item) or item.plan is None:
                continue
            parent_row = item.plan.row(parent)
            if parent_row is None or parent_row.id is None or not self._needs_reconcile(item, target.name):
                continue
            rows = [r for r in item.plan.rows if r.target.name == target.name and not r.delete]
            keys = {str(r.key_value).casefold() for r in rows if r.key_value is not None}
            ids = {r.id for r in rows if r.id is not None} | {
                r.record for r in rows if isinstance(r.record, uuid.UUID)
            }
            planned[parent_row.id] = (item, keys, ids)
        if not planned:
            return
        pk, lookup = f"{target.table}id", f"_{parent_column}_value"
        select = [pk, lookup, *([target.key] if target.key else [])]
        try:
            existing = self._target.rows_by(target.entity_set, lookup, list(planned), select)
        except Exception as exc:
            failure = classify(exc)
            for item, _, _ in planned.values():
                item.failure = item.failure or failure
            return
        stale: list[tuple[_Work, RecordRef]] = []
        for row in existing:
            found = planned.get(uuid.UUID(str(row[lookup]))) if row.get(lookup) else None
            if found is None:
                continue
            item, keys, ids = found
            row_id = uuid.UUID(str(row[pk]))
            key_value = row.get(target.key) if target.key else None
            if row_id in ids or (key_value is not None and str(key_value).casefold() in keys):
                continue
            stale.append((item, row_id))
        self._delete(target.entity_set, stale)

    @staticmethod
    def _needs_reconcile(item: _Work, target_name: str) -> bool:
        assert item.plan is not None
        if item.plan.context.get("reconcile") or item.forced:
            return True
        if item.previous_rows is None:
            return item.previous_id is not None
        current = {row.identity for row in item.plan.rows if not row.delete}
        prefix = f"{target_name}|"
        return any(i.startswith(prefix) and i not in current for i in item.previous_rows)

    def _delete(self, entity_set: str, rows: list[tuple[_Work, RecordRef]]) -> None:
        """Delete rows by id, in bulk; a row already gone is fine, a failure is its record's."""
        if not rows:
            return
        ids = [record for _, record in rows if isinstance(record, uuid.UUID)]
        assert len(ids) == len(rows)  # only rows known by id are deleted
        results = self._target.delete_many(entity_set, ids)
        for (item, _), result in zip(rows, results, strict=True):
            if not result.ok and item.failure is None:
                assert result.error is not None
                item.failure = classify(result.error)

    def _bind_refs(self, item: _Work, row: TargetRow) -> bool:
        assert item.plan is not None
        for prop, other_name in row.key_refs.items():
            other = item.plan.row(other_name)
            if other is None or other.id is None or not isinstance(row.record, Mapping):
                item.failure = classify(
                    RecordError(
                        "missing_dependency", f"{row.target.name} needs the {other_name} row, which has no id"
                    )
                )
                return False
            row.record = {prop: other.id, **row.record}
        for bind, other_name in row.refs.items():
            other = item.plan.row(other_name)
            if other is None or other.id is None:
                item.failure = classify(
                    RecordError(
                        "missing_dependency", f"{row.target.name} needs the {other_name} row, which has no id"
                    )
                )
                return False
            row.values[f"{bind}@odata.bind"] = f"/{other.target.entity_set}({other.id})"
        return True

    def _fill_ids(
        self, entity_set: str, table: str, key: str | None, rows: list[tuple[_Work, TargetRow]]
    ) -> None:
        if not rows:
            return
        if key is None:
            for item, row in rows:
                item.failure = classify(TransientSyncError(f"{row.target.name} row written without an id"))
            return
        found = self._target.ids_by(entity_set, table, key, [row.key_value for _, row in rows])
        folded = {str(k).casefold(): v for k, v in found.items()}
        for item, row in rows:
            row.id = folded.get(str(row.key_value).casefold())
            if row.id is None and item.failure is None:
                item.failure = classify(
                    TransientSyncError(
                        f"{table} {key}={row.key_value!r} was written but cannot be read back yet"
                    )
                )

    def _written_marks(self, work: Mapping[str, _Work], read_at: datetime) -> list[SyncMark]:
        """The ledger marks of the records written.

        A record whose rows went through but whose transition failed is marked too, with a hash no plan
        has: the next run writes none of its rows again (their digests are kept), only the transition,
        which finds the state as the failed attempt left it.
        """
        marks = []
        for key, item in work.items():
            if item.plan is None or item.outcome is not None:
                continue
            if item.failure is not None:
                if item.rows_written and item.digest is not None:
                    target_id = str(item.plan.main.id) if item.plan.main.id else item.previous_id
                    pending = f"{PENDING}{item.digest}"
                    marks.append(SyncMark(key, None, target_id, pending, read_at, item.row_digests))
                continue
            main = item.plan.main
            target_id = str(main.id) if main.id else item.previous_id
            item.outcome = item.plan.outcome or ("created" if item.previous_id is None else "updated")
            assert item.digest is not None
            marks.append(SyncMark(key, item.version, target_id, item.digest, read_at, item.row_digests))
        return marks

    def _link(self, entity: str, work: Mapping[str, _Work]) -> None:
        links = {}
        for key, item in work.items():
            if item.plan is None or item.outcome not in WRITTEN:
                continue
            main_id = item.plan.main.id
            if main_id is not None and str(main_id) != item.previous_id:
                links[key] = str(main_id)
        self._idmap.link_many(entity, links)

    def _finish(  # noqa: PLR0917 - one call site, the run's pieces in order
        self,
        binding: EntityBinding,
        entity: str,
        work: Mapping[str, _Work],
        report: Report,
        correlation_id: str,
        since: datetime,
    ) -> None:
        now = self._clock()
        latency = round((now - since).total_seconds() * 1000, 1)
        parked_before = self._parking.open_keys(entity)
        entries = []
        for key, item in work.items():
            failure = item.failure
            if failure is not None and failure.kind == "permanent":
                item.outcome = "parked"
                self._parking.park(
                    ParkedRecord(
                        entity=entity,
                        source_key=key,
                        error_class=failure.error_class,
                        message=failure.message,
                        direction=DIRECTION,
                        queue=binding.queue,
                        payload={"key": key, "version": item.version, **item.payload},
                        correlation_id=correlation_id,
                    )
                )
            if item.outcome is None:
                continue  # transient or throttled: retried or requeued, audited when it goes through
            if item.outcome != "parked" and key in parked_before:
                self._parking.resolve(entity, key)  # the cause was fixed and the record went through
            report.outcomes[item.outcome] += 1
            target_id = str(item.plan.main.id) if item.plan and item.plan.main.id else item.previous_id
            entries.append(
                AuditEntry(
                    direction=DIRECTION,
                    entity=entity,
                    source_key=key,
                    outcome=item.outcome,
                    target_id=target_id,
                    error_class=failure.error_class if failure else None,
                    message=failure.message if failure else (item.plan.note if item.plan else "not in IFS"),
                    correlation_id=correlation_id,
                    latency_ms=latency,
                )
            )
        if entries:
            self._audit.record(entries)

    def _raise_or_requeue(
        self, binding: EntityBinding, work: Mapping[str, _Work], report: Report, correlation_id: str
    ) -> None:
        throttled = [i for i in work.values() if i.failure and i.failure.kind == "throttled"]
        transient = [i for i in work.values() if i.failure and i.failure.kind == "transient"]
        if throttled:
            longest = max(throttled, key=lambda i: i.failure.delay_seconds if i.failure else 0)
            assert longest.failure is not None
            self._requeue(
                binding,
                [ChangedKey(i.key, i.version) for i in throttled],
                longest.failure,
                correlation_id,
                report,
            )
        if transient:
            first = transient[0].failure
            assert first is not None
            raise TransientSyncError(
                f"{len(transient)} {report.entity} records hit a transient failure ({first.error_class}: "
                f"{first.message}); the message is retried"
            )

    def _requeue(
        self,
        binding: EntityBinding,
        keys: list[ChangedKey],
        failure: Failure,
        correlation_id: str,
        report: Report,
    ) -> None:
        _log.info(
            "%s throttled (%s); %d keys go back to the queue for %d s",
            binding.flow.entity,
            failure.message,
            len(keys),
            failure.delay_seconds,
        )
        binding.requeue(
            keys,
            delay_seconds=failure.delay_seconds,
            body={"reason": "throttled", "correlation": correlation_id},
        )
        report.requeued += len(keys)


def _summary(aggregate: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, int]:
    """How many source rows of each part a record had (parked payloads carry keys and counts, no data)."""
    return {part: len(rows) for part, rows in aggregate.items()}
