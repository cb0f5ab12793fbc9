"""Which storage clients the settings build: endpoints and credential, checked without any request.

No token is ever asked for: a managed identity answers only inside Azure (169.254.169.254), which the
loopback guard refuses. Building ``ManagedIdentityCredential`` and the SDK clients sends nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from azure.core.credentials import AccessToken
from azure.identity import ManagedIdentityCredential

from shared import bootstrap
from shared.config import AppSettings, StorageSettings
from shared.state.queues import QueuePublisher
from shared.state.tables import StateTables

CLIENT = "8f5a2c4e-0000-4000-8000-000000000004"


class RecordingIdentity:
    """Stands in for ManagedIdentityCredential and records how it was built."""

    calls: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **kwargs: Any) -> None:
        RecordingIdentity.calls.append(kwargs)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise AssertionError("a unit test never asks for a managed identity token")


def identity_settings(account: str, **more: str) -> StorageSettings:
    values = {"AzureWebJobsStorage__accountName": account, "STATE_TABLE_PREFIX": "wiring"}
    return AppSettings(values | {f"AzureWebJobsStorage__{k}": v for k, v in more.items()}).get(
        StorageSettings
    )


@pytest.mark.parametrize(("client_id", "expected"), [("", None), (CLIENT, CLIENT)])
def test_the_managed_identity_is_user_assigned_when_a_client_id_is_set(
    client_id: str, expected: str | None
) -> None:
    """AzureWebJobsStorage__clientId becomes the identity's client_id; without it, the system identity."""
    RecordingIdentity.calls = []
    settings = (
        identity_settings("stwiring01", clientId=client_id) if client_id else identity_settings("stwiring02")
    )
    credential = bootstrap.storage_credential(settings, managed_identity=RecordingIdentity)
    assert isinstance(credential, RecordingIdentity)
    assert RecordingIdentity.calls == [{"client_id": expected}]


def test_a_connection_string_needs_no_credential() -> None:
    """Azurite locally: the connection string carries the key, no identity is built."""
    settings = AppSettings({"AzureWebJobsStorage": "UseDevelopmentStorage=true"}).get(StorageSettings)
    assert bootstrap.storage_credential(settings, managed_identity=RecordingIdentity) is None


def test_adapters_reach_the_account_endpoints_with_the_given_credential() -> None:
    """The table and queue adapters point at the account's endpoints and carry the credential they got."""
    settings = identity_settings("stwiring03")
    credential = RecordingIdentity()
    tables = StateTables.from_settings(settings, credential)
    publisher = QueuePublisher.from_settings(settings, credential)
    assert tables.service.url.rstrip("/") == "https://stwiring03.table.core.windows.net"
    assert publisher.service.url.rstrip("/") == "https://stwiring03.queue.core.windows.net"
    assert tables.service.credential is credential
    assert publisher.service.credential is credential


def test_adapters_refuse_an_identity_connection_without_a_credential() -> None:
    """An identity-based connection cannot be opened without the credential that goes with it."""
    with pytest.raises(ValueError, match="needs its endpoints and a credential"):
        StateTables.from_settings(identity_settings("stwiring04"))
    with pytest.raises(ValueError, match="needs its endpoints and a credential"):
        QueuePublisher.from_settings(identity_settings("stwiring04"))


def test_bootstrap_shares_one_managed_identity_between_tables_and_queues() -> None:
    """In Azure the clients get one ManagedIdentityCredential (user-assigned here), asking for no token."""
    config = AppSettings(
        {"AzureWebJobsStorage__accountName": "stwiring05", "AzureWebJobsStorage__clientId": CLIENT}
    ).get(StorageSettings)
    tables, publisher = bootstrap.storage_clients(config)
    credential = tables.service.credential
    assert isinstance(credential, ManagedIdentityCredential)
    assert publisher.service.credential is credential
    assert bootstrap.storage_credential(config) is credential  # one per identity, reused
    assert tables.service.url.rstrip("/") == "https://stwiring05.table.core.windows.net"
    assert publisher.service.url.rstrip("/") == "https://stwiring05.queue.core.windows.net"


def test_bootstrap_uses_the_connection_string_when_there_is_one() -> None:
    """Locally the same call opens Azurite by connection string, with its account key, not an identity."""
    config = AppSettings({"AzureWebJobsStorage": "UseDevelopmentStorage=true"}).get(StorageSettings)
    tables, publisher = bootstrap.storage_clients(config)
    assert not isinstance(tables.service.credential, ManagedIdentityCredential)
    assert tables.service.url.startswith("http://127.0.0.1:10002/devstoreaccount1")
    assert publisher.service.url.startswith("http://127.0.0.1:10001/devstoreaccount1")
