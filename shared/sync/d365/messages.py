"""The order queue's messages: which Dynamics order (or converted quote) to look at, and why.

A message is a hint, never state: the worker reads the order from Dataverse. It is a versioned envelope
(``shared.sync.messages.Envelope``) of type ``d365.order`` naming one record; the body says whether the
key is an order or a quote whose conversion made orders, what sent it (the webhook, the reconciliation
poll, a replay) and, for a webhook, the message and the event's dedupe key (for the audit trail).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shared.sync.messages import ChangedKey, Envelope, MessageFormatError, new_correlation_id

ORDER_MESSAGE = "d365.order"
ORDERS_ENTITY = "d365_orders"
Kind = Literal["order", "quote"]
Source = Literal["webhook", "reconcile", "replay"]
_KINDS = ("order", "quote")
_SOURCES = ("webhook", "reconcile", "replay")


@dataclass(frozen=True)
class OrderEvent:
    """One order (or converted quote) to look at."""

    kind: Kind
    record_id: uuid.UUID
    source: Source
    message: str | None = None  # the Dataverse message of a webhook event
    event_key: str | None = None
    correlation_id: str | None = None
    trimmed: bool = False


def order_message(event: OrderEvent, *, enqueued_at: datetime) -> str:
    """The queue text of ``event``."""
    envelope = Envelope(
        type=ORDER_MESSAGE,
        entity=ORDERS_ENTITY,
        keys=(ChangedKey(str(event.record_id)),),
        correlation_id=event.correlation_id or new_correlation_id(),
        enqueued_at=enqueued_at,
        body={
            "kind": event.kind,
            "source": event.source,
            "message": event.message,
            "event_key": event.event_key,
            "trimmed": event.trimmed,
        },
    )
    return envelope.to_json()


def parse_order_message(text: str | bytes) -> OrderEvent:
    """The event a queue text names; MessageFormatError with the reason when it is not one."""
    envelope = Envelope.from_json(text)
    if envelope.type != ORDER_MESSAGE or envelope.entity != ORDERS_ENTITY:
        raise MessageFormatError(
            f"expected a {ORDER_MESSAGE!r} envelope of {ORDERS_ENTITY!r}, got {envelope.type!r} of "
            f"{envelope.entity!r}"
        )
    if len(envelope.keys) != 1:
        raise MessageFormatError(f"an order message names one record, not {len(envelope.keys)}")
    body = envelope.body
    kind, source = body.get("kind"), body.get("source")
    if kind not in _KINDS or source not in _SOURCES:
        raise MessageFormatError(f"unknown kind {kind!r} or source {source!r}")
    try:
        record_id = uuid.UUID(envelope.keys[0].key)
    except ValueError as exc:
        raise MessageFormatError(f"the key {envelope.keys[0].key[:40]!r} is not a GUID") from exc
    message, event_key = body.get("message"), body.get("event_key")
    return OrderEvent(
        kind=kind,
        record_id=record_id,
        source=source,
        message=message if isinstance(message, str) else None,
        event_key=event_key if isinstance(event_key, str) else None,
        correlation_id=envelope.correlation_id,
        trimmed=body.get("trimmed") is True,
    )
