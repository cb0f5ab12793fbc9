"""Telemetry stays off unless a connection string is given explicitly."""

from __future__ import annotations

import pytest

from shared.config import AppSettings, ConfigError, TelemetrySettings
from shared.platform import telemetry


def test_no_connection_string_means_no_exporter() -> None:
    """Without the setting, configure() does nothing and says so."""
    assert telemetry.configure(AppSettings({})) is False


def test_malformed_connection_string_is_a_named_problem() -> None:
    """A value without an instrumentation key is rejected by name, so nothing half-configures."""
    with pytest.raises(ConfigError, match="APPLICATIONINSIGHTS_CONNECTION_STRING is invalid"):
        AppSettings({"APPLICATIONINSIGHTS_CONNECTION_STRING": "garbage"}).get(TelemetrySettings)
