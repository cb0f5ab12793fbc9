"""Watermarks: how far each polled stream has been read, advanced only after its changes are enqueued."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError
from azure.data.tables import TableEntity, UpdateMode

from shared.state.clock import Clock, utc_now
from shared.state.keys import decode_key, encode_key
from shared.state.tables import StateTables, get_entity

_PARTITION = "watermark"


class StaleWatermarkError(RuntimeError):
    """Another poller advanced the watermark since it was read; this advance was not applied."""


@dataclass(frozen=True)
class Watermark:
    """The position of one stream, with the ETag it was read at."""

    stream: str
    value: str
    updated_at: datetime
    etag: str


def _watermark(stream: str, entity: TableEntity) -> Watermark:
    return Watermark(stream, str(entity["Value"]), entity["UpdatedAt"], str(entity.metadata["etag"]))


class WatermarkRepository:
    """Reads and conditionally advances per-stream watermarks."""

    TABLE = "watermarks"

    def __init__(self, tables: StateTables, clock: Clock = utc_now) -> None:
        self._table = tables.table(self.TABLE)
        self._clock = clock

    def get(self, stream: str) -> Watermark | None:
        """The stream's watermark, or None before its first advance."""
        entity = get_entity(self._table, _PARTITION, encode_key(stream))
        if entity is None:
            return None
        return _watermark(stream, entity)

    def advance(self, stream: str, value: str, *, read: Watermark | None) -> Watermark:
        """Move the stream to ``value``, only if it is still where ``read`` saw it (None: never set)."""
        now = self._clock()
        entity = {"PartitionKey": _PARTITION, "RowKey": encode_key(stream), "Value": value, "UpdatedAt": now}
        try:
            if read is None:
                meta = self._table.create_entity(entity)
            else:
                meta = self._table.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=read.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceExistsError, ResourceModifiedError) as exc:
            raise StaleWatermarkError(f"watermark of {stream} moved since it was read") from exc
        return Watermark(stream, value, now, str(meta["etag"]))

    def streams(self) -> list[Watermark]:
        """Every stream's watermark (for the health view and the demo)."""
        return [
            _watermark(decode_key(e["RowKey"]), e)
            for e in self._table.query_entities("PartitionKey eq @p", parameters={"p": _PARTITION})
        ]
