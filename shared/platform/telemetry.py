"""Application Insights through OpenTelemetry — switched on only by an explicit connection string.

Without ``APPLICATIONINSIGHTS_CONNECTION_STRING`` nothing is configured and nothing leaves the process
(tests, the demo and benchmarks run this way). With it, ``configure_azure_monitor`` exports the
connector's logs (every logger under ``shared``, each record with its correlation id: ``logcontext``), its
metrics (``metrics``), traces and the HTTP calls made through httpx; the noisy Azure SDK loggers are kept
at WARNING so the storage polling of the host does not drown the connector's own records.

Telemetry never takes the app down: a connection string the exporter would refuse is a settings problem
(``TelemetrySettings`` checks it as the exporter does), and any failure of the set-up itself is contained:
the app loads without telemetry, and ``problems()`` says why, for ``/api/health``.
"""

from __future__ import annotations

import logging
import threading

from shared.config import AppSettings, ConfigError, TelemetrySettings

# The exporter's log handler goes on this logger: every module of the connector logs under its own name
# (``logging.getLogger(__name__)``, so ``shared.sync.engine`` …), hence the package's name, not a made-up one
# no module logs under (with "connector" nothing the connector logged reached Application Insights).
LOGGER_NAME = "shared"
_lock = threading.Lock()
_configured = False
_failure: str | None = None  # why the last set-up failed, without the connection string
log = logging.getLogger(__name__)


def configure(settings: AppSettings) -> bool:
    """Start exporting to Application Insights if a connection string is set (once per process).

    Returns whether telemetry is on. Never raises: invalid settings and failures of the set-up leave it
    off and are reported by ``problems()`` (invalid settings also by ``AppSettings.problems()``).
    """
    global _configured, _failure  # noqa: PLW0603 - the exporter is process-wide; configuring it twice duplicates telemetry
    try:
        connection_string = settings.get(TelemetrySettings).connection_string
    except ConfigError:
        return False  # AppSettings.problems() names the setting
    if not connection_string:
        return False
    with _lock:
        if _configured:
            return True
        try:
            from azure.monitor.opentelemetry import configure_azure_monitor  # noqa: PLC0415 - heavy, rarely needed

            configure_azure_monitor(connection_string=connection_string, logger_name=LOGGER_NAME)
        except Exception as exc:  # whatever breaks, the functions must still load
            # The exception's text could quote the connection string: only its type is kept.
            _failure = type(exc).__name__
            log.warning("Application Insights could not be configured (%s); telemetry is off", _failure)
            return False
        logging.getLogger("azure").setLevel(logging.WARNING)
        _configured, _failure = True, None
    return True


def problems() -> list[str]:
    """Why telemetry set-up failed in this process (empty when it did not fail)."""
    failure = _failure
    if failure is None:
        return []
    return [f"APPLICATIONINSIGHTS_CONNECTION_STRING did not start telemetry: set-up failed with {failure}"]
