"""The composition root against every simulator: secrets from Key Vault, IFS tokens cached encrypted."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from shared import bootstrap
from shared.config import AppSettings, IfsSettings, TokenCacheSettings
from shared.state.tokens import EncryptedTokenCache
from simulators.common.tls import loopback_certificate
from simulators.stack import SimulatorStack, running_simulators


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorStack]:
    with running_simulators(loopback_certificate(tmp_path_factory.mktemp("tls")), ifs_size=30) as running:
        yield running


@pytest.fixture
def settings(stack: SimulatorStack, azurite_connection_string: str, unique_name: str) -> AppSettings:
    values = stack.app_settings() | {
        "AzureWebJobsStorage": azurite_connection_string,
        "STATE_TABLE_PREFIX": unique_name,
    }
    return AppSettings(values)


def test_no_secret_is_in_the_settings(settings: AppSettings) -> None:
    """IFS secret and token key are absent from app settings, yet every feature is complete."""
    assert "IFS_CLIENT_SECRET" not in settings.values
    assert "TOKEN_ENCRYPTION_KEY" not in settings.values
    assert settings.get(IfsSettings).client_secret is None
    assert settings.get(TokenCacheSettings).encryption_key is None
    assert {"ifs", "token_cache", "secrets", "storage"}.isdisjoint(settings.problems())


def test_ifs_client_with_vault_secret_and_encrypted_cache(
    stack: SimulatorStack, settings: AppSettings
) -> None:
    """The IFS client authenticates with the vault's secret; its token lands encrypted in Table Storage."""
    verify = ssl.create_default_context(cafile=str(stack.identity.tls.cert_path))
    with httpx.Client(verify=verify, timeout=30) as http:
        client = bootstrap.ifs_client(settings, http)
        entity = settings.get(IfsSettings).entities.customers
        customers = list(client.iter_rows(entity))
        assert len(customers) > 0
        # A second client (another invocation) reuses the cached token: the IAM realm is asked once.
        again = bootstrap.ifs_client(settings, http)
        assert len(list(again.iter_rows(entity))) == len(customers)
    issued = [r for r in stack.ifs.admin.log.entries() if r.path.endswith("/openid-connect/token")]
    assert len(issued) == 1
    tables = bootstrap.storage(settings).tables
    [row] = list(tables.table(EncryptedTokenCache.TABLE).list_entities())
    assert row["RowKey"].startswith("ifs:")
    assert "eyJ" not in row["Sealed"]


def test_dataverse_client_with_entra_credential(stack: SimulatorStack, settings: AppSettings) -> None:
    """The Dataverse client gets its token from the Entra simulator and is the application user."""
    verify = ssl.create_default_context(cafile=str(stack.identity.tls.cert_path))
    client = bootstrap.dataverse_client(settings, verify=verify)  # one per process: not closed here
    assert client.who_am_i().user_id is not None
