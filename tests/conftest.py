"""Session fixtures shared by every test layer.

Azurite: ``make test`` starts it and exports ``AZURITE_CONNECTION_STRING``; a bare ``pytest`` run starts
one itself through the same launcher, so integration tests never skip for lack of storage.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from devhost.azurite import running_azurite


@pytest.fixture(scope="session")
def azurite_connection_string() -> Iterator[str]:
    """Connection string of a running Azurite (explicit endpoints, loopback only)."""
    existing = os.environ.get("AZURITE_CONNECTION_STRING")
    if existing:
        yield existing
        return
    with running_azurite() as endpoints:
        yield endpoints.connection_string


@pytest.fixture
def unique_name() -> str:
    """A fresh lowercase name for a table prefix or queue, so tests never see each other's data."""
    return "t" + uuid.uuid4().hex[:12]
