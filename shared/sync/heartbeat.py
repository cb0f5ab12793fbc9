"""The heartbeat flow: the timer enqueues a beat, the worker records its echo in the audit trail.

It proves the whole path — timer, queue (base64, 64 KiB envelopes), queue trigger, state — works in
a deployment before any real data moves, and the audit rows show the queue latency.
"""

from __future__ import annotations

from datetime import datetime

from shared.records import AuditEntry, ParkedRecord
from shared.sync.messages import Envelope, MessageFormatError, new_correlation_id
from shared.sync.ports import AuditLog, MessagePublisher, ParkingLot

HEARTBEAT = "heartbeat"


def send_heartbeat(
    publisher: MessagePublisher, queue: str, now: datetime, *, past_due: bool = False
) -> Envelope:
    """Enqueue one heartbeat envelope and return it."""
    envelope = Envelope(
        type=HEARTBEAT,
        entity=HEARTBEAT,
        keys=(),
        correlation_id=new_correlation_id(),
        enqueued_at=now,
        body={"past_due": past_due},
    )
    publisher.send(queue, [envelope.to_json()])
    return envelope


def record_echo(
    message_id: str, text: bytes, *, audit: AuditLog, parking: ParkingLot, queue: str, now: datetime
) -> AuditEntry | ParkedRecord:
    """Record a received heartbeat; a malformed message is parked with its content, never retried."""
    try:
        envelope = Envelope.from_json(text)
        if envelope.type != HEARTBEAT:
            raise MessageFormatError(f"expected a {HEARTBEAT} envelope, got {envelope.type!r}")
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
    entry = AuditEntry(
        direction="timer->queue",
        entity=HEARTBEAT,
        source_key=envelope.correlation_id,
        outcome="echoed",
        correlation_id=envelope.correlation_id,
        latency_ms=round((now - envelope.enqueued_at).total_seconds() * 1000, 1),
    )
    audit.record([entry])
    return entry
