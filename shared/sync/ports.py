"""The ports the service layer needs.

Adapters in ``shared/state``, ``shared/ifs`` and ``shared/dataverse`` satisfy them structurally; they
never import this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol, TypeVar

from shared.records import AuditEntry, CreateLease, ParkedRecord


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


class CreateLeases(Protocol):
    """Insert-only leases on creates (``shared.state.leases.CreateLeaseRepository`` satisfies it).

    One lease per ``(scope, reference)``: whoever acquires it may send the create; it records when the
    create was sent and, once known, the key of the row it made.
    """

    def acquire(self, scope: str, reference: str, holder: str, at: datetime) -> CreateLease | None:
        """A new lease held by ``holder`` since ``at``; None when one exists (held or completed)."""
        ...

    def get(self, scope: str, reference: str) -> CreateLease | None:
        """The lease on ``reference``, if any."""
        ...

    def take_over(self, lease: CreateLease, holder: str, at: datetime) -> CreateLease | None:
        """Hold ``lease`` from ``at`` on; None when it changed since it was read (another worker did)."""
        ...

    def complete(self, lease: CreateLease, created_key: Mapping[str, Any]) -> CreateLease:
        """Record that the row exists, with its key."""
        ...

    def release(self, lease: CreateLease) -> bool:
        """Give the lease up (the create certainly did not happen); False when it changed since read."""
        ...


class IfsEntity(Protocol):
    """An IFS entity set as the service layer sees it (``shared.ifs.entities.EntitySet`` satisfies it)."""

    @property
    def name(self) -> str:
        """The entity set's name, e.g. ``CustomerOrderSet``."""
        ...

    def key_of(self, row: Mapping[str, Any]) -> Mapping[str, Any]:
        """The key values of a row read from this entity set."""
        ...


E_contra = TypeVar("E_contra", bound=IfsEntity, contravariant=True)


class IfsRowCreator(Protocol[E_contra]):
    """Finds and creates rows of IFS entity sets (``shared.ifs.client.IfsClient`` satisfies it).

    A failed ``create`` raises an exception whose ``outcome_unknown`` says whether IFS may have applied it
    (true: a timeout, a dropped connection, a 5xx or 408); false means it certainly did not (IFS refused
    it, or nothing was sent). Throttled errors carry ``transient`` and ``retry_after``.
    """

    def find_by(
        self, entity: E_contra, values: Mapping[str, Any], *, select: Iterable[str] = ()
    ) -> list[dict[str, Any]]:
        """The rows whose properties equal ``values``."""
        ...

    def create(self, entity: E_contra, body: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
        """POST a new row; the row as IFS stored it, and its ETag."""
        ...
