"""The rows of every table, their row versions (the ETags) and a journal of changes, behind one lock.

Values are held as Python values (``str``, ``int``, ``Decimal``, ``bool``, ``datetime``/``date``, ``UUID``,
``Ref`` for lookups), keyed by column logical name; ``render`` turns them into Web API JSON. The row
version is one counter for the whole organization, like SQL Server's rowversion behind Dataverse's
``versionnumber``: every write takes the next value, so a row's ETag ``W/"<versionnumber>"`` changes on
every write and never repeats.

The journal records each write with its version, so change tracking (a delta since a version) can be
answered from it. Operations that read, check and write (an upsert, an If-Match update) hold ``lock``
across all three, which is how the simulator keeps them atomic under concurrent requests.

``transaction()`` makes a group of writes all-or-nothing, as one Dataverse request is: an exception inside
it puts every row and the journal back as they were (version numbers stay used, so ETags never repeat), so
change tracking never sees a rolled-back write. Nested transactions join the outermost one, which is how a
``$batch`` change set makes several requests one transaction; ``after_outcome`` lets an inner request wait
for the outermost transaction's outcome before it acts on its commit (webhook deliveries).

``call_out(work)`` runs an outbound call made in the middle of a transaction (a synchronous webhook step)
with the lock released, so the called endpoint -- or anyone else -- can read from the organization while
it waits, instead of blocking until the call times out. Writes stay out until the transaction resumes:
``put``, ``remove`` and ``transaction`` of other threads (and ``wait_until_writable``, which request code
calls before it opens an operation) wait for that. ASSUMED: such reads see the paused request's
uncommitted rows; Dataverse's isolation for them is not documented.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

Row = dict[str, Any]
T = TypeVar("T")
_FIRST_VERSION = 468_000  # arbitrary; real orgs show six- to eight-digit versions


@dataclass(frozen=True)
class Ref:
    """A lookup value: the referenced table and row id."""

    logical_name: str
    id: uuid.UUID


@dataclass(frozen=True)
class Change:
    """One write, as change tracking sees it."""

    version: int
    logical_name: str
    id: uuid.UUID
    kind: Literal["upsert", "delete"]


class Store:
    """Rows per table, the organization-wide row version and the change journal."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        # The thread whose transaction is paused for an outbound call (call_out), and the condition writers
        # wait on until it resumes.
        self._paused_by: int | None = None
        self._resumed = threading.Condition(self.lock)
        self._rows: dict[str, dict[uuid.UUID, Row]] = {}
        self._version = _FIRST_VERSION
        self.journal: list[Change] = []
        # (table, id, the row before) per write of the open transaction; None outside one
        self._undo: list[tuple[str, uuid.UUID, Row | None]] | None = None
        # (on commit, on rollback) callbacks waiting for the open transaction's outcome
        self._outcome: list[tuple[Callable[[], None], Callable[[], None]]] = []
        # Bumped whenever rows change without a journal entry (clear, rollback): indexes built by following
        # the journal (alternate keys) must then be rebuilt.
        self.generation = 0
        self._children: dict[tuple[str, str], _ChildIndex] = {}

    def clear(self) -> None:
        """Forget every row (the version counter keeps counting: ETags never repeat)."""
        with self.lock:
            self._rows.clear()
            self.journal.clear()
            self.generation += 1

    @property
    def version(self) -> int:
        """The last version handed out."""
        return self._version

    def get(self, logical_name: str, row_id: uuid.UUID) -> Row | None:
        """A copy of the row, or None."""
        with self.lock:
            row = self._rows.get(logical_name, {}).get(row_id)
            return dict(row) if row is not None else None

    def rows(self, logical_name: str) -> list[Row]:
        """Copies of every row of a table, in creation order."""
        with self.lock:
            return [dict(row) for row in self._rows.get(logical_name, {}).values()]

    def iter_live(self, logical_name: str) -> Iterator[Row]:
        """The table's rows themselves, for read-only scans under ``lock`` (no copies)."""
        return iter(self._rows.get(logical_name, {}).values())

    def live(self, logical_name: str, row_id: uuid.UUID) -> Row | None:
        """The row itself (no copy), for read-only use under ``lock``."""
        return self._rows.get(logical_name, {}).get(row_id)

    def children(self, logical_name: str, column: str, parent: uuid.UUID) -> list[Row]:
        """The rows of ``logical_name`` whose lookup ``column`` names ``parent`` (the lines of one order).

        Re-totalling an order after each line write would scan every line of the organization (a bulk load
        of lines would be quadratic); the index follows the journal as the alternate keys' indexes do.
        """
        with self.lock:
            index = self._children.get((logical_name, column))
            if index is None or index.generation != self.generation or index.position > len(self.journal):
                index = _ChildIndex(self.generation, len(self.journal))
                for row_id, row in self._rows.get(logical_name, {}).items():
                    index.add(row_id, _parent(row, column))
                self._children[(logical_name, column)] = index
            else:
                for change in self.journal[index.position :]:
                    if change.logical_name == logical_name:
                        current = self._rows.get(logical_name, {}).get(change.id)
                        index.add(change.id, None if current is None else _parent(current, column))
                index.position = len(self.journal)
            rows = self._rows.get(logical_name, {})
            return [rows[row_id] for row_id in index.by_parent.get(parent, ()) if row_id in rows]

    def wait_until_writable(self) -> None:
        """Under the lock: wait (lock released) while another thread's transaction is paused in call_out."""
        me = threading.get_ident()
        while self._paused_by is not None and self._paused_by != me:
            self._resumed.wait()

    def call_out(self, work: Callable[[], T]) -> T:
        """Run ``work`` with the lock released to readers; the caller's transaction is paused meanwhile.

        For an outbound call made while holding the lock. ``work`` runs on a helper thread while this one
        waits with the lock fully released (``Condition.wait`` releases a re-entrant lock however deeply it
        is held); it must not touch the store. Other threads may read; their writes wait until this
        thread's transaction is over.
        """
        with self.lock:
            if self._paused_by is not None:
                raise RuntimeError("a transaction is already paused for an outbound call")
            self._paused_by = threading.get_ident()
            done: list[tuple[bool, Any]] = []

            def run() -> None:
                try:
                    outcome: tuple[bool, Any] = (True, work())
                except BaseException as exc:  # handed back to the waiting thread, which raises it
                    outcome = (False, exc)
                # Handed over under the lock: the waiting thread resumes only once this thread has let
                # go of it, so no helper still holds the lock when call_out returns.
                with self._resumed:
                    done.append(outcome)
                    self._resumed.notify_all()

            threading.Thread(target=run, name="store-call-out", daemon=True).start()
            try:
                self._resumed.wait_for(lambda: bool(done))
            finally:
                self._paused_by = None
                self._resumed.notify_all()
        succeeded, value = done[0]
        if not succeeded:
            raise value
        result: T = value
        return result

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock; on an exception undo every write made inside, then re-raise.

        Nested transactions join the outermost one (an action's inner writes commit or fail with it).
        """
        with self.lock:
            self.wait_until_writable()
            if self._undo is not None:
                yield
                return
            self._undo = []
            journal_length = len(self.journal)
            try:
                yield
            except BaseException:
                for logical_name, row_id, previous in reversed(self._undo):
                    rows = self._rows.setdefault(logical_name, {})
                    if previous is None:
                        rows.pop(row_id, None)
                    else:
                        rows[row_id] = previous
                del self.journal[journal_length:]
                self.generation += 1
                self._undo, waiting, self._outcome = None, self._outcome, []
                for _commit, rollback in waiting:
                    rollback()
                raise
            self._undo, waiting, self._outcome = None, self._outcome, []
            for commit, _rollback in waiting:
                commit()

    def after_outcome(self, on_commit: Callable[[], None], on_rollback: Callable[[], None]) -> None:
        """``on_commit`` once the open transaction commits (at once if none is open), else ``on_rollback``."""
        with self.lock:
            if self._undo is None:
                on_commit()
            else:
                self._outcome.append((on_commit, on_rollback))

    def _remember(self, logical_name: str, row_id: uuid.UUID) -> None:
        if self._undo is not None:
            self._undo.append((logical_name, row_id, self._rows.get(logical_name, {}).get(row_id)))

    def put(self, logical_name: str, row_id: uuid.UUID, row: Row) -> Row:
        """Insert or replace a row, stamping the next version into ``versionnumber``; returns a copy."""
        with self.lock:
            self.wait_until_writable()
            self._remember(logical_name, row_id)
            self._version += 1
            stored = dict(row, versionnumber=self._version)
            self._rows.setdefault(logical_name, {})[row_id] = stored
            self.journal.append(Change(self._version, logical_name, row_id, "upsert"))
            return dict(stored)

    def remove(self, logical_name: str, row_id: uuid.UUID) -> Row | None:
        """Delete a row; returns what it held, or None when there was no such row."""
        with self.lock:
            self.wait_until_writable()
            self._remember(logical_name, row_id)
            row = self._rows.get(logical_name, {}).pop(row_id, None)
            if row is not None:
                self._version += 1
                self.journal.append(Change(self._version, logical_name, row_id, "delete"))
            return row


@dataclass
class _ChildIndex:
    """Row ids by the parent a lookup names, as of a journal position."""

    generation: int
    position: int
    by_parent: dict[uuid.UUID, dict[uuid.UUID, None]] = field(default_factory=dict)
    parent_of: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)

    def add(self, row_id: uuid.UUID, parent: uuid.UUID | None) -> None:
        old = self.parent_of.pop(row_id, None)
        if old is not None:
            self.by_parent.get(old, {}).pop(row_id, None)
        if parent is not None:
            self.parent_of[row_id] = parent
            self.by_parent.setdefault(parent, {})[row_id] = None


def _parent(row: Row, column: str) -> uuid.UUID | None:
    value = row.get(column)
    return value.id if isinstance(value, Ref) else None
