"""Work the sync queues with several threads at once, as several Functions invocations would, for the benches.

``QueueWorkers`` receives the change messages the poller wrote to the entities' queues and runs the
connector's engine on them, as many at a time as an ``AdaptiveConcurrency`` allows. Per message it runs
one engine call with all the message's keys (the bulk path), or with ``per_key`` one engine call per key
(the one-request-per-record baseline). A message is deleted once every one of its calls went through; a
call that raises is tried again a second later, up to ``max_tries`` times, then the error is raised (the
host would move the message to poison). Work the engine hands back to the queue (throttled keys after
``Retry-After``, records another worker synced meanwhile) is picked up when it shows again, so the run
ends only when every queue is empty and nothing is in flight.

``Traffic`` counts the HTTP requests the runtime's clients send to IFS and Dataverse and the 429s among
them, and tells the controller of each 429 (``RuntimeOptions.on_response``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.concurrency import DOP_HINT_HEADER, AdaptiveConcurrency
from shared.runtime import SyncRuntime
from shared.sync.detection import CHANGES
from shared.sync.engine import Report
from shared.sync.messages import ChangedKey, Envelope


@dataclass
class Counts:
    """Requests sent to one system and the 429s among them."""

    requests: int = 0
    throttled: int = 0

    def minus(self, other: Counts) -> Counts:
        """The requests counted since ``other`` was taken."""
        return Counts(self.requests - other.requests, self.throttled - other.throttled)


class Traffic:
    """Counts IFS and Dataverse API requests (token calls left out) and passes Dataverse 429s on."""

    def __init__(self, api_roots: Mapping[str, str]) -> None:
        self._roots = dict(api_roots)  # system -> URL prefix of its API
        self._lock = threading.Lock()
        self._counts = {system: Counts() for system in api_roots}
        self.controller: AdaptiveConcurrency | None = None
        self.dop_hint: str | None = None

    def set_root(self, system: str, api_root: str) -> None:
        """Count ``system``'s requests under ``api_root`` (known once its client is built)."""
        with self._lock:
            self._roots[system] = api_root

    def __call__(self, system: str, response: httpx.Response) -> None:
        """``RuntimeOptions.on_response``: count one response of ``system``."""
        if not str(response.request.url).startswith(self._roots[system]):
            return  # IFS's token endpoint: not an API request
        throttled = response.status_code == 429
        with self._lock:
            counts = self._counts[system]
            counts.requests += 1
            counts.throttled += throttled
            if system == "dataverse":
                self.dop_hint = response.headers.get(DOP_HINT_HEADER, self.dop_hint)
        controller = self.controller
        if controller is not None and system == "dataverse":
            controller.observe(response.status_code, response.headers)

    def snapshot(self) -> dict[str, Counts]:
        """The counts so far, per system."""
        with self._lock:
            return {system: Counts(c.requests, c.throttled) for system, c in self._counts.items()}


@dataclass
class _Message:
    """A received queue message and how many of its engine calls are still to go through."""

    entity: str
    raw: Any  # azure.storage.queue.QueueMessage
    pending: int


@dataclass
class _Call:
    """One engine call: keys of one message."""

    message: _Message
    envelope: Envelope
    keys: tuple[ChangedKey, ...]
    tries: int = 0
    not_before: float = 0.0


@dataclass
class Drained:
    """What a run of the workers did, per entity."""

    reports: dict[str, Report] = field(default_factory=dict)
    calls: int = 0
    retried: int = 0
    messages: int = 0

    def report(self, entity: str) -> Report:
        """The entity's folded report."""
        return self.reports.setdefault(entity, Report(entity))


class QueueWorkers:
    """Runs the engine on the entities' queue messages with an adaptive number of threads."""

    def __init__(
        self,
        runtime: SyncRuntime,
        entities: list[str],
        controller: AdaptiveConcurrency,
        *,
        per_key: bool = False,
        max_tries: int = 5,
        visibility_timeout: int = 3600,
        threads: int = 64,
    ) -> None:
        self._runtime = runtime
        self._entities = entities
        self._controller = controller
        self._per_key = per_key
        self._max_tries = max_tries
        self._visibility = visibility_timeout
        self._threads = threads
        self._queues = {e: runtime.storage.publisher.queue(runtime.entities[e].queue) for e in entities}
        self._ready: deque[_Call] = deque()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._errors: list[BaseException] = []
        self.drained = Drained()

    def run(self, *, timeout: float = 3600.0, stop: Callable[[], bool] | None = None) -> Drained:
        """Work until every queue is empty and nothing is in flight (or ``stop`` says so)."""
        deadline = time.monotonic() + timeout
        with ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="bench-worker") as pool:
            while not self._errors:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the queues did not empty within {timeout} s")
                if stop is not None and stop():
                    break
                if not self._controller.acquire(timeout=0.5):
                    continue
                call = self._next()
                if call is None:
                    self._controller.release(finished=False)
                    if self._finished():
                        break
                    time.sleep(0.05)
                    continue
                with self._lock:
                    self._in_flight += 1
                pool.submit(self._work, call)
            pool.shutdown(wait=True)
        if self._errors:
            raise self._errors[0]
        return self.drained

    # ---- the main thread's side -----------------------------------------------------------------------

    def _next(self) -> _Call | None:
        """The next call ready to run: a due retry, one already received, or one from a fresh receive."""
        with self._lock:
            now = time.monotonic()
            for _ in range(len(self._ready)):
                call = self._ready.popleft()
                if call.not_before <= now:
                    return call
                self._ready.append(call)
            if self._ready:
                return None  # only retries that are not due yet: do not take more work meanwhile
        for entity, queue in self._queues.items():
            received = list(queue.receive_messages(max_messages=32, visibility_timeout=self._visibility))
            if received:
                calls = [c for raw in received for c in self._calls(entity, raw)]
                with self._lock:
                    self._ready.extend(calls[1:])
                return calls[0]
        return None

    def _calls(self, entity: str, raw: Any) -> list[_Call]:
        envelope = Envelope.from_json(str(raw.content).encode())
        if envelope.type != CHANGES or envelope.entity != entity:
            raise RuntimeError(f"{entity}: unexpected message {envelope.type!r} of {envelope.entity!r}")
        groups = [(key,) for key in envelope.keys] if self._per_key else [tuple(envelope.keys)]
        message = _Message(entity, raw, len(groups))
        self.drained.messages += 1
        return [_Call(message, envelope, keys) for keys in groups]

    def _finished(self) -> bool:
        with self._lock:
            if self._in_flight or self._ready:
                return False
        # Counts messages not yet deleted, visible or not: work handed back with a delay keeps the run going.
        return all(q.get_queue_properties().approximate_message_count == 0 for q in self._queues.values())

    # ---- a worker thread's side -----------------------------------------------------------------------

    def _work(self, call: _Call) -> None:
        message, envelope = call.message, call.envelope
        try:
            report = self._runtime.engine.process(
                message.entity,
                call.keys,
                correlation_id=envelope.correlation_id,
                enqueued_at=envelope.enqueued_at,
                force=envelope.body.get("force") is True,
            )
        except Exception as exc:
            call.tries += 1
            with self._lock:
                self.drained.retried += 1
                if call.tries >= self._max_tries:
                    self._errors.append(exc)
                else:
                    call.not_before = time.monotonic() + 1.0
                    self._ready.append(call)
        else:
            with self._lock:
                self.drained.calls += 1
                self.drained.report(message.entity).add(report)
                message.pending -= 1
                done = message.pending == 0
            if done:
                self._queues[message.entity].delete_message(message.raw)
        finally:
            with self._lock:
                self._in_flight -= 1
            self._controller.release()
