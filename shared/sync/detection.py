"""Change detection in IFS, per entity: which records changed since the last poll, handed to the queue.

IFS has no webhooks and its order sets have no "modified" column, so each entity uses one of two
strategies (``Detection.strategy``):

- ``etag-ledger``: scan every record in scope (keys and ETags only, children included) and compare each
  version with the ledger. Changed and new records are enqueued; records the ledger knows that the scan no
  longer finds *left the scope* (blocked, invoiced, deleted) and are enqueued once, to be read by key.
- ``watermark``: read the records whose timestamp column is at or after the stored watermark minus an
  overlap window (ties and clock skew), compare their versions with the ledger, enqueue the changed ones
  and move the watermark to the newest timestamp seen. It cannot see deletions.

Either way the ledger (or the watermark) moves only after the messages are on the queue: a crash in
between detects the same changes again (duplicates are harmless, the worker compares before writing),
never loses one. A poll that finds nothing enqueues nothing. A poll lock keeps two polls of one entity
from running at once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from shared.platform.logcontext import log_context
from shared.sync.messages import ChangedKey, new_correlation_id, pack_changes
from shared.sync.ports import ChangeSource, Ledger, MessagePublisher, PollLocks, Watermarks

_log = logging.getLogger(__name__)
CHANGES = "changes"
Strategy = Literal["etag-ledger", "watermark"]
STRATEGIES: tuple[str, ...] = ("etag-ledger", "watermark")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def watermark_stream(entity: str, column: str) -> str:
    """The watermark stream of an entity polled by ``column``."""
    return f"{entity}:{column}"


def _since(watermark: str | None, overlap: timedelta) -> date | datetime:
    """Where a watermark poll starts: the watermark minus the overlap, in the column's own type.

    A date column (``Edm.Date``, a watermark like ``2025-11-12``) is compared with a date literal and
    starts a whole day earlier when there is any overlap; a timestamp column with a UTC timestamp.
    """
    if watermark is None:
        return _EPOCH
    if len(watermark) == 10:
        day = date.fromisoformat(watermark)
        return day - timedelta(days=1) if overlap else day
    moment = datetime.fromisoformat(watermark.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment - overlap


@dataclass(frozen=True)
class Detection:
    """How one entity's changes are found."""

    strategy: Strategy = "etag-ledger"
    watermark_column: str | None = None
    overlap: timedelta = timedelta(minutes=5)
    lock_seconds: float = 900.0


@dataclass
class PollResult:
    """What one poll found and enqueued."""

    entity: str
    strategy: str
    correlation_id: str
    scanned: int = 0
    changed: int = 0
    left_scope: int = 0
    messages: int = 0
    skipped: str | None = None  # why nothing was done (another poll holds the lock)
    watermark: str | None = None
    keys: list[str] = field(default_factory=list, repr=False)


class Poller:
    """Runs change detection for the entities it is given."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        watermarks: Watermarks,
        locks: PollLocks,
        publisher: MessagePublisher,
        clock: Callable[[], datetime],
        holder: str | None = None,
    ) -> None:
        self._ledger = ledger
        self._watermarks = watermarks
        self._locks = locks
        self._publisher = publisher
        self._clock = clock
        self._holder = holder or uuid.uuid4().hex

    def poll(self, entity: str, source: ChangeSource, queue: str, detection: Detection) -> PollResult:
        """Detect and enqueue the entity's changes (nothing when another poll is running)."""
        result = PollResult(entity, detection.strategy, new_correlation_id())
        with log_context(correlation_id=result.correlation_id, entity=entity):
            return self._poll(entity, source, queue, detection, result)

    def _poll(
        self, entity: str, source: ChangeSource, queue: str, detection: Detection, result: PollResult
    ) -> PollResult:
        lock = f"poll-{entity}"
        if not self._locks.acquire(lock, self._holder, detection.lock_seconds):
            result.skipped = "another poll of this entity is running"
            _log.info("poll of %s skipped: %s", entity, result.skipped)
            return result
        try:
            if detection.strategy == "watermark":
                self._by_watermark(entity, source, queue, detection, result)
            else:
                self._by_ledger(entity, source, queue, result)
        finally:
            self._locks.release(lock, self._holder)
        _log.info(
            "poll of %s: %d scanned, %d changed, %d left the scope, %d messages",
            entity,
            result.scanned,
            result.changed,
            result.left_scope,
            result.messages,
        )
        return result

    def _by_ledger(self, entity: str, source: ChangeSource, queue: str, result: PollResult) -> None:
        scanned = dict(source.scan())
        known = self._ledger.versions(entity)
        changed = {key: version for key, version in scanned.items() if known.get(key) != version}
        vanished = sorted(set(known) - set(scanned))
        result.scanned, result.changed, result.left_scope = len(scanned), len(changed), len(vanished)
        self._enqueue(entity, queue, [ChangedKey(k, changed[k]) for k in sorted(changed)], result)
        self._enqueue(entity, queue, [ChangedKey(k) for k in vanished], result, reason="left_scope")
        # Only now, with the messages on the queue: a crash before this line detects the same again.
        self._ledger.mark_seen(entity, changed)
        self._ledger.mark_left_scope(entity, vanished)
        result.keys = sorted(changed) + vanished

    def _by_watermark(
        self, entity: str, source: ChangeSource, queue: str, detection: Detection, result: PollResult
    ) -> None:
        column = detection.watermark_column
        if not column:
            raise ValueError(f"{entity}: the watermark strategy needs a watermark column")
        stream = watermark_stream(entity, column)
        read = self._watermarks.get(stream)
        rows = list(
            source.scan_since(column, _since(None if read is None else read.value, detection.overlap))
        )
        entries = self._ledger.entries(entity, [key for key, _, _ in rows])
        changed = {
            key: version
            for key, version, _ in rows
            if key not in entries or entries[key].version_seen != version
        }
        result.scanned, result.changed = len(rows), len(changed)
        self._enqueue(entity, queue, [ChangedKey(k, changed[k]) for k in sorted(changed)], result)
        self._ledger.mark_seen(entity, changed)
        newest = max((stamp for _, _, stamp in rows if stamp is not None), default=None)
        previous = None if read is None else read.value
        if newest is not None and (previous is None or newest > previous):
            self._watermarks.advance(stream, newest, read=read)
            previous = newest
        result.watermark = previous
        result.keys = sorted(changed)

    def _enqueue(
        self,
        entity: str,
        queue: str,
        keys: Iterable[ChangedKey],
        result: PollResult,
        *,
        reason: str | None = None,
    ) -> None:
        envelopes = pack_changes(
            CHANGES, entity, keys, correlation_id=result.correlation_id, enqueued_at=self._clock()
        )
        if reason is not None:
            envelopes = [e.with_body({"reason": reason}) for e in envelopes]
        if envelopes:
            self._publisher.send(queue, [e.to_json() for e in envelopes])
            result.messages += len(envelopes)
