"""Telemetry stays off unless a connection string is given explicitly, and never takes the app down."""

from __future__ import annotations

import pytest

from shared.config import AppSettings, ConfigError, TelemetrySettings
from shared.config.platform import connection_string_problem
from shared.platform import health, telemetry

GUID = "00000000-0000-4000-8000-0000000000a1"
ACCEPTED = [
    f"InstrumentationKey={GUID}",
    f"InstrumentationKey={GUID};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/",
    f"instrumentationkey={GUID};LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/",
    f"InstrumentationKey={GUID};EndpointSuffix=applicationinsights.azure.cn;Location=chinaeast2",
    f"Authorization=ikey;InstrumentationKey={GUID};ApplicationId=1c9a5a2f-0000-4000-8000-000000000000",
]
REFUSED = [
    "InstrumentationKey=not-a-guid",
    "garbage",
    f"InstrumentationKey={GUID.upper()}",
    f"InstrumentationKey={GUID};",
    f"InstrumentationKey={GUID};Authorization=aad",
    "IngestionEndpoint=https://dc.services.visualstudio.com",
    f"InstrumentationKey={GUID};IngestionEndpoint=https://a=b",
]


@pytest.fixture
def fresh_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process has not configured (nor failed to configure) telemetry yet."""
    monkeypatch.setattr(telemetry, "_configured", False)
    monkeypatch.setattr(telemetry, "_failure", None)


def test_no_connection_string_means_no_exporter() -> None:
    """Without the setting, configure() does nothing and says so."""
    assert telemetry.configure(AppSettings({})) is False


def test_malformed_connection_string_is_a_named_problem() -> None:
    """A value without an instrumentation key is rejected by name, so nothing half-configures."""
    with pytest.raises(ConfigError, match="APPLICATIONINSIGHTS_CONNECTION_STRING is invalid"):
        AppSettings({"APPLICATIONINSIGHTS_CONNECTION_STRING": "garbage"}).get(TelemetrySettings)


@pytest.mark.parametrize("value", ACCEPTED + REFUSED)
def test_the_setting_is_checked_as_the_exporter_checks_it(value: str) -> None:
    """Accepted exactly when the exporter's own parser accepts it (the oracle)."""
    from azure.monitor.opentelemetry.exporter._connection_string_parser import (  # noqa: PLC0415
        ConnectionStringParser,
    )

    try:
        ConnectionStringParser(value)
        exporter_accepts = True
    except ValueError:
        exporter_accepts = False
    assert (connection_string_problem(value) is None) == exporter_accepts == (value in ACCEPTED)


@pytest.mark.parametrize("endpoint", ["http://dc.example", "dc.example", "https://"])
def test_endpoints_must_be_https(endpoint: str) -> None:
    """Beyond the exporter's checks, telemetry is only ever sent over https."""
    problem = connection_string_problem(f"InstrumentationKey={GUID};IngestionEndpoint={endpoint}")
    assert problem == "its ingestionendpoint is not an https URL"


def test_a_guid_key_that_is_not_a_guid_does_not_raise(fresh_telemetry: None) -> None:
    """InstrumentationKey=not-a-guid: configure() returns False (the exporter would raise at import)."""
    settings = AppSettings({"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=not-a-guid"})
    assert telemetry.configure(settings) is False
    assert health.report(settings, detailed=False)["configuration"]["telemetry"] == [
        "APPLICATIONINSIGHTS_CONNECTION_STRING"
    ]


def test_any_failure_of_the_set_up_is_contained_and_reported(
    fresh_telemetry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exporter failing for any reason leaves telemetry off; health names it, without its text."""

    def fail(**kwargs: object) -> None:
        raise RuntimeError(f"cannot start with {kwargs['connection_string']}")

    monkeypatch.setattr("azure.monitor.opentelemetry.configure_azure_monitor", fail)
    value = f"InstrumentationKey={GUID}"
    settings = AppSettings({"APPLICATIONINSIGHTS_CONNECTION_STRING": value})
    assert telemetry.configure(settings) is False
    assert telemetry.problems() == [
        "APPLICATIONINSIGHTS_CONNECTION_STRING did not start telemetry: set-up failed with RuntimeError"
    ]
    detailed = health.report(settings, detailed=True)
    assert detailed["status"] == "degraded"
    assert GUID not in str(detailed)
    assert health.report(settings, detailed=False)["configuration"]["telemetry"] == [
        "APPLICATIONINSIGHTS_CONNECTION_STRING"
    ]
