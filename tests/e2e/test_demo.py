"""Both parts of ``make demo`` run in CI too, so the README's second command cannot rot unnoticed."""

from __future__ import annotations

from pathlib import Path

from devhost import demo, demo_adapters, demo_d365
from devhost.d365_scenario import D365Scenario, d365_settings
from simulators.common.tls import loopback_certificate
from simulators.stack import running_simulators


def test_demo_adapters_part_succeeds(
    azurite_connection_string: str, unique_name: str, tmp_path: Path
) -> None:
    """Every step of the adapters demo reports success and narrates what it did."""
    lines: list[str] = []
    with running_simulators(loopback_certificate(tmp_path), ifs_size=20) as stack:
        storage = {"AzureWebJobsStorage": azurite_connection_string, "STATE_TABLE_PREFIX": unique_name}
        assert demo_adapters.run(stack, storage, lines.append)
    assert any("idempotent by key" in line for line in lines)


def test_demo_dynamics_to_ifs_part_succeeds(azurite_connection_string: str, unique_name: str) -> None:
    """A converted quote reaches IFS through the function app, numbered in Dynamics, then released."""
    lines: list[str] = []
    with running_simulators(loopback_certificate(), ifs_size=40) as stack:
        scenario = D365Scenario(stack, d365_settings(stack, azurite_connection_string, unique_name))
        scenario.prepare()
        assert demo_d365.run(scenario, lines.append)
    assert any(line.startswith("  IFS customer order ") for line in lines)
    assert any("now shows IFS order number C" in line for line in lines)
    assert lines[-1].endswith("Released (the fulfilment request released it)")


def test_demo_function_app_part_succeeds(azurite_connection_string: str, unique_name: str) -> None:
    """function_app.py runs by itself in the background: the timer fires, echoes reach the audit trail."""
    settings = demo.demo_settings(azurite_connection_string) | {
        "STATE_TABLE_PREFIX": unique_name,
        "ECHO_QUEUE": f"{unique_name}-echo",
    }
    lines: list[str] = []
    assert demo.run_function_app(settings, lines.append)
    assert 'GET /api/health -> {"status": "ok", "configuration": {}}' in lines
    assert sum(line.startswith("  audit: timer->queue echoed after") for line in lines) >= demo.HEARTBEATS
