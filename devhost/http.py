"""Serve HTTP-triggered functions under the route prefix, checking function keys when asked to.

Core Tools skips key checks locally while Azure enforces them; devhost checks them when
``DEVHOST_CHECK_KEYS`` is true, so webhook authentication (Dataverse's WebhookKey sends ``?code=``) can
be tested. A key arrives as ``?code=`` or the ``x-functions-key`` header; a missing or wrong key is 401.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from devhost.functions import LocalFunction
from devhost.outputs import OutputSender
from devhost.routes import RouteError, RouteTemplate, ordered


@dataclass(frozen=True)
class KeyPolicy:
    """Whether keys are checked, and which keys each auth level accepts."""

    check: bool = False
    function_key: str = ""
    master_key: str = ""

    def allows(self, auth_level: str, presented: str | None) -> bool:
        """Whether a request presenting ``presented`` may call a function of ``auth_level``."""
        level = auth_level.upper()
        if not self.check or level == "ANONYMOUS":
            return True
        if not presented:
            return False
        accepted = [self.master_key] + ([self.function_key] if level == "FUNCTION" else [])
        return any(key and hmac.compare_digest(presented, key) for key in accepted)


@dataclass(frozen=True)
class _Route:
    function: LocalFunction
    template: RouteTemplate
    methods: frozenset[str] | None  # None: every method, as when the trigger lists none
    auth_level: str

    def accepts(self, method: str) -> bool:
        return self.methods is None or method in self.methods


class HttpFunctions:
    """ASGI app dispatching requests to HTTP-triggered functions."""

    def __init__(
        self,
        functions: Sequence[LocalFunction],
        prefix: str,
        keys: KeyPolicy,
        outputs: Mapping[str, OutputSender],
    ) -> None:
        self.keys = keys
        self._outputs = outputs
        routes = [_route(f, prefix) for f in functions if f.trigger == "httpTrigger"]
        self.routes = ordered(routes, lambda route: route.template)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI HTTP request."""
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self._dispatch(request)
        await response(scope, receive, send)

    def match(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        """The route that serves ``method path`` and its route values, or None (the host answers 404).

        The request method is one of a route's constraints: a route that does not accept it is skipped.
        """
        for route in self.routes:
            if route.accepts(method) and (values := route.template.match(path)) is not None:
                return route, values
        return None

    async def _dispatch(self, request: Request) -> Response:
        found = self.match(request.method, request.url.path)
        if found is None:
            return Response(status_code=404)
        route, route_values = found
        presented = request.query_params.get("code") or request.headers.get("x-functions-key")
        if not self.keys.allows(route.auth_level, presented):
            return Response(status_code=401)
        body = await request.body()
        params = {k: v for k, v in request.query_params.items() if k != "code"}
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            params=params,
            route_params=route_values,
            body=body,
        )
        try:
            result, captures = await run_in_threadpool(route.function.invoke, http_request)
            await run_in_threadpool(self._outputs[route.function.name].send, captures)
        except Exception:  # the host answers 500 for an unhandled exception
            return Response(status_code=500)
        return _to_response(result)


def _route(function: LocalFunction, prefix: str) -> _Route:
    template = str(function.trigger_settings.get("route") or function.name)
    try:
        parsed = RouteTemplate.parse(prefix, template)
    except RouteError as exc:
        raise RouteError(f"{function.name}: route {template!r}: {exc}") from exc
    methods = function.trigger_settings.get("methods")
    return _Route(
        function=function,
        template=parsed,
        methods=frozenset(str(m).upper() for m in methods) if methods else None,
        auth_level=str(function.trigger_settings.get("authLevel", "FUNCTION")),
    )


def _to_response(result: Any) -> Response:
    if isinstance(result, func.HttpResponse):
        headers = dict(result.headers)
        headers.pop("content-length", None)
        media_type = result.mimetype
        if result.charset and media_type and "charset" not in media_type:
            media_type = f"{media_type}; charset={result.charset}"
        return Response(
            content=result.get_body(), status_code=result.status_code, headers=headers, media_type=media_type
        )
    if result is None:
        return Response(status_code=204)
    return Response(content=str(result), status_code=200, media_type="text/plain")
