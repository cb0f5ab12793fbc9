"""A Dynamics → IFS scenario per test: every simulator, Azurite, and the IFS master data synced into Dynamics.

The connector is built by its composition roots from app settings (``devhost.d365_scenario``); retries
never sleep, their waits move the simulators' clock. Provisioning registers the webhook at a URL nobody
serves unless the test says otherwise: these tests drive the workers directly.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devhost.d365_scenario import D365Scenario, d365_settings
from shared.platform.retry import recording_waits
from simulators.common.tls import loopback_certificate
from simulators.stack import running_simulators

IFS_SIZE = 40
UNSERVED_WEBHOOK = "http://127.0.0.1:9/api/webhooks/dataverse"  # port 9 (discard): nothing answers there


@pytest.fixture
def d365(azurite_connection_string: str, unique_name: str) -> Iterator[D365Scenario]:
    """Simulators seeded as a small manufacturer, master data synced, Dynamics → IFS not provisioned."""
    with (
        running_simulators(loopback_certificate(), ifs_size=IFS_SIZE) as stack,
        recording_waits(advance=stack.identity.clock.advance),
    ):
        scenario = D365Scenario(stack, d365_settings(stack, azurite_connection_string, unique_name))
        scenario.prepare()
        yield scenario
