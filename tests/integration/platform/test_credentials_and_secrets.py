"""build_credential and the secret provider, configured by app settings, against the identity simulators."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError

from shared.config import AppSettings, EntraSettings, SecretsSettings
from shared.platform.credentials import build_credential, default_scope
from shared.platform.secrets import SecretNotFoundError, build_secret_provider
from simulators.common.clock import SimClock
from simulators.entra.certificates import generate_client_certificate
from simulators.entra.directory import ClientApp, service_principal_id
from simulators.entra.tokens import validate
from simulators.identity_stack import IdentityStack

RESOURCE = "http://127.0.0.1:9999"


def test_credential_from_settings_gets_a_token(stack: IdentityStack) -> None:
    """Settings naming the simulator authority and CA file give a working ClientSecretCredential."""
    credential = build_credential(stack.entra_settings())
    token = credential.get_token(default_scope(RESOURCE))
    claims = validate(token.token, RESOURCE, now=stack.clock.now(), tenant_id=stack.client.tenant_id)
    assert claims.object_id == service_principal_id(stack.client.tenant_id, stack.client.client_id)


def test_certificate_credential_from_settings_gets_a_token(stack: IdentityStack, tmp_path: Path) -> None:
    """ENTRA_CREDENTIAL=certificate with a PEM file works against an app holding that certificate."""
    certificate = generate_client_certificate()
    client_id = "5d0c7a11-0000-4000-8000-00000000cafe"
    stack.entra.register(
        ClientApp(stack.client.tenant_id, client_id, certificates=(certificate.certificate_pem,))
    )
    values = {
        **stack.app_settings(),
        "ENTRA_CREDENTIAL": "certificate",
        "ENTRA_CLIENT_ID": client_id,
        "ENTRA_CLIENT_CERTIFICATE_PATH": str(certificate.write(tmp_path / "client.pem")),
    }
    credential = build_credential(AppSettings(values).get(EntraSettings))
    claims = validate(credential.get_token(default_scope(RESOURCE)).token, RESOURCE, now=stack.clock.now())
    assert claims.app_id == client_id


def test_certificate_text_from_settings_gets_a_token(stack: IdentityStack) -> None:
    """ENTRA_CLIENT_CERTIFICATE holding the PEM (as a Key Vault reference resolves it) signs in, no file."""
    certificate = generate_client_certificate()
    client_id = "5d0c7a11-0000-4000-8000-00000000beef"
    stack.entra.register(
        ClientApp(stack.client.tenant_id, client_id, certificates=(certificate.certificate_pem,))
    )
    values = {
        **stack.app_settings(),
        "ENTRA_CREDENTIAL": "certificate",
        "ENTRA_CLIENT_ID": client_id,
        "ENTRA_CLIENT_CERTIFICATE": certificate.key_and_certificate_pem.decode("ascii"),
    }
    credential = build_credential(AppSettings(values).get(EntraSettings))
    claims = validate(credential.get_token(default_scope(RESOURCE)).token, RESOURCE, now=stack.clock.now())
    assert claims.app_id == client_id


def test_wrong_secret_in_settings_names_the_aadsts_error(stack: IdentityStack) -> None:
    """A wrong ENTRA_CLIENT_SECRET fails with Entra's own explanation."""
    values = {**stack.app_settings(), "ENTRA_CLIENT_SECRET": "not-it"}
    credential = build_credential(AppSettings(values).get(EntraSettings))
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215: Invalid client secret provided"):
        credential.get_token(default_scope(RESOURCE))


def test_provider_reads_the_vault_by_mapped_name(stack: IdentityStack) -> None:
    """With KEY_VAULT_URL set, IFS_CLIENT_SECRET is read from the vault secret ifs-client-secret."""
    stack.vault.set_secret("ifs-client-secret", "from-the-vault")
    provider = build_secret_provider(
        stack.secrets_settings(),
        {"IFS_CLIENT_SECRET": "from-app-settings"},
        build_credential(stack.entra_settings()),
    )
    assert provider.get("IFS_CLIENT_SECRET") == "from-the-vault"


def test_missing_vault_secret_names_the_secret_and_the_vault(stack: IdentityStack) -> None:
    """A secret the vault lacks is reported with its setting name, vault URL and Key Vault name."""
    provider = build_secret_provider(stack.secrets_settings(), {}, build_credential(stack.entra_settings()))
    with pytest.raises(SecretNotFoundError) as caught:
        provider.get("IFS_CLIENT_SECRET")
    assert str(caught.value) == (
        f"secret IFS_CLIENT_SECRET not found in Key Vault {stack.vault_url} (as secret 'ifs-client-secret')"
    )


def test_vault_reads_are_cached_for_the_configured_time(stack: IdentityStack) -> None:
    """Within SECRET_CACHE_SECONDS the vault is asked once; after it, a rotated value is picked up."""
    stack.vault.set_secret("ifs-client-secret", "v1")
    settings = AppSettings({**stack.app_settings(), "SECRET_CACHE_SECONDS": "60"}).get(SecretsSettings)
    clock = SimClock(0.0, frozen=True)
    provider = build_secret_provider(settings, {}, build_credential(stack.entra_settings()), clock=clock.now)
    assert provider.get("IFS_CLIENT_SECRET") == "v1"
    stack.vault.set_secret("ifs-client-secret", "v2")
    clock.advance(59)
    assert provider.get("IFS_CLIENT_SECRET") == "v1"
    reads = [r for r in stack.vault.admin.log.entries(method="GET") if r.status == 200]
    assert len(reads) == 1
    clock.advance(1)
    assert provider.get("IFS_CLIENT_SECRET") == "v2"
