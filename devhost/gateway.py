"""A loopback gateway in front of the webhook function, with the simulators' fault plan (dev/test only).

Between Dataverse and the function app there is, in Azure, a front end that can fail: this plays it.
Every call is forwarded unchanged (method, path, query, headers, body) to ``target``; the toolkit's fault
middleware decides, per call, to answer 503 before forwarding (the function never saw it), to forward and
then answer 503 anyway (``"after": true``: the function queued the event, Dataverse believes it failed and
retries), to answer 500 (Dataverse does not retry: the event is lost until the reconciliation poll finds
its order), or to drop the connection. ``GET /_admin/requests`` shows what came through.
"""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulators.common.admin import Admin
from simulators.common.server import BackgroundServer

_HOP_BY_HOP = frozenset({"host", "content-length", "connection", "transfer-encoding"})


class WebhookGateway:
    """Forwards webhook calls to ``target`` (a base URL: scheme and host) under a fault plan."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.admin = Admin("gateway")
        self.app = self.admin.build_app(
            [Route("/{path:path}", self._forward, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])]
        )
        self._server: BackgroundServer | None = None

    async def _forward(self, request: Request) -> Response:
        url = f"{self.target}{request.url.path}"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with httpx.AsyncClient(timeout=60, trust_env=False) as client:
            answer = await client.request(
                request.method,
                url,
                params=request.query_params,
                headers=headers,
                content=await request.body(),
            )
        return Response(
            answer.content, status_code=answer.status_code, media_type=answer.headers.get("content-type")
        )

    def start(self) -> str:
        """Serve on a free loopback port; the base URL."""
        self._server = BackgroundServer(self.app)
        self._server.start()
        return self._server.url

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> WebhookGateway:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL (once started)."""
        if self._server is None:
            raise RuntimeError("the gateway has not been started")
        return self._server.url
