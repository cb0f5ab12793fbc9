"""The webhook's decision on one authenticated, parsed event: refuse, ignore, recognise a repeat, or enqueue.

Dataverse waits for the answer (60 s at most) and retries only once, only on 502/503/504, so the webhook
does little: it checks that the event comes from the organization provisioning registered, ignores what the
connector's own application user caused (the IFS → Dynamics flow writes orders too: no ping-pong) and events
no flow needs, recognises a redelivery by the dedupe key, puts the event on the orders queue and answers.
It never calls Dataverse or IFS: the worker reads the order (state is truth, the payload a hint), which is
also how a payload trimmed above 256 KB is handled.

Nothing accepted is lost: the dedupe mark is written only after the message is on the queue. A failure in
between (the process dies, storage refuses the mark) means a redelivery is enqueued again, which the
worker's exactly-once create makes harmless; a failed enqueue answers 503, so Dataverse's one retry comes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from shared.sync.d365.events import ORDER_MESSAGES, QUOTE, QUOTE_MESSAGES, SALES_ORDER, WebhookEvent
from shared.sync.d365.messages import OrderEvent, order_message
from shared.sync.ports import EventMarks, MessagePublisher, RegisteredWebhooks

_log = logging.getLogger(__name__)
Outcome = Literal["accepted", "duplicate", "ignored", "refused", "unavailable"]


@dataclass(frozen=True)
class IntakeResult:
    """What the webhook answers: an HTTP status, an outcome and a reason a person can read."""

    status: int
    outcome: Outcome
    reason: str

    def to_json(self) -> dict[str, str]:
        """The answer's body."""
        return {"outcome": self.outcome, "reason": self.reason}


class WebhookIntake:
    """Decides what happens to each webhook event; see the module docstring."""

    def __init__(
        self,
        *,
        registrations: RegisteredWebhooks,
        registration_name: str,
        marks: EventMarks,
        publisher: MessagePublisher,
        queue: str,
        send_states: frozenset[int],
        dedupe_ttl: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._registrations = registrations
        self._name = registration_name
        self._marks = marks
        self._publisher = publisher
        self._queue = queue
        self._send_states = send_states
        self._ttl = dedupe_ttl
        self._clock = clock

    def accept(self, event: WebhookEvent) -> IntakeResult:
        """Refuse, ignore, recognise or enqueue ``event``; storage errors propagate (answered with 503)."""
        registration = self._registrations.get(self._name)
        if registration is None or not registration.organization_id or not registration.application_user_id:
            return IntakeResult(
                503, "unavailable", "the connector is not provisioned yet (python -m shared.cli provision)"
            )
        if str(event.organization_id).lower() != registration.organization_id.lower():
            return IntakeResult(
                403, "refused", f"organization {event.organization_id} is not the one this connector serves"
            )
        if any(
            str(user) == registration.application_user_id.lower()
            for user in (event.user_id, event.initiating_user_id)
        ):
            return IntakeResult(200, "ignored", "caused by the connector's own application user")
        reason = self._irrelevant(event)
        if reason is not None:
            return IntakeResult(200, "ignored", reason)
        key = event.dedupe_key
        if self._marks.seen(key):
            return IntakeResult(200, "duplicate", f"event {key} was already accepted")
        self._publisher.send(self._queue, [order_message(_order_event(event), enqueued_at=self._clock())])
        try:
            self._marks.mark(key, self._ttl)
        except Exception:  # the message is on the queue: a repeat is harmless, a lost event is not
            _log.warning("event %s enqueued but its dedupe mark could not be written", key, exc_info=True)
        return IntakeResult(202, "accepted", f"{event.message} of {event.entity} {event.record_id} queued")

    def _irrelevant(self, event: WebhookEvent) -> str | None:
        """Why no flow needs ``event`` (None: it is needed, or the trimmed payload cannot tell)."""
        if event.entity == QUOTE and event.message in QUOTE_MESSAGES:
            return None
        if event.entity != SALES_ORDER or event.message not in ORDER_MESSAGES:
            return f"no flow handles {event.message[:100]} of {event.entity[:100]}"
        if event.message == "Create" and not event.trimmed and event.value("quoteid") is None:
            state = event.value("statecode")
            if not isinstance(state, int) or state not in self._send_states:
                return (
                    "an order entered directly in Dynamics goes to IFS when it reaches a state of "
                    "D365_ORDERS_SEND_STATES, not when it is created"
                )
        return None


def _order_event(event: WebhookEvent) -> OrderEvent:
    return OrderEvent(
        kind="quote" if event.entity == QUOTE else "order",
        record_id=event.record_id,
        source="webhook",
        message=event.message,
        event_key=event.dedupe_key,
        correlation_id=str(event.correlation_id),
        trimmed=event.trimmed,
    )
