"""The IFS → Dynamics sync wired from app settings: engine, poller, sources, and an in-process queue runner.

The composition root of the sync (``shared.bootstrap`` builds the clients and storage it uses). The
functions use ``poll`` (timer) and the engine (queue worker); the command line also uses ``drain``, which
works an entity's queue in this process the way the Functions host would, for ``sync --once`` and
``backfill`` runs outside Azure. A paused entity (``shared.sync.pause``) is neither polled nor drained: its
position and its queued messages stay as they are until it is resumed.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

import httpx

from shared import bootstrap
from shared.bootstrap import StorageServices
from shared.config import (
    ENTITY_SETTINGS,
    AppSettings,
    DataverseSettings,
    DocumentSyncSettings,
    EntitySyncSettings,
    EntraSettings,
    FeatureSettings,
    IfsSettings,
    StorageSettings,
    SyncSettings,
)
from shared.dataverse.bulk import BulkUpserter
from shared.dataverse.client import DataverseClient
from shared.dataverse.keys import addressable
from shared.dataverse.target import DataverseTarget
from shared.ifs.client import IfsClient
from shared.ifs.entities import EntitySet
from shared.ifs.query import EnumValue, Filter, all_of, any_of, enum, eq, ge, ne
from shared.ifs.sources import AggregateSource, ChildSet, LinkedSet, Scope
from shared.state.clock import utc_now
from shared.state.idmap import IdMap
from shared.state.ledger import LedgerRepository
from shared.state.locks import PollLocks
from shared.state.pauses import PauseRepository
from shared.state.runs import RunLog
from shared.state.watermarks import WatermarkRepository
from shared.sync import customers, orders, products, quotes
from shared.sync.detection import Detection, Poller, PollResult
from shared.sync.engine import EntityBinding, Report, SyncEngine
from shared.sync.flow import Flow
from shared.sync.references import References
from shared.sync.registry import mapping_path
from shared.sync.worker import QueueRequeue, handle_message

Progress = Callable[[Report], None]
_log = logging.getLogger(__name__)

ResponseObserver = Callable[[str, httpx.Response], None]


@dataclass(frozen=True)
class RuntimeOptions:
    """What the composition root builds that app settings do not describe: write paths and observers.

    The defaults are what the function app runs. ``upsert_chunk_size`` rows go in one UpsertMultiple and
    ``upsert_batch_size`` requests in one ``$batch``; ``use_bulk=False`` leaves UpsertMultiple out and
    ``use_batch=False`` ``$batch`` too, so every row is one request (the baseline benchmarks compare with).
    ``on_response`` is called with ``"ifs"`` or ``"dataverse"`` and every HTTP response either client
    receives (retries and IFS token calls included; Entra's token calls go through azure-identity's own
    transport), in the thread that sent the request: benchmarks count requests and 429s with it.
    """

    upsert_chunk_size: int = 500
    upsert_batch_size: int = 100
    use_bulk: bool = True
    use_batch: bool = True
    on_response: ResponseObserver | None = None

    def hooks(self, system: str) -> dict[str, list[Callable[[httpx.Response], None]]]:
        """The httpx event hooks that report ``system``'s responses to ``on_response`` (none without one)."""
        observer = self.on_response
        if observer is None:
            return {}
        return {"response": [functools.partial(observer, system)]}


@dataclass(frozen=True)
class SyncRuntime:
    """The sync engine, the poller and what they need, built once per process from app settings."""

    engine: SyncEngine
    poller: Poller
    entities: Mapping[str, EntitySyncSettings]
    sources: Mapping[str, AggregateSource]
    storage: StorageServices
    dataverse: DataverseClient
    ifs: IfsClient
    watermarks: WatermarkRepository
    upserter: BulkUpserter  # the Dataverse write path (benchmarks switch its bulk paths off)

    def detection(self, entity: str) -> Detection:
        """How ``entity``'s changes are detected, from its settings."""
        config = self.entities[entity]
        return Detection(
            strategy="watermark" if config.detection == "watermark" else "etag-ledger",
            watermark_column=config.watermark_column or None,
            overlap=timedelta(seconds=config.overlap_seconds),
        )

    @property
    def pauses(self) -> PauseRepository:
        """Which entities are paused."""
        return PauseRepository(self.storage.tables)

    def poll(self, entity: str) -> PollResult:
        """Detect ``entity``'s changes in IFS and enqueue them (nothing while it is paused)."""
        self.engine.mapping(entity)  # a bad mapping disables its entity: raise before touching IFS
        detection = self.detection(entity)
        runs = RunLog(self.storage.tables)
        pause = self.pauses.get(entity)
        if pause is not None:
            result = PollResult(entity, detection.strategy, "")
            result.skipped = f"paused since {pause.paused_at.isoformat()}"
            _log.warning("poll of %s skipped: %s", entity, result.skipped)
            runs.record(entity, "poll", "skipped", result.skipped)
            return result
        try:
            result = self.poller.poll(entity, self.sources[entity], self.entities[entity].queue, detection)
        except Exception as exc:
            runs.record(entity, "poll", "failed", type(exc).__name__)
            raise
        if result.skipped:
            runs.record(entity, "poll", "skipped", result.skipped, result.correlation_id)
        else:
            detail = f"{result.scanned} scanned, {result.changed} changed, {result.left_scope} left the scope"
            runs.record(entity, "poll", "ok", detail, result.correlation_id)
        return result

    def drain(
        self, entity: str, *, timeout: float = 600.0, max_tries: int = 5, progress: Progress | None = None
    ) -> Report:
        """Work ``entity``'s queue in this process until it is empty, as the Functions host would.

        A message that fails is shown again after a second, up to ``max_tries`` times; then the error is
        raised (the host would move it to ``<queue>-poison``). Work handed back with a delay (throttling)
        is waited for. RuntimeError when the queue does not empty within ``timeout`` seconds. A paused
        entity's queue is left alone (its messages wait for the resume).
        """
        if self.pauses.get(entity) is not None:
            _log.warning("%s is paused: its queue is left for the resume", entity)
            return Report(entity)
        queue_name = self.entities[entity].queue
        queue = self.storage.publisher.queue(queue_name)
        total = Report(entity)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = list(queue.receive_messages(max_messages=32, visibility_timeout=300))
            if not messages:
                if queue.get_queue_properties().approximate_message_count == 0:
                    if total.outcomes:
                        summary = ", ".join(f"{k} {v}" for k, v in sorted(total.outcomes.items()))
                        ended = "parked" if total.outcomes.get("parked") else "ok"
                        RunLog(self.storage.tables).record(entity, "work", ended, summary)
                    return total
                time.sleep(0.25)  # work handed back with a delay (Retry-After) shows again later
                continue
            for message in messages:
                try:
                    outcome = handle_message(
                        self.engine,
                        entity,
                        str(message.content).encode(),
                        message_id=str(message.id),
                        parking=self.storage.parked,
                        queue=queue_name,
                    )
                except Exception:
                    if (message.dequeue_count or 0) >= max_tries:
                        raise
                    queue.update_message(message, visibility_timeout=1)
                    total.failures += 1
                    continue
                if isinstance(outcome, Report):
                    total.add(outcome)
                    if progress is not None:
                        progress(total)
                queue.delete_message(message)
        raise RuntimeError(f"{entity}: the queue {queue_name} did not empty within {timeout} s")


def sync_runtime(settings: AppSettings, options: RuntimeOptions | None = None) -> SyncRuntime:
    """The process's sync runtime for these settings (ConfigError naming every missing setting).

    One runtime per settings and ``options`` (the function app's defaults when None), built once.
    """
    needed: tuple[type[FeatureSettings], ...] = (
        SyncSettings,
        *ENTITY_SETTINGS,
        IfsSettings,
        DataverseSettings,
        EntraSettings,
        StorageSettings,
    )
    for feature in needed:
        settings.get(feature)  # fail with every problem of the first bad feature, before building anything
    return _sync_runtime(tuple(sorted(settings.values.items())), options or RuntimeOptions())


@functools.lru_cache(maxsize=2)
def _sync_runtime(values: tuple[tuple[str, str], ...], options: RuntimeOptions) -> SyncRuntime:
    settings = AppSettings(dict(values))
    sync = settings.get(SyncSettings)
    services = bootstrap.storage(settings)
    verify = bootstrap.tls_verify(settings)
    ifs_http = httpx.Client(verify=verify, timeout=120, event_hooks=options.hooks("ifs"))
    ifs = bootstrap.ifs_client(settings, ifs_http)
    dataverse = bootstrap.dataverse_client(settings, verify=verify, event_hooks=options.hooks("dataverse"))
    upserter = BulkUpserter(
        dataverse,
        chunk_size=options.upsert_chunk_size,
        batch_size=options.upsert_batch_size,
        use_bulk=options.use_bulk,
        use_batch=options.use_batch,
    )
    target = DataverseTarget(dataverse, upserter)
    ledger, idmap = LedgerRepository(services.tables), IdMap(services.tables)
    entities_config = settings.get(IfsSettings).entities
    configs = {cls.ENTITY: settings.get(cls) for cls in ENTITY_SETTINGS}

    def scope(entity: str, extra: Filter | None = None) -> Filter | None:
        text = configs[entity].scope
        base = Filter(f"({text})") if text else None
        if base is not None and extra is not None:
            return base & extra
        return base or extra

    def open_or_recent(entity: str, entity_set: EntitySet, enum_type: str) -> Scope:
        config = configs[entity]
        assert isinstance(config, DocumentSyncSettings)
        return document_scope(config, scope(entity), entity_set.projection, enum_type)

    sites = any_of(eq("Contract", site) for site in sync.sales_part_sites) if sync.sales_part_sites else None
    sources = {
        "customers": AggregateSource(
            ifs,
            entities_config.customers,
            part=customers.ROOT,
            scope=scope("customers"),
            children=[
                ChildSet(customers.ADDRESSES, entities_config.customer_addresses),
                *(
                    [ChildSet(customers.COMM_METHODS, entities_config.customer_comm_methods)]
                    if entities_config.customer_comm_methods is not None
                    else []
                ),
            ],
        ),
        "sales_parts": AggregateSource(
            ifs,
            entities_config.sales_parts,
            part=products.ROOT,
            group_by="CatalogNo",
            scope=scope("sales_parts", sites),
        ),
        "orders": AggregateSource(
            ifs,
            entities_config.orders,
            part=orders.ROOT,
            scope=open_or_recent("orders", entities_config.orders, "CustomerOrderState"),
            linked=[
                LinkedSet(orders.LINES, entities_config.order_lines, "OrderNo", "OrderNo"),
                LinkedSet(orders.CHARGES, entities_config.order_charges, "OrderNo", "OrderNo"),
            ],
            expand=orders.EXPAND,
        ),
        "quotations": AggregateSource(
            ifs,
            entities_config.quotations,
            part=quotes.ROOT,
            scope=open_or_recent("quotations", entities_config.quotations, "OrderQuotationState"),
            linked=[LinkedSet(quotes.LINES, entities_config.quotation_lines, "QuotationNo", "QuotationNo")],
        ),
    }
    references = References(target, idmap)
    flows: dict[str, Flow] = {
        "customers": customers.CustomersFlow(sync.company, addressable, target),
        "sales_parts": products.ProductsFlow(sync.sales_part_sites, addressable, references),
        "orders": orders.OrdersFlow(addressable, references, target),
        "quotations": quotes.QuotesFlow(addressable, references, target),
    }
    clock = utc_now
    bindings = {
        entity: EntityBinding(
            flow=flows[entity],
            source=sources[entity],
            mapping_path=mapping_path(sync.mappings_dir, entity),
            queue=configs[entity].queue,
            requeue=QueueRequeue(services.publisher, configs[entity].queue, entity, clock),
        )
        for entity in flows
    }
    engine = SyncEngine(
        entities=bindings,
        target=target,
        ledger=ledger,
        idmap=idmap,
        audit=services.audit,
        parking=services.parked,
        clock=clock,
    )
    watermarks = WatermarkRepository(services.tables)
    poller = Poller(
        ledger=ledger,
        watermarks=watermarks,
        locks=PollLocks(services.tables),
        publisher=services.publisher,
        clock=clock,
    )
    return SyncRuntime(engine, poller, configs, sources, services, dataverse, ifs, watermarks, upserter)


_QUALIFIED_STATE = re.compile(r"^(?P<type>IfsApp(?:\.[A-Za-z_]\w*)+)'(?P<id>[A-Za-z_]\w*)'$")


def document_scope(
    config: DocumentSyncSettings, base: Filter | None, projection: str, enum_type: str
) -> Scope:
    """What a poll of orders or quotations reads: not closed, or entered lately (and ``base``, if any).

    Evaluated at each poll, since "the last N days" moves. Closed states are enum identifiers of
    ``IfsApp.<projection>.<enum_type>``, or written qualified (``IfsApp.X.Y'Invoiced'``) where the tenant's
    enum type has another name.
    """
    if not config.closed_states:
        return base

    def literal(state: str) -> EnumValue:
        qualified = _QUALIFIED_STATE.match(state)
        if qualified:
            return EnumValue(qualified["type"], qualified["id"])
        return enum(projection, enum_type, state)

    def build() -> Filter:
        wanted = all_of(ne("Objstate", literal(state)) for state in config.closed_states)
        if config.recent_days:
            wanted |= ge("DateEntered", (utc_now() - timedelta(days=config.recent_days)).date())
        return wanted if base is None else base & wanted

    return build
