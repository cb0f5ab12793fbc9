"""Drive queue-triggered functions against Azurite with the host.json semantics of the Functions host.

Per poll: receive up to ``batchSize`` messages and run them concurrently. A message that has already
been dequeued more than ``maxDequeueCount`` times, or does not decode as base64 when the encoding is
base64, goes to ``<queue>-poison`` without running. On success the function's queue outputs are sent
and the message deleted. An invocation fails when the function raises or one of its outputs cannot be
sent (the host treats an output-binding failure the same way); the message then becomes visible again
after ``visibilityTimeout`` (the retry delay), or — on its ``maxDequeueCount``-th try — moves to
``<queue>-poison``, as the host does. A storage call that fails outside the invocation (delete, retry
delay, poison copy) is logged; the message reappears when its lease runs out. Nothing stops the poller.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from azure.functions.queue import QueueMessage as FunctionQueueMessage
from azure.storage.queue import QueueMessage

from devhost.functions import LocalFunction
from devhost.hostjson import QueueSettings
from devhost.outputs import OutputSender, connection_string, raw_queue_client

log = logging.getLogger("devhost.queues")
# How long a message stays invisible while a function runs (the host renews its lease; we don't).
LEASE_SECONDS = 600


@dataclass
class QueueStats:
    """Counts per queue function, for tests and the demo."""

    succeeded: int = 0
    failed: int = 0
    poisoned: int = 0
    storage_errors: int = 0  # deletes, retry delays or poison copies that failed after an invocation


class QueueDriver:
    """Runs one queue-triggered function against its queue."""

    def __init__(
        self, function: LocalFunction, settings: Mapping[str, str], host: QueueSettings, outputs: OutputSender
    ) -> None:
        self.function = function
        self.host = host
        self.stats = QueueStats()
        self.queue_name = str(function.trigger_settings["queueName"])
        connection = connection_string(
            settings, str(function.trigger_settings.get("connection") or "AzureWebJobsStorage")
        )
        # No encode/decode policy: the driver sees the stored text and does the host's decoding itself.
        self.queue = raw_queue_client(connection, self.queue_name)
        self.poison = raw_queue_client(connection, f"{self.queue_name}-poison")
        self._outputs = outputs
        self._pool = ThreadPoolExecutor(max_workers=host.batch_size, thread_name_prefix=f"q-{function.name}")
        self._lock = threading.Lock()

    def close(self) -> None:
        """Stop the worker threads and close the queue clients."""
        self._pool.shutdown(wait=True)
        self.queue.close()
        self.poison.close()

    def pending(self) -> int:
        """Messages in the queue, visible or waiting out their retry delay."""
        return self.queue.get_queue_properties().approximate_message_count or 0

    def poll_once(self) -> int:
        """Receive one batch and process it; returns how many messages were received."""
        messages = list(
            self.queue.receive_messages(
                max_messages=self.host.batch_size,
                messages_per_page=self.host.batch_size,
                visibility_timeout=LEASE_SECONDS,
            )
        )[: self.host.batch_size]
        list(self._pool.map(self._process, messages))
        return len(messages)

    def _to_poison(self, message: QueueMessage, reason: str) -> None:
        log.warning(
            "%s: message %s moved to %s-poison: %s", self.function.name, message.id, self.queue_name, reason
        )
        self.poison.send_message(message.content)  # unchanged, as the host copies it
        self.queue.delete_message(message.id, message.pop_receipt)
        with self._lock:
            self.stats.poisoned += 1

    def _process(self, message: QueueMessage) -> None:
        # Never raises: an exception here would end pool.map, and with it the polling thread.
        try:
            self._handle(message)
        except Exception:
            with self._lock:
                self.stats.storage_errors += 1
            log.exception(
                "%s: message %s: storage call failed; it reappears when its lease runs out",
                self.function.name,
                message.id,
            )

    def _handle(self, message: QueueMessage) -> None:
        if message.dequeue_count is not None and message.dequeue_count > self.host.max_dequeue_count:
            self._to_poison(message, f"dequeued {message.dequeue_count} times")
            return
        text = str(message.content)
        if self.host.message_encoding == "base64":
            try:
                body = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                self._to_poison(message, "content is not valid base64")
                return
        else:
            body = text.encode("utf-8")
        trigger_value = FunctionQueueMessage(  # type: ignore[no-untyped-call]
            id=message.id,
            body=body,
            dequeue_count=message.dequeue_count,
            pop_receipt=message.pop_receipt,
            insertion_time=message.inserted_on,
            expiration_time=message.expires_on,
            time_next_visible=message.next_visible_on,
        )
        try:
            _, captures = self.function.invoke(trigger_value)
            self._outputs.send(captures)
        except Exception as exc:  # the function or one of its output bindings failed: a failed invocation
            self._failed(message, exc)
            return
        with self._lock:
            self.stats.succeeded += 1
        self.queue.delete_message(message.id, message.pop_receipt)

    def _failed(self, message: QueueMessage, exc: Exception) -> None:
        with self._lock:
            self.stats.failed += 1
        log.warning(
            "%s: message %s failed on try %s: %r", self.function.name, message.id, message.dequeue_count, exc
        )
        if message.dequeue_count is not None and message.dequeue_count >= self.host.max_dequeue_count:
            self._to_poison(message, f"failed {message.dequeue_count} times; last error {exc!r}")
            return
        self.queue.update_message(
            message.id, message.pop_receipt, visibility_timeout=int(self.host.visibility_timeout)
        )


class QueuePoller:
    """Background polling of one queue: back off while it is idle; a failed poll is logged, never fatal."""

    FIRST_DELAY = 0.1

    def __init__(self, driver: QueueDriver, max_delay: float) -> None:
        self.driver = driver
        self.max_delay = max_delay
        self.delay = self.FIRST_DELAY

    def step(self) -> float:
        """Poll once; returns how many seconds to wait before the next poll."""
        try:
            received = self.driver.poll_once()
        except Exception:  # e.g. storage unreachable for a moment: the host keeps polling, and so do we
            log.exception("%s: polling %s failed", self.driver.function.name, self.driver.queue_name)
            received = 0
        if received:
            self.delay = self.FIRST_DELAY
            return 0.0
        # Exponential back-off while idle, as the host does (up to maxPollingInterval).
        wait, self.delay = self.delay, min(self.delay * 2, self.max_delay)
        return wait
