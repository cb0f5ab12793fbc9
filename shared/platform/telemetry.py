"""Application Insights through OpenTelemetry — switched on only by an explicit connection string.

Without ``APPLICATIONINSIGHTS_CONNECTION_STRING`` nothing is configured and nothing leaves the process
(tests, the demo and benchmarks run this way). With it, ``configure_azure_monitor`` exports the
connector's logs, traces and the HTTP calls made through httpx; the noisy Azure SDK loggers are kept
at WARNING so the storage polling of the host does not drown the connector's own records.
"""

from __future__ import annotations

import logging
import threading

from shared.config import AppSettings, TelemetrySettings

LOGGER_NAME = "connector"
_lock = threading.Lock()
_configured = False


def configure(settings: AppSettings) -> bool:
    """Start exporting to Application Insights if a connection string is set (once per process)."""
    global _configured  # noqa: PLW0603 - the exporter is process-wide; configuring it twice duplicates telemetry
    connection_string = settings.get(TelemetrySettings).connection_string
    if not connection_string:
        return False
    with _lock:
        if _configured:
            return True
        from azure.monitor.opentelemetry import configure_azure_monitor  # noqa: PLC0415 - heavy, rarely needed

        configure_azure_monitor(connection_string=connection_string, logger_name=LOGGER_NAME)
        logging.getLogger("azure").setLevel(logging.WARNING)
        _configured = True
    return True
