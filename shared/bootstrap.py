"""Composition root for the functions: build adapters from settings, once per process and account.

Function invocations reuse the clients (connection pools, created tables and queues, the credential's
token cache) across calls, as the Functions worker keeps the module loaded between invocations.
"""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass

import httpx
from azure.core.credentials import TokenCredential

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
def _storage(connection_string: str, prefix: str) -> StorageServices:
    tables = StateTables.from_connection_string(connection_string, prefix)
    return StorageServices(
        tables=tables,
        publisher=QueuePublisher.from_connection_string(connection_string),
        audit=AuditTrail(tables),
        parked=ParkedRecords(tables),
    )


def storage(settings: AppSettings) -> StorageServices:
    """Storage adapters for the account in ``settings`` (ConfigError if its settings are incomplete)."""
    config = settings.get(StorageSettings)
    return _storage(config.connection_string, config.table_prefix)


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
