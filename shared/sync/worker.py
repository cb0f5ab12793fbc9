"""The queue side of a flow: one message of changed keys handed to the engine, and work handed back.

A message that is not a valid change envelope for the entity is parked with its text (it would fail the
same way every time); everything else is the engine's. ``QueueRequeue`` puts keys back on the entity's
queue, invisible for a delay: throttled work waits for the service's Retry-After without using up the
message's tries, and records another worker synced meanwhile are synced again at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.records import ParkedRecord
from shared.sync.detection import CHANGES
from shared.sync.engine import Report, SyncEngine
from shared.sync.messages import ChangedKey, Envelope, MessageFormatError, new_correlation_id, pack_changes
from shared.sync.ports import MessagePublisher, ParkingLot


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
    return engine.process(
        entity,
        envelope.keys,
        correlation_id=envelope.correlation_id,
        enqueued_at=envelope.enqueued_at,
        force=envelope.body.get("force") is True,
    )
