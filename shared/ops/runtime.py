"""``Operations``: the operator's view of the running connector, wired from app settings.

Built once per process over the sync runtime (``shared.runtime``), with the state repositories operations
need (pauses, run log, jobs, queue inspection, id map, ledger) and a read-only Dataverse reader.
The timers and queue workers of ``function_app.py`` call ``poll`` and ``work`` (which keep the run log and
the metrics), the admin HTTP functions and the command line call the rest.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared import bootstrap
from shared.config import AppSettings, OperationsSettings
from shared.dataverse.bulk import BulkUpserter
from shared.dataverse.reader import DataverseReader
from shared.dataverse.target import DataverseTarget
from shared.platform.metrics import SyncMetrics
from shared.records import AuditEntry, Job, PauseRecord
from shared.runtime import SyncRuntime, sync_runtime
from shared.state.clock import utc_now
from shared.state.dedupe import WebhookDedupe
from shared.state.idmap import IdMap
from shared.state.jobs import JobRepository
from shared.state.ledger import LedgerRepository
from shared.state.pauses import PauseRepository
from shared.state.queue_admin import QueueInspector
from shared.state.runs import RunLog
from shared.sync import backfill as backfill_service
from shared.sync import history as history_service
from shared.sync import pause as pause_service
from shared.sync import reconcile as reconcile_service
from shared.sync import replay as replay_service
from shared.sync import retention
from shared.sync.detection import PollResult
from shared.sync.engine import Report
from shared.sync.jobs import JobContext, JobRunner, SliceOver
from shared.sync.pause import ExpiringPosition, PauseHold, Resumed
from shared.sync.reconcile import Planner, ReconcileReport
from shared.sync.replay import ReplayReport, ReplayTarget
from shared.sync.status import EntityStatus, entity_status
from shared.sync.worker import QueueWorker

_log = logging.getLogger(__name__)
RECONCILE, BACKFILL = "reconcile", "backfill"
# The parameters each kind of job takes (anything else is refused when the job is submitted).
JOB_PARAMETERS = {
    RECONCILE: frozenset({"entity", "fix"}),
    BACKFILL: frozenset({"entity", "force", "since", "chunk"}),
}
JOB_FINDINGS_LIMIT = 500  # findings kept in a reconcile job's result (the counts are always whole)
# Positions that expire while an entity is paused (a Dataverse delta token), by entity; the Dynamics → IFS
# flows that poll change tracking declare theirs here.
EXPIRING_POSITIONS: dict[str, ExpiringPosition] = {}


@dataclass(frozen=True)
class Operations:
    """Everything an operator does, over the sync runtime."""

    runtime: SyncRuntime
    config: OperationsSettings
    pauses: PauseRepository
    runs: RunLog
    jobs: JobRepository
    queues: QueueInspector
    ledger: LedgerRepository
    idmap: IdMap
    reader: DataverseReader
    target: DataverseTarget
    metrics: SyncMetrics
    clock: Callable[[], datetime] = utc_now

    @property
    def entities(self) -> tuple[str, ...]:
        """The entities the engine runs."""
        return self.runtime.engine.entities

    def known(self, entity: str) -> str:
        """``entity`` when the engine runs it; ValueError naming the known ones otherwise."""
        if entity not in self.entities:
            raise ValueError(f"unknown entity {entity} (known: {', '.join(self.entities)})")
        return entity

    # ---- the timers and queue workers ----------------------------------------------------------------

    def poll(self, entity: str) -> PollResult:
        """The poll timer: detect and enqueue (nothing while paused; the run is recorded), then the gauges."""
        result = self.runtime.poll(entity)
        try:
            self.observe(entity)
        except Exception as exc:  # the gauges must never fail the poll
            _log.warning("status of %s for the metrics failed: %s", entity, type(exc).__name__)
        return result

    @functools.cached_property
    def worker(self) -> QueueWorker:
        """The queue worker: holds a paused entity's messages, records runs and metrics."""
        hold = PauseHold(self.pauses, self.runtime.storage.publisher, self.config.pause_hold_seconds)
        return QueueWorker(
            self.runtime.engine,
            parking=self.runtime.storage.parked,
            hold=hold,
            runs=self.runs,
            metrics=self.metrics,
        )

    def work(self, entity: str, text: bytes, *, message_id: str) -> None:
        """The queue worker of ``entity``: one message."""
        self.worker.handle(entity, self.runtime.entities[entity].queue, text, message_id=message_id)

    # ---- status ------------------------------------------------------------------------------------------

    def status(self, entities: Sequence[str] | None = None) -> list[EntityStatus]:
        """Where each entity stands."""
        return [self._status(self.known(e)) for e in entities or self.entities]

    def _status(self, entity: str) -> EntityStatus:
        config = self.runtime.entities[entity]
        return entity_status(
            entity,
            queue=config.queue,
            strategy=config.detection,
            watermark_column=config.watermark_column or None,
            ledger=self.ledger,
            watermarks=self.runtime.watermarks,
            runs=self.runs,
            pauses=self.pauses,
            queues=self.queues,
            parking=self.runtime.storage.parked,
            now=self.clock(),
        )

    def observe(self, entity: str) -> EntityStatus:
        """The entity's status, also set on the gauges (lag, queue depth, poison, parked)."""
        status = self._status(entity)
        self.metrics.gauges(entity, status.gauges())
        return status

    # ---- pause and resume ------------------------------------------------------------------------------

    def pause(self, entity: str, reason: str = "") -> PauseRecord:
        """Pause ``entity``: polls skipped, messages held, position kept."""
        return pause_service.pause(self.pauses, self.known(entity), reason)

    def resume(self, entity: str) -> Resumed:
        """Resume ``entity``; its next poll catches up from the kept position."""
        return pause_service.resume(
            self.pauses,
            self.known(entity),
            now=self.clock(),
            watermarks=self.runtime.watermarks,
            expiring=EXPIRING_POSITIONS.get(entity),
        )

    # ---- replay, audit ---------------------------------------------------------------------------------

    def replay_targets(self) -> dict[str, ReplayTarget]:
        """Each entity's queue and requeue, as replay sends work back."""
        engine = self.runtime.engine
        return {
            name: ReplayTarget(name, engine.binding(name).queue, engine.binding(name).requeue)
            for name in engine.entities
        }

    def replay(
        self,
        *,
        what: str = "all",
        entity: str | None = None,
        key: str | None = None,
        error_class: str | None = None,
        dry_run: bool = False,
    ) -> ReplayReport:
        """Send poison messages and parked records back to work."""
        return replay_service.replay(
            targets=self.replay_targets(),
            queues=self.queues,
            parking=self.runtime.storage.parked,
            publisher=self.runtime.storage.publisher,
            what=what,
            entity=entity,
            key=key,
            error_class=error_class,
            dry_run=dry_run,
        )

    def history(
        self, *, key: str | None = None, correlation_id: str | None = None, days: int = 30
    ) -> list[AuditEntry]:
        """The audit rows of one record (both directions) or of one correlation id, oldest first."""
        return history_service.history(
            self.runtime.storage.audit,
            self.idmap,
            self.entities,
            key=key,
            correlation_id=correlation_id,
            days=days,
        )

    # ---- reconcile, backfill, jobs -------------------------------------------------------------------

    def reconcile(
        self, entity: str, *, fix: bool = False, progress: Callable[[int, int], None] | None = None
    ) -> ReconcileReport:
        """Compare ``entity`` in IFS and Dataverse; with ``fix``, enqueue what is missing or differs."""
        engine = self.runtime.engine
        binding = engine.binding(self.known(entity))
        planner = Planner(engine, target=self.target, ledger=self.ledger, idmap=self.idmap, clock=self.clock)
        return reconcile_service.reconcile(
            entity,
            planner=planner,
            source=binding.source,
            main_target=next(iter(binding.flow.schema.targets)),
            reader=self.reader,
            links=self.idmap.links(entity),
            requeue=binding.requeue if fix else None,
            progress=progress,
        )

    @functools.cached_property
    def job_runner(self) -> JobRunner:
        """Runs queued reconcile and backfill jobs."""
        return JobRunner(
            self.jobs, {RECONCILE: self._reconcile_job, BACKFILL: self._backfill_job}, now=self.clock
        )

    def submit(self, kind: str, params: Mapping[str, Any]) -> Job:
        """Queue a reconcile or backfill job (ValueError for bad parameters)."""
        entity = params.get("entity")
        if not isinstance(entity, str):
            raise ValueError('give the entity: {"entity": "customers"}')
        self.known(entity)
        unknown = sorted(set(params) - JOB_PARAMETERS.get(kind, frozenset()))
        if unknown:
            raise ValueError(f"unknown parameter {', '.join(unknown)} for a {kind} job")
        # Refuse bad values now, with the reason, rather than in the timer.
        for flag in ("fix", "force"):
            if flag in params and not isinstance(params[flag], bool):
                raise ValueError(f"{flag} must be true or false, not {params[flag]!r}")
        chunk = params.get("chunk")
        if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
            raise ValueError(f"chunk must be a positive integer, not {chunk!r}")
        if params.get("since") is not None:
            backfill_service.parse_since(str(params["since"]))
        return self.job_runner.submit(kind, params)

    def run_jobs(self) -> list[Job]:
        """The jobs timer: run queued jobs for one slice."""
        return self.job_runner.run(self.config.job_slice_seconds)

    def _reconcile_job(self, context: JobContext) -> Mapping[str, Any]:
        report = self.reconcile(
            str(context.params["entity"]),
            fix=context.params.get("fix") is True,
            progress=context.progress,
        )
        return report.to_json(limit=JOB_FINDINGS_LIMIT)

    def _backfill_job(self, context: JobContext) -> Mapping[str, Any]:
        entity = str(context.params["entity"])
        since = context.params.get("since")
        earlier: Mapping[str, int] = dict((context.job.result or {}).get("outcomes", {}))

        def progress(report: Report, done: int, total: int) -> None:
            counts = _merged(earlier, report.outcomes)
            context.progress(done, total)
            if done >= total:
                return  # the last chunk: let the backfill finish (and clear its position) in this slice
            try:
                context.check()
            except SliceOver:
                context.progress(done, total, partial={"entity": entity, "outcomes": counts, "partial": True})
                raise

        report = backfill_service.backfill(
            self.runtime.engine,
            self.runtime.sources[entity],
            self.runtime.watermarks,
            entity,
            since=None if since is None else backfill_service.parse_since(str(since)),
            column=self.runtime.entities[entity].watermark_column or None,
            force=context.params.get("force") is True,
            chunk_size=int(context.params.get("chunk") or 500),
            progress=progress,
        )
        return {"entity": entity, "outcomes": _merged(earlier, report.outcomes), "requeued": report.requeued}


def purge_state(settings: AppSettings) -> retention.Purged:
    """The purge timer's work, from storage alone (it needs neither IFS nor Dataverse settings)."""
    config = settings.get(OperationsSettings)
    services = bootstrap.storage(settings)
    return retention.purge(
        audit=services.audit,
        jobs=JobRepository(services.tables),
        dedupe=WebhookDedupe(services.tables),
        now=utc_now(),
        keep_days=config.audit_retention_days,
    )


def _merged(first: Mapping[str, int], second: Mapping[str, int]) -> dict[str, int]:
    merged = dict(first)
    for name, count in second.items():
        merged[name] = merged.get(name, 0) + count
    return merged


def operations(settings: AppSettings) -> Operations:
    """The process's operations for these settings (ConfigError naming every missing setting)."""
    settings.get(OperationsSettings)
    sync_runtime(settings)  # validates the sync's features first, naming every problem
    return _operations(tuple(sorted(settings.values.items())))


@functools.lru_cache(maxsize=2)
def _operations(values: tuple[tuple[str, str], ...]) -> Operations:
    settings = AppSettings(dict(values))
    runtime = sync_runtime(settings)
    tables = runtime.storage.tables
    return Operations(
        runtime=runtime,
        config=settings.get(OperationsSettings),
        pauses=PauseRepository(tables),
        runs=RunLog(tables),
        jobs=JobRepository(tables),
        queues=QueueInspector(runtime.storage.publisher.service),
        ledger=LedgerRepository(tables),
        idmap=IdMap(tables),
        reader=DataverseReader(runtime.dataverse),
        target=DataverseTarget(runtime.dataverse, BulkUpserter(runtime.dataverse)),
        metrics=SyncMetrics(),
    )
