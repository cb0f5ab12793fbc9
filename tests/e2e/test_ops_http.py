"""The admin HTTP functions and the operations timers through function_app.py under devhost.

Keys are checked as in Azure: the ``ops/`` routes need the master (admin) key. A message poisoned by the
host itself (Dataverse failing every request) is replayed over HTTP; reconcile and backfill are queued as
jobs (202 and the job's URL) and run by the jobs timer; a paused entity's worker holds its messages; the
purge timer deletes audit rows past their retention.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from devhost.host import LocalHost
from devhost.scenario import SyncScenario, scenario_settings
from shared.ops.runtime import operations
from shared.platform.retry import recording_waits
from shared.records import AuditEntry
from simulators.common.tls import loopback_certificate
from simulators.stack import running_simulators
from tests.e2e.sample import host_settings
from tests.integration.sync.oracle import accounts, assert_in_step, assert_products_in_step

pytestmark = pytest.mark.azurite
MASTER = {"x-functions-key": "master-key"}


@pytest.fixture
def running(azurite_connection_string: str, unique_name: str) -> Iterator[tuple[SyncScenario, LocalHost]]:
    """Simulators set up for a first run, and the function app under devhost checking keys."""
    with (
        running_simulators(loopback_certificate(), ifs_size=30) as stack,
        recording_waits(advance=stack.identity.clock.advance),
    ):
        values = scenario_settings(stack, azurite_connection_string, unique_name) | {
            "DEVHOST_CHECK_KEYS": "true",
            "DEVHOST_MASTER_KEY": "master-key",
            "DEVHOST_FUNCTION_KEY": "function-key",
            "PAUSE_HOLD_SECONDS": "1",
        }
        scenario = SyncScenario(stack, values)
        scenario.add_currencies()
        scenario.provision()
        with LocalHost(
            settings=values, host_settings=host_settings(max_dequeue=2, visibility_timeout=0.1)
        ) as host:
            yield scenario, host


def call(host: LocalHost, method: str, route: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{host.url}/api/ops/{route}", headers=MASTER, timeout=60, **kwargs)


def cycle(host: LocalHost, poll: str = "poll_customers") -> None:
    host.fire_timer(poll)
    assert host.drain(timeout=120)


def test_the_ops_routes_need_the_admin_key(running: tuple[SyncScenario, LocalHost]) -> None:
    """No key and a function key are refused; the master key gets the status of every entity."""
    _, host = running
    url = f"{host.url}/api/ops/status"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"x-functions-key": "function-key"}).status_code == 401
    body = call(host, "GET", "status").json()
    assert [e["entity"] for e in body["entities"]] == ["customers", "sales_parts", "orders", "quotations"]
    assert call(host, "GET", "status", params={"entity": "customers"}).json()["entities"][0]["entity"] == (
        "customers"
    )
    assert call(host, "GET", "status", params={"entity": "vendors"}).status_code == 400


def test_a_message_the_host_poisoned_is_replayed_over_http(running: tuple[SyncScenario, LocalHost]) -> None:
    """Dataverse fails every request: the host moves the message to poison; replayed, it goes through."""
    scenario, host = running
    scenario.admin("dataverse").set_faults({"rates": {"error": 1.0}, "seed": 3, "paths": ["/api/data/*"]})
    cycle(host)
    status = call(host, "GET", "status", params={"entity": "customers"}).json()["entities"][0]
    assert status["poison"] >= 1
    assert status["last_work"]["outcome"] == "failed"
    scenario.admin("dataverse").clear_faults()
    listed = call(host, "POST", "replay", json={"what": "poison", "dry_run": True}).json()
    assert listed["counts"] == {"would requeue": status["poison"]}
    replayed = call(host, "POST", "replay", json={"what": "poison", "entity": "customers"})
    assert replayed.status_code == 200
    assert replayed.json()["counts"] == {"requeued": status["poison"]}
    assert host.drain(timeout=120)
    assert_in_step(scenario)
    after = call(host, "GET", "status", params={"entity": "customers"}).json()["entities"][0]
    assert (after["poison"], after["parked"], after["last_work"]["outcome"]) == (0, 0, "ok")


def test_reconcile_and_backfill_run_as_jobs(running: tuple[SyncScenario, LocalHost]) -> None:
    """202 with the job's URL; the jobs timer runs it; the job's result says what was found or done."""
    scenario, host = running
    cycle(host)
    key, account = sorted(accounts(scenario).items())[0]
    scenario.runtime.dataverse.update("accounts", uuid.UUID(account["accountid"]), {"name": "Hand edit"})
    queued = call(host, "POST", "reconcile", json={"entity": "customers"})
    assert queued.status_code == 202
    job_url = queued.headers["Location"]
    assert job_url == queued.json()["status_url"] == f"/api/ops/jobs/{queued.json()['job']}"
    assert httpx.get(f"{host.url}{job_url}", headers=MASTER).json()["status"] == "queued"
    host.fire_timer("run_jobs")
    job = httpx.get(f"{host.url}{job_url}", headers=MASTER).json()
    assert job["status"] == "done"
    assert job["result"]["differs"] == [key]
    fixing = call(host, "POST", "reconcile", json={"entity": "customers", "fix": True})
    assert fixing.status_code == 202
    host.fire_timer("run_jobs")
    assert host.drain(timeout=120)
    assert_in_step(scenario)
    backfill = call(host, "POST", "backfill", json={"entity": "sales_parts"})
    assert backfill.status_code == 202
    host.fire_timer("run_jobs")
    done = httpx.get(f"{host.url}{backfill.headers['Location']}", headers=MASTER).json()
    assert done["status"] == "done"
    assert done["result"]["outcomes"]["created"] > 0
    assert host.drain(timeout=120)
    assert_products_in_step(scenario)


def test_bad_requests_get_a_reason(running: tuple[SyncScenario, LocalHost]) -> None:
    """Unknown entities, fields and job ids, and a body that is not JSON, are refused with why."""
    _, host = running
    unknown = call(host, "POST", "reconcile", json={"entity": "vendors"})
    assert (unknown.status_code, unknown.json()) == (
        400,
        {"error": "unknown entity vendors (known: customers, sales_parts, orders, quotations)"},
    )
    assert call(host, "POST", "backfill", json={}).status_code == 400
    assert (
        call(host, "POST", "backfill", json={"entity": "customers", "since": "yesterday"}).status_code == 400
    )
    assert call(host, "POST", "replay", json={"kind": "poison"}).json() == {"error": "unknown field kind"}
    assert call(host, "POST", "replay", content=b"{not json").status_code == 400
    assert call(host, "POST", "replay", json={"what": "everything"}).status_code == 400
    assert call(host, "GET", "jobs/0123456789abcdef").status_code == 404


def test_a_paused_entity_is_held_by_the_function_app_then_catches_up(
    running: tuple[SyncScenario, LocalHost],
) -> None:
    """While paused the timer polls nothing and the worker holds queued work; on resume all of it arrives."""
    scenario, host = running
    ops = operations(scenario.settings)
    host.fire_timer("poll_customers")  # changes are on the queue …
    ops.pause("customers", "IFS upgrade")  # … when the entity is paused
    assert host.drain(timeout=3) is False  # held messages keep coming back while the entity is paused
    assert accounts(scenario) == {}
    held = call(host, "GET", "status", params={"entity": "customers"}).json()["entities"][0]
    assert held["paused"]["reason"] == "IFS upgrade"
    assert held["last_work"]["outcome"] == "held"
    assert held["queue_depth"] >= 1  # nothing lost
    ops.resume("customers")
    cycle(host)
    assert_in_step(scenario)


def test_the_purge_timer_deletes_what_is_past_its_retention(running: tuple[SyncScenario, LocalHost]) -> None:
    """Audit rows older than AUDIT_RETENTION_DAYS go; today's stay; finished jobs likewise."""
    scenario, host = running
    audit = scenario.runtime.storage.audit
    old = datetime.now(UTC) - timedelta(days=120)
    audit.record([AuditEntry("ifs->dataverse", "customers", "OLD1", "created", at=old)])
    audit.record([AuditEntry("ifs->dataverse", "customers", "NEW1", "created")])
    host.fire_timer("purge_state")
    assert [e.source_key for e in audit.search(200, keys=["OLD1", "NEW1"])] == ["NEW1"]
