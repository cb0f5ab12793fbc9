"""Provisioning the sync's alternate keys: every key is created before any is waited for."""

from __future__ import annotations

from devhost.scenario import SyncScenario
from shared.dataverse.provisioning import Provisioner
from shared.sync.provision import provision

ACTIVATION_SECONDS = 0.5  # the simulators' index build time (simulated), running_simulators' default


def test_the_keys_build_side_by_side(scenario: SyncScenario) -> None:
    """Six keys on a fresh org wait about one index build in all, not six one after another."""
    scenario.admin("dataverse").reset()
    scenario.add_currencies()
    clock = scenario.stack.identity.clock
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    engine = scenario.runtime.engine
    provisioner = Provisioner(scenario.runtime.dataverse, sleep=sleep, clock=clock.now)
    _, keys = provision([engine.mapping(e) for e in engine.entities], provisioner, poll=0.1)
    assert len(keys) == 6
    assert {key.status for key in keys} == {"Active"}
    assert ACTIVATION_SECONDS <= sum(waits) < 2 * ACTIVATION_SECONDS
