"""Serve HTTP-triggered functions under the route prefix, checking function keys when asked to.

Core Tools skips key checks locally while Azure enforces them; devhost checks them when
``DEVHOST_CHECK_KEYS`` is true, so webhook authentication (Dataverse's WebhookKey sends ``?code=``) can
be tested. A key arrives as ``?code=`` or the ``x-functions-key`` header; a missing or wrong key is 401.
"""

from __future__ import annotations

import hmac
import re
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

_PARAMETER = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?(\?)?\}")
_CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "guid": r"[0-9a-fA-F-]{36}",
    "alpha": r"[A-Za-z]+",
    "bool": r"(?i:true|false)",
}


def route_pattern(prefix: str, template: str) -> re.Pattern[str]:
    """A regex for ``/<prefix>/<template>`` with named groups for route parameters."""
    pattern, position = "", 0
    for match in _PARAMETER.finditer(template):
        pattern += re.escape(template[position : match.start()])
        catch_all, name, constraint, optional = match.groups()
        body = ".*" if catch_all else _CONSTRAINTS.get(constraint or "", r"[^/]+")
        group = f"(?P<{name}>{body})"
        if optional:
            if pattern.endswith("/"):  # an optional last segment takes its slash with it
                pattern = pattern[:-1] + f"(?:/{group})?"
            else:
                pattern += f"{group}?"
        else:
            pattern += group
        position = match.end()
    pattern += re.escape(template[position:])
    base = f"/{prefix}" if prefix else ""
    return re.compile(f"^{base}/{pattern.strip('/')}/?$", re.IGNORECASE)


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
    pattern: re.Pattern[str]
    methods: frozenset[str]
    auth_level: str


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
        self.routes = [
            _Route(
                function=f,
                pattern=route_pattern(prefix, str(f.trigger_settings.get("route") or f.name)),
                methods=frozenset(m.upper() for m in (f.trigger_settings.get("methods") or ["GET", "POST"])),
                auth_level=str(f.trigger_settings.get("authLevel", "FUNCTION")),
            )
            for f in functions
            if f.trigger == "httpTrigger"
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI HTTP request."""
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self._dispatch(request)
        await response(scope, receive, send)

    async def _dispatch(self, request: Request) -> Response:
        path = request.url.path
        matched = [(route, m) for route in self.routes if (m := route.pattern.match(path))]
        if not matched:
            return Response(status_code=404)
        allowed = [(route, m) for route, m in matched if request.method in route.methods]
        if not allowed:
            return Response(status_code=405)
        route, match = allowed[0]
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
            route_params={k: v for k, v in match.groupdict().items() if v is not None},
            body=body,
        )
        try:
            result, captures = await run_in_threadpool(route.function.invoke, http_request)
            await run_in_threadpool(self._outputs[route.function.name].send, captures)
        except Exception:  # the host answers 500 for an unhandled exception
            return Response(status_code=500)
        return _to_response(result)


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
