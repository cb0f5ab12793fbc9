"""Composition root for the functions: build adapters from settings, once per process and account.

Function invocations reuse the clients (connection pools, created tables and queues, the credential's
token cache) across calls, as the Functions worker keeps the module loaded between invocations.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

import httpx
from azure.core.credentials import TokenCredential
from azure.identity import ManagedIdentityCredential

from shared.config import (
    AZURE_INSTANCE_VARIABLE,
    ENTITY_SETTINGS,
    SAMPLE_KEY_IN_AZURE,
    AppSettings,
    ConfigError,
    DataverseSettings,
    EntitySyncSettings,
    EntraSettings,
    FeatureSettings,
    IfsSettings,
    SecretsSettings,
    StorageSettings,
    SyncSettings,
    TlsSettings,
    TokenCacheSettings,
    is_sample_key,
    parse_key_bytes,
)
from shared.dataverse.bulk import BulkUpserter
from shared.dataverse.client import DataverseClient
from shared.dataverse.keys import addressable
from shared.dataverse.target import DataverseTarget
from shared.ifs.auth import IfsTokenProvider
from shared.ifs.client import IfsClient
from shared.ifs.query import Filter, any_of, eq
from shared.ifs.sources import AggregateSource, ChildSet
from shared.platform.credentials import build_credential
from shared.platform.encryption import Cipher
from shared.platform.secrets import SecretProvider, build_secret_provider
from shared.state.audit import AuditTrail
from shared.state.clock import utc_now
from shared.state.idmap import IdMap
from shared.state.ledger import LedgerRepository
from shared.state.locks import PollLocks
from shared.state.parked import ParkedRecords
from shared.state.queues import QueuePublisher
from shared.state.tables import StateTables
from shared.state.tokens import EncryptedTokenCache
from shared.state.watermarks import WatermarkRepository
from shared.sync import customers, products
from shared.sync.detection import Detection, Poller, PollResult
from shared.sync.engine import EntityBinding, SyncEngine
from shared.sync.flow import Flow
from shared.sync.references import References
from shared.sync.registry import mapping_path
from shared.sync.worker import QueueRequeue


@dataclass(frozen=True)
class StorageServices:
    """The state repositories and the queue publisher of one storage account."""

    tables: StateTables
    publisher: QueuePublisher
    audit: AuditTrail
    parked: ParkedRecords


@functools.lru_cache(maxsize=8)
def _storage(config: StorageSettings) -> StorageServices:
    tables, publisher = storage_clients(config)
    return StorageServices(
        tables=tables, publisher=publisher, audit=AuditTrail(tables), parked=ParkedRecords(tables)
    )


def storage_clients(config: StorageSettings) -> tuple[StateTables, QueuePublisher]:
    """The state tables and the queue publisher of the account, sharing one credential; sends nothing.

    By connection string when there is one (Azurite locally), else through the identity-based endpoints
    with the managed identity (``storage_credential``).
    """
    credential = storage_credential(config)
    return StateTables.from_settings(config, credential), QueuePublisher.from_settings(config, credential)


def storage(settings: AppSettings) -> StorageServices:
    """Storage adapters for the account in ``settings`` (ConfigError if its settings are incomplete)."""
    return _storage(settings.get(StorageSettings))


def storage_credential(
    config: StorageSettings,
    *,
    managed_identity: Callable[..., TokenCredential] = ManagedIdentityCredential,
) -> TokenCredential | None:
    """The credential of an identity-based storage connection; None when a connection string is used.

    As the Functions host does for ``AzureWebJobsStorage__credential=managedidentity``: the managed
    identity, user-assigned when ``AzureWebJobsStorage__clientId`` is set. Building it asks for no token.
    """
    if config.connection_string or config.identity is None:
        return None
    return _managed_identity(config.identity.client_id, managed_identity)


@functools.lru_cache(maxsize=4)
def _managed_identity(
    client_id: str | None, managed_identity: Callable[..., TokenCredential]
) -> TokenCredential:
    # One credential per identity, shared by the table and queue clients: it caches the tokens.
    return managed_identity(client_id=client_id)


@functools.lru_cache(maxsize=4)
def _vault_provider(secrets: SecretsSettings, entra: EntraSettings) -> SecretProvider:
    return build_secret_provider(secrets, {}, _credential(entra))


def secret_provider(settings: AppSettings) -> SecretProvider:
    """Secrets from Key Vault (one cached provider per vault) when KEY_VAULT_URL is set, else app settings."""
    secrets = settings.get(SecretsSettings)
    if secrets.vault_url:
        return _vault_provider(secrets, settings.get(EntraSettings))
    return build_secret_provider(secrets, settings.values)


def token_cache(settings: AppSettings) -> EncryptedTokenCache:
    """The encrypted token cache, keyed from TOKEN_ENCRYPTION_KEY in app settings or in Key Vault."""
    key = settings.get(TokenCacheSettings).encryption_key
    if key is None:
        try:
            key = parse_key_bytes(secret_provider(settings).get("TOKEN_ENCRYPTION_KEY"), 32)
        except ValueError as exc:
            raise ConfigError(
                "token_cache", [f"TOKEN_ENCRYPTION_KEY from Key Vault is invalid: {exc}"]
            ) from exc
        if is_sample_key(key) and settings.values.get(AZURE_INSTANCE_VARIABLE):
            raise ConfigError("token_cache", [f"{SAMPLE_KEY_IN_AZURE} (read from Key Vault)"])
    return EncryptedTokenCache(storage(settings).tables, Cipher(key))


def ifs_client(settings: AppSettings, http: httpx.Client) -> IfsClient:
    """An IfsClient for the tenant: tokens in the encrypted cache, the secret from settings or vault."""
    ifs = settings.get(IfsSettings)
    provider = secret_provider(settings)
    tokens = IfsTokenProvider.from_settings(
        http, ifs, token_cache(settings), secret=lambda: provider.get("IFS_CLIENT_SECRET")
    )
    return IfsClient.from_settings(http, ifs, tokens)


def dataverse_client(settings: AppSettings, *, verify: ssl.SSLContext | bool = True) -> DataverseClient:
    """The DataverseClient of the configured environment and identity: one per process (do not close it).

    Every invocation shares its connection pool, as the module promises for every adapter.
    """
    return _dataverse_client(settings.get(DataverseSettings), settings.get(EntraSettings), verify)


@functools.lru_cache(maxsize=4)
def _dataverse_client(
    dataverse: DataverseSettings, entra: EntraSettings, verify: ssl.SSLContext | bool
) -> DataverseClient:
    return DataverseClient.from_settings(dataverse, _credential(entra), verify=verify)


@functools.lru_cache(maxsize=4)
def _credential(entra: EntraSettings) -> TokenCredential:
    # One credential per identity: azure-identity caches its tokens inside the credential object.
    return build_credential(entra)


# ---- the IFS → Dynamics sync ---------------------------------------------------------------------------


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

    def detection(self, entity: str) -> Detection:
        """How ``entity``'s changes are detected, from its settings."""
        config = self.entities[entity]
        return Detection(
            strategy="watermark" if config.detection == "watermark" else "etag-ledger",
            watermark_column=config.watermark_column or None,
            overlap=timedelta(seconds=config.overlap_seconds),
        )

    def poll(self, entity: str) -> PollResult:
        """Detect ``entity``'s changes in IFS and enqueue them."""
        self.engine.mapping(entity)  # a bad mapping disables its entity: raise before touching IFS
        return self.poller.poll(
            entity, self.sources[entity], self.entities[entity].queue, self.detection(entity)
        )


def tls_verify(settings: AppSettings) -> ssl.SSLContext | bool:
    """What HTTPS clients trust: the configured CA bundle (the simulators' certificate), else the default."""
    bundle = settings.get(TlsSettings).ca_bundle
    return ssl.create_default_context(cafile=bundle) if bundle else True


def sync_runtime(settings: AppSettings) -> SyncRuntime:
    """The process's sync runtime for these settings (ConfigError naming every missing setting)."""
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
    return _sync_runtime(tuple(sorted(settings.values.items())))


@functools.lru_cache(maxsize=2)
def _sync_runtime(values: tuple[tuple[str, str], ...]) -> SyncRuntime:
    settings = AppSettings(dict(values))
    sync = settings.get(SyncSettings)
    services = storage(settings)
    verify = tls_verify(settings)
    ifs = ifs_client(settings, httpx.Client(verify=verify, timeout=120))
    dataverse = dataverse_client(settings, verify=verify)
    target = DataverseTarget(dataverse, BulkUpserter(dataverse, chunk_size=500))
    ledger, idmap = LedgerRepository(services.tables), IdMap(services.tables)
    entities_config = settings.get(IfsSettings).entities
    configs = {cls.ENTITY: settings.get(cls) for cls in ENTITY_SETTINGS}

    def scope(entity: str, extra: Filter | None = None) -> Filter | None:
        text = configs[entity].scope
        base = Filter(f"({text})") if text else None
        if base is not None and extra is not None:
            return base & extra
        return base or extra

    sites = any_of(eq("Contract", site) for site in sync.sales_part_sites) if sync.sales_part_sites else None
    sources = {
        "customers": AggregateSource(
            ifs,
            entities_config.customers,
            part=customers.ROOT,
            scope=scope("customers"),
            children=[ChildSet(customers.ADDRESSES, entities_config.customer_addresses)],
        ),
        "sales_parts": AggregateSource(
            ifs,
            entities_config.sales_parts,
            part=products.ROOT,
            group_by="CatalogNo",
            scope=scope("sales_parts", sites),
        ),
    }
    flows: dict[str, Flow] = {
        "customers": customers.CustomersFlow(sync.company, addressable, target),
        "sales_parts": products.ProductsFlow(sync.sales_part_sites, addressable, References(target, idmap)),
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
    poller = Poller(
        ledger=ledger,
        watermarks=WatermarkRepository(services.tables),
        locks=PollLocks(services.tables),
        publisher=services.publisher,
        clock=clock,
    )
    return SyncRuntime(engine, poller, configs, sources, services, dataverse, ifs)
