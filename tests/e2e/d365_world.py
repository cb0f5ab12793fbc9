"""The Dynamics → IFS world the e2e tests share: simulators, Azurite, devhost and a webhook gateway.

Dataverse delivers its webhooks through ``devhost.gateway`` (with the simulators' fault plan) to devhost's
webhook function; queues are worked by devhost; timers are fired by the tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from devhost.d365_scenario import D365Scenario, Line, Salesperson, d365_settings
from devhost.gateway import WebhookGateway
from devhost.host import LocalHost
from shared.platform.retry import recording_waits
from simulators.common.admin_client import AdminClient
from simulators.common.tls import loopback_certificate
from simulators.stack import running_simulators
from tests.e2e.sample import host_settings

WEBHOOK = "/api/webhooks/dataverse"


@dataclass
class World:
    scenario: D365Scenario
    host: LocalHost
    gateway: AdminClient
    sam: Salesperson

    def deliver(self) -> None:
        """Let Dataverse deliver its webhooks, then work every queue until empty."""
        assert self.scenario.stack.dataverse.drain_webhooks()
        assert self.host.drain(timeout=120)

    def dynamics_order(self, order_id: str | uuid.UUID) -> dict[str, Any]:
        """The Dynamics order as the connector's user reads it."""
        columns = ["ordernumber", "ifs_ordernumber", "statecode"]
        row = self.scenario.runtime.dataverse.get("salesorders", uuid.UUID(str(order_id)), select=columns)
        assert row is not None
        return row

    def converted(self, lines: int = 2) -> dict[str, Any]:
        """A quote converted to an order by the salesperson: the order's id and number."""
        parts = self.scenario.catalog(count=lines)
        quote = self.sam.quote(
            self.scenario.account(), [Line(p, n + 1, 40.0 + n) for n, p in enumerate(parts)]
        )
        return self.sam.convert(quote)

    def ifs_order(self, order: dict[str, Any]) -> dict[str, Any]:
        """The one IFS order of a Dynamics order (fails on none or two)."""
        [found] = self.scenario.ifs_orders(order["ordernumber"])
        return found

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook call Dataverse made, with the status of each attempt."""
        result: list[dict[str, Any]] = self.scenario.admin("dataverse").action("webhook_deliveries")[
            "deliveries"
        ]
        return result

    def audit(self, key: str) -> list[str]:
        """The outcomes audited for one Dynamics order, oldest first."""
        entries = self.scenario.runtime.storage.audit.for_record("d365_orders", key)
        return [e.outcome for e in sorted(entries, key=lambda e: e.at or 0)]


@pytest.fixture
def world(azurite_connection_string: str, unique_name: str) -> Iterator[World]:
    with (
        running_simulators(loopback_certificate(), ifs_size=40) as stack,
        recording_waits(advance=stack.identity.clock.advance),
    ):
        values = d365_settings(stack, azurite_connection_string, unique_name)
        scenario = D365Scenario(stack, values)
        scenario.prepare()
        retrying = host_settings(max_dequeue=5, visibility_timeout=0.2)
        with LocalHost(settings=values, host_settings=retrying) as host, WebhookGateway(host.url) as gateway:
            scenario.provision_d365(f"{gateway.url}{WEBHOOK}")
            client = AdminClient(httpx.Client(base_url=gateway.url, timeout=30, trust_env=False))
            yield World(scenario, host, client, scenario.salesperson())
