"""Every simulator the connector talks to, served together, and the app settings that point at them.

Entra ID, Key Vault and Dataverse over HTTPS (one loopback certificate, one ``SimClock``), and the IFS
Cloud simulator over HTTPS too (its own clock, as a real tenant has). The vault holds the connector's
secrets as Key Vault would in Azure (``ifs-client-secret``, ``token-encryption-key``), so the settings
leave them out and the real secret-provider path runs. Used by ``make demo`` and the end-to-end tests::

    with running_simulators(loopback_certificate(tmp)) as stack:
        values = stack.app_settings() | {"AzureWebJobsStorage": ...}
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from simulators.common.clock import SimClock
from simulators.common.server import BackgroundServer
from simulators.common.tls import TlsFiles
from simulators.dataverse.app import DataverseSimulator, Settings
from simulators.identity_stack import IdentityStack, running_identity_stack
from simulators.ifs.app import IfsSimulator
from simulators.ifs.tenant import TenantConfig

IFS_CLIENT_ID = "ifs-d365-sync"
IFS_REALM = "acme1"


@dataclass(frozen=True)
class SimulatorStack:
    """The running simulators and their URLs."""

    identity: IdentityStack
    dataverse: DataverseSimulator
    dataverse_url: str
    ifs: IfsSimulator
    ifs_url: str

    def app_settings(self) -> dict[str, str]:
        """Settings for every feature that talks to a simulator (storage is the caller's)."""
        return self.identity.app_settings() | {
            "DATAVERSE_URL": self.dataverse_url,
            "IFS_BASE_URL": self.ifs_url,
            "IFS_REALM": IFS_REALM,
            "IFS_CLIENT_ID": IFS_CLIENT_ID,
        }


@contextmanager
def running_simulators(
    tls: TlsFiles,
    *,
    ifs_seed: int = 1,
    ifs_size: int = 200,
    key_activation_seconds: float = 0.5,
    ifs_tenant: TenantConfig | None = None,
) -> Iterator[SimulatorStack]:
    """Serve Entra, Key Vault, Dataverse and IFS on free loopback ports until the block ends.

    ``ifs_tenant`` configures the IFS tenant in full (exact customer and part counts …) instead of
    ``ifs_seed`` and ``ifs_size``.
    """
    ifs_secret = base64.urlsafe_b64encode(os.urandom(18)).decode()
    with ExitStack() as servers:
        identity = servers.enter_context(running_identity_stack(tls, clock=SimClock()))
        identity.vault.set_secret("ifs-client-secret", ifs_secret)
        identity.vault.set_secret("token-encryption-key", base64.b64encode(os.urandom(32)).decode())
        dataverse = DataverseSimulator(
            [identity.client.client_id],
            clock=identity.clock,
            settings=Settings(
                tenant_id=identity.client.tenant_id,
                key_activation_seconds=key_activation_seconds,
                webhook_ca_file=str(tls.cert_path),
            ),
        )
        dataverse_server = servers.enter_context(BackgroundServer(dataverse.app, tls=tls))
        ifs = IfsSimulator(
            tenant=ifs_tenant or TenantConfig(seed=ifs_seed, size=ifs_size),
            realm=IFS_REALM,
            clients={IFS_CLIENT_ID: ifs_secret},
        )
        ifs_server = servers.enter_context(BackgroundServer(ifs.app, tls=tls))
        yield SimulatorStack(identity, dataverse, dataverse_server.url, ifs, ifs_server.url)
