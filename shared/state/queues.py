"""The queue publisher: moves message texts onto Storage queues, base64-encoded as the Functions host expects.

The message schema lives in ``shared.sync.messages``; this adapter only moves bytes, checks the 64 KiB
limit (which applies after base64) and creates each queue once per process.
"""

from __future__ import annotations

import base64
import contextlib
import threading
from collections.abc import Iterable

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import (
    QueueClient,
    QueueServiceClient,
    TextBase64DecodePolicy,
    TextBase64EncodePolicy,
)

from shared.config import StorageSettings

MAX_ENCODED_BYTES = 64 * 1024


class MessageTooLargeError(ValueError):
    """A message is over the Storage Queue limit of 64 KiB after base64 encoding."""


def encoded_size(text: str) -> int:
    """Bytes the message occupies on the queue once base64-encoded."""
    return len(base64.b64encode(text.encode("utf-8")))


class QueuePublisher:
    """Sends texts to named queues of one storage account."""

    def __init__(self, service: QueueServiceClient) -> None:
        self._service = service
        self._clients: dict[str, QueueClient] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_connection_string(cls, connection_string: str) -> QueuePublisher:
        """A publisher for the account named by ``connection_string``."""
        return cls(QueueServiceClient.from_connection_string(connection_string))

    @classmethod
    def from_settings(
        cls, settings: StorageSettings, credential: TokenCredential | None = None
    ) -> QueuePublisher:
        """A publisher by connection string, or else at the identity-based endpoint with ``credential``."""
        if settings.connection_string:
            return cls.from_connection_string(settings.connection_string)
        if settings.identity is None or credential is None:
            raise ValueError("an identity-based storage connection needs its endpoints and a credential")
        return cls(QueueServiceClient(settings.identity.queue_service_uri, credential=credential))

    @property
    def service(self) -> QueueServiceClient:
        """The account's queue service client (its ``url`` and ``credential`` say where and as whom)."""
        return self._service

    def queue(self, name: str) -> QueueClient:
        """A base64-encoding client of queue ``name``, created once per process."""
        with self._lock:
            client = self._clients.get(name)
            if client is None:
                client = self._service.get_queue_client(
                    name,
                    message_encode_policy=TextBase64EncodePolicy(),
                    message_decode_policy=TextBase64DecodePolicy(),
                )
                with contextlib.suppress(ResourceExistsError):
                    client.create_queue()
                self._clients[name] = client
            return client

    def send(self, queue: str, messages: Iterable[str], *, delay_seconds: int | None = None) -> int:
        """Send each text as one message (optionally invisible for ``delay_seconds``); returns the count.

        Sizes are checked before anything is sent, so an oversized message never leaves half a batch behind.
        """
        texts = list(messages)
        for text in texts:
            size = encoded_size(text)
            if size > MAX_ENCODED_BYTES:
                raise MessageTooLargeError(
                    f"message for {queue} is {size} bytes after base64 (limit {MAX_ENCODED_BYTES})"
                )
        client = self.queue(queue)
        for text in texts:
            client.send_message(text, visibility_timeout=delay_seconds)
        return len(texts)
