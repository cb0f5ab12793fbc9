"""A webhook endpoint for tests: records every call it gets and answers with scripted statuses.

It is served on a real loopback socket (``BackgroundServer``), so the Dataverse simulator's deliveries go
over HTTP exactly as they would to the connector's function. ``answer(503, 200)`` makes the next calls
get 503, then 200; ``hold()`` makes calls wait (to run into the caller's timeout) until ``release()``.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.dataverse.webhook import RemoteExecutionContext, parse_remote_execution_context
from shared.dataverse.webhook.headers import WebhookHeaders, parse_webhook_headers

PATH = "/api/dataverse-webhook"


@dataclass(frozen=True)
class Call:
    """One request the endpoint received."""

    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
    status: int

    def context(self) -> RemoteExecutionContext:
        """The body, parsed by the connector's webhook parser."""
        return parse_remote_execution_context(self.body)

    def webhook_headers(self) -> WebhookHeaders:
        """The documented headers, parsed by the connector's parser."""
        return parse_webhook_headers(self.headers)


@dataclass
class Receiver:
    """The endpoint's state; ``app`` is its ASGI app."""

    calls: list[Call] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    default_status: int = 200
    held: bool = False
    arrived: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route(PATH, self._receive, methods=["POST"])])

    def reset(self) -> None:
        """Forget the calls; answer 200 from now on."""
        with self._lock:
            self.calls.clear()
            self.script.clear()
            self.default_status = 200
            self.held = False
        self._released.set()
        self._released = threading.Event()
        self.arrived = threading.Event()

    def answer(self, *statuses: int, then: int = 200) -> None:
        """Answer the next calls with ``statuses``, the ones after with ``then``."""
        with self._lock:
            self.script = list(statuses)
            self.default_status = then

    def hold(self) -> None:
        """Make calls wait until ``release()`` (at most 10 s) before answering; ``arrived`` tells one came."""
        self.held = True

    def release(self) -> None:
        """Let held calls answer."""
        self._released.set()

    def received(self) -> list[Call]:
        """The calls so far."""
        with self._lock:
            return list(self.calls)

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        self.arrived.set()
        if self.held:
            await asyncio.get_running_loop().run_in_executor(None, self._released.wait, 10)
        with self._lock:
            status = self.script.pop(0) if self.script else self.default_status
            self.calls.append(
                Call(
                    headers={k.lower(): v for k, v in request.headers.items()},
                    query=dict(request.query_params),
                    body=body,
                    status=status,
                )
            )
        return Response(status_code=status)


def summary(calls: list[Call]) -> list[tuple[str, str, int]]:
    """(message, table, status) of each call, from the documented headers."""
    found: list[tuple[str, str, int]] = []
    for call in calls:
        headers: Any = call.webhook_headers()
        found.append((headers.request_name, headers.entity_name, call.status))
    return found
