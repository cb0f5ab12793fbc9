"""State tables under a fresh prefix per test, on the session's Azurite."""

from __future__ import annotations

import pytest

from shared.state.tables import StateTables


@pytest.fixture
def tables(azurite_connection_string: str, unique_name: str) -> StateTables:
    """State tables nobody else uses."""
    return StateTables.from_connection_string(azurite_connection_string, unique_name)
