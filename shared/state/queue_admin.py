"""Queue inspection for operations: depth, the oldest message, and moving messages out of ``-poison`` queues.

The queue publisher moves texts onto queues; this adapter looks at them as an operator would. It reads the
raw message content (no decoding policy), because a poison queue may hold what the host could not decode:
``text`` is the base64-decoded UTF-8 text when the content decodes, else None, and ``raw`` is the content
exactly as stored, so a message is put back on its queue byte for byte.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueServiceClient


@dataclass(frozen=True)
class StoredMessage:
    """One message as it sits on a queue."""

    queue: str
    id: str
    raw: str
    text: str | None
    inserted_on: datetime | None
    dequeue_count: int
    pop_receipt: str | None = None


def _decoded(raw: str) -> str | None:
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def encoded(text: str) -> str:
    """Queue content for ``text`` as the Functions host expects it (base64 of UTF-8)."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class QueueInspector:
    """Looks at and moves messages of one storage account's queues."""

    def __init__(self, service: QueueServiceClient) -> None:
        self._service = service

    def _client(self, queue: str) -> QueueClient:
        return self._service.get_queue_client(queue)

    def depth(self, queue: str) -> int:
        """Messages on the queue (approximate, as Storage counts them; a missing queue has none)."""
        try:
            return int(self._client(queue).get_queue_properties().approximate_message_count or 0)
        except ResourceNotFoundError:
            return 0

    def peek(self, queue: str, count: int = 1) -> list[StoredMessage]:
        """The first visible messages (at most 32), without taking them."""
        try:
            found = self._client(queue).peek_messages(max_messages=min(max(count, 1), 32))
        except ResourceNotFoundError:
            return []
        return [self._message(queue, m, receipt=False) for m in found]

    def take(self, queue: str, *, visibility_timeout: int = 300, batch: int = 32) -> Iterator[StoredMessage]:
        """Receive every visible message, hidden for ``visibility_timeout`` s; then delete or release each."""
        client = self._client(queue)
        while True:
            try:
                received = list(
                    client.receive_messages(max_messages=batch, visibility_timeout=visibility_timeout)
                )
            except ResourceNotFoundError:
                return
            if not received:
                return
            for message in received:
                yield self._message(queue, message, receipt=True)

    def delete(self, message: StoredMessage) -> None:
        """Remove a taken message."""
        self._client(message.queue).delete_message(message.id, message.pop_receipt)

    def release(self, message: StoredMessage) -> None:
        """Make a taken message visible again at once, as it was."""
        self._client(message.queue).update_message(message.id, message.pop_receipt, visibility_timeout=0)

    def send_raw(self, queue: str, raw: str, *, delay_seconds: int | None = None) -> None:
        """Put stored content on ``queue`` unchanged (created when missing)."""
        client = self._client(queue)
        with contextlib.suppress(ResourceExistsError):
            client.create_queue()
        client.send_message(raw, visibility_timeout=delay_seconds)

    @staticmethod
    def _message(queue: str, message: object, *, receipt: bool) -> StoredMessage:
        raw = str(getattr(message, "content", "") or "")
        return StoredMessage(
            queue=queue,
            id=str(getattr(message, "id", "")),
            raw=raw,
            text=_decoded(raw),
            inserted_on=getattr(message, "inserted_on", None),
            dequeue_count=int(getattr(message, "dequeue_count", 0) or 0),
            pop_receipt=str(getattr(message, "pop_receipt", "")) if receipt else None,
        )
