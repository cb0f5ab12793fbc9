"""The reconciliation poll: Dynamics orders that should be in IFS but are not are put on the order queue.

Dataverse retries a webhook once, and only on 502/503/504: an event lost to an outage is never delivered.
This timer looks for orders changed within the look-back window that have no IFS number although they
should have one (converted from a quote, or in a state of ``D365_ORDERS_SEND_STATES``), leaves out the
ones the connector's own user made (they came from IFS) and the ones already linked or parked (a parked
order waits for a person and ``replay``), and enqueues the rest. The worker's exactly-once create makes a
repeat harmless: after an outage every order arrives, once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.sync.d365.messages import OrderEvent, order_message
from shared.sync.d365.orders import ENTITY, ORDERS_ENTITY
from shared.sync.messages import new_correlation_id
from shared.sync.ports import DynamicsSales, IdMapping, MessagePublisher, ParkingLot, RegisteredWebhooks

_log = logging.getLogger(__name__)
BATCH = 32  # messages per send call


@dataclass(frozen=True)
class ReconcileResult:
    """What one poll found: orders without an IFS number, and how many of them it enqueued."""

    candidates: int
    enqueued: int
    skipped_linked: int
    skipped_parked: int


class OrderReconciler:
    """Finds orders an undelivered webhook left behind and enqueues them."""

    def __init__(
        self,
        *,
        sales: DynamicsSales,
        idmap: IdMapping,
        parking: ParkingLot,
        registrations: RegisteredWebhooks,
        registration_name: str,
        publisher: MessagePublisher,
        queue: str,
        number_column: str,
        send_states: frozenset[int],
        lookback: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._sales = sales
        self._idmap = idmap
        self._parking = parking
        self._registrations = registrations
        self._name = registration_name
        self._publisher = publisher
        self._queue = queue
        self._number_column = number_column
        self._send_states = send_states
        self._lookback = lookback
        self._clock = clock

    def poll(self) -> ReconcileResult:
        """One reconciliation pass."""
        now = self._clock()
        registration = self._registrations.get(self._name)
        own_user = registration.application_user_id if registration else None
        parked = self._parking.open_keys(ENTITY)
        correlation = new_correlation_id()
        candidates = enqueued = linked = held = 0
        batch: list[str] = []
        for order_id in self._sales.orders_to_reconcile(
            since=now - self._lookback,
            number_column=self._number_column,
            send_states=self._send_states,
            created_by_other_than=uuid.UUID(own_user) if own_user else None,
        ):
            candidates += 1
            if str(order_id) in parked:
                held += 1
                continue
            if self._idmap.source_key(ORDERS_ENTITY, str(order_id)) is not None:
                linked += 1  # in IFS already; its number is written back when the order is next handled
                continue
            event = OrderEvent("order", order_id, "reconcile", correlation_id=correlation)
            batch.append(order_message(event, enqueued_at=now))
            if len(batch) >= BATCH:
                enqueued += self._publisher.send(self._queue, batch)
                batch = []
        if batch:
            enqueued += self._publisher.send(self._queue, batch)
        if enqueued:
            _log.info("reconciliation: %d Dynamics orders missing in IFS were enqueued", enqueued)
        return ReconcileResult(candidates, enqueued, linked, held)
