"""The composition root's options: write paths switched off, and an observer of every response."""

from __future__ import annotations

import httpx
import pytest

from devhost.scenario import SyncScenario
from shared.runtime import RuntimeOptions, sync_runtime
from tests.integration.sync.oracle import ifs_rows

pytestmark = pytest.mark.azurite


def test_bulk_off_writes_row_by_row_and_the_observer_sees_every_response(scenario: SyncScenario) -> None:
    """use_bulk/use_batch off: one PATCH per account; on_response gets each IFS and Dataverse response."""
    seen: list[tuple[str, str, str]] = []

    def observe(system: str, response: httpx.Response) -> None:
        seen.append((system, response.request.method, response.request.url.path))

    runtime = sync_runtime(
        scenario.settings, RuntimeOptions(use_bulk=False, use_batch=False, on_response=observe)
    )
    dataverse = scenario.admin("dataverse")
    dataverse.clear_requests()
    runtime.poll("customers")
    report = runtime.drain("customers")
    customers = len(ifs_rows(scenario, "CustomerInfoSet"))
    assert report.written == customers
    writes = [r for r in dataverse.requests(path="/api/data") if r["method"] != "GET"]
    assert {r["method"] for r in writes} == {"PATCH"}
    assert len(writes) == customers
    assert [s for s in seen if s[0] == "dataverse" and s[1] != "GET"] == [
        ("dataverse", "PATCH", r["path"]) for r in writes
    ]
    assert any(system == "ifs" and "CustomerInfoSet" in path for system, _, path in seen)
    assert sync_runtime(scenario.settings) is scenario.runtime is not runtime
