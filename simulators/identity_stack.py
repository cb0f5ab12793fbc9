"""Entra and Key Vault simulators served together over HTTPS, and settings pointing the connector at them.

For tests and the demo of anything that needs tokens or secrets (the Dataverse client, the secret
provider)::

    with running_identity_stack(loopback_certificate(tmp_dir)) as stack:
        credential = build_credential(stack.entra_settings())
        token = credential.get_token("http://127.0.0.1:9999/.default")
        stack.vault.set_secret("ifs-client-secret", "s3cret")
        values = stack.app_settings()     # ENTRA_*, TLS_CA_BUNDLE, KEY_VAULT_URL for AppSettings

Both simulators share one ``SimClock`` (``stack.clock``), so advancing it expires tokens everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from shared.config import AppSettings, EntraSettings, SecretsSettings
from simulators.common.clock import SimClock
from simulators.common.server import BackgroundServer
from simulators.common.tls import TlsFiles
from simulators.entra.app import EntraSimulator
from simulators.entra.directory import ClientApp
from simulators.keyvault.app import KeyVaultSimulator

STACK_TENANT_ID = "00000000-0000-4000-8000-00000000e1a0"
STACK_CLIENT_ID = "00000000-0000-4000-8000-0000000c1e47"
STACK_CLIENT_SECRET = "stack-client-secret"  # noqa: S105 -- a simulator's fixed test credential


@dataclass(frozen=True)
class IdentityStack:
    """Running Entra and Key Vault simulators and the connector app that is registered with them."""

    tls: TlsFiles
    clock: SimClock
    entra: EntraSimulator
    vault: KeyVaultSimulator
    entra_url: str
    vault_url: str
    client: ClientApp
    client_secret: str

    def app_settings(self) -> dict[str, str]:
        """App settings that point the connector's credential and secret provider at these simulators."""
        return {
            "ENTRA_CREDENTIAL": "client_secret",
            "ENTRA_TENANT_ID": self.client.tenant_id,
            "ENTRA_CLIENT_ID": self.client.client_id,
            "ENTRA_CLIENT_SECRET": self.client_secret,
            "ENTRA_AUTHORITY": self.entra_url,
            "TLS_CA_BUNDLE": str(self.tls.cert_path),
            "KEY_VAULT_URL": self.vault_url,
        }

    def entra_settings(self) -> EntraSettings:
        """``EntraSettings`` for ``build_credential`` (client secret, authority = the Entra simulator)."""
        return AppSettings(self.app_settings()).get(EntraSettings)

    def secrets_settings(self) -> SecretsSettings:
        """``SecretsSettings`` reading from the Key Vault simulator."""
        return AppSettings(self.app_settings()).get(SecretsSettings)

    def reset(self) -> None:
        """Reset both simulators (and so the shared clock)."""
        self.entra.admin.reset()
        self.vault.admin.reset()


@contextmanager
def running_identity_stack(
    tls: TlsFiles,
    *,
    tenant_id: str = STACK_TENANT_ID,
    client_id: str = STACK_CLIENT_ID,
    client_secret: str = STACK_CLIENT_SECRET,
    clock: SimClock | None = None,
) -> Iterator[IdentityStack]:
    """Serve both simulators on free loopback ports over HTTPS until the block ends."""
    shared_clock = clock or SimClock()
    client = ClientApp(tenant_id, client_id, secrets=(client_secret,), display_name="connector")
    entra = EntraSimulator([client], clock=shared_clock)
    with ExitStack() as servers:
        entra_server = servers.enter_context(BackgroundServer(entra.app, tls=tls))
        vault = KeyVaultSimulator(tenant_id, authority=entra_server.url, clock=shared_clock)
        vault_server = servers.enter_context(BackgroundServer(vault.app, tls=tls))
        yield IdentityStack(
            tls=tls,
            clock=shared_clock,
            entra=entra,
            vault=vault,
            entra_url=entra_server.url,
            vault_url=vault_server.url,
            client=client,
            client_secret=client_secret,
        )
