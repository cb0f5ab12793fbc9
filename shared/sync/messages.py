"""Queue message schema: versioned JSON envelopes that name changed source keys (hints, not state).

A change message names the keys of one entity type with the version seen; the worker re-reads the
current rows, so replays, duplicates and reordering are harmless. ``pack_changes`` splits a change set
into messages that stay under the Storage Queue limit (64 KiB after base64, i.e. about 48 KB of JSON).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SCHEMA_VERSION = 1
MAX_JSON_BYTES = 48_000  # 64 KiB after base64 is 49,152 bytes of JSON; keep a margin


class MessageFormatError(ValueError):
    """A queue message is not a valid envelope of a known version."""


@dataclass(frozen=True)
class ChangedKey:
    """One source key and the version the poller saw (None when the source has no version)."""

    key: str
    version: str | None = None


@dataclass(frozen=True)
class Envelope:
    """One queue message: what kind of work, for which entity, which keys, and its correlation."""

    type: str
    entity: str
    keys: tuple[ChangedKey, ...]
    correlation_id: str
    enqueued_at: datetime
    body: Mapping[str, Any] = field(default_factory=dict)
    v: int = SCHEMA_VERSION

    def to_json(self) -> str:
        """The envelope as compact JSON."""
        return json.dumps(
            {
                "v": self.v,
                "type": self.type,
                "entity": self.entity,
                "keys": [{"key": k.key, "version": k.version} for k in self.keys],
                "correlation_id": self.correlation_id,
                "enqueued_at": self.enqueued_at.isoformat(),
                "body": dict(self.body),
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    def with_body(self, body: Mapping[str, Any]) -> Envelope:
        """The same envelope with ``body`` merged into its body."""
        return Envelope(
            self.type,
            self.entity,
            self.keys,
            self.correlation_id,
            self.enqueued_at,
            {**self.body, **body},
            self.v,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Envelope:
        """Parse and validate an envelope; raises MessageFormatError with the reason."""
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MessageFormatError(f"not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise MessageFormatError("envelope must be a JSON object")
        if data.get("v") != SCHEMA_VERSION:
            raise MessageFormatError(
                f"unsupported envelope version {data.get('v')!r} (expected {SCHEMA_VERSION})"
            )
        try:
            keys = tuple(
                ChangedKey(str(k["key"]), None if k.get("version") is None else str(k["version"]))
                for k in data["keys"]
            )
            envelope = cls(
                type=str(data["type"]),
                entity=str(data["entity"]),
                keys=keys,
                correlation_id=str(data["correlation_id"]),
                enqueued_at=datetime.fromisoformat(data["enqueued_at"]),
                body=dict(data.get("body") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MessageFormatError(f"invalid envelope field: {exc!r}") from exc
        if envelope.enqueued_at.tzinfo is None:
            raise MessageFormatError("enqueued_at must carry a time zone")
        return envelope


def new_correlation_id() -> str:
    """A fresh correlation id for one poll or one webhook event."""
    return uuid.uuid4().hex


def pack_changes(
    type_: str,
    entity: str,
    keys: Iterable[ChangedKey],
    *,
    correlation_id: str,
    enqueued_at: datetime,
    max_json_bytes: int = MAX_JSON_BYTES,
) -> list[Envelope]:
    """Split ``keys`` into as few envelopes as fit under ``max_json_bytes`` each, in order."""
    envelopes: list[Envelope] = []
    batch: list[ChangedKey] = []

    def size(candidate: list[ChangedKey]) -> int:
        return len(Envelope(type_, entity, tuple(candidate), correlation_id, enqueued_at).to_json().encode())

    empty_size = size([])
    running = empty_size
    for key in keys:
        # Measured per key (with the separating comma) so the running total is exact without re-encoding.
        key_size = size([key]) - empty_size + (1 if batch else 0)
        if empty_size + key_size > max_json_bytes:
            raise MessageFormatError(f"key {key.key[:40]!r} alone does not fit in a message")
        if batch and running + key_size > max_json_bytes:
            envelopes.append(Envelope(type_, entity, tuple(batch), correlation_id, enqueued_at))
            batch, running = [], empty_size
            key_size -= 1  # first key of the new batch: no comma
        batch.append(key)
        running += key_size
    if batch:
        envelopes.append(Envelope(type_, entity, tuple(batch), correlation_id, enqueued_at))
    return envelopes
