"""The Dynamics → IFS direction wired from app settings.

The webhook's intake, the order and opportunity workers, the reconciliation and opportunity polls, and
provisioning.

The composition root of ``shared.sync.d365`` (``shared.bootstrap`` builds the clients and storage). The
webhook needs storage only (``webhook_intake``): it never calls Dataverse or IFS, which keeps it fast and
out of Dataverse's concurrency budget. Everything else is built once per process and settings by
``d365_runtime``. ``drain`` works one of its queues in this process as the Functions host would (for the
command line and tests).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from shared import bootstrap
from shared.bootstrap import StorageServices
from shared.config import (
    ENTITY_SETTINGS,
    AppSettings,
    D365OpportunitiesSettings,
    D365OrdersSettings,
    D365ProvisionSettings,
    D365WebhookSettings,
    DataverseSettings,
    EntraSettings,
    FeatureSettings,
    IfsSettings,
    StorageSettings,
    SyncSettings,
)
from shared.dataverse.client import DataverseClient
from shared.dataverse.provisioning import Provisioner
from shared.dataverse.sales import SalesData
from shared.dataverse.setup import DataverseSetup, auth_from_settings
from shared.ifs.client import IfsClient
from shared.runtime import sync_runtime
from shared.state.clock import utc_now
from shared.state.dedupe import WebhookDedupe
from shared.state.idmap import IdMap
from shared.state.leases import CreateLeaseRepository
from shared.state.ledger import LedgerRepository
from shared.state.subscriptions import SubscriptionRepository
from shared.state.watermarks import WatermarkRepository
from shared.sync.d365 import opportunities, orders
from shared.sync.d365.intake import WebhookIntake
from shared.sync.d365.mapping import load_inbound
from shared.sync.d365.opportunities import OpportunityPoller, OpportunityWorker
from shared.sync.d365.orders import IfsOrderEntities, OrderPush, OrderReader, OrderSettings
from shared.sync.d365.provisioning import DeprovisionReport, ProvisionReport, deprovision, provision
from shared.sync.d365.reconcile import OrderReconciler, ReconcileResult
from shared.sync.d365.requests import OrderRequests
from shared.sync.d365.worker import OrderWorker
from shared.sync.mapping.load import MappingError
from shared.sync.messages import ChangedKey
from shared.sync.provision import ColumnStatus, KeyStatus
from shared.sync.provision import provision as provision_mappings
from shared.sync.worker import QueueRequeue


def mapping_path(settings: SyncSettings, entity: str) -> Any:
    """Where ``entity``'s mapping file is (``SYNC_MAPPINGS_DIR`` or the shipped ones)."""
    return settings.mappings_dir / f"{entity}.toml"


def mapping_problems(settings: SyncSettings) -> dict[str, list[str]]:
    """Problems per Dynamics → IFS mapping file (valid ones are left out), for the health endpoint."""
    problems: dict[str, list[str]] = {}
    for schema in (orders.SCHEMA, opportunities.SCHEMA):
        try:
            load_inbound(mapping_path(settings, schema.entity), schema)
        except MappingError as exc:
            problems[schema.entity] = [str(p) for p in exc.problems]
    return problems


# ---- the webhook ------------------------------------------------------------------------------------


_INTAKES: dict[tuple[Any, ...], WebhookIntake] = {}


def webhook_intake(settings: AppSettings) -> WebhookIntake:
    """The webhook's intake for these settings, one per process (storage only; ConfigError when invalid)."""
    config = settings.get(D365WebhookSettings)
    send_states = settings.get(D365OrdersSettings).send_states
    identity = (config, send_states, settings.get(StorageSettings))
    found = _INTAKES.get(identity)
    if found is None:
        found = _INTAKES[identity] = _intake(config, send_states, bootstrap.storage(settings))
    return found


def _intake(
    config: D365WebhookSettings, send_states: frozenset[int], services: StorageServices
) -> WebhookIntake:
    return WebhookIntake(
        registrations=_CachedRegistrations(SubscriptionRepository(services.tables)),
        registration_name=config.name,
        marks=WebhookDedupe(services.tables),
        publisher=services.publisher,
        queue=config.queue,
        send_states=send_states,
        dedupe_ttl=timedelta(hours=config.dedupe_hours),
        clock=utc_now,
    )


class _CachedRegistrations:
    """The registration record, re-read at most once a minute (each webhook call would read it otherwise).

    Only a found record is kept: the first call after provisioning sees it at once.
    """

    TTL_SECONDS = 60.0

    def __init__(self, repository: SubscriptionRepository) -> None:
        self._repository = repository
        self._cache: dict[str, tuple[Any, float]] = {}

    def get(self, name: str) -> Any:
        hit = self._cache.get(name)
        if hit is not None and time.monotonic() - hit[1] < self.TTL_SECONDS:
            return hit[0]
        found = self._repository.get(name)
        if found is not None:
            self._cache[name] = (found, time.monotonic())
        return found

    def save(self, subscription: Any) -> Any:
        self._cache.pop(subscription.name, None)
        return self._repository.save(subscription)

    def delete(self, name: str) -> None:
        self._cache.pop(name, None)
        self._repository.delete(name)


def webhook_secret(settings: AppSettings) -> str:
    """The secret webhook calls must present: from app settings, else from Key Vault."""
    config = settings.get(D365WebhookSettings)
    return config.secret or bootstrap.secret_provider(settings).get("D365_WEBHOOK_SECRET")


# ---- the workers and polls --------------------------------------------------------------------------


@dataclass(frozen=True)
class D365Runtime:
    """The Dynamics → IFS direction's services, built once per process from app settings."""

    storage: StorageServices
    dataverse: DataverseClient
    ifs: IfsClient
    orders: OrderWorker
    reconciler: OrderReconciler
    opportunity_poller: OpportunityPoller
    opportunity_worker: OpportunityWorker
    orders_queue: str
    opportunities_queue: str
    marks: WebhookDedupe

    def reconcile(self) -> ReconcileResult:
        """The reconciliation poll, then the webhook's expired dedupe marks deleted (they only grow else)."""
        result = self.reconciler.poll()
        self.marks.purge_expired()
        return result

    def drain(self, queue: str, *, timeout: float = 120.0, max_tries: int = 5) -> int:
        """Work ``queue`` in this process until it is empty, as the host would; messages handled.

        A failing message is shown again after a second, up to ``max_tries`` times, then raised (the host
        would move it to poison). Work handed back with a delay is waited for.
        """
        handle: Callable[[bytes, str], Any] = (
            (lambda text, mid: self.orders.handle(text, message_id=mid))
            if queue == self.orders_queue
            else (lambda text, mid: self.opportunity_worker.handle(text, message_id=mid))
        )
        client = self.storage.publisher.queue(queue)
        handled = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = list(client.receive_messages(max_messages=16, visibility_timeout=300))
            if not messages:
                if client.get_queue_properties().approximate_message_count == 0:
                    return handled
                time.sleep(0.25)
                continue
            for message in messages:
                try:
                    handle(str(message.content).encode(), str(message.id))
                except Exception:
                    if (message.dequeue_count or 0) >= max_tries:
                        raise
                    client.update_message(message, visibility_timeout=1)
                    continue
                client.delete_message(message)
                handled += 1
        raise RuntimeError(f"the queue {queue} did not empty within {timeout} s")


@dataclass(frozen=True)
class OrderPorts:
    """The adapters an order worker runs on (tests wrap some of them to inject faults)."""

    ifs: Any  # IfsOperations
    sales: Any  # DynamicsSales
    idmap: Any  # IdMapping
    leases: Any  # CreateLeases
    audit: Any  # AuditLog


def order_worker(settings: AppSettings, ports: OrderPorts, services: StorageServices) -> OrderWorker:
    """The order worker for these settings on these ports (the composition root's own wiring)."""
    config = settings.get(D365OrdersSettings)
    ifs_settings = settings.get(IfsSettings)
    mapping = load_inbound(mapping_path(settings.get(SyncSettings), orders.ENTITY), orders.SCHEMA)
    entities = ifs_settings.entities
    push = OrderPush(
        ifs=ports.ifs,
        sales=ports.sales,
        leases=ports.leases,
        idmap=ports.idmap,
        entities=IfsOrderEntities(
            entities.orders, entities.order_lines, entities.order_lines_navigation, entities.quotations
        ),
        settings=OrderSettings(
            number_column=config.ifs_number_column,
            quotation_order_action=config.quotation_order_action,
            quotation_won_action=config.quotation_won_action,
            pending_seconds=ifs_settings.create_pending_seconds,
        ),
        mapping=mapping,
        clock=utc_now,
    )
    requests = OrderRequests(
        ports.ifs,
        entities.orders,
        fulfil_action=config.fulfil_action,
        fulfil_states=config.fulfil_states,
        cancel_action=config.cancel_action,
    )
    return OrderWorker(
        reader=OrderReader(ports.sales, ports.idmap, mapping, config.ifs_number_column),
        push=push,
        requests=requests,
        sales=ports.sales,
        send_states=config.send_states,
        publisher=services.publisher,
        queue=config.queue,
        audit=ports.audit,
        parking=services.parked,
        clock=utc_now,
        restore=_restore(settings, services),
    )


_NEEDED: tuple[type[FeatureSettings], ...] = (
    D365OrdersSettings,
    D365OpportunitiesSettings,
    SyncSettings,
    IfsSettings,
    DataverseSettings,
    EntraSettings,
    StorageSettings,
)


def d365_runtime(settings: AppSettings) -> D365Runtime:
    """The process's Dynamics → IFS runtime for these settings (ConfigError, MappingError when invalid)."""
    for feature in _NEEDED:
        settings.get(feature)
    return _runtime(tuple(sorted(settings.values.items())))


def _restore(settings: AppSettings, services: StorageServices) -> Callable[[str], None] | None:
    """What puts IFS's state back on a Dynamics order after IFS refused a request; None without the flow.

    When the IFS → Dynamics orders flow runs here, its order is enqueued there, forced.
    """
    flow = next((cls for cls in ENTITY_SETTINGS if cls.ENTITY == "orders"), None)
    if flow is None:
        return None
    requeue = QueueRequeue(services.publisher, settings.get(flow).queue, "orders", utc_now)

    def restore(order_no: str) -> None:
        requeue(
            [ChangedKey(order_no)], delay_seconds=0, body={"force": True, "reason": "request refused by IFS"}
        )

    return restore


@functools.lru_cache(maxsize=2)
def _runtime(values: tuple[tuple[str, str], ...]) -> D365Runtime:
    settings = AppSettings(dict(values))
    services = bootstrap.storage(settings)
    verify = bootstrap.tls_verify(settings)
    ifs_settings = settings.get(IfsSettings)
    ifs = bootstrap.ifs_client(settings, httpx.Client(verify=verify, timeout=120))
    dataverse = bootstrap.dataverse_client(settings, verify=verify)
    sales = SalesData(dataverse)
    config = settings.get(D365OrdersSettings)
    chances = settings.get(D365OpportunitiesSettings)
    sync = settings.get(SyncSettings)
    chance_mapping = load_inbound(mapping_path(sync, opportunities.ENTITY), opportunities.SCHEMA)
    idmap, leases = IdMap(services.tables), CreateLeaseRepository(services.tables)
    ledger, watermarks = LedgerRepository(services.tables), WatermarkRepository(services.tables)
    entities = ifs_settings.entities
    worker = order_worker(
        settings,
        OrderPorts(ifs=ifs, sales=sales, idmap=idmap, leases=leases, audit=services.audit),
        services,
    )
    registrations = SubscriptionRepository(services.tables)
    webhook_name = settings.values.get("D365_WEBHOOK_NAME") or "ifs-connector"
    reconciler = OrderReconciler(
        sales=sales,
        idmap=idmap,
        parking=services.parked,
        registrations=registrations,
        registration_name=webhook_name,
        publisher=services.publisher,
        queue=config.queue,
        number_column=config.ifs_number_column,
        send_states=config.send_states,
        lookback=timedelta(hours=config.reconcile_lookback_hours),
        clock=utc_now,
    )
    poller = OpportunityPoller(
        feed=sales,
        watermarks=watermarks,
        ledger=ledger,
        publisher=services.publisher,
        queue=chances.queue,
        clock=utc_now,
    )
    opportunity_worker = OpportunityWorker(
        sales=sales,
        ifs=ifs,
        entity=entities.potential_orders,
        leases=leases,
        idmap=idmap,
        ledger=ledger,
        mapping=chance_mapping,
        audit=services.audit,
        parking=services.parked,
        publisher=services.publisher,
        queue=chances.queue,
        clock=utc_now,
        pending_seconds=ifs_settings.create_pending_seconds,
    )
    return D365Runtime(
        storage=services,
        dataverse=dataverse,
        ifs=ifs,
        orders=worker,
        reconciler=reconciler,
        opportunity_poller=poller,
        opportunity_worker=opportunity_worker,
        orders_queue=config.queue,
        opportunities_queue=chances.queue,
        marks=WebhookDedupe(services.tables),
    )


# ---- provisioning -------------------------------------------------------------------------------------


def setup_for(
    settings: AppSettings, client: DataverseClient, *, sleep: Callable[[float], object] = time.sleep
) -> DataverseSetup:
    """The provisioning port for these settings, with the webhook authentication bound."""
    config = settings.get(D365WebhookSettings)
    auth = auth_from_settings(config.auth, config.header, webhook_secret(settings))
    return DataverseSetup(client, Provisioner(client, sleep=sleep), auth)


def provision_d365(
    settings: AppSettings,
    client: DataverseClient,
    *,
    notify: Callable[[str], None],
    url: str | None = None,
    sleep: Callable[[float], object] = time.sleep,
) -> ProvisionReport:
    """Provision the Dynamics → IFS direction (the command and the admin function both call this)."""
    webhook = settings.get(D365WebhookSettings)
    target = url or settings.get(D365ProvisionSettings).webhook_url
    if not target:
        raise ValueError(
            "the webhook's public URL is unknown: set D365_WEBHOOK_URL (outside Azure) or pass --webhook-url"
        )
    services = bootstrap.storage(settings)
    return provision(
        setup_for(settings, client, sleep=sleep),
        SubscriptionRepository(services.tables),
        name=webhook.name,
        url=target,
        number_column=settings.get(D365OrdersSettings).ifs_number_column,
        notify=notify,
    )


@dataclass(frozen=True)
class Provisioned:
    """Everything provisioning did: the alternate keys of the IFS → Dynamics mappings, then the rest."""

    columns: list[ColumnStatus]
    keys: list[KeyStatus]
    report: ProvisionReport

    def to_json(self) -> dict[str, Any]:
        """For the admin function's answer and ``--json``."""
        keys = [
            {"table": k.table, "key": k.schema_name, "columns": ",".join(k.columns), "status": k.status}
            for k in self.keys
        ]
        columns = [
            {"table": c.table, "column": c.column, "max_length": c.max_length, "created": c.created}
            for c in self.columns
        ]
        return {"columns": columns, "keys": keys, **dataclasses.asdict(self.report)}


def provision_all(
    settings: AppSettings,
    client: DataverseClient,
    *,
    notify: Callable[[str], None],
    url: str | None = None,
    timeout: float = 900.0,
    poll: float = 5.0,
    sleep: Callable[[float], object] = time.sleep,
) -> Provisioned:
    """What ``python -m shared.cli provision`` and ``POST /api/manage/provision`` both do."""
    engine = sync_runtime(settings).engine
    columns, keys = provision_mappings(
        [engine.mapping(entity) for entity in engine.entities],
        Provisioner(client, sleep=sleep),
        timeout=timeout,
        poll=poll,
    )
    report = provision_d365(settings, client, notify=notify, url=url, sleep=sleep)
    return Provisioned(columns, keys, report)


def deprovision_d365(settings: AppSettings, client: DataverseClient) -> DeprovisionReport:
    """Remove exactly what ``provision_d365`` registered."""
    webhook = settings.get(D365WebhookSettings)
    services = bootstrap.storage(settings)
    return deprovision(
        setup_for(settings, client), SubscriptionRepository(services.tables), name=webhook.name
    )


def queues(settings: AppSettings) -> Mapping[str, str]:
    """The Dynamics → IFS queues by role."""
    return {
        "orders": settings.get(D365OrdersSettings).queue,
        "opportunities": settings.get(D365OpportunitiesSettings).queue,
    }
