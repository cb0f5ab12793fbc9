"""The ports the service layer needs.

Adapters in ``shared/state``, ``shared/ifs`` and ``shared/dataverse`` satisfy them structurally; they
never import this module.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from shared.records import AuditEntry, CreateLease, LedgerEntry, ParkedRecord, SyncMark
from shared.sync.messages import ChangedKey


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

    def open_keys(self, entity: str) -> set[str]:
        """Keys of ``entity`` with an open entry."""
        ...

    def resolve(self, entity: str, source_key: str) -> bool:
        """Close the open entry of one record (it went through); False if there was none."""
        ...


# ---- the sync engine's ports -------------------------------------------------------------------------

# One source record as the source adapter reads it: named parts, each a list of source rows (the root
# rows, e.g. one customer or the sales-part rows of one catalog number on every site, and child rows).
Aggregate = Mapping[str, Sequence[Mapping[str, Any]]]
RecordRef = uuid.UUID | Mapping[str, Any]  # a Dataverse row by id or by alternate-key values
# One request the target runs for a flow (an action, a state change): method, path under the Web API root,
# JSON body or None.
Request = tuple[str, str, Mapping[str, Any] | None]


class ChangeSource(Protocol):
    """Reads one IFS entity as aggregates: keys with versions for change detection, and current state."""

    def scan(self, *, whole: bool = False) -> Iterator[tuple[str, str]]:
        """Every record in the configured scope (``whole``: every record): (key, version), children too."""
        ...

    def scan_since(self, column: str, since: date | datetime) -> Iterator[tuple[str, str, str | None]]:
        """Records whose ``column`` is at or after ``since``: (key, version, the column's ISO value)."""
        ...

    def read(self, keys: Sequence[str]) -> Mapping[str, Aggregate]:
        """The current state of ``keys``, read in bulk; keys that do not exist are absent."""
        ...


class Ledger(Protocol):
    """Per-record versions seen and synced (``shared.state.ledger.LedgerRepository``)."""

    def versions(self, entity: str) -> dict[str, str]:
        """Keys in the polled scope with the version last seen."""
        ...

    def entries(self, entity: str, keys: Iterable[str]) -> Mapping[str, LedgerEntry]:
        """The entries of ``keys`` that exist."""
        ...

    def mark_seen(self, entity: str, versions: Mapping[str, str]) -> None:
        """Record versions as seen (after they were enqueued)."""
        ...

    def mark_left_scope(self, entity: str, keys: Iterable[str]) -> None:
        """Record that keys left the polled scope."""
        ...

    def record_synced(
        self, entity: str, marks: Sequence[SyncMark], read: Mapping[str, LedgerEntry]
    ) -> list[str]:
        """Record what was written; returns keys another worker synced meanwhile."""
        ...


class IdLinks(Protocol):
    """The id map (``shared.state.idmap.IdMap``)."""

    def link_many(self, entity: str, links: Mapping[str, str]) -> None:
        """Link source keys to target ids."""
        ...

    def target_ids(self, entity: str, source_keys: Iterable[str]) -> dict[str, str]:
        """Target ids of the linked keys."""
        ...


class Watermarks(Protocol):
    """Stream positions, advanced conditionally (``shared.state.watermarks.WatermarkRepository``)."""

    def get(self, stream: str) -> Any:
        """The stream's watermark (with what ``advance`` needs to check it), or None."""
        ...

    def advance(self, stream: str, value: str, *, read: Any) -> Any:
        """Move the stream to ``value`` if nobody moved it since ``read``."""
        ...


class PollLocks(Protocol):
    """Keeps two polls of one entity from running at once (``shared.state.locks.PollLocks``)."""

    def acquire(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Take the lock for ``ttl_seconds`` unless someone else holds it; True when taken."""
        ...

    def release(self, name: str, holder: str) -> None:
        """Give the lock back (only if ``holder`` still holds it)."""
        ...


class RowResult(Protocol):
    """The outcome of writing one row (``shared.dataverse.bulk.RecordResult`` satisfies it)."""

    @property
    def ok(self) -> bool:
        """Whether the row was written."""
        ...

    @property
    def id(self) -> uuid.UUID | None:
        """The row's id, when the write told it."""
        ...

    @property
    def error(self) -> Exception | None:
        """Why the row was not written."""
        ...


class RequestOutcome(Protocol):
    """The outcome of one request ``Target.execute`` ran (``shared.dataverse.target.RequestResult``)."""

    @property
    def ok(self) -> bool:
        """Whether the request succeeded."""
        ...

    @property
    def body(self) -> Any:
        """The answer's JSON (None for a 204)."""
        ...

    @property
    def error(self) -> Exception | None:
        """Why it failed."""
        ...


class Target(Protocol):
    """Writes Dataverse rows for the sync (``shared.dataverse.target.DataverseTarget``)."""

    def upsert(
        self, entity_set: str, table: str, rows: Sequence[tuple[RecordRef, Mapping[str, Any]]]
    ) -> Sequence[RowResult]:
        """Upsert every row by alternate key or id; one result per row, in order."""
        ...

    def ids_by(self, entity_set: str, table: str, column: str, values: Iterable[Any]) -> dict[Any, uuid.UUID]:
        """The ids of the rows whose ``column`` has each of ``values`` (values with no row are absent)."""
        ...

    def find(
        self, entity_set: str, filters: Mapping[str, Any], select: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Rows whose columns equal ``filters``."""
        ...

    def create(self, entity_set: str, values: Mapping[str, Any]) -> uuid.UUID:
        """Create one row; its id."""
        ...

    def delete(self, entity_set: str, row_id: uuid.UUID) -> None:
        """Delete one row by id; a row already gone is not an error."""
        ...

    def rows_by(
        self, entity_set: str, column: str, values: Iterable[Any], select: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Rows whose ``column`` equals one of ``values``, read in bulk (e.g. the lines of many orders)."""
        ...

    def delete_many(self, entity_set: str, row_ids: Sequence[uuid.UUID]) -> Sequence[RequestOutcome]:
        """Delete many rows by id in bulk; one outcome per row (a row already gone is deleted)."""
        ...

    def execute(self, requests: Sequence[Request]) -> Sequence[RequestOutcome]:
        """Run many independent requests in bulk (actions, state changes); one outcome per request."""
        ...


class Requeue(Protocol):
    """Hands work back to the queue, e.g. throttled keys after the service's Retry-After."""

    def __call__(self, keys: Sequence[ChangedKey], *, delay_seconds: int, body: Mapping[str, Any]) -> None:
        """Enqueue ``keys`` again for the same entity, invisible for ``delay_seconds``."""
        ...


class KeyProvisioner(Protocol):
    """Creates columns and alternate keys (``shared.dataverse.provisioning.Provisioner``)."""

    def ensure_text_column(self, entity: str, schema_name: str, max_length: int, label: str) -> Any:
        """Add a custom text column unless it exists; truthy when it was created now."""

    def ensure_alternate_key(
        self,
        entity: str,
        schema_name: str,
        key_attributes: Iterable[str],
        *,
        timeout: float = ...,
        poll: float = ...,
    ) -> Any:
        """The Active key, created first when missing."""


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
