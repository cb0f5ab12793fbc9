"""The ``/_admin`` surface every simulator mounts, and the hook API simulators extend it with.

A simulator creates one ``Admin`` and builds its ASGI app through it::

    admin = Admin("dataverse", clock=clock, responder=service_protection_429)

    @admin.action("expire_tokens", "Reject every token issued before now: {} -> {expired_before}")
    def expire_tokens(body: dict[str, Any]) -> dict[str, Any]:
        ...                                   # body is the JSON object POSTed (``{}`` when empty)
        return {"expired_before": clock.now()}  # any JSON-able value; None answers {"ok": true}

    @admin.on_reset
    def forget_rows() -> None: ...            # runs on POST /_admin/reset, after the toolkit resets

    app = admin.build_app(routes)             # Starlette(routes + /_admin) wrapped in FaultMiddleware

A simulator that assembles its Starlette app itself puts ``admin.routes()`` first in its routes and wraps
the app in ``FaultMiddleware(app, injector=admin.faults, log=admin.log, clock=admin.clock)``. In-process
tests may use ``admin.clock``, ``admin.faults``, ``admin.log``, ``admin.reset()`` and
``admin.run_action(name, body)`` directly. Simulators that must agree on time share one ``SimClock``.

An action that rejects its input raises ``AdminError`` (or ``ValueError``): the caller gets 400 with
``{"error": "<message>"}``. Actions run on the server's event loop, so they must be quick; state they share
with request handlers that run in the thread pool (sync endpoints) needs a lock.

Routes (all JSON; exempt from fault injection and not recorded in the request log):

- ``GET /_admin``: the simulator's name, its actions and the routes below.
- ``POST /_admin/reset``: clear the fault plan and the request log, reset the clock, run the reset hooks.
- ``GET /_admin/faults``: ``{"plan": ..., "remaining_script": [...], "held": <requests a commit_late step
  holds>}``; ``POST`` a plan (see
  ``simulators.common.faults``) to replace it (400 with the reason when malformed); ``DELETE`` clears it.
- ``GET /_admin/requests?since=<seq>&path=<prefix>&method=<M>``: ``{"requests": [...]}``; ``DELETE`` clears.
- ``GET /_admin/clock``: ``{"now": <epoch s>, "iso": ..., "offset": <s>}``; ``POST {"advance_seconds": N}``
  moves simulated time forward and answers the same.
- ``GET /_admin/shapes``: this simulator's response shapes and their provenance (``?all=1``: every one).
- ``GET /_admin/actions``; ``POST /_admin/actions/<name>`` with a JSON object body runs an action.

``AdminClient`` (``simulators.common.admin_client``) calls these from tests over HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from simulators.common.clock import SimClock
from simulators.common.faults import (
    FaultInjector,
    FaultMiddleware,
    FaultPlan,
    FaultResponder,
    RequestLog,
    default_fault_response,
)
from simulators.common.provenance import SHAPES, ShapeRegistry

AdminAction = Callable[[dict[str, Any]], Any]
ResetHook = Callable[[], None]
A = TypeVar("A", bound=AdminAction)
H = TypeVar("H", bound=ResetHook)
ADMIN_PREFIX = "/_admin"


class AdminError(ValueError):
    """An admin request or action input is invalid; answered with 400 and this message."""


@dataclass(frozen=True)
class _Action:
    name: str
    description: str
    handler: AdminAction


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise AdminError(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise AdminError(f"the body must be a JSON object, got {type(body).__name__}")
    return body


class Admin:
    """One simulator's toolkit state (clock, faults, request log, shapes) and its ``/_admin`` routes."""

    def __init__(
        self,
        simulator: str,
        *,
        clock: SimClock | None = None,
        responder: FaultResponder = default_fault_response,
        shapes: ShapeRegistry = SHAPES,
        log_capacity: int = 10_000,
    ) -> None:
        self.simulator = simulator
        self.clock = clock or SimClock()
        self.faults = FaultInjector()
        self.log = RequestLog(log_capacity)
        self.shapes = shapes
        self.responder = responder
        self._reset_hooks: list[ResetHook] = []
        self._actions: dict[str, _Action] = {}

    # --- the hook API -------------------------------------------------------------------------------

    def on_reset(self, hook: H) -> H:
        """Run ``hook`` on every reset (usable as a decorator); hooks run in registration order."""
        self._reset_hooks.append(hook)
        return hook

    def add_action(self, name: str, handler: AdminAction, description: str = "") -> None:
        """Expose ``handler`` as ``POST /_admin/actions/<name>``."""
        if not name or "/" in name:
            raise ValueError(f"invalid action name {name!r}")
        if name in self._actions:
            raise ValueError(f"action {name!r} is already registered on {self.simulator}")
        self._actions[name] = _Action(name, description, handler)

    def action(self, name: str, description: str = "") -> Callable[[A], A]:
        """Decorator form of ``add_action``."""

        def register(handler: A) -> A:
            self.add_action(name, handler, description)
            return handler

        return register

    def run_action(self, name: str, body: dict[str, Any]) -> Any:
        """Run an action in-process (what ``POST /_admin/actions/<name>`` does); KeyError if unknown."""
        return self._actions[name].handler(body)

    def reset(self) -> None:
        """Clear faults, held late commits and the request log, reset the clock, then run the reset hooks."""
        self.faults.clear()
        self.faults.discard_held()
        self.log.clear()
        self.clock.reset()
        for hook in self._reset_hooks:
            hook()

    # --- the app ------------------------------------------------------------------------------------

    def build_app(self, routes: Sequence[BaseRoute], **starlette_options: Any) -> ASGIApp:
        """The simulator's ASGI app: its routes plus ``/_admin``, wrapped in the fault middleware."""
        app = Starlette(routes=[*self.routes(), *routes], **starlette_options)
        return FaultMiddleware(
            app, injector=self.faults, log=self.log, clock=self.clock, responder=self.responder
        )

    def routes(self) -> list[BaseRoute]:
        """The ``/_admin`` routes, for simulators that assemble their Starlette app themselves."""
        return [
            Route(ADMIN_PREFIX, self._index, methods=["GET"]),
            Mount(
                ADMIN_PREFIX,
                routes=[
                    Route("/", self._index, methods=["GET"]),
                    Route("/reset", self._reset, methods=["POST"]),
                    Route("/faults", self._faults, methods=["GET", "POST", "DELETE"]),
                    Route("/requests", self._requests, methods=["GET", "DELETE"]),
                    Route("/clock", self._clock, methods=["GET", "POST"]),
                    Route("/shapes", self._shapes, methods=["GET"]),
                    Route("/actions", self._list_actions, methods=["GET"]),
                    Route("/actions/{name}", self._run_action, methods=["POST"]),
                ],
            ),
        ]

    def _actions_json(self) -> list[dict[str, str]]:
        return [{"name": a.name, "description": a.description} for a in self._actions.values()]

    def _clock_json(self) -> dict[str, Any]:
        return {
            "now": self.clock.now(),
            "iso": self.clock.now_datetime().isoformat(),
            "offset": self.clock.offset,
        }

    async def _index(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "simulator": self.simulator,
                "actions": self._actions_json(),
                "routes": ["reset", "faults", "requests", "clock", "shapes", "actions"],
            }
        )

    async def _reset(self, request: Request) -> JSONResponse:
        self.reset()
        return JSONResponse({"reset": True, **self._clock_json()})

    async def _faults(self, request: Request) -> JSONResponse:
        if request.method == "POST":
            try:
                self.faults.set_plan(FaultPlan.from_json(await _json_object(request)))
            except ValueError as exc:
                return _bad_request(str(exc))
        elif request.method == "DELETE":
            self.faults.clear()
        return JSONResponse(
            {
                "plan": self.faults.plan.to_json(),
                "remaining_script": [step.to_json() for step in self.faults.remaining_script()],
                "held": self.faults.held(),
            }
        )

    async def _requests(self, request: Request) -> JSONResponse:
        if request.method == "DELETE":
            self.log.clear()
            return JSONResponse({"requests": []})
        try:
            since = int(request.query_params.get("since", "0"))
        except ValueError:
            return _bad_request("since must be an integer sequence number")
        records = self.log.entries(
            since=since, path=request.query_params.get("path"), method=request.query_params.get("method")
        )
        return JSONResponse({"requests": [r.to_json() for r in records]})

    async def _clock(self, request: Request) -> JSONResponse:
        if request.method == "POST":
            try:
                body = await _json_object(request)
                seconds = body.get("advance_seconds")
                if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                    raise AdminError('expected {"advance_seconds": <number of seconds>}')
                self.clock.advance(seconds)
            except ValueError as exc:
                return _bad_request(str(exc))
        return JSONResponse(self._clock_json())

    async def _shapes(self, request: Request) -> JSONResponse:
        everything = request.query_params.get("all") in {"1", "true"}
        shapes = self.shapes.all() if everything else self.shapes.for_simulator(self.simulator)
        return JSONResponse({"shapes": [s.to_json() for s in shapes]})

    async def _list_actions(self, request: Request) -> JSONResponse:
        return JSONResponse({"actions": self._actions_json()})

    async def _run_action(self, request: Request) -> JSONResponse:
        name = request.path_params["name"]
        if name not in self._actions:
            known = ", ".join(self._actions) or "none"
            return JSONResponse({"error": f"unknown action {name!r} (known: {known})"}, status_code=404)
        try:
            result = self.run_action(name, await _json_object(request))
        except ValueError as exc:
            return _bad_request(str(exc))
        return JSONResponse({"ok": True} if result is None else result)
