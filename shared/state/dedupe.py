"""Webhook dedupe: the first delivery of an event claims it; repeats within the expiry are recognised.

Dataverse retries a webhook once (on 502/503/504) and users can replay; claiming is an atomic
create-if-absent, so two concurrent deliveries of the same event cannot both win. ``seen`` and ``mark``
serve a caller that enqueues first and remembers afterwards, so a crash between the two repeats work
instead of losing it. Claims expire (``ExpiresAt``) and ``purge_expired`` deletes the old ones.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError
from azure.data.tables import UpdateMode

from shared.state.clock import Clock, utc_now
from shared.state.keys import encode_key
from shared.state.tables import StateTables, get_entity


def _partition(event_key: str) -> str:
    # Spread claims over 256 partitions so one hot partition does not throttle a burst.
    return hashlib.sha256(event_key.encode()).hexdigest()[:2]


class WebhookDedupe:
    """Claims of webhook events by their dedupe key."""

    TABLE = "webhookevents"

    def __init__(self, tables: StateTables, clock: Clock = utc_now) -> None:
        self._table = tables.table(self.TABLE)
        self._clock = clock

    def claim(self, event_key: str, ttl: timedelta) -> bool:
        """True for the first delivery of ``event_key`` (or after its claim expired), False for a repeat."""
        now = self._clock()
        row_key = encode_key(event_key)  # first: it refuses what cannot be a key (a lone surrogate)
        partition = _partition(event_key)
        entity = {"PartitionKey": partition, "RowKey": row_key, "ClaimedAt": now, "ExpiresAt": now + ttl}
        try:
            self._table.create_entity(entity)
            return True
        except ResourceExistsError:
            pass
        existing = get_entity(self._table, partition, row_key)
        if existing is None:  # released between our create and our read: try once more
            try:
                self._table.create_entity(entity)
                return True
            except ResourceExistsError:
                return False
        if existing["ExpiresAt"] > now:
            return False
        try:  # the old claim expired: take it over, unless a concurrent delivery already did
            self._table.update_entity(
                entity,
                mode=UpdateMode.REPLACE,
                etag=existing.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError:
            return False
        return True

    def seen(self, event_key: str) -> bool:
        """Whether ``event_key`` holds a claim that has not expired (a read; writes nothing)."""
        existing = get_entity(self._table, _partition(event_key), encode_key(event_key))
        return existing is not None and existing["ExpiresAt"] > self._clock()

    def mark(self, event_key: str, ttl: timedelta) -> None:
        """Record ``event_key`` as handled for ``ttl``, whether or not it was recorded before.

        For callers that act first and remember afterwards (enqueue, then mark): nothing accepted is lost
        when the process dies in between, at the price of doing the work once more on a redelivery.
        """
        now = self._clock()
        self._table.upsert_entity(
            {
                "PartitionKey": _partition(event_key),
                "RowKey": encode_key(event_key),
                "ClaimedAt": now,
                "ExpiresAt": now + ttl,
            },
            mode=UpdateMode.REPLACE,
        )

    def release(self, event_key: str) -> None:
        """Forget a claim, e.g. when the event could not be enqueued, so Dataverse's retry is processed."""
        row_key = encode_key(event_key)
        self._table.delete_entity(_partition(event_key), row_key)  # no error if already gone

    def purge_expired(self) -> int:
        """Delete every expired claim; returns how many."""
        now = self._clock()
        expired = self._table.query_entities(
            "ExpiresAt lt @now", parameters={"now": now}, select=["PartitionKey", "RowKey", "ExpiresAt"]
        )
        count = 0
        for row in expired:
            try:  # only the expired claim we read: a delivery may have taken it over since
                self._table.delete_entity(
                    row["PartitionKey"],
                    row["RowKey"],
                    etag=row.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
            except ResourceModifiedError:
                continue
            count += 1
        return count
