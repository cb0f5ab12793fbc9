"""Settings of the identity features: Entra credential, TLS trust and the secret provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import AppSettings, ConfigError, EntraSettings, SecretsSettings, TlsSettings

TENANT = "8f5a2c4e-0000-4000-8000-000000000001"
CLIENT = "8f5a2c4e-0000-4000-8000-000000000002"


def problems(values: dict[str, str], feature: type[EntraSettings | SecretsSettings | TlsSettings]) -> str:
    with pytest.raises(ConfigError) as caught:
        AppSettings(values).get(feature)
    return str(caught.value)


def test_client_secret_is_the_default_and_needs_tenant_client_and_secret() -> None:
    """With nothing set, all three client-secret keys are named in one error."""
    message = problems({}, EntraSettings)
    for name in ("ENTRA_TENANT_ID", "ENTRA_CLIENT_ID", "ENTRA_CLIENT_SECRET"):
        assert f"{name} is missing (needed for ENTRA_CREDENTIAL=client_secret" in message


def test_complete_client_secret_settings() -> None:
    """Tenant, client and secret give settings for the public cloud with no CA file."""
    settings = AppSettings(
        {"ENTRA_TENANT_ID": TENANT, "ENTRA_CLIENT_ID": CLIENT, "ENTRA_CLIENT_SECRET": "s3cret"}
    ).get(EntraSettings)
    assert (settings.credential, settings.authority, settings.ca_bundle) == (
        "client_secret",
        "https://login.microsoftonline.com",
        None,
    )
    assert "s3cret" not in repr(settings)


def test_managed_identity_needs_nothing_else() -> None:
    """managed_identity works with no tenant, client or secret."""
    settings = AppSettings({"ENTRA_CREDENTIAL": "managed_identity"}).get(EntraSettings)
    assert settings.client_id == ""


def test_certificate_needs_an_existing_file(tmp_path: Path) -> None:
    """Certificate requires ENTRA_CLIENT_CERTIFICATE_PATH, and it must exist."""
    base = {"ENTRA_CREDENTIAL": "certificate", "ENTRA_TENANT_ID": TENANT, "ENTRA_CLIENT_ID": CLIENT}
    assert "ENTRA_CLIENT_CERTIFICATE_PATH is missing" in problems(base, EntraSettings)
    missing = str(tmp_path / "nope.pem")
    assert "ENTRA_CLIENT_CERTIFICATE_PATH is invalid: expected an existing file" in problems(
        {**base, "ENTRA_CLIENT_CERTIFICATE_PATH": missing}, EntraSettings
    )


def test_certificate_pem_may_come_from_the_setting_itself() -> None:
    """ENTRA_CLIENT_CERTIFICATE (a Key Vault reference in Azure) replaces the file path, and never shows."""
    pem = (
        "-----BEGIN PRIVATE KEY-----\nsecret-key\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nc\n"
    )
    base = {"ENTRA_CREDENTIAL": "certificate", "ENTRA_TENANT_ID": TENANT, "ENTRA_CLIENT_ID": CLIENT}
    settings = AppSettings({**base, "ENTRA_CLIENT_CERTIFICATE": pem}).get(EntraSettings)
    assert (settings.certificate_pem, settings.certificate_path) == (pem.strip(), "")
    assert "secret-key" not in repr(settings)


def test_certificate_pem_is_checked_without_being_echoed(tmp_path: Path) -> None:
    """Text that is not a PEM key and certificate is named, not shown; setting both forms is refused."""
    base = {"ENTRA_CREDENTIAL": "certificate", "ENTRA_TENANT_ID": TENANT, "ENTRA_CLIENT_ID": CLIENT}
    message = problems({**base, "ENTRA_CLIENT_CERTIFICATE": "hunter2"}, EntraSettings)
    assert (
        "ENTRA_CLIENT_CERTIFICATE is invalid: expected PEM text with a CERTIFICATE and a PRIVATE KEY"
        in message
    )
    assert "hunter2" not in message
    path = tmp_path / "client.pem"
    path.write_text("pem")
    both = {**base, "ENTRA_CLIENT_CERTIFICATE": "x", "ENTRA_CLIENT_CERTIFICATE_PATH": str(path)}
    assert "ENTRA_CLIENT_CERTIFICATE and ENTRA_CLIENT_CERTIFICATE_PATH are both set" in problems(
        both, EntraSettings
    )
    assert "unless ENTRA_CLIENT_CERTIFICATE holds the PEM" in problems(base, EntraSettings)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"ENTRA_CREDENTIAL": "password"}, "ENTRA_CREDENTIAL is invalid"),
        ({"ENTRA_CLIENT_ID": "not-a-guid"}, "ENTRA_CLIENT_ID is invalid: expected a GUID"),
        ({"ENTRA_TENANT_ID": "bad tenant!"}, "ENTRA_TENANT_ID is invalid"),
        ({"ENTRA_AUTHORITY": "http://127.0.0.1:1"}, "ENTRA_AUTHORITY is invalid"),
        ({"ENTRA_AUTHORITY": "https://login.microsoftonline.com/tenant"}, "expected scheme and host only"),
        ({"TLS_CA_BUNDLE": "/no/such/ca.pem"}, "TLS_CA_BUNDLE is invalid: expected an existing file"),
    ],
)
def test_invalid_entra_values_are_named(values: dict[str, str], reason: str) -> None:
    """Each bad value is reported by setting name."""
    assert reason in problems({"ENTRA_CREDENTIAL": "managed_identity", **values}, EntraSettings)


def test_tls_bundle_is_optional_and_checked(tmp_path: Path) -> None:
    """An empty TLS_CA_BUNDLE means the default trust; a set one must be a file."""
    assert AppSettings({}).get(TlsSettings).ca_bundle is None
    bundle = tmp_path / "ca.pem"
    bundle.write_text("pem")
    assert AppSettings({"TLS_CA_BUNDLE": str(bundle)}).get(TlsSettings).ca_bundle == str(bundle)


def test_secrets_default_to_app_settings_with_a_five_minute_cache() -> None:
    """No KEY_VAULT_URL: no vault; SECRET_CACHE_SECONDS defaults to 300."""
    settings = AppSettings({}).get(SecretsSettings)
    assert (settings.vault_url, settings.cache_seconds) == (None, 300)


def test_vault_url_must_be_https() -> None:
    """Key Vault is only reachable over HTTPS."""
    assert "KEY_VAULT_URL is invalid: expected an absolute https URL" in problems(
        {"KEY_VAULT_URL": "http://v.vault.azure.net"}, SecretsSettings
    )


def test_vault_url_loses_its_trailing_slash() -> None:
    """The vault URL is normalised."""
    settings = AppSettings({"KEY_VAULT_URL": "https://v.vault.azure.net/"}).get(SecretsSettings)
    assert settings.vault_url == "https://v.vault.azure.net"
