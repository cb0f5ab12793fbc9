"""The sync's metrics through the OpenTelemetry API: records per entity, direction and outcome, and gauges.

- ``connector.records`` (counter): records processed, by ``entity``, ``direction`` and ``outcome``
  (created, updated, unchanged, parked …); ``connector.records.failed`` (counter): records that failed
  (parked, or a message try that raised), by entity and direction;
- gauges by ``entity``: ``connector.lag`` (seconds: the age of the oldest change not yet written),
  ``connector.queue.depth``, ``connector.poison`` (messages in ``<queue>-poison``), ``connector.parked``.

The meter comes from the global meter provider: Application Insights' when
``APPLICATIONINSIGHTS_CONNECTION_STRING`` configured it (``shared.platform.telemetry``), else the API's no-op
provider, so nothing is recorded or sent. Tests hand in a meter of their own provider and read it back.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import metrics
from opentelemetry.metrics import Meter

METER_NAME = "connector"
FAILED = frozenset({"parked", "failed"})
GAUGES: Mapping[str, tuple[str, str, str]] = {
    "lag_seconds": ("connector.lag", "s", "age of the oldest change not yet in the other system"),
    "queue_depth": ("connector.queue.depth", "{message}", "messages waiting on the entity's queue"),
    "poison": ("connector.poison", "{message}", "messages in the entity's poison queue"),
    "parked": ("connector.parked", "{record}", "records parked with a permanent error"),
}


class SyncMetrics:
    """Counts and gauges of the sync, recorded on one meter."""

    def __init__(self, meter: Meter | None = None) -> None:
        meter = meter or metrics.get_meter(METER_NAME)
        self._records = meter.create_counter(
            "connector.records", unit="{record}", description="records processed, by outcome"
        )
        self._failed = meter.create_counter(
            "connector.records.failed", unit="{record}", description="records that failed"
        )
        self._gauges = {
            key: meter.create_gauge(name, unit=unit, description=text)
            for key, (name, unit, text) in GAUGES.items()
        }

    def records(self, entity: str, direction: str, outcomes: Mapping[str, int]) -> None:
        """Count records by outcome; parked and failed ones also as failed."""
        for outcome, count in outcomes.items():
            if count <= 0:
                continue
            attributes = {"entity": entity, "direction": direction, "outcome": outcome}
            self._records.add(count, attributes)
            if outcome in FAILED:
                self._failed.add(count, {"entity": entity, "direction": direction})

    def gauges(self, entity: str, values: Mapping[str, float]) -> None:
        """Set the entity's gauges (keys of ``GAUGES``; others are ignored)."""
        for key, value in values.items():
            gauge = self._gauges.get(key)
            if gauge is not None:
                gauge.set(value, {"entity": entity})
