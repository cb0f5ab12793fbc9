"""build_credential: which azure-identity credential the settings produce, and how it is pointed."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from azure.core.credentials import AccessToken
from azure.identity import CertificateCredential, ClientSecretCredential

from shared.config import AppSettings, EntraSettings
from shared.platform.credentials import build_credential, credential_options, default_scope
from simulators.entra.certificates import generate_client_certificate

TENANT = "8f5a2c4e-0000-4000-8000-000000000001"
CLIENT = "8f5a2c4e-0000-4000-8000-000000000002"


def entra(**values: str) -> EntraSettings:
    base = {"ENTRA_TENANT_ID": TENANT, "ENTRA_CLIENT_ID": CLIENT, "ENTRA_CLIENT_SECRET": "s"}
    return AppSettings({**base, **values}).get(EntraSettings)


class RecordingIdentity:
    """Stands in for ManagedIdentityCredential, whose probe would leave the loopback interface."""

    calls: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, **kwargs: Any) -> None:
        RecordingIdentity.calls.append(kwargs)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise AssertionError("a unit test never asks for a managed identity token")


def test_default_scope_of_a_resource() -> None:
    """A resource URL becomes its /.default scope, with or without a trailing slash."""
    assert default_scope("https://org.crm.dynamics.com/") == "https://org.crm.dynamics.com/.default"
    assert default_scope("http://127.0.0.1:9999") == "http://127.0.0.1:9999/.default"


def test_public_cloud_keeps_instance_discovery() -> None:
    """The default authority is the public cloud, with MSAL's instance discovery left on."""
    assert credential_options(entra()) == {"authority": "https://login.microsoftonline.com"}


@pytest.mark.parametrize("host", ["https://login.microsoftonline.us", "https://login.chinacloudapi.cn"])
def test_sovereign_clouds_keep_instance_discovery(host: str) -> None:
    """Azure's other clouds are known authorities too."""
    assert "disable_instance_discovery" not in credential_options(entra(ENTRA_AUTHORITY=host))


def test_any_other_authority_disables_discovery_and_uses_the_ca_file(tmp_path: Path) -> None:
    """A local authority turns discovery off; TLS_CA_BUNDLE becomes connection_verify."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    options = credential_options(entra(ENTRA_AUTHORITY="https://127.0.0.1:8443", TLS_CA_BUNDLE=str(bundle)))
    assert options == {
        "authority": "https://127.0.0.1:8443",
        "disable_instance_discovery": True,
        "connection_verify": str(bundle),
    }


def test_client_secret_settings_build_a_client_secret_credential() -> None:
    """ENTRA_CREDENTIAL=client_secret (the default) gives ClientSecretCredential."""
    assert isinstance(build_credential(entra()), ClientSecretCredential)


def test_certificate_settings_build_a_certificate_credential(tmp_path: Path) -> None:
    """ENTRA_CREDENTIAL=certificate loads the PEM into CertificateCredential."""
    pem = generate_client_certificate().write(tmp_path / "client.pem")
    settings = entra(ENTRA_CREDENTIAL="certificate", ENTRA_CLIENT_CERTIFICATE_PATH=str(pem))
    assert isinstance(build_credential(settings), CertificateCredential)


def test_certificate_text_builds_a_certificate_credential() -> None:
    """ENTRA_CLIENT_CERTIFICATE's PEM is loaded as certificate_data: no file on the instance."""
    pem = generate_client_certificate().key_and_certificate_pem.decode("ascii")
    settings = entra(ENTRA_CREDENTIAL="certificate", ENTRA_CLIENT_CERTIFICATE=pem)
    assert isinstance(build_credential(settings), CertificateCredential)


@pytest.mark.parametrize(("client_id", "expected"), [("", None), (CLIENT, CLIENT)])
def test_managed_identity_is_user_assigned_when_a_client_id_is_set(
    client_id: str, expected: str | None
) -> None:
    """managed_identity passes ENTRA_CLIENT_ID (or None, system-assigned) to the identity class."""
    RecordingIdentity.calls = []
    settings = AppSettings({"ENTRA_CREDENTIAL": "managed_identity", "ENTRA_CLIENT_ID": client_id}).get(
        EntraSettings
    )
    credential = build_credential(settings, managed_identity=RecordingIdentity)
    assert isinstance(credential, RecordingIdentity)
    assert RecordingIdentity.calls == [{"client_id": expected}]
