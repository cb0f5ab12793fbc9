"""Composition root for the functions: build adapters from settings, once per process and account.

Function invocations reuse the clients (connection pools, created tables and queues, the credential's
token cache) across calls, as the Functions worker keeps the module loaded between invocations.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx
from azure.core.credentials import TokenCredential
from azure.identity import ManagedIdentityCredential

from shared.config import (
    AZURE_INSTANCE_VARIABLE,
    SAMPLE_KEY_IN_AZURE,
    AppSettings,
    ConfigError,
    DataverseSettings,
    EntraSettings,
    IfsSettings,
    SecretsSettings,
    StorageSettings,
    TlsSettings,
    TokenCacheSettings,
    is_sample_key,
    parse_key_bytes,
)
from shared.dataverse.client import DataverseClient
from shared.ifs.auth import IfsTokenProvider
from shared.ifs.client import IfsClient
from shared.platform.credentials import build_credential
from shared.platform.encryption import Cipher
from shared.platform.secrets import SecretProvider, build_secret_provider
from shared.state.audit import AuditTrail
from shared.state.parked import ParkedRecords
from shared.state.queues import QueuePublisher
from shared.state.tables import StateTables
from shared.state.tokens import EncryptedTokenCache


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


def dataverse_client(
    settings: AppSettings,
    *,
    verify: ssl.SSLContext | bool = True,
    event_hooks: Mapping[str, list[Callable[[httpx.Response], None]]] | None = None,
) -> DataverseClient:
    """The DataverseClient of the configured environment and identity: one per process (do not close it).

    Every invocation shares its connection pool, as the module promises for every adapter. ``event_hooks``
    (httpx's, e.g. a benchmark's request counter) give a client of their own.
    """
    hooks = tuple((name, tuple(functions)) for name, functions in sorted((event_hooks or {}).items()))
    return _dataverse_client(settings.get(DataverseSettings), settings.get(EntraSettings), verify, hooks)


@functools.lru_cache(maxsize=4)
def _dataverse_client(
    dataverse: DataverseSettings,
    entra: EntraSettings,
    verify: ssl.SSLContext | bool,
    hooks: tuple[tuple[str, tuple[Callable[[httpx.Response], None], ...]], ...] = (),
) -> DataverseClient:
    event_hooks = {name: list(functions) for name, functions in hooks}
    credential = _credential(entra)
    return DataverseClient.from_settings(dataverse, credential, verify=verify, event_hooks=event_hooks)


@functools.lru_cache(maxsize=4)
def _credential(entra: EntraSettings) -> TokenCredential:
    # One credential per identity: azure-identity caches its tokens inside the credential object.
    return build_credential(entra)


def tls_verify(settings: AppSettings) -> ssl.SSLContext | bool:
    """What HTTPS clients trust: the configured CA bundle (the simulators' certificate), else the default."""
    bundle = settings.get(TlsSettings).ca_bundle
    return ssl.create_default_context(cafile=bundle) if bundle else True
