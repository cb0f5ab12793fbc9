"""The queue side of a flow: one message of changed keys handed to the engine, and work handed back.

A message that is not a valid change envelope for the entity is parked with its text (it would fail the
same way every time); everything else is the engine's. ``QueueRequeue`` puts keys back on the entity's
queue, invisible for a delay: throttled work waits for the service's Retry-After without using up the
message's tries, and records another worker synced meanwhile are synced again at once.

``QueueWorker`` is what a queue trigger runs: a paused entity's message is held (``shared.sync.pause``),
any other is handled under its correlation id (every log record of the run carries it), and the run's
outcome goes to the run log (``status``) and the metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.platform.logcontext import log_context
from shared.records import ParkedRecord
from shared.sync.detection import CHANGES
from shared.sync.engine import DIRECTION, Report, SyncEngine
from shared.sync.failures import classify
from shared.sync.messages import ChangedKey, Envelope, MessageFormatError, new_correlation_id, pack_changes
from shared.sync.pause import PauseHold
from shared.sync.ports import MessagePublisher, Metrics, ParkingLot, Runs


class QueueRequeue:
    """Enqueues keys of one entity again, as new change messages."""

    def __init__(
        self, publisher: MessagePublisher, queue: str, entity: str, clock: Callable[[], datetime]
    ) -> None:
        self._publisher = publisher
        self._queue = queue
        self._entity = entity
        self._clock = clock

    def __call__(self, keys: Sequence[ChangedKey], *, delay_seconds: int, body: Mapping[str, Any]) -> None:
        """Send ``keys`` back, hidden for ``delay_seconds``, with ``body`` (``force`` …) on each message."""
        envelopes = pack_changes(
            CHANGES, self._entity, keys, correlation_id=new_correlation_id(), enqueued_at=self._clock()
        )
        texts = [e.with_body(body).to_json() for e in envelopes]
        if texts:
            self._publisher.send(self._queue, texts, delay_seconds=delay_seconds or None)


def handle_message(
    engine: SyncEngine,
    entity: str,
    text: bytes,
    *,
    message_id: str,
    parking: ParkingLot,
    queue: str,
) -> Report | ParkedRecord:
    """Process one queue message of ``entity``; a malformed one is parked, never retried."""
    try:
        envelope = Envelope.from_json(text)
        if envelope.type != CHANGES or envelope.entity != entity:
            raise MessageFormatError(
                f"expected a {CHANGES!r} envelope of {entity!r}, got {envelope.type!r} of {envelope.entity!r}"
            )
    except MessageFormatError as exc:
        return parking.park(
            ParkedRecord(
                entity="message",
                source_key=message_id,
                error_class="malformed_message",
                message=str(exc),
                direction="queue",
                queue=queue,
                payload={"text": text.decode("utf-8", errors="replace")},
            )
        )
    with log_context(correlation_id=envelope.correlation_id, entity=entity):
        return engine.process(
            entity,
            envelope.keys,
            correlation_id=envelope.correlation_id,
            enqueued_at=envelope.enqueued_at,
            force=envelope.body.get("force") is True,
        )


class QueueWorker:
    """Runs the queue messages of the engine's entities as the Functions host delivers them."""

    def __init__(
        self,
        engine: SyncEngine,
        *,
        parking: ParkingLot,
        hold: PauseHold,
        runs: Runs | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._engine = engine
        self._parking = parking
        self._hold = hold
        self._runs = runs
        self._metrics = metrics

    def handle(
        self, entity: str, queue: str, text: bytes, *, message_id: str
    ) -> Report | ParkedRecord | None:
        """Process one message (None: held, the entity is paused); a transient failure is raised."""
        if self._hold.holds(entity, queue, text):
            self._record(entity, "held", "the entity is paused: message put back on the queue")
            return None
        try:
            outcome = handle_message(
                self._engine, entity, text, message_id=message_id, parking=self._parking, queue=queue
            )
        except Exception as exc:
            failure = classify(exc)
            self._record(entity, "failed", f"{failure.error_class}: {failure.message}"[:300])
            raise
        if isinstance(outcome, ParkedRecord):
            self._count(entity, "queue", {"parked": 1})
            self._record(entity, "parked", f"malformed message {message_id} parked")
            return outcome
        self._count(entity, DIRECTION, outcome.outcomes)
        summary = ", ".join(f"{name} {count}" for name, count in sorted(outcome.outcomes.items()))
        if outcome.requeued:
            summary += f"; {outcome.requeued} requeued"
        self._record(entity, "parked" if outcome.outcomes.get("parked") else "ok", summary or "nothing to do")
        return outcome

    def _record(self, entity: str, outcome: str, detail: str) -> None:
        if self._runs is not None:
            self._runs.record(entity, "work", outcome, detail)

    def _count(self, entity: str, direction: str, outcomes: Mapping[str, int]) -> None:
        if self._metrics is not None:
            self._metrics.records(entity, direction, outcomes)
