"""Storage settings: a connection string (Azurite), or the identity-based form the Functions host reads."""

from __future__ import annotations

import pytest

from shared.config import AppSettings, ConfigError, StorageIdentity, StorageSettings

CLIENT = "8f5a2c4e-0000-4000-8000-000000000003"


def storage(values: dict[str, str]) -> StorageSettings:
    return AppSettings(values).get(StorageSettings)


def problems(values: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        storage(values)
    return str(caught.value)


def test_a_connection_string_needs_nothing_else() -> None:
    """With AzureWebJobsStorage set, there is no identity-based connection."""
    settings = storage({"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    assert (settings.connection_string, settings.identity) == ("UseDevelopmentStorage=true", None)


def test_an_account_name_gives_both_endpoints_and_the_system_identity() -> None:
    """AzureWebJobsStorage__accountName alone: public-cloud queue and table endpoints, no client id."""
    settings = storage({"AzureWebJobsStorage__accountName": "stconnector01"})
    assert settings.connection_string == ""
    assert settings.identity == StorageIdentity(
        "https://stconnector01.queue.core.windows.net", "https://stconnector01.table.core.windows.net", None
    )


def test_a_user_assigned_identity_is_named_by_client_id() -> None:
    """__credential=managedidentity (any case) with __clientId selects the user-assigned identity."""
    settings = storage(
        {
            "AzureWebJobsStorage__accountName": "stconnector01",
            "AzureWebJobsStorage__credential": "ManagedIdentity",
            "AzureWebJobsStorage__clientId": CLIENT,
        }
    )
    assert settings.identity is not None
    assert settings.identity.client_id == CLIENT


def test_explicit_service_uris_win_over_the_account_name() -> None:
    """Service URIs (other clouds, custom domains) are used as given, without a trailing slash."""
    settings = storage(
        {
            "AzureWebJobsStorage__accountName": "stconnector01",
            "AzureWebJobsStorage__queueServiceUri": "https://stconnector01.queue.core.usgovcloudapi.net/",
            "AzureWebJobsStorage__tableServiceUri": "https://stconnector01.table.core.usgovcloudapi.net/",
        }
    )
    assert settings.identity == StorageIdentity(
        "https://stconnector01.queue.core.usgovcloudapi.net",
        "https://stconnector01.table.core.usgovcloudapi.net",
        None,
    )


def test_service_uris_alone_are_enough() -> None:
    """Both service URIs without an account name make a complete identity-based connection."""
    settings = storage(
        {
            "AzureWebJobsStorage__queueServiceUri": "https://q.example.net",
            "AzureWebJobsStorage__tableServiceUri": "https://t.example.net",
        }
    )
    assert settings.identity == StorageIdentity("https://q.example.net", "https://t.example.net", None)


def test_neither_form_names_both_ways_to_connect() -> None:
    """Without a connection string or an account name, the error says what to set for each form."""
    message = problems({})
    assert "AzureWebJobsStorage is missing: set a connection string in AzureWebJobsStorage" in message
    assert "or AzureWebJobsStorage__accountName for an identity-based connection" in message


def test_one_service_uri_without_an_account_name_names_the_other() -> None:
    """A queue URI alone leaves the table endpoint unknown, and that is what the error names."""
    message = problems({"AzureWebJobsStorage__queueServiceUri": "https://q.example.net"})
    assert "AzureWebJobsStorage__tableServiceUri is missing" in message
    assert "AzureWebJobsStorage__queueServiceUri is missing" not in message


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"AzureWebJobsStorage__accountName": "Has_Upper"}, "AzureWebJobsStorage__accountName is invalid"),
        (
            {
                "AzureWebJobsStorage__accountName": "st01",
                "AzureWebJobsStorage__credential": "connectionstring",
            },
            "AzureWebJobsStorage__credential is invalid: expected managedidentity",
        ),
        (
            {"AzureWebJobsStorage__accountName": "st01", "AzureWebJobsStorage__clientId": "not-a-guid"},
            "AzureWebJobsStorage__clientId is invalid: expected a GUID",
        ),
        (
            {"AzureWebJobsStorage__accountName": "st01", "AzureWebJobsStorage__queueServiceUri": "http://q"},
            "AzureWebJobsStorage__queueServiceUri is invalid: expected an absolute https URL",
        ),
    ],
)
def test_bad_identity_settings_are_named(values: dict[str, str], reason: str) -> None:
    """Each bad identity-based setting is reported by name."""
    assert reason in problems(values)


def test_the_connection_string_wins_as_in_the_host() -> None:
    """With both forms set, the connection string is used and the identity settings are not even read."""
    settings = storage(
        {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "AzureWebJobsStorage__accountName": "Bad_Name"}
    )
    assert (settings.connection_string, settings.identity) == ("UseDevelopmentStorage=true", None)


def test_an_unresolved_key_vault_reference_is_not_taken_for_a_connection_string() -> None:
    """App Service leaves an unresolved reference in place; it is named, never used to connect."""
    ref = "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/storage/)"
    message = problems({"AzureWebJobsStorage": ref})
    assert "AzureWebJobsStorage is an unresolved Key Vault reference" in message
