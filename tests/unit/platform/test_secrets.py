"""Secret provider: name mapping, caching on an injectable clock, and errors that name the secret."""

from __future__ import annotations

import pytest

from shared.config import AppSettings, SecretsSettings
from shared.platform.secrets import (
    AppSettingsSource,
    SecretNotFoundError,
    SecretProvider,
    build_secret_provider,
    key_vault_secret_name,
)


class ManualClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("setting", "secret"),
    [
        ("IFS_CLIENT_SECRET", "ifs-client-secret"),
        ("ENTRA_CLIENT_SECRET", "entra-client-secret"),
        ("TokenEncryptionKey2", "tokenencryptionkey2"),
    ],
)
def test_app_setting_names_map_to_key_vault_names(setting: str, secret: str) -> None:
    """Lowercase, underscores become dashes."""
    assert key_vault_secret_name(setting) == secret


@pytest.mark.parametrize("setting", ["Values:Secret", "with.dot", "", "x" * 128])
def test_names_key_vault_cannot_hold_are_refused(setting: str) -> None:
    """A name that maps to characters Key Vault forbids (or is too long) is a clear error."""
    with pytest.raises(ValueError, match="cannot name a Key Vault secret"):
        key_vault_secret_name(setting)


def test_reads_app_settings() -> None:
    """Without a vault, a secret is the app setting of that name."""
    provider = SecretProvider(AppSettingsSource({"IFS_CLIENT_SECRET": "s3cret"}))
    assert provider.get("IFS_CLIENT_SECRET") == "s3cret"


@pytest.mark.parametrize("values", [{}, {"IFS_CLIENT_SECRET": ""}])
def test_missing_or_empty_secret_names_itself_and_the_source(values: dict[str, str]) -> None:
    """The error says which secret and where it was looked for."""
    provider = SecretProvider(AppSettingsSource(values))
    with pytest.raises(SecretNotFoundError) as caught:
        provider.get("IFS_CLIENT_SECRET")
    assert (
        str(caught.value) == "secret IFS_CLIENT_SECRET not found in app settings (setting IFS_CLIENT_SECRET)"
    )
    assert caught.value.name == "IFS_CLIENT_SECRET"


def test_values_are_reused_until_the_ttl_passes() -> None:
    """A changed value is seen only once the cached one is older than the TTL."""
    values = {"IFS_CLIENT_SECRET": "old"}
    clock = ManualClock()
    provider = SecretProvider(AppSettingsSource(values), ttl_seconds=300, clock=clock)
    assert provider.get("IFS_CLIENT_SECRET") == "old"
    values["IFS_CLIENT_SECRET"] = "new"
    clock.now = 299.0
    assert provider.get("IFS_CLIENT_SECRET") == "old"
    clock.now = 300.0
    assert provider.get("IFS_CLIENT_SECRET") == "new"


def test_invalidate_forces_a_fresh_read() -> None:
    """Invalidate drops the cached value at once."""
    values = {"A": "1"}
    provider = SecretProvider(AppSettingsSource(values), ttl_seconds=300, clock=ManualClock())
    assert provider.get("A") == "1"
    values["A"] = "2"
    provider.invalidate("A")
    assert provider.get("A") == "2"


def test_a_missing_secret_is_not_cached() -> None:
    """A secret added after a failed read is found on the next call."""
    values: dict[str, str] = {}
    provider = SecretProvider(AppSettingsSource(values), clock=ManualClock())
    with pytest.raises(SecretNotFoundError):
        provider.get("A")
    values["A"] = "now here"
    assert provider.get("A") == "now here"


def test_settings_without_vault_read_app_settings_with_the_configured_ttl() -> None:
    """build_secret_provider uses app settings and SECRET_CACHE_SECONDS when KEY_VAULT_URL is empty."""
    values = {"SECRET_CACHE_SECONDS": "10", "A": "1"}
    clock = ManualClock()
    provider = build_secret_provider(AppSettings(values).get(SecretsSettings), values, clock=clock)
    assert provider.get("A") == "1"
    values["A"] = "2"
    clock.now = 10.0
    assert provider.get("A") == "2"


def test_vault_without_credential_is_a_clear_error() -> None:
    """A vault URL with no credential to reach it is refused up front."""
    settings = AppSettings({"KEY_VAULT_URL": "https://v.vault.azure.net"}).get(SecretsSettings)
    with pytest.raises(ValueError, match="KEY_VAULT_URL is set, so reading secrets needs a credential"):
        build_secret_provider(settings, {})
