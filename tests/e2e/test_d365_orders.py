"""Dynamics → IFS through function_app.py under devhost, Azurite and the simulators.

A salesperson (their own Dataverse user) quotes and books orders in the Dataverse simulator; Dataverse
delivers its webhooks to devhost's webhook function, whose queue worker makes the IFS order. Every test
asserts on the IFS simulator's rows and the Dataverse simulator's, never on how long anything took.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devhost.d365_scenario import D365Scenario, Line, Salesperson, d365_settings
from devhost.host import LocalHost
from shared.platform.retry import recording_waits
from shared.state.idmap import IdMap
from simulators.common.tls import loopback_certificate
from simulators.stack import running_simulators
from tests.e2e.sample import host_settings

pytestmark = pytest.mark.azurite


@dataclass
class World:
    scenario: D365Scenario
    host: LocalHost
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


@pytest.fixture
def world(azurite_connection_string: str, unique_name: str) -> Iterator[World]:
    with (
        running_simulators(loopback_certificate(), ifs_size=40) as stack,
        recording_waits(advance=stack.identity.clock.advance),
    ):
        values = d365_settings(stack, azurite_connection_string, unique_name)
        scenario = D365Scenario(stack, values)
        scenario.prepare()
        with LocalHost(settings=values, host_settings=host_settings(max_dequeue=5, visibility_timeout=0.2)) as host:
            scenario.provision_d365(f"{host.url}/api/webhooks/dataverse")
            yield World(scenario, host, scenario.salesperson())


def test_a_converted_quote_becomes_one_ifs_order_with_its_lines_and_number(world: World) -> None:
    """ConvertQuoteToSalesOrder ends as exactly one IFS order, lines as agreed, its number on the order."""
    first, second = world.scenario.catalog(count=2)
    account = world.scenario.account()
    quote = world.sam.quote(account, [Line(first, 2, 100.0, 20.0), Line(second, 1, 55.5)])
    order = world.sam.convert(quote)
    world.deliver()
    [ifs_order] = world.scenario.ifs_orders(order["ordernumber"])
    assert ifs_order["CustomerNo"] == account
    assert ifs_order["Contract"] == "MFG10"
    lines = ifs_order["lines"]
    assert [(l["CatalogNo"], l["BuyQtyDue"], l["SaleUnitPrice"], l["Discount"]) for l in lines] == [
        (first, 2, 100.0, 10.0),
        (second, 1, 55.5, 0.0),
    ]
    assert {l["PriceFreeze"] for l in lines} == {"Frozen"}
    assert world.dynamics_order(order["salesorderid"])["ifs_ordernumber"] == ifs_order["OrderNo"]
    # The IFS → Dynamics orders flow finds this Dynamics order through the id map, never makes a second one.
    idmap = IdMap(world.scenario.d365.storage.tables)
    assert idmap.target_id("orders", ifs_order["OrderNo"]) == order["salesorderid"]
