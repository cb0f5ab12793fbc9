"""The secret provider: named secrets from Key Vault when ``KEY_VAULT_URL`` is set, else from app settings.

Callers ask by app-setting name (``provider.get("IFS_CLIENT_SECRET")``), whichever the source. In Key
Vault the secret is stored under ``key_vault_secret_name(name)``: the name lowercased with ``_`` turned
into ``-`` (Key Vault allows only letters, digits and dashes), so ``IFS_CLIENT_SECRET`` is
``ifs-client-secret``. A missing (or empty) secret raises ``SecretNotFoundError`` naming the secret and
the source asked; other failures (no access, vault unreachable) propagate as the SDK raises them.

Values are reused for ``SECRET_CACHE_SECONDS`` (``ttl_seconds``) measured on an injectable clock, so a
rotated secret is picked up within that time without a restart, and a burst of calls costs one read.
Values are never logged.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceNotFoundError
from azure.keyvault.secrets import SecretClient

from shared.config import SecretsSettings

_KEY_VAULT_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def key_vault_secret_name(setting_name: str) -> str:
    """The Key Vault name of app setting ``setting_name`` (``IFS_CLIENT_SECRET``: ``ifs-client-secret``)."""
    candidate = setting_name.replace("_", "-").lower()
    if not _KEY_VAULT_NAME.fullmatch(candidate):
        raise ValueError(
            f"{setting_name!r} cannot name a Key Vault secret: after mapping it is {candidate!r}, "
            "but Key Vault allows only 1-127 letters, digits and dashes"
        )
    return candidate


class SecretNotFoundError(LookupError):
    """A secret is absent or empty in the source that was asked; the message names both."""

    def __init__(self, name: str, where: str) -> None:
        self.name = name
        self.where = where
        super().__init__(f"secret {name} not found in {where}")


class SecretSource(Protocol):
    """Where secret values are read from."""

    def describe(self, name: str) -> str:
        """Where ``name`` is looked up, for error messages."""
        ...

    def fetch(self, name: str) -> str | None:
        """The value of ``name``, or None when the source has no such secret."""
        ...


class AppSettingsSource:
    """Secrets from app settings (the environment / ``local.settings.json``), by setting name."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values

    def describe(self, name: str) -> str:
        """The app setting of that name."""
        return f"app settings (setting {name})"

    def fetch(self, name: str) -> str | None:
        """The setting's value, or None."""
        return self._values.get(name)


class KeyVaultSource:
    """Secrets from a Key Vault through ``SecretClient``, by mapped name (see ``key_vault_secret_name``)."""

    def __init__(self, client: SecretClient) -> None:
        self._client = client

    def describe(self, name: str) -> str:
        """The vault and the secret name asked for."""
        return f"Key Vault {self._client.vault_url} (as secret '{key_vault_secret_name(name)}')"

    def fetch(self, name: str) -> str | None:
        """The latest version's value, or None when the vault has no such secret."""
        try:
            return self._client.get_secret(key_vault_secret_name(name)).value
        except ResourceNotFoundError:
            return None


@dataclass(frozen=True)
class _Cached:
    value: str = field(repr=False)
    read_at: float


class SecretProvider:
    """Reads secrets from one source and reuses each value for ``ttl_seconds``; safe across threads."""

    def __init__(
        self, source: SecretSource, *, ttl_seconds: float = 300, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._source = source
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, _Cached] = {}

    def get(self, name: str) -> str:
        """The value of secret ``name`` (an app-setting name); SecretNotFoundError when absent or empty."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None and now - cached.read_at < self._ttl:
            return cached.value
        value = self._source.fetch(name)
        if not value:
            raise SecretNotFoundError(name, self._source.describe(name))
        with self._lock:
            self._cache[name] = _Cached(value, now)
        return value

    def invalidate(self, name: str | None = None) -> None:
        """Forget a cached value (all when ``name`` is None), e.g. after a 401 with a rotated secret."""
        with self._lock:
            if name is None:
                self._cache.clear()
            else:
                self._cache.pop(name, None)


def verifies_challenge_resource(vault_url: str) -> bool:
    """Whether the client must check the challenge's resource: always, except for a loopback vault."""
    return urlsplit(vault_url).hostname not in _LOOPBACK_HOSTS


def key_vault_client(
    vault_url: str, credential: TokenCredential, *, ca_bundle: str | None = None
) -> SecretClient:
    """A ``SecretClient`` for ``vault_url``; a loopback vault (the simulator) skips the challenge check.

    Key Vault's client checks that the vault host lies under the resource its 401 challenge names
    (vault.azure.net); a vault on 127.0.0.1 never can, so the check is relaxed for loopback hosts only.
    """
    options: dict[str, object] = {"verify_challenge_resource": verifies_challenge_resource(vault_url)}
    if ca_bundle:
        options["connection_verify"] = ca_bundle
    return SecretClient(vault_url, credential, **options)


def build_secret_provider(
    settings: SecretsSettings,
    app_settings: Mapping[str, str],
    credential: TokenCredential | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> SecretProvider:
    """The provider ``settings`` describe: Key Vault (needs ``credential``) if set, else app settings."""
    source: SecretSource
    if settings.vault_url:
        if credential is None:
            raise ValueError("KEY_VAULT_URL is set, so reading secrets needs a credential (build_credential)")
        source = KeyVaultSource(
            key_vault_client(settings.vault_url, credential, ca_bundle=settings.ca_bundle)
        )
    else:
        source = AppSettingsSource(app_settings)
    return SecretProvider(source, ttl_seconds=settings.cache_seconds, clock=clock)
