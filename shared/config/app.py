"""``AppSettings``: all app settings of one process, handed out validated per feature."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from shared.config.catalog import SETTINGS_BY_NAME
from shared.config.d365 import (
    D365OpportunitiesSettings,
    D365OrdersSettings,
    D365ProvisionSettings,
    D365WebhookSettings,
)
from shared.config.dataverse import DataverseSettings
from shared.config.ifs import IfsSettings
from shared.config.operations import OperationsSettings, OpsTimersSettings
from shared.config.platform import (
    DevhostSettings,
    EntraSettings,
    HeartbeatSettings,
    RetrySettings,
    SecretsSettings,
    StorageSettings,
    TelemetrySettings,
    TlsSettings,
    TokenCacheSettings,
)
from shared.config.reader import FeatureSettings, SettingsReader
from shared.config.setting import ConfigError
from shared.config.sync import ENTITY_SETTINGS, SyncSettings

FEATURES: tuple[type[FeatureSettings], ...] = (
    StorageSettings,
    TokenCacheSettings,
    HeartbeatSettings,
    TelemetrySettings,
    DevhostSettings,
    TlsSettings,
    SecretsSettings,
    RetrySettings,
    EntraSettings,
    DataverseSettings,
    IfsSettings,
    SyncSettings,
    *ENTITY_SETTINGS,
    D365WebhookSettings,
    D365OrdersSettings,
    D365OpportunitiesSettings,
    D365ProvisionSettings,
    OperationsSettings,
    OpsTimersSettings,
)
# Declared but not yet needed by any function, so /api/health does not report them.
DORMANT_FEATURES: tuple[type[FeatureSettings], ...] = ()
F = TypeVar("F", bound=FeatureSettings)


class AppSettings:
    """All app settings of one process; hands out validated settings per feature."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, local_settings: Path | None = None
    ) -> AppSettings:
        """Read the environment, under the ``Values`` of ``local.settings.json`` when one is given and exists.

        As with Core Tools, a variable already set in the environment wins over the file.
        """
        values: dict[str, str] = {}
        if local_settings is not None and local_settings.exists():
            values.update(read_local_settings(local_settings))
        values.update(os.environ if environ is None else environ)
        return cls(values)

    @property
    def values(self) -> Mapping[str, str]:
        """The raw app settings (for the secret provider's app-settings source)."""
        return MappingProxyType(self._values)

    def get(self, feature: type[F]) -> F:
        """The validated settings of ``feature``; raises ConfigError naming every bad key."""
        reader = SettingsReader(self._values, SETTINGS_BY_NAME)
        settings = feature.read(reader)
        if reader.problems:
            raise ConfigError(feature.FEATURE, reader.problems)
        return settings

    def problems(self) -> dict[str, list[str]]:
        """Problems per feature (features without problems are left out): what the health endpoint reports."""
        found: dict[str, list[str]] = {}
        for feature in FEATURES:
            reader = SettingsReader(self._values, SETTINGS_BY_NAME)
            feature.read(reader)
            if reader.problems:
                found[feature.FEATURE] = reader.problems
        return found


def read_local_settings(path: Path) -> dict[str, str]:
    """The ``Values`` of a Core Tools ``local.settings.json`` file, as strings."""
    document = json.loads(path.read_text(encoding="utf-8"))
    values = document.get("Values", {})
    if not isinstance(values, dict):
        raise ValueError(f"{path}: 'Values' must be an object")
    return {str(k): str(v) for k, v in values.items()}
