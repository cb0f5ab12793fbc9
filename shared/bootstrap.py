"""Composition root for the functions: build adapters from settings, once per process and account.

Function invocations reuse the clients (connection pools, created tables and queues) across calls, as
the Functions worker keeps the module loaded between invocations.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from shared.config import AppSettings, StorageSettings
from shared.state.audit import AuditTrail
from shared.state.parked import ParkedRecords
from shared.state.queues import QueuePublisher
from shared.state.tables import StateTables


@dataclass(frozen=True)
class StorageServices:
    """The state repositories and the queue publisher of one storage account."""

    tables: StateTables
    publisher: QueuePublisher
    audit: AuditTrail
    parked: ParkedRecords


@functools.lru_cache(maxsize=8)
def _storage(connection_string: str, prefix: str) -> StorageServices:
    tables = StateTables.from_connection_string(connection_string, prefix)
    return StorageServices(
        tables=tables,
        publisher=QueuePublisher.from_connection_string(connection_string),
        audit=AuditTrail(tables),
        parked=ParkedRecords(tables),
    )


def storage(settings: AppSettings) -> StorageServices:
    """Storage adapters for the account in ``settings`` (ConfigError if its settings are incomplete)."""
    config = settings.get(StorageSettings)
    return _storage(config.connection_string, config.table_prefix)
