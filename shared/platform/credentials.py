"""Entra ID credentials for the connector, built from its settings.

``build_credential(settings)`` returns an azure-identity ``TokenCredential`` -- the object the Dataverse
client and the Key Vault ``SecretClient`` ask for tokens (``get_token("<resource>/.default")``; use
``default_scope``). Which credential depends on ``ENTRA_CREDENTIAL``:

- ``client_secret``: ``ClientSecretCredential(tenant, client id, secret)``;
- ``certificate``: ``CertificateCredential(tenant, client id, certificate_path=<PEM with RSA key>)``, or
  ``certificate_data=`` the PEM itself when ``ENTRA_CLIENT_CERTIFICATE`` holds it (a Key Vault reference in
  Azure, where no file can be provisioned from the vault);
- ``managed_identity`` (in Azure only): ``ManagedIdentityCredential``, user-assigned when
  ``ENTRA_CLIENT_ID`` is set.

``ENTRA_AUTHORITY`` on a host other than the Azure clouds' (the local Entra simulator) sets
``disable_instance_discovery=True``: MSAL would otherwise ask login.microsoftonline.com which authorities
exist. ``TLS_CA_BUNDLE`` becomes the credential's ``connection_verify``, so the simulator's self-signed
certificate is trusted by this credential only, never process-wide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import TokenCredential
from azure.identity import (
    AzureAuthorityHosts,
    CertificateCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
)

from shared.config import EntraSettings

_AZURE_CLOUD_HOSTS = frozenset(
    {
        AzureAuthorityHosts.AZURE_PUBLIC_CLOUD,
        AzureAuthorityHosts.AZURE_CHINA,
        AzureAuthorityHosts.AZURE_GOVERNMENT,
    }
)


def default_scope(resource: str) -> str:
    """The client-credentials scope of a resource: ``https://org.crm.dynamics.com`` -> ``…/.default``."""
    return f"{resource.rstrip('/')}/.default"


def credential_options(settings: EntraSettings) -> dict[str, Any]:
    """Keyword arguments pointing an azure-identity credential at the configured authority and CA file."""
    options: dict[str, Any] = {"authority": settings.authority}
    if urlsplit(settings.authority).hostname not in _AZURE_CLOUD_HOSTS:
        options["disable_instance_discovery"] = True
    if settings.ca_bundle:
        options["connection_verify"] = settings.ca_bundle
    return options


def build_credential(
    settings: EntraSettings,
    *,
    managed_identity: Callable[..., TokenCredential] = ManagedIdentityCredential,
) -> TokenCredential:
    """The credential ``settings`` describe; ``managed_identity`` is the class used for that kind.

    Raises ValueError for an unknown ``settings.credential`` (``AppSettings.get`` rejects those first).
    """
    if settings.credential == "managed_identity":
        return managed_identity(client_id=settings.client_id or None)
    if settings.credential == "certificate":
        certificate: dict[str, Any] = (
            {"certificate_data": settings.certificate_pem.encode("ascii")}
            if settings.certificate_pem
            else {"certificate_path": settings.certificate_path}
        )
        return CertificateCredential(
            settings.tenant_id, settings.client_id, **certificate, **credential_options(settings)
        )
    if settings.credential == "client_secret":
        return ClientSecretCredential(
            settings.tenant_id, settings.client_id, settings.client_secret, **credential_options(settings)
        )
    raise ValueError(f"unknown ENTRA_CREDENTIAL {settings.credential!r}")
