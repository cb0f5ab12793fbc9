"""Create a row in IFS exactly once, across workers, redeliveries and answers that never came.

IFS has no idempotency key. Looking a row up before creating it is not enough: when a create's answer is
lost (a gateway timeout), IFS may still commit it *after* every look-up the worker and the queue's
redelivery make, and a second POST then makes a second order with the same ``CustomerPoNo``. So a create
first takes an insert-only lease (``CreateLeases``, in Table Storage) holding the time of the POST: two
workers can hold the same order, and the lease, not the message, decides which one creates it. While the
lease is held nobody POSTs again, until a look-up finds the row or ``pending_seconds`` have passed since
the POST (``IFS_CREATE_PENDING_SECONDS``, default 600: IFS documents no server timeout, so the deadline
stays well above the gateway's).

``create_once`` returns the created or found row. It raises:

- ``CreatePendingError`` (``transient``, ``retry_after``) while a create may still be committed: the worker
  re-enqueues the message with that delay instead of failing it, so waiting burns no dequeue count;
- ``DuplicateRowsError`` when more than one row matches: every key is named, none is picked;
- ``CreatedRowMissingError`` when the lease says the row was created but no row matches any more;
- the creator's own error when IFS refused the create (the lease is released, so a corrected record is
  created at once) or a look-up failed (a throttled one carries ``retry_after``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from shared.records import CreateLease
from shared.sync.ports import CreateLeases, IfsEntity, IfsRowCreator

DEFAULT_PENDING_SECONDS = 600.0
DEFAULT_RECHECK_SECONDS = 30.0
EntityT = TypeVar("EntityT", bound=IfsEntity)
Found = tuple[dict[str, Any], str | None]  # a row and its ETag


@dataclass(frozen=True)
class CreateOutcome:
    """The row, its ETag, and whether a create of the connector made it (False: it existed before)."""

    row: dict[str, Any]
    etag: str | None
    created: bool


class CreatePendingError(Exception):
    """A create of this row was sent and may still be committed: try again after ``retry_after`` seconds.

    Not a failure: re-enqueue the message with that delay. No second create is sent before a look-up finds
    the row or ``deadline`` has passed.
    """

    transient = True

    def __init__(self, lease: CreateLease, deadline: datetime, retry_after: float) -> None:
        self.lease = lease
        self.deadline = deadline
        self.retry_after = retry_after
        super().__init__(
            f"the create in {lease.scope} of {lease.reference} is pending: {lease.holder} sent it at "
            f"{lease.posted_at.isoformat()} and IFS may still commit it; no second create before "
            f"{deadline.isoformat()} unless a look-up finds the row; try again after {retry_after:g} s"
        )


class DuplicateRowsError(Exception):
    """More than one row matches what should identify one: a duplicate for a person to resolve."""

    transient = False

    def __init__(self, entity: str, match: Mapping[str, Any], keys: list[Mapping[str, Any]]) -> None:
        self.entity = entity
        self.match = dict(match)
        self.keys = [dict(key) for key in keys]
        super().__init__(
            f"{len(keys)} {entity} rows match {self.match}, where one was expected: {self.keys}; "
            "resolve the duplicate in IFS (none was picked)"
        )


class CreatedRowMissingError(Exception):
    """The lease says the row was created (``lease.created_key``), but no row matches any more.

    Deleted in IFS, or its identifying values edited there: creating it again is a decision for a person.
    """

    transient = False

    def __init__(self, lease: CreateLease) -> None:
        self.lease = lease
        super().__init__(
            f"{lease.scope} {dict(lease.created_key or {})} was created for {lease.reference}, but no row "
            "matches it any more (deleted or edited in IFS?); not creating it again"
        )


def reference_of(match: Mapping[str, Any]) -> str:
    """The lease reference of the row ``match`` identifies, e.g. ``CustomerPoNo=D365-SO-1001``."""
    return ";".join(f"{name}={value}" for name, value in match.items())


def create_once(
    creator: IfsRowCreator[EntityT],
    leases: CreateLeases,
    entity: EntityT,
    body: Mapping[str, Any],
    *,
    unique_on: Sequence[str],
    holder: str,
    clock: Callable[[], datetime],
    pending_seconds: float = DEFAULT_PENDING_SECONDS,
    recheck_seconds: float = DEFAULT_RECHECK_SECONDS,
) -> CreateOutcome:
    """Create ``body`` in ``entity`` unless a row with its ``unique_on`` values exists, exactly once.

    ``holder`` names the worker (its invocation or message id); ``clock`` gives timezone-aware instants;
    ``pending_seconds`` is how long after a create whose outcome is unknown nobody sends it again unless a
    look-up finds the row; ``recheck_seconds`` the longest delay a ``CreatePendingError`` asks for.
    """
    match = _match(body, unique_on)
    create = _Create(creator, leases, entity, match, holder, clock, pending_seconds, recheck_seconds)
    return create.run(body)


@dataclass(frozen=True)
class _Create(Generic[EntityT]):
    """One call of ``create_once``: what it creates and where its lease lives."""

    creator: IfsRowCreator[EntityT]
    leases: CreateLeases
    entity: EntityT
    match: Mapping[str, Any]
    holder: str
    clock: Callable[[], datetime]
    pending_seconds: float
    recheck_seconds: float

    @property
    def scope(self) -> str:
        return self.entity.name

    @property
    def reference(self) -> str:
        return reference_of(self.match)

    def run(self, body: Mapping[str, Any]) -> CreateOutcome:
        found = self._look_up()
        if found is not None:
            return self._existing(found)
        now = self.clock()
        lease = self.leases.acquire(self.scope, self.reference, self.holder, now)
        if lease is None:
            held = self._held_by_someone(now)
            if isinstance(held, CreateOutcome):
                return held
            lease = held
        return self._post(lease, body)

    def _post(self, lease: CreateLease, body: Mapping[str, Any]) -> CreateOutcome:
        """Send the create under ``lease``; find the row when the answer is lost."""
        try:
            row, etag = self.creator.create(self.entity, body)
        except Exception as exc:
            outcome_unknown = getattr(exc, "outcome_unknown", None)
            if outcome_unknown is False:  # IFS refused it, or nothing was sent: nothing to wait for
                self.leases.release(lease)
                raise
            if outcome_unknown is True:
                stored = self._look_up()
                if stored is not None:
                    self.leases.complete(lease, self.entity.key_of(stored[0]))
                    return CreateOutcome(stored[0], stored[1], created=True)
                raise self._pending(lease, self.clock()) from exc
            raise  # unexpected: the lease stays, so nothing is created twice before the deadline
        self.leases.complete(lease, self.entity.key_of(row))
        return CreateOutcome(row, etag, created=True)

    def _look_up(self) -> Found | None:
        rows = self.creator.find_by(self.entity, self.match)
        if len(rows) > 1:
            raise DuplicateRowsError(self.scope, self.match, [self.entity.key_of(row) for row in rows])
        if not rows:
            return None
        etag = rows[0].get("@odata.etag")
        return rows[0], etag if isinstance(etag, str) else None

    def _existing(self, found: Found) -> CreateOutcome:
        """A matching row exists: complete a lease still open on it; it is ours if a lease was taken."""
        lease = self.leases.get(self.scope, self.reference)
        if lease is not None and lease.created_key is None:
            self.leases.complete(lease, self.entity.key_of(found[0]))
        return CreateOutcome(found[0], found[1], created=lease is not None)

    def _held_by_someone(self, now: datetime) -> CreateLease | CreateOutcome:
        """The lease exists: wait for its create, take it over after the deadline, or report a lost row."""
        existing = self.leases.get(self.scope, self.reference)
        if existing is None:  # released between our insert and our read: one more try
            again = self.leases.acquire(self.scope, self.reference, self.holder, now)
            if again is None:
                raise self._recheck(now)
            return again
        if existing.created_key is not None:
            # Completed, perhaps just after our look-up: look once more before calling the row missing.
            stored = self._look_up()
            if stored is None:
                raise CreatedRowMissingError(existing)
            return CreateOutcome(stored[0], stored[1], created=True)
        if (now - existing.posted_at).total_seconds() < self.pending_seconds:
            raise self._pending(existing, now)
        taken = self.leases.take_over(existing, self.holder, now)  # deadline passed, still no row
        if taken is None:
            raise self._recheck(now)
        return taken

    def _pending(self, lease: CreateLease, now: datetime) -> CreatePendingError:
        deadline = lease.posted_at + timedelta(seconds=self.pending_seconds)
        remaining = (deadline - now).total_seconds()
        return CreatePendingError(lease, deadline, max(1.0, min(self.recheck_seconds, remaining)))

    def _recheck(self, now: datetime) -> CreatePendingError:
        """Another worker changed the lease just now: it is creating the row, so look again shortly."""
        lease = self.leases.get(self.scope, self.reference)
        if lease is None:
            lease = CreateLease(self.scope, self.reference, "another worker", now)
        deadline = lease.posted_at + timedelta(seconds=self.pending_seconds)
        return CreatePendingError(lease, deadline, max(1.0, self.recheck_seconds))


def _match(body: Mapping[str, Any], unique_on: Sequence[str]) -> dict[str, Any]:
    if not unique_on:
        raise ValueError("unique_on must name at least one property")
    # "X eq null" would match unrelated rows.
    empty = [name for name in unique_on if _is_empty(body.get(name))]
    if empty:
        raise ValueError(f"unique_on values must be present and not empty; {empty} are not")
    return {name: body[name] for name in unique_on}


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
