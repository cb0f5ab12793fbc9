"""The composition root: the token cache keyed from app settings or from Key Vault."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from shared import bootstrap
from shared.config import SETTINGS_BY_NAME, AppSettings, ConfigError
from shared.platform.secrets import SecretNotFoundError
from shared.platform.tokens import AccessToken
from simulators.identity_stack import IdentityStack

KEY = base64.b64encode(bytes(range(32))).decode()
TOKEN = AccessToken("eyJ.cached", datetime(2030, 1, 1, tzinfo=UTC))


@pytest.fixture(autouse=True)
def fresh_secrets(stack: IdentityStack) -> None:
    """Each test sees the vault as it set it up, not values cached by the provider for a previous test."""
    bootstrap.secret_provider(AppSettings(stack.app_settings())).invalidate()


def storage_settings(connection: str, prefix: str) -> dict[str, str]:
    return {"AzureWebJobsStorage": connection, "STATE_TABLE_PREFIX": prefix}


def test_key_from_app_settings(azurite_connection_string: str, unique_name: str) -> None:
    """With TOKEN_ENCRYPTION_KEY set, the cache works without any vault."""
    settings = AppSettings(
        storage_settings(azurite_connection_string, unique_name) | {"TOKEN_ENCRYPTION_KEY": KEY}
    )
    cache = bootstrap.token_cache(settings)
    cache.put("ifs", TOKEN)
    assert cache.get("ifs") == TOKEN


def test_key_from_key_vault(stack: IdentityStack, azurite_connection_string: str, unique_name: str) -> None:
    """With KEY_VAULT_URL and no app setting, the key comes from the vault's token-encryption-key secret."""
    stack.vault.set_secret("token-encryption-key", KEY)
    values = storage_settings(azurite_connection_string, unique_name) | stack.app_settings()
    cache = bootstrap.token_cache(AppSettings(values))
    cache.put("ifs", TOKEN)
    # The same key through app settings reads what the vault-keyed cache wrote.
    assert bootstrap.token_cache(AppSettings(values | {"TOKEN_ENCRYPTION_KEY": KEY})).get("ifs") == TOKEN


def test_bad_key_in_key_vault_is_named(
    stack: IdentityStack, azurite_connection_string: str, unique_name: str
) -> None:
    """A vault value that is not 32 bytes of base64 is a configuration error naming the setting."""
    stack.vault.set_secret("token-encryption-key", "too-short")
    values = storage_settings(azurite_connection_string, unique_name) | stack.app_settings()
    with pytest.raises(ConfigError, match="TOKEN_ENCRYPTION_KEY from Key Vault is invalid"):
        bootstrap.token_cache(AppSettings(values))


def test_missing_key_in_key_vault_is_named(
    stack: IdentityStack, azurite_connection_string: str, unique_name: str
) -> None:
    """No secret in the vault: the error names the secret and the vault."""
    values = storage_settings(azurite_connection_string, unique_name) | stack.app_settings()
    with pytest.raises(SecretNotFoundError, match="TOKEN_ENCRYPTION_KEY"):
        bootstrap.token_cache(AppSettings(values))


def test_no_key_anywhere_is_a_configuration_problem() -> None:
    """Neither the key nor a vault: health reports the token cache as incomplete."""
    assert "TOKEN_ENCRYPTION_KEY is missing" in AppSettings({}).problems()["token_cache"][0]


def test_the_sample_key_is_refused_in_azure(
    stack: IdentityStack, azurite_connection_string: str, unique_name: str
) -> None:
    """WEBSITE_INSTANCE_ID set (in Azure): the published sample key is refused, from either source."""
    sample = SETTINGS_BY_NAME["TOKEN_ENCRYPTION_KEY"].sample
    azure = {"WEBSITE_INSTANCE_ID": "0f1e2d3c4b5a"}
    local = storage_settings(azurite_connection_string, unique_name) | {"TOKEN_ENCRYPTION_KEY": sample}
    assert bootstrap.token_cache(AppSettings(local)) is not None  # locally the sample is fine
    with pytest.raises(ConfigError, match="public sample key"):
        bootstrap.token_cache(AppSettings(local | azure))
    assert "public sample key" in AppSettings(local | azure).problems()["token_cache"][0]
    stack.vault.set_secret("token-encryption-key", sample)
    vaulted = storage_settings(azurite_connection_string, unique_name) | stack.app_settings() | azure
    with pytest.raises(ConfigError, match=r"public sample key .* \(read from Key Vault\)"):
        bootstrap.token_cache(AppSettings(vaulted))
    own_key = base64.b64encode(bytes(range(1, 33))).decode()
    assert bootstrap.token_cache(AppSettings(local | azure | {"TOKEN_ENCRYPTION_KEY": own_key})) is not None


def test_one_dataverse_client_per_process(stack: IdentityStack) -> None:
    """Asked twice for the same environment and identity, bootstrap hands out the same client (one pool)."""
    values = stack.app_settings() | {"DATAVERSE_URL": "https://127.0.0.1:9"}
    first = bootstrap.dataverse_client(AppSettings(values))
    assert bootstrap.dataverse_client(AppSettings(dict(values))) is first
    other = bootstrap.dataverse_client(AppSettings(values | {"DATAVERSE_PAGE_SIZE": "100"}))
    assert other is not first
