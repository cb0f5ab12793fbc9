"""The real function_app.py under devhost: health, heartbeat timer → queue → echo worker → audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devhost.host import REPO_ROOT, LocalHost
from devhost.scenario import NEVER
from shared.config import read_local_settings
from shared.state.audit import AuditTrail
from shared.state.parked import ParkedRecords
from shared.state.queues import QueuePublisher
from shared.state.tables import StateTables


@pytest.fixture
def settings(azurite_connection_string: str, unique_name: str) -> dict[str, str]:
    """The sample settings on this test's storage; the sync's timers never fire by themselves."""
    return read_local_settings(REPO_ROOT / "local.settings.sample.json") | {
        "AzureWebJobsStorage": azurite_connection_string,
        "STATE_TABLE_PREFIX": unique_name,
        "HEARTBEAT_SCHEDULE": "0 */5 * * * *",
        "ECHO_QUEUE": f"{unique_name}-echo",
        "SYNC_CUSTOMERS_SCHEDULE": NEVER,
        "SYNC_CUSTOMERS_QUEUE": f"{unique_name}-customers",
        "SYNC_SALES_PARTS_SCHEDULE": NEVER,
        "SYNC_SALES_PARTS_QUEUE": f"{unique_name}-sales-parts",
    }


@pytest.fixture
def host(settings: dict[str, str]) -> Iterator[LocalHost]:
    with LocalHost(settings=settings) as running:
        yield running


def test_health_is_ok_when_configured(host: LocalHost) -> None:
    """Every feature's settings are complete: status ok, no problems listed."""
    assert httpx.get(f"{host.url}/api/health").json() == {"status": "ok", "configuration": {}}


def test_health_names_missing_settings_without_failing(settings: dict[str, str]) -> None:
    """A missing key is reported by name; the app still loads and answers."""
    without_key = {k: v for k, v in settings.items() if k != "TOKEN_ENCRYPTION_KEY"}
    with LocalHost(settings=without_key) as host:
        body = httpx.get(f"{host.url}/api/health").json()
        details = httpx.get(f"{host.url}/api/health/details").json()
    assert body == {"status": "degraded", "configuration": {"token_cache": ["TOKEN_ENCRYPTION_KEY"]}}
    assert "TOKEN_ENCRYPTION_KEY is missing" in details["configuration"]["token_cache"][0]


def test_anonymous_health_shows_no_setting_value(settings: dict[str, str], tmp_path: Path) -> None:
    """A CA bundle path in a problem stays out of /api/health; with a function key the message is shown."""
    missing_ca = str(tmp_path / "private-ca.pem")
    keyed = settings | {
        "TLS_CA_BUNDLE": missing_ca,
        "DEVHOST_CHECK_KEYS": "true",
        "DEVHOST_FUNCTION_KEY": "fk",
    }
    with LocalHost(settings=keyed) as host:
        anonymous = httpx.get(f"{host.url}/api/health")
        refused = httpx.get(f"{host.url}/api/health/details")
        details = httpx.get(f"{host.url}/api/health/details", headers={"x-functions-key": "fk"}).json()
    assert anonymous.json()["configuration"]["tls"] == ["TLS_CA_BUNDLE"]
    assert missing_ca not in anonymous.text
    assert refused.status_code == 401
    assert missing_ca in str(details["configuration"]["tls"])


def test_a_malformed_telemetry_connection_string_does_not_stop_the_app(settings: dict[str, str]) -> None:
    """InstrumentationKey=not-a-guid: every function still loads, and health names the setting."""
    with LocalHost(
        settings=settings | {"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=not-a-guid"}
    ) as host:
        body = httpx.get(f"{host.url}/api/health").json()
        assert host.fire_timer("heartbeat")
    assert body == {
        "status": "degraded",
        "configuration": {"telemetry": ["APPLICATIONINSIGHTS_CONNECTION_STRING"]},
    }


def test_heartbeat_travels_to_the_audit_trail(host: LocalHost, settings: dict[str, str]) -> None:
    """Two timer firings become two audited echoes, with their queue latency."""
    assert host.fire_timer("heartbeat")
    assert host.fire_timer("heartbeat")
    assert host.drain(timeout=30)
    tables = StateTables.from_connection_string(
        settings["AzureWebJobsStorage"], settings["STATE_TABLE_PREFIX"]
    )
    # Two days: a run that crosses midnight UTC has echoes in both days' partitions.
    echoes = [e for e in AuditTrail(tables).recent(days=2) if e.outcome == "echoed"]
    assert len(echoes) == 2
    assert all(e.latency_ms is not None and e.latency_ms >= 0 for e in echoes)
    assert len({e.correlation_id for e in echoes}) == 2


def test_malformed_message_is_parked_not_retried(host: LocalHost, settings: dict[str, str]) -> None:
    """A message the worker cannot read is parked with its content on the first try and leaves the queue."""
    publisher = QueuePublisher.from_connection_string(settings["AzureWebJobsStorage"])
    publisher.send(settings["ECHO_QUEUE"], ['{"v": 99}'])
    assert host.drain(timeout=30)
    tables = StateTables.from_connection_string(
        settings["AzureWebJobsStorage"], settings["STATE_TABLE_PREFIX"]
    )
    [parked] = list(ParkedRecords(tables).list(error_class="malformed_message"))
    assert parked.payload == {"text": '{"v": 99}'}
    assert "unsupported envelope version 99" in parked.message
    assert host.queues["heartbeat_echo"].stats.failed == 0
