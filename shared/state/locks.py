"""Poll locks: at most one poll of an entity runs at a time, even if two instances fire the same timer.

Azure runs a timer function as a singleton (a blob lease), so this is the second guard, for the rare
overlap (a lease lost during a long run, a manual ``sync --once`` beside the timer). A lock is a row taken
by an atomic create-if-absent, or by a conditional update once the holder's time-to-live has passed (a
crashed holder never blocks the next poll for longer than that).
"""

from __future__ import annotations

from datetime import timedelta

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.state.clock import Clock, utc_now
from shared.state.keys import encode_key
from shared.state.tables import StateTables, get_entity

_PARTITION = "poll"


class PollLocks:
    """Named locks with a time-to-live."""

    TABLE = "locks"

    def __init__(self, tables: StateTables, clock: Clock = utc_now) -> None:
        self._table = tables.table(self.TABLE)
        self._clock = clock

    def acquire(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Take ``name`` for ``ttl_seconds`` unless another holder has it and its time is not up."""
        now = self._clock()
        row = {
            "PartitionKey": _PARTITION,
            "RowKey": encode_key(name),
            "Holder": holder,
            "ExpiresAt": now + timedelta(seconds=ttl_seconds),
        }
        try:
            self._table.create_entity(row)
            return True
        except ResourceExistsError:
            pass
        current = get_entity(self._table, _PARTITION, encode_key(name))
        if current is None:
            try:
                self._table.create_entity(row)
                return True
            except ResourceExistsError:
                return False
        if current.get("Holder") != holder and current["ExpiresAt"] > now:
            return False
        try:
            self._table.update_entity(
                row,
                mode=UpdateMode.REPLACE,
                etag=current.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            return False
        return True

    def release(self, name: str, holder: str) -> None:
        """Give ``name`` back if ``holder`` still holds it."""
        current = get_entity(self._table, _PARTITION, encode_key(name))
        if current is None or current.get("Holder") != holder:
            return
        try:
            self._table.delete_entity(
                _PARTITION,
                encode_key(name),
                etag=current.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError:
            return  # taken over after our time ran out: not ours to delete
