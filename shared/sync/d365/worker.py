"""The order worker: one queue message about a Dynamics order (or a converted quote) handled to the end.

The message only says which order to look at; the worker reads it from Dynamics and decides by its state:

- gone from Dynamics: nothing to do;
- cancelled: ask IFS to cancel the matching order (nothing to do when it never reached IFS);
- converted from a quote, or in a state of ``D365_ORDERS_SEND_STATES``, or fulfilled: make sure it is in
  IFS, exactly once, with every line, linked and numbered (``orders.OrderPush``);
- fulfilled: then ask IFS for the configured fulfilment step (``requests``).

An order the IFS → Dynamics flow brought into Dynamics (linked in the id map, never created here) is IFS's:
it only gets the requests. Every order leaves an audit row (direction ``dataverse->ifs``). A permanent
failure (the account is not linked to an IFS customer, an unmapped value, IFS refused) parks the order with
its class and reason, and a later success closes that entry; a create that may still be committing, or
throttling, puts the message back on the queue after the wait it needs (no try is used up); anything
transient is raised, so the queue retries the message and finally moves it to poison.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from shared.records import AuditEntry, ParkedRecord
from shared.sync.d365.messages import OrderEvent, parse_order_message
from shared.sync.d365.orders import (
    ENTITY,
    STATE_CANCELED,
    STATE_FULFILLED,
    STATE_INVOICED,
    DynamicsOrder,
    OrderPush,
    OrderReader,
)
from shared.sync.d365.requests import OrderRequests, RequestRefusedError, RequestResult
from shared.sync.failures import classify
from shared.sync.messages import MessageFormatError
from shared.sync.ports import AuditLog, DynamicsSales, MessagePublisher, ParkingLot

_log = logging.getLogger(__name__)
DIRECTION = "dataverse->ifs"
Restore = Callable[[str], None]  # asks the IFS → Dynamics flow to put an IFS order's state back on Dynamics


@dataclass
class OrderReport:
    """What one message came to, per outcome (for tests, the CLI and benchmarks)."""

    outcomes: Counter[str] = field(default_factory=Counter)
    requeued: int = 0
    order_numbers: dict[str, str] = field(default_factory=dict)  # Dynamics order id -> IFS order number


@dataclass(frozen=True)
class _Done:
    outcome: str
    order_no: str | None
    message: str


class OrderWorker:
    """Handles order messages; see the module docstring."""

    def __init__(
        self,
        *,
        reader: OrderReader,
        push: OrderPush,
        requests: OrderRequests,
        sales: DynamicsSales,
        send_states: frozenset[int],
        publisher: MessagePublisher,
        queue: str,
        audit: AuditLog,
        parking: ParkingLot,
        clock: Callable[[], datetime],
        restore: Restore | None = None,
    ) -> None:
        self._reader = reader
        self._push = push
        self._requests = requests
        self._sales = sales
        self._send_states = send_states
        self._publisher = publisher
        self._queue = queue
        self._audit = audit
        self._parking = parking
        self._clock = clock
        self._restore = restore

    def handle(self, text: bytes | str, *, message_id: str) -> OrderReport:
        """Handle one queue message; a malformed one is parked, never retried."""
        report = OrderReport()
        raw = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
        try:
            event = parse_order_message(raw)
        except MessageFormatError as exc:
            self._parking.park(
                ParkedRecord(
                    entity="message",
                    source_key=message_id,
                    error_class="malformed_message",
                    message=str(exc),
                    direction="queue",
                    queue=self._queue,
                    payload={"text": raw},
                )
            )
            report.outcomes["parked"] += 1
            return report
        if event.kind == "quote":
            order_ids = self._sales.orders_of_quote(event.record_id)
            if not order_ids:
                self._record(str(event.record_id), "ignored", None, "the quote made no order (yet)", event)
                report.outcomes["ignored"] += 1
        else:
            order_ids = [event.record_id]
        for order_id in order_ids:
            if self._one(order_id, event, raw, message_id, report):
                return report  # the whole message went back to the queue
        return report

    def _one(
        self, order_id: uuid.UUID, event: OrderEvent, text: str, holder: str, report: OrderReport
    ) -> bool:
        """Process one order; True when the message was put back on the queue."""
        started = self._clock()
        try:
            done = self._process(order_id, event, holder)
        except Exception as exc:
            failure = classify(exc)
            if failure.kind == "throttled":
                _log.info(
                    "order %s: %s; back on the queue for %d s",
                    order_id,
                    failure.message,
                    failure.delay_seconds,
                )
                self._publisher.send(self._queue, [text], delay_seconds=failure.delay_seconds)
                report.requeued += 1
                return True
            if failure.kind == "transient":
                raise
            self._parking.park(
                ParkedRecord(
                    entity=ENTITY,
                    source_key=str(order_id),
                    error_class=failure.error_class,
                    message=failure.message,
                    direction=DIRECTION,
                    queue=self._queue,
                    payload={"order_id": str(order_id), "text": text},
                    correlation_id=event.correlation_id,
                )
            )
            self._record(str(order_id), "parked", None, failure.message, event, started, failure.error_class)
            report.outcomes["parked"] += 1
            if isinstance(exc, RequestRefusedError) and self._restore is not None:
                self._restore(exc.order_no)  # Dynamics shows what IFS refused; IFS's state goes back on it
            return False
        if done.outcome != "ignored":
            self._parking.resolve(ENTITY, str(order_id))  # the cause was fixed and the order went through
        self._record(str(order_id), done.outcome, done.order_no, done.message, event, started)
        report.outcomes[done.outcome] += 1
        if done.order_no:
            report.order_numbers[str(order_id)] = done.order_no
        return False

    def _process(self, order_id: uuid.UUID, event: OrderEvent, holder: str) -> _Done:
        order = self._reader.read(order_id)
        if order is None:
            return _Done("ignored", None, "the order no longer exists in Dynamics")
        linked = self._reader.linked_number(order)
        if order.state == STATE_CANCELED:
            order_no = linked or self._push.find(order)
            if order_no is None:
                return _Done(
                    "ignored", None, "cancelled in Dynamics before it reached IFS: nothing to cancel"
                )
            return self._answer(self._requests.cancel(order_no), order_no, "cancel_requested")
        if linked and not self._push.created_here(order):
            order_no, summary = linked, f"IFS order {linked} came from IFS; only requests go back"
            outcome = "unchanged"
        else:
            eligible = (
                order.quote_id is not None
                or order.state in self._send_states
                or order.state in (STATE_FULFILLED, STATE_INVOICED)
            )
            if not eligible:
                return _Done(
                    "ignored",
                    None,
                    f"state {order.state} is not in D365_ORDERS_SEND_STATES: it goes to IFS when submitted",
                )
            if not order.lines and not linked:
                # Its lines are being added (Create fires before them): the next change, or the
                # reconciliation poll, brings it back once it has them.
                return _Done("ignored", None, "the order has no lines yet; it goes to IFS once it has some")
            outcome, order_no, summary = self._push_order(order, linked, holder)
        if order.state == STATE_FULFILLED:
            result = self._requests.fulfil(order_no)
            request = "fulfil_requested" if result.verdict == "done" else "nothing_to_do"
            self._record(str(order_id), request, order_no, result.message, event)
        return _Done(outcome, order_no, summary)

    def _push_order(self, order: DynamicsOrder, linked: str | None, holder: str) -> tuple[str, str, str]:
        self._reader.map(order)
        result = self._push.ensure(order, holder=holder)
        if result.created and not linked:
            outcome = "created"
        elif result.lines_added:
            outcome = "completed"  # a half-created order got its missing lines
        elif not linked or result.written_back:
            outcome = "linked"
        else:
            outcome = "unchanged"
        parts = [f"Dynamics order {order.number} is IFS order {result.order_no}"]
        if result.lines_added:
            parts.append(f"{result.lines_added} missing line(s) added")
        if result.note:
            parts.append(result.note)
        return outcome, result.order_no, "; ".join(parts)

    @staticmethod
    def _answer(result: RequestResult, order_no: str, done: str) -> _Done:
        return _Done(done if result.verdict == "done" else "nothing_to_do", order_no, result.message)

    def _record(  # noqa: PLR0917 - what one audit row says, in the order it reads
        self,
        key: str,
        outcome: str,
        target: str | None,
        message: str,
        event: OrderEvent,
        started: datetime | None = None,
        error_class: str | None = None,
    ) -> None:
        latency = round((self._clock() - started).total_seconds() * 1000, 1) if started else None
        self._audit.record(
            [
                AuditEntry(
                    direction=DIRECTION,
                    entity=ENTITY,
                    source_key=key,
                    outcome=outcome,
                    target_id=target,
                    error_class=error_class,
                    message=f"{message} ({event.source}{': ' + event.message if event.message else ''})",
                    correlation_id=event.correlation_id,
                    latency_ms=latency,
                )
            ]
        )
