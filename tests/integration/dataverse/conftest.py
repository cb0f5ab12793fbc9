"""The Dataverse simulator next to the identity simulators (Entra, Key Vault), all on one frozen clock.

The connector's real code paths run end to end: ``build_credential`` (azure-identity's
ClientSecretCredential) gets tokens from the Entra simulator over HTTPS for the Dataverse simulator's
own URL, and ``DataverseClient`` sends them over HTTPS. One ``SimClock`` drives token lifetimes and the
service-protection windows, so a test moves time instead of waiting.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from azure.core.credentials import TokenCredential

from shared.config import AppSettings, DataverseSettings
from shared.dataverse.client import DataverseClient
from shared.platform.credentials import build_credential
from shared.platform.retry import RetryPolicy
from simulators.common.admin_client import AdminClient
from simulators.common.clock import SimClock
from simulators.common.server import BackgroundServer
from simulators.common.tls import loopback_certificate
from simulators.dataverse.app import DataverseSimulator, Settings
from simulators.dataverse.tables import Column, Kind, custom_table, text
from simulators.identity_stack import IdentityStack, running_identity_stack
from tests.integration.dataverse.receiver import PATH as RECEIVER_PATH
from tests.integration.dataverse.receiver import Receiver

# The custom table of the upsert article's examples: two integer key columns and a name.
EXAMPLE_TABLE = custom_table(
    "example_record",
    "example_records",
    [Column("example_key1", Kind.INTEGER), Column("example_key2", Kind.INTEGER), text("example_name", 100)],
    primary_name="example_name",
    schema_name="example_Table",
)

# The custom table of the bulk-operations article's examples (sample_examples, keyed by sample_keyattribute).
SAMPLE_TABLE = custom_table(
    "sample_example",
    "sample_examples",
    [text("sample_name", 100), text("sample_keyattribute", 100)],
    primary_name="sample_name",
    object_type_code=10001,
)


@dataclass(frozen=True)
class DataverseStack:
    """Running Entra/Key Vault and Dataverse simulators, and how to reach Dataverse as the connector."""

    identity: IdentityStack
    simulator: DataverseSimulator
    url: str

    @property
    def clock(self) -> SimClock:
        return self.identity.clock

    def settings(self, **values: str) -> DataverseSettings:
        return AppSettings({"DATAVERSE_URL": self.url, **values}).get(DataverseSettings)

    def credential(self) -> TokenCredential:
        return build_credential(self.identity.entra_settings())

    def verify(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.identity.tls.cert_path))

    def client(self, *, retry: RetryPolicy | None = None, page_size: str = "500") -> DataverseClient:
        settings = self.settings(DATAVERSE_PAGE_SIZE=page_size)
        return DataverseClient.from_settings(settings, self.credential(), verify=self.verify(), retry=retry)

    def raw(self) -> httpx.Client:
        """A plain HTTPS client trusting the simulators' certificate (exact-exchange tests); no proxies."""
        return httpx.Client(verify=self.verify(), timeout=30, trust_env=False)

    def token(self) -> str:
        return self.credential().get_token(f"{self.url}/.default").token

    @contextmanager
    def admin(self) -> Iterator[AdminClient]:
        """The simulator's /_admin routes over HTTPS."""
        with httpx.Client(base_url=self.url, verify=self.verify(), timeout=30, trust_env=False) as http:
            yield AdminClient(http)


@pytest.fixture(scope="package")
def served_dataverse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataverseStack]:
    """One set of simulators for the package (reset before each test)."""
    tls = loopback_certificate(tmp_path_factory.mktemp("tls"))
    with running_identity_stack(tls, clock=SimClock(frozen=True)) as identity:
        simulator = DataverseSimulator(
            [identity.client.client_id],
            clock=identity.clock,
            settings=Settings(tenant_id=identity.client.tenant_id, key_activation_seconds=10),
            tables=[EXAMPLE_TABLE, SAMPLE_TABLE],
        )
        with BackgroundServer(simulator.app, tls=tls) as server:
            yield DataverseStack(identity, simulator, server.url)


@pytest.fixture
def dataverse(served_dataverse: DataverseStack) -> DataverseStack:
    """The simulators, reset: a fresh organization, no faults, default limits, the clock back at its start."""
    served_dataverse.identity.reset()
    served_dataverse.simulator.admin.reset()
    return served_dataverse


@dataclass(frozen=True)
class WebhookEndpoint:
    """A running test endpoint for webhooks: its URL and what it received."""

    receiver: Receiver
    url: str


@pytest.fixture(scope="package")
def served_receiver() -> Iterator[WebhookEndpoint]:
    """One webhook endpoint on a loopback port (plain HTTP) for the package."""
    receiver = Receiver()
    with BackgroundServer(receiver.app) as server:
        yield WebhookEndpoint(receiver, f"{server.url}{RECEIVER_PATH}")


@pytest.fixture
def endpoint(served_receiver: WebhookEndpoint) -> Iterator[WebhookEndpoint]:
    """The webhook endpoint with no calls recorded, answering 200."""
    served_receiver.receiver.reset()
    yield served_receiver
    served_receiver.receiver.release()
