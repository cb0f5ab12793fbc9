"""Default e2e fixtures: the sample app under devhost (test_function_app.py overrides them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devhost.host import LocalHost
from tests.e2e.sample import SAMPLE, host_settings


@pytest.fixture
def settings(azurite_connection_string: str, unique_name: str) -> dict[str, str]:
    """App settings of the sample app, on this test's own queue."""
    return {
        "AzureWebJobsStorage": azurite_connection_string,
        "SAMPLE_QUEUE": unique_name,
        "SAMPLE_SCHEDULE": "0 0 * * * *",
    }


@pytest.fixture
def host(settings: dict[str, str]) -> Iterator[LocalHost]:
    """The sample app running under devhost, driven by the test (no background loops)."""
    with LocalHost(app_module=SAMPLE, settings=settings, host_settings=host_settings()) as running:
        yield running
