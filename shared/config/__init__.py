"""Typed settings read from app settings (the environment, or ``local.settings.json`` locally).

Every setting the connector reads is declared once in ``CATALOG`` with its feature, description and a
sample value; ``local.settings.sample.json`` lists the same settings and the README's settings table is
generated from the catalog (``shared.config.reference``; tests keep both in step). Settings are validated
per feature: asking for a feature's settings reports *every* missing or invalid key of that feature in one
``ConfigError``, while features that are fine keep working, and the health endpoint lists the problems of
all of them.

The package: ``setting`` (what a setting is), ``reader`` (validation that collects every problem),
one module per area declaring its settings and feature classes (``platform``, ``dataverse``, ``ifs``),
``catalog`` (all of them), ``app`` (``AppSettings``) and ``reference`` (the README's settings table).
Import from here.
"""

from __future__ import annotations

from shared.config.app import DORMANT_FEATURES, FEATURES, AppSettings, read_local_settings
from shared.config.catalog import CATALOG, SETTINGS_BY_NAME
from shared.config.d365 import (
    ORDER_STATES,
    D365OpportunitiesSettings,
    D365OrdersSettings,
    D365ProvisionSettings,
    D365WebhookSettings,
)
from shared.config.dataverse import DataverseSettings
from shared.config.ifs import IfsEntities, IfsSettings
from shared.config.operations import OperationsSettings, OpsTimersSettings
from shared.config.platform import (
    AZURE_INSTANCE_VARIABLE,
    ENTRA_CREDENTIALS,
    SAMPLE_KEY_IN_AZURE,
    DevhostSettings,
    EntraSettings,
    HeartbeatSettings,
    RetrySettings,
    SecretsSettings,
    StorageIdentity,
    StorageSettings,
    TelemetrySettings,
    TlsSettings,
    TokenCacheSettings,
    is_sample_key,
)
from shared.config.reader import FeatureSettings, SettingsReader, parse_key_bytes
from shared.config.setting import ConfigError, Setting
from shared.config.sync import (
    ENTITY_SETTINGS,
    CustomersSyncSettings,
    DocumentSyncSettings,
    EntitySyncSettings,
    OrdersSyncSettings,
    QuotationsSyncSettings,
    SalesPartsSyncSettings,
    SyncSettings,
)

__all__ = [
    "AZURE_INSTANCE_VARIABLE",
    "CATALOG",
    "DORMANT_FEATURES",
    "ENTITY_SETTINGS",
    "ENTRA_CREDENTIALS",
    "FEATURES",
    "ORDER_STATES",
    "SAMPLE_KEY_IN_AZURE",
    "SETTINGS_BY_NAME",
    "AppSettings",
    "ConfigError",
    "CustomersSyncSettings",
    "D365OpportunitiesSettings",
    "D365OrdersSettings",
    "D365ProvisionSettings",
    "D365WebhookSettings",
    "DataverseSettings",
    "DevhostSettings",
    "DocumentSyncSettings",
    "EntitySyncSettings",
    "EntraSettings",
    "FeatureSettings",
    "HeartbeatSettings",
    "IfsEntities",
    "IfsSettings",
    "OperationsSettings",
    "OpsTimersSettings",
    "OrdersSyncSettings",
    "QuotationsSyncSettings",
    "RetrySettings",
    "SalesPartsSyncSettings",
    "SecretsSettings",
    "Setting",
    "SettingsReader",
    "StorageIdentity",
    "StorageSettings",
    "SyncSettings",
    "TelemetrySettings",
    "TlsSettings",
    "TokenCacheSettings",
    "is_sample_key",
    "parse_key_bytes",
    "read_local_settings",
]
