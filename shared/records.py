"""Records the connector keeps about its own work, shared by the service layer and the state adapter.

They live outside both so that dependencies point one way: ``sync`` declares ports that take these
values, ``state`` implements the ports, and neither imports the other.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class AuditEntry:
    """What happened to one record in one direction."""

    direction: str  # e.g. "ifs->dataverse", "dataverse->ifs"
    entity: str
    source_key: str
    outcome: str  # "synced", "unchanged", "parked", "failed", "ignored", "echoed"
    target_id: str | None = None
    error_class: str | None = None
    message: str | None = None
    correlation_id: str | None = None
    latency_ms: float | None = None
    at: datetime | None = None  # filled in from the clock when recorded
    entry_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


@dataclass(frozen=True)
class ParkedRecord:
    """One record the connector could not process, and why."""

    entity: str
    source_key: str
    error_class: str  # e.g. "unknown_product", "invalid_value", "malformed_message"
    message: str
    direction: str
    queue: str | None = None  # where a replay re-submits it
    payload: Mapping[str, Any] | None = None
    correlation_id: str | None = None
    attempts: int = 1
    first_parked_at: datetime | None = None
    last_parked_at: datetime | None = None


@dataclass(frozen=True)
class LedgerEntry:
    """What the connector knows about one source record (an IFS customer, part, order …).

    ``version_seen`` is the version the poller last enqueued, ``version_synced`` the one the worker last
    wrote, ``values_hash`` a hash of the values written (compare before writing: equal means no request),
    ``read_at`` when the written state was read from the source (a write of an older read never counts as
    newer), ``left_scope_at`` when the record left the polled scope (read once more by key, then no longer
    compared), ``etag`` the ledger row's own version (for conditional updates).
    """

    entity: str
    key: str
    version_seen: str | None
    version_synced: str | None
    target_id: str | None
    seen_at: datetime | None
    synced_at: datetime | None
    values_hash: str | None = None
    read_at: datetime | None = None
    left_scope_at: datetime | None = None
    etag: str | None = None
    row_digests: Mapping[str, str] | None = None  # each written row's digest (None: not known)


@dataclass(frozen=True)
class SyncMark:
    """What a worker wrote for one source record: the ledger update after a successful write."""

    key: str
    version: str | None
    target_id: str | None
    values_hash: str
    read_at: datetime
    row_digests: Mapping[str, str] | None = None  # None: keep what the ledger holds


@dataclass(frozen=True)
class CreateLease:
    """The insert-only lease on creating one row in a system without idempotency keys (IFS).

    Whoever holds it is the only worker that may send the create (``holder``, for diagnostics);
    ``posted_at`` is when the create was (about to be) sent: until a look-up finds the row, or a deadline
    counted from it has passed, nobody sends it again. ``created_key`` is the key of the row once it is
    known to exist. ``version`` is the store's ETag, for conditional take-over and release.
    """

    scope: str  # where the row is created, e.g. "CustomerOrderSet"
    reference: str  # what identifies it there, e.g. "CustomerPoNo=D365-SO-1001"
    holder: str
    posted_at: datetime
    created_key: Mapping[str, Any] | None = None
    version: str = ""


@dataclass(frozen=True)
class Subscription:
    """One registered webhook endpoint and its processing steps, and whom it belongs to.

    ``organization_id`` and ``application_user_id`` are what ``WhoAmI`` said when provisioning ran: the
    webhook accepts calls of that organization only and ignores the events that user caused.
    ``auth_fingerprint`` is a hash of the authentication registered (never the secret itself), so a
    provisioning run that finds URL and secret unchanged writes nothing.
    """

    name: str
    endpoint_url: str
    service_endpoint_id: str
    step_ids: dict[str, str] = field(default_factory=dict)  # step name -> sdkmessageprocessingstep id
    updated_at: datetime | None = None
    organization_id: str | None = None
    application_user_id: str | None = None
    auth_fingerprint: str | None = None


# ---- operations: pauses, runs, jobs --------------------------------------------------------------------


@dataclass(frozen=True)
class PauseRecord:
    """One paused entity: its polls are skipped and its queue messages held until it is resumed."""

    entity: str
    paused_at: datetime
    reason: str = ""


@dataclass(frozen=True)
class RunRecord:
    """The last run of one kind (``poll``, ``work``) for one entity, and how it ended."""

    entity: str
    kind: str
    at: datetime
    outcome: str  # "ok", "parked", "failed", "skipped", "held"
    detail: str = ""
    correlation_id: str | None = None


@dataclass(frozen=True)
class Job:
    """A long operation (reconcile, backfill) asked for over HTTP and run by the jobs timer.

    ``status`` is ``queued``, ``running``, ``done`` or ``failed``; ``done``/``total`` say how far it is;
    ``result`` is the operation's own document when it finished; ``version`` is the store's ETag.
    """

    id: str
    kind: str
    params: Mapping[str, Any]
    status: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    done: int = 0
    total: int | None = None
    slices: int = 0
    result: Mapping[str, Any] | None = None
    error: str | None = None
    version: str = ""
