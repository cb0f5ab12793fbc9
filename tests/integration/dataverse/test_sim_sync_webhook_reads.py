"""A synchronous step's endpoint may read from the organization while the request it serves waits for it.

Its own simulator with a 5 s webhook timeout (the same Entra simulator issues its tokens): were the
organization locked during the call, the endpoint's read would wait and the step would time out.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.dataverse.client import DataverseClient
from shared.dataverse.endpoint_auth import WebhookAuth
from shared.dataverse.provisioning import MODE_SYNCHRONOUS, Provisioner, WebhookStep
from simulators.common.server import BackgroundServer
from simulators.dataverse.app import DataverseSimulator, Settings
from tests.integration.dataverse.conftest import DataverseStack

PATH = "/api/reads-back"


@dataclass
class ReadingEndpoint:
    """A webhook endpoint that, on every call, lists the organization's accounts through the Web API."""

    verify: ssl.SSLContext
    dataverse_url: str = ""
    token: str = ""
    reads: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route(PATH, self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        await request.body()
        async with httpx.AsyncClient(verify=self.verify, timeout=30, trust_env=False) as http:
            read = await http.get(
                f"{self.dataverse_url}/api/data/v9.2/accounts?$select=name",
                headers={"Authorization": f"Bearer {self.token}"},
            )
        self.reads.append(read.status_code)
        return Response(status_code=200)


@dataclass(frozen=True)
class Organization:
    """The simulator with the short webhook timeout, its URL and the connector's client for it."""

    simulator: DataverseSimulator
    url: str
    client: DataverseClient


@pytest.fixture
def organization(dataverse: DataverseStack) -> Iterator[Organization]:
    """A Dataverse simulator of its own (5 s webhook timeout), served over HTTPS next to the Entra one."""
    identity = dataverse.identity
    simulator = DataverseSimulator(
        [identity.client.client_id],
        clock=identity.clock,
        settings=Settings(tenant_id=identity.client.tenant_id, webhook_timeout_seconds=5),
    )
    with BackgroundServer(simulator.app, tls=identity.tls) as server:
        http = httpx.Client(verify=dataverse.verify(), timeout=30, trust_env=False)
        with DataverseClient(http, server.url, dataverse.credential()) as client:
            yield Organization(simulator, server.url, client)
    if simulator.webhooks is not None:
        simulator.webhooks.close()


def test_a_synchronous_steps_endpoint_can_read_back_during_the_call(
    dataverse: DataverseStack, organization: Organization
) -> None:
    """The create waits for the step, whose endpoint reads accounts meanwhile: both succeed."""
    endpoint = ReadingEndpoint(dataverse.verify(), organization.url)
    endpoint.token = dataverse.credential().get_token(f"{organization.url}/.default").token
    with BackgroundServer(endpoint.app) as server:
        Provisioner(organization.client).register_webhook(
            "reader",
            f"{server.url}{PATH}",
            WebhookAuth.webhook_key("k"),
            [WebhookStep("Create", "account", mode=MODE_SYNCHRONOUS)],
        )
        created = organization.client.create("accounts", {"name": "Read back"})
    assert endpoint.reads == [200]
    assert created.id is not None
    assert organization.client.get("accounts", created.id, select=["name"]) is not None
