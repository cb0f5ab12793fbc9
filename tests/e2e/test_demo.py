"""Every part of ``make demo`` runs in CI too (on a small tenant), so the README's second command cannot rot.

The business day is run whole: the new IFS customer must become an account, the order converted in Dynamics
must reach IFS, and the end of the day must find status and reconcile all zero; then a hand edit in Dynamics
and a parked record must make the end of the day fail, saying what it found.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from devhost import demo, demo_adapters, demo_d365, demo_day_end, demo_sync
from devhost.d365_scenario import D365Scenario, d365_settings
from devhost.scenario import SyncScenario, scenario_settings
from simulators.common.tls import loopback_certificate
from simulators.stack import running_simulators

TENANT_SIZE = 40  # about 40 orders, 5 customers, 10 sales parts: the whole day in seconds


def test_demo_adapters_part_succeeds(
    azurite_connection_string: str, unique_name: str, tmp_path: Path
) -> None:
    """Every step of the adapters demo reports success and narrates what it did."""
    lines: list[str] = []
    with running_simulators(loopback_certificate(tmp_path), ifs_size=20) as stack:
        storage = {"AzureWebJobsStorage": azurite_connection_string, "STATE_TABLE_PREFIX": unique_name}
        assert demo_adapters.run(stack, storage, lines.append)
    assert any("idempotent by key" in line for line in lines)


def reconcile_rows(lines: list[str]) -> dict[str, list[int]]:
    """The end of the day's reconcile table: entity → IFS, Dynamics, missing either side, different."""
    start = next(i for i, line in enumerate(lines) if "reconcile --entity E" in line) + 3
    rows = {}
    for line in lines[start:]:
        cells = line.split()
        if len(cells) != 6 or not cells[1].isdigit():
            break
        rows[cells[0]] = [int(c) for c in cells[1:]]
    return rows


@pytest.mark.azurite
def test_demo_business_day_ends_in_step_and_fails_when_not(
    azurite_connection_string: str, unique_name: str
) -> None:
    """The day ends with equal counts, nothing missing, different or waiting; a drift fails it."""
    lines: list[str] = []
    with running_simulators(loopback_certificate(), ifs_size=TENANT_SIZE) as stack:
        scenario = SyncScenario(stack, scenario_settings(stack, azurite_connection_string, unique_name))
        # The keys built on the simulator's clock: the demo's `provision` then finds them Active at once
        # (it polls every 5 s of real time, 30 s for the six keys; the demo itself does wait).
        scenario.provision()
        demo_sync.describe_tenant(scenario, lines.append)
        assert demo_sync.load(scenario, lines.append), lines
        assert demo_sync.day(scenario, lines.append), lines
        d365 = D365Scenario(stack, d365_settings(stack, azurite_connection_string, unique_name))
        assert demo_d365.run(d365, lines.append), lines
        assert demo_day_end.run(scenario.values, lines.append), lines
        new = (
            f"  Dynamics account DE2001 ({demo_sync.NEW_CUSTOMER['Name']}, Bremen): credit limit 150,000 EUR"
        )
        assert new in lines
        assert any(line.startswith("  IFS customer order ") for line in lines)
        assert any("now shows IFS order number C" in line for line in lines)
        assert "  IFS order " in next(
            line for line in lines if line.endswith("(the fulfilment request released it)")
        )
        table = reconcile_rows(lines)
        assert set(table) == {"customers", "sales_parts", "orders", "quotations"}
        for entity, (ifs, dynamics, *off) in table.items():
            assert ifs == dynamics > 0, entity
            assert off == [0, 0, 0], entity
        assert not any("NOT IN STEP" in line for line in lines)

        # An account edited by hand in Dynamics; an IFS customer that parks (its currency is not in the org).
        [account] = scenario.rows("accounts", ["accountid"], accountnumber="DE2001")
        scenario.runtime.dataverse.update("accounts", uuid.UUID(account["accountid"]), {"name": "Edited"})
        scenario.admin("ifs").action("create", {"entity_set": "CustomerInfoSet", "values": {
            "CustomerId": "NO1", "Name": "NORDIC", "Company": "10", "CurrencyCode": "NOK"}})  # fmt: skip
        evening: list[str] = []
        assert not demo_day_end.run(scenario.values, evening.append)
    said = [line.strip() for line in evening if "NOT IN STEP" in line]
    assert "NOT IN STEP: status customers: parked 1" in said
    assert any(line.startswith("NOT IN STEP: reconcile customers (exit 1):") for line in said), said
    assert any(
        "DE2001: differs account.name (IFS 'WESER HYDRAULIK GMBH', Dynamics 'Edited')" in line
        for line in evening
    )
    assert reconcile_rows(evening)["customers"][4] == 1  # one account different


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
