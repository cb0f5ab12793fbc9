"""Fixtures for simulator tests: a loopback certificate private to this test session."""

from __future__ import annotations

import pytest

from simulators.common.tls import TlsFiles, loopback_certificate


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A loopback certificate in this session's temp dir (not shared with other test runs on the machine)."""
    return loopback_certificate(tmp_path_factory.mktemp("tls"))
