"""Metrics through the OpenTelemetry API (read by an in-memory reader), and correlation ids on log records."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint

from shared.platform.logcontext import current_correlation_id, log_context
from shared.platform.metrics import SyncMetrics


def points(reader: InMemoryMetricReader) -> dict[tuple[str, tuple[tuple[str, Any], ...]], float]:
    """Every data point: (metric name, sorted attributes) -> value."""
    data = reader.get_metrics_data()
    assert data is not None
    found = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    assert isinstance(point, NumberDataPoint)
                    attributes = tuple(sorted((point.attributes or {}).items()))
                    found[(metric.name, attributes)] = point.value
    return found


def test_records_are_counted_by_entity_direction_and_outcome() -> None:
    """Outcomes add up per attribute set; parked ones also count as failed; zero counts are not recorded."""
    reader = InMemoryMetricReader()
    metrics = SyncMetrics(MeterProvider(metric_readers=[reader]).get_meter("test"))
    metrics.records("customers", "ifs->dataverse", {"created": 3, "parked": 1, "unchanged": 0})
    metrics.records("customers", "ifs->dataverse", {"created": 2})
    found = points(reader)
    base = (("direction", "ifs->dataverse"), ("entity", "customers"))
    assert found[("connector.records", (*base, ("outcome", "created")))] == 5
    assert found[("connector.records", (*base, ("outcome", "parked")))] == 1
    assert ("connector.records", (*base, ("outcome", "unchanged"))) not in found
    assert found[("connector.records.failed", base)] == 1


def test_gauges_hold_the_last_value_per_entity() -> None:
    """Lag, queue depth, poison and parked per entity; unknown names are ignored."""
    reader = InMemoryMetricReader()
    metrics = SyncMetrics(MeterProvider(metric_readers=[reader]).get_meter("test"))
    metrics.gauges("customers", {"lag_seconds": 12.5, "queue_depth": 3, "poison": 0, "parked": 2, "other": 9})
    metrics.gauges("customers", {"lag_seconds": 4.0})
    found = points(reader)
    entity = (("entity", "customers"),)
    assert found[("connector.lag", entity)] == 4.0
    assert found[("connector.queue.depth", entity)] == 3
    assert found[("connector.parked", entity)] == 2
    assert not any(name == "other" for name, _ in found)


def test_without_a_configured_provider_nothing_is_recorded() -> None:
    """The API's default provider is a no-op: metrics cost nothing and send nothing (tests, the demo)."""
    SyncMetrics().records("customers", "ifs->dataverse", {"created": 1})


def test_log_records_carry_the_current_correlation_id(caplog: pytest.LogCaptureFixture) -> None:
    """Inside a context every record has its correlation id and entity; outside, None; nesting restores."""
    log = logging.getLogger("connector.test")
    with caplog.at_level(logging.INFO):
        log.info("before")
        with log_context(correlation_id="c-1", entity="customers"):
            log.info("inside")
            with log_context(correlation_id="c-2"):
                log.info("nested")
                assert current_correlation_id() == "c-2"
            log.info("back")
        log.info("after")
    stamped = [(r.getMessage(), r.correlation_id, r.entity) for r in caplog.records]  # type: ignore[attr-defined]
    assert stamped == [
        ("before", None, None),
        ("inside", "c-1", "customers"),
        ("nested", "c-2", "customers"),
        ("back", "c-1", "customers"),
        ("after", None, None),
    ]


def test_threads_keep_their_own_correlation_id(caplog: pytest.LogCaptureFixture) -> None:
    """Two invocations at once (the host's threads) never see each other's id."""
    log = logging.getLogger("connector.test")
    barrier = threading.Barrier(2)

    def work(correlation: str) -> None:
        with log_context(correlation_id=correlation):
            barrier.wait()
            log.info(correlation)

    with caplog.at_level(logging.INFO):
        threads = [threading.Thread(target=work, args=(c,)) for c in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted((r.getMessage(), r.correlation_id) for r in caplog.records) == [("a", "a"), ("b", "b")]  # type: ignore[attr-defined]


def test_the_exporter_gets_the_loggers_the_connector_logs_on() -> None:
    """Every module logs under its own name in ``shared``: the exporter's logger is their ancestor."""
    from shared.dataverse import bulk  # noqa: PLC0415 - modules that log, as the exporter would meet them
    from shared.platform import telemetry  # noqa: PLC0415
    from shared.sync import detection, engine, jobs  # noqa: PLC0415

    exported = logging.getLogger(telemetry.LOGGER_NAME)
    for module in (bulk, detection, engine, jobs):
        logger: logging.Logger | None = logging.getLogger(module.__name__)
        ancestors = []
        while logger is not None:
            ancestors.append(logger)
            logger = logger.parent
        assert exported in ancestors, module.__name__
