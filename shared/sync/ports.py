"""The ports the service layer needs.

Adapters in ``shared/state``, ``shared/ifs`` and ``shared/dataverse`` satisfy them structurally; they
never import this module.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from shared.records import (
    AuditEntry,
    CreateLease,
    Job,
    LedgerEntry,
    ParkedRecord,
    PauseRecord,
    RunRecord,
    Subscription,
    SyncMark,
)
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

    def create_alternate_key(self, entity: str, schema_name: str, key_attributes: Iterable[str]) -> Any:
        """The key, created when missing, without waiting for its index."""

    def await_alternate_key(
        self, entity: str, schema_name: str, *, timeout: float = ..., poll: float = ...
    ) -> Any:
        """The existing key once its index is Active."""


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


# ---- the Dynamics → IFS direction -------------------------------------------------------------------


class EventMarks(Protocol):
    """Webhook events already accepted (``shared.state.dedupe.WebhookDedupe``)."""

    def seen(self, event_key: str) -> bool:
        """Whether ``event_key`` was accepted and its mark has not expired."""
        ...

    def mark(self, event_key: str, ttl: timedelta) -> None:
        """Remember ``event_key`` as accepted for ``ttl``."""
        ...


class RegisteredWebhooks(Protocol):
    """What provisioning registered, by endpoint name (``shared.state.subscriptions``' repository)."""

    def get(self, name: str) -> Subscription | None:
        """The registration named ``name``, if any."""
        ...

    def save(self, subscription: Subscription) -> Subscription:
        """Create or replace the registration."""
        ...

    def delete(self, name: str) -> None:
        """Forget the registration."""
        ...


class IdMapping(IdLinks, Protocol):
    """The id map, one key at a time and in reverse (``shared.state.idmap.IdMap``)."""

    def link(self, entity: str, source_key: str, target_id: str) -> None:
        """Record that ``source_key`` is ``target_id``."""
        ...

    def target_id(self, entity: str, source_key: str) -> str | None:
        """The target id of ``source_key``, if linked."""
        ...

    def source_key(self, entity: str, target_id: str) -> str | None:
        """The source key linked to ``target_id``, if any."""
        ...


class DynamicsSales(Protocol):
    """Dynamics sales rows read and written by the Dynamics → IFS flows (``shared.dataverse.sales``).

    Rows are the Web API's JSON (lookups as ``_<name>_value``); a row that does not exist is None.
    """

    def row(self, entity_set: str, row_id: uuid.UUID, columns: Sequence[str]) -> dict[str, Any] | None:
        """One row by id."""
        ...

    def order(
        self, order_id: uuid.UUID, columns: Sequence[str], line_columns: Sequence[str]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """An order and its lines in line-number order."""
        ...

    def rows_by_id(
        self, entity_set: str, id_column: str, ids: Iterable[uuid.UUID], columns: Sequence[str]
    ) -> dict[uuid.UUID, dict[str, Any]]:
        """Rows of ``entity_set`` by id."""
        ...

    def orders_of_quote(self, quote_id: uuid.UUID) -> list[uuid.UUID]:
        """The orders made from a quote."""
        ...

    def write(self, entity_set: str, row_id: uuid.UUID, values: Mapping[str, Any]) -> None:
        """Update an existing row."""
        ...

    def orders_to_reconcile(
        self,
        *,
        since: datetime,
        number_column: str,
        send_states: frozenset[int],
        created_by_other_than: uuid.UUID | None,
    ) -> Iterable[uuid.UUID]:
        """Orders changed since ``since`` without an IFS number that should have one."""
        ...


class ChangeRead(Protocol):
    """One change-tracking read (``shared.dataverse.changes.ChangeBatch``)."""

    @property
    def changed_rows(self) -> list[dict[str, Any]]:
        """New or updated rows."""
        ...

    @property
    def deleted_ids(self) -> list[uuid.UUID]:
        """Ids of deleted rows."""
        ...

    @property
    def next_delta_token(self) -> str:
        """The token to read from next time."""
        ...


class ChangeFeed(Protocol):
    """Dataverse change tracking (``shared.dataverse.sales.SalesData``)."""

    def read_changes(
        self, entity_set: str, select: Sequence[str], delta_token: str | None
    ) -> ChangeRead | None:
        """Changes since ``delta_token`` (every row when None); None when the token has expired."""
        ...


class IfsOperations(Protocol):
    """The IFS reads and writes the Dynamics → IFS flows use (``shared.ifs.client.IfsClient``).

    Entity sets and navigations are the adapter's own objects, passed through. Errors say what they are:
    ``status`` (409/412: the row changed since it was read; 400: IFS refused, ``message`` says why),
    ``outcome_unknown`` (a write that may have been applied), ``transient`` and ``retry_after``.
    """

    def find_by(
        self, entity: Any, values: Mapping[str, Any], *, select: Iterable[str] = ()
    ) -> list[dict[str, Any]]:
        """Rows whose properties equal ``values``."""
        ...

    def get(
        self, entity: Any, key: Mapping[str, Any], *, select: Iterable[str] = ()
    ) -> tuple[dict[str, Any], str | None]:
        """One row by key, with its ETag."""
        ...

    def create(self, entity: Any, body: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
        """POST a row."""
        ...

    def create_with_children(
        self, entity: Any, body: Mapping[str, Any], navigation: Any, children: Sequence[Mapping[str, Any]]
    ) -> tuple[tuple[dict[str, Any], str | None], Sequence[tuple[dict[str, Any], str | None]]]:
        """A row and its children in one change set."""
        ...

    def create_child(
        self, entity: Any, key: Mapping[str, Any], navigation: Any, body: Mapping[str, Any]
    ) -> tuple[dict[str, Any], str | None]:
        """POST a child row through a collection navigation."""
        ...

    def iter_children(
        self,
        entity: Any,
        key: Mapping[str, Any],
        navigation: Any,
        query: Any = None,
        *,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The rows of a collection navigation of one row."""
        ...

    def update(
        self, entity: Any, key: Mapping[str, Any], changes: Mapping[str, Any], etag: str
    ) -> tuple[dict[str, Any], str | None]:
        """PATCH ``changes`` if the row still has ``etag``."""
        ...

    def call_action(
        self,
        entity: Any,
        key: Mapping[str, Any],
        action: str,
        params: Mapping[str, Any] | None = None,
        *,
        etag: str,
    ) -> Any:
        """Run a bound action with ``If-Match: etag``."""


# ---- operations: pauses, runs, queues, jobs, inspection (status, replay, reconcile, audit) ---------------


class PauseSwitch(Protocol):
    """Which entities are paused (``shared.state.pauses.PauseRepository``)."""

    def get(self, entity: str) -> PauseRecord | None:
        """The pause of ``entity``, or None when it runs."""
        ...

    def pause(self, entity: str, reason: str = "") -> PauseRecord:
        """Pause ``entity``."""
        ...

    def resume(self, entity: str) -> PauseRecord | None:
        """Resume ``entity``; the pause it had."""
        ...

    def all(self) -> dict[str, PauseRecord]:
        """Every paused entity."""
        ...


class Runs(Protocol):
    """The last run of each kind per entity (``shared.state.runs.RunLog``)."""

    def record(
        self, entity: str, kind: str, outcome: str, detail: str = "", correlation_id: str | None = None
    ) -> RunRecord:
        """Record that a run ended now."""
        ...

    def last(self, entity: str) -> dict[str, RunRecord]:
        """The last run of each kind for ``entity``."""
        ...


class QueuedMessage(Protocol):
    """A message as it sits on a queue (``shared.state.queue_admin.StoredMessage``)."""

    @property
    def queue(self) -> str:
        """The queue it is on."""
        ...

    @property
    def raw(self) -> str:
        """Its content exactly as stored."""
        ...

    @property
    def text(self) -> str | None:
        """Its text, when the content decodes (base64 of UTF-8)."""
        ...


M = TypeVar("M", bound=QueuedMessage)


class QueueView(Protocol[M]):
    """Looks at and moves queue messages (``shared.state.queue_admin.QueueInspector``)."""

    def depth(self, queue: str) -> int:
        """Messages on the queue."""
        ...

    def take(self, queue: str, *, visibility_timeout: int = ..., batch: int = ...) -> Iterator[M]:
        """Receive every visible message, hidden meanwhile."""
        ...

    def delete(self, message: M) -> None:
        """Remove a taken message."""
        ...

    def release(self, message: M) -> None:
        """Make a taken message visible again."""
        ...

    def send_raw(self, queue: str, raw: str, *, delay_seconds: int | None = None) -> None:
        """Put stored content on a queue unchanged."""
        ...


class ParkedList(ParkingLot, Protocol):
    """Parked records, listed and counted (``shared.state.parked.ParkedRecords``)."""

    def list(self, entity: str | None = None, error_class: str | None = None) -> Iterator[ParkedRecord]:
        """Open entries, optionally of one entity and/or error class."""
        ...


class AuditSearch(Protocol):
    """Audit rows searched and purged (``shared.state.audit.AuditTrail``)."""

    def search(
        self,
        days: int,
        *,
        keys: Iterable[str] = (),
        correlation_id: str | None = None,
        entity: str | None = None,
    ) -> list[AuditEntry]:
        """Rows of the last ``days`` days naming one of ``keys`` (source or target) or the correlation id."""
        ...

    def purge_before(self, day: date) -> int:
        """Delete the rows of the days before ``day``."""
        ...


class LedgerProgress(Protocol):
    """What the ledger says about an entity's progress (``shared.state.ledger.LedgerRepository``)."""

    def progress(self, entity: str) -> tuple[int, dict[str, Any]]:
        """(keys in scope, unsynced keys with the time their version was seen)."""
        ...


class IdLookup(IdLinks, Protocol):
    """The id map, read both ways and listed (``shared.state.idmap.IdMap``)."""

    def source_key(self, entity: str, target_id: str) -> str | None:
        """The source key linked to ``target_id``."""
        ...

    def links(self, entity: str) -> dict[str, str]:
        """Every link of ``entity``."""
        ...


class JobStore(Protocol):
    """Queued, running and finished jobs (``shared.state.jobs.JobRepository``)."""

    def submit(self, kind: str, params: Mapping[str, Any]) -> Job:
        """Queue a job."""
        ...

    def get(self, job_id: str) -> Job | None:
        """The job with that id."""
        ...

    def unfinished(self) -> list[Job]:
        """Queued and running jobs, oldest first."""
        ...

    def update(self, job: Job, **changes: Any) -> Job:
        """Write changes to the job as read (raises when it changed since)."""
        ...

    def purge_finished(self, before: datetime) -> int:
        """Delete finished jobs older than ``before``."""
        ...


class RowReader(Protocol):
    """Reads Dataverse rows back for comparison (``shared.dataverse.reader.DataverseReader``)."""

    def by_ids(
        self, entity_set: str, table: str, ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, Any]]:
        """Rows by id."""
        ...

    def by_key(self, entity_set: str, column: str, values: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Rows by an alternate-key column's value, folded to lower case."""
        ...

    def under(
        self, entity_set: str, parent_column: str, parent_ids: Iterable[uuid.UUID]
    ) -> list[dict[str, Any]]:
        """The rows whose lookup ``parent_column`` points at one of ``parent_ids``."""
        ...

    def keyed(self, entity_set: str, table: str, column: str) -> Iterator[tuple[str, uuid.UUID]]:
        """Every row with a value in ``column``: (value, id)."""
        ...


class Metrics(Protocol):
    """Where the sync's numbers go (``shared.platform.metrics.SyncMetrics``; OpenTelemetry)."""

    def records(self, entity: str, direction: str, outcomes: Mapping[str, int]) -> None:
        """Count records by outcome (synced, unchanged, parked, failed …)."""
        ...

    def gauges(self, entity: str, values: Mapping[str, float]) -> None:
        """Set the entity's gauges: lag_seconds, queue_depth, poison, parked."""
        ...


class ExpiringClaims(Protocol):
    """Webhook dedupe claims that expire (``shared.state.dedupe.WebhookDedupe``)."""

    def purge_expired(self) -> int:
        """Delete every expired claim; how many."""
        ...
