"""The ports the service layer needs.

Adapters in ``shared/state``, ``shared/ifs`` and ``shared/dataverse`` satisfy them structurally; they
never import this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from shared.records import AuditEntry, ParkedRecord


class MessagePublisher(Protocol):
    """Puts message texts on a named queue."""

    def send(self, queue: str, messages: Iterable[str], *, delay_seconds: int | None = None) -> int:
        """Send each text as one message; returns how many were sent."""
        ...


class AuditLog(Protocol):
    """Appends audit entries."""

    def record(self, entries: Iterable[AuditEntry]) -> None:
        """Append ``entries``."""
        ...


class ParkingLot(Protocol):
    """Keeps records that failed permanently, for inspection and replay."""

    def park(self, record: ParkedRecord) -> ParkedRecord:
        """Park ``record`` (or count another attempt of its open entry)."""
        ...
