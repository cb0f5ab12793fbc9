"""A sync scenario per test: every simulator on loopback, Azurite, and the connector's own runtime.

The connector is built by its composition root from app settings (``devhost.scenario``), secrets come from
the Key Vault simulator, and retries never sleep: their waits move the simulators' clock instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devhost.scenario import SyncScenario, scenario_settings
from shared.platform.retry import recording_waits
from simulators.common.tls import loopback_certificate
from simulators.stack import running_simulators

IFS_SIZE = 40  # about 10 customers and 10 catalog numbers: enough variety, fast


@pytest.fixture
def scenario(azurite_connection_string: str, unique_name: str) -> Iterator[SyncScenario]:
    """Simulators seeded as a small manufacturer, the org's currencies and keys set up, nothing synced yet."""
    with (
        running_simulators(loopback_certificate(), ifs_size=IFS_SIZE) as stack,
        recording_waits(advance=stack.identity.clock.advance),
    ):
        values = scenario_settings(stack, azurite_connection_string, unique_name)
        scenario = SyncScenario(stack, values)
        scenario.add_currencies()
        scenario.provision()
        yield scenario
