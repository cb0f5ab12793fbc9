"""Latency and fault injection for any simulator, as ASGI middleware, plus the request log.

Faults are chosen per request by a ``FaultInjector`` from a ``FaultPlan``: first from the plan's *script*
(an exact sequence of outcomes, consumed one per matching request: "429, 503, drop, ok"), then at the
plan's *rates* from a seeded RNG, so a test never depends on luck. The default plan injects nothing.

The fault plan as JSON (``POST /_admin/faults``; every key is optional)::

    {
      "script": ["throttle", 503, "drop", "ok", {"kind": "error", "status": 504, "after": true},
                 {"kind": "latency", "latency_ms": 250}, {"kind": "throttle", "retry_after": 0, "times": 3},
                 {"kind": "commit_late", "status": 504, "after_requests": 2}],
      "rates": {"throttle": 0.1, "error": 0.05, "drop": 0.01, "latency": 0.2},
      "seed": 7,
      "retry_after_seconds": 1,   # default Retry-After of throttle steps
      "error_status": 503,        # default status of error steps
      "latency_ms": 100,          # default delay of latency steps and of the latency rate
      "paths": ["/api/data/*"],   # fnmatch patterns; only matching requests see faults or consume steps
      "methods": ["POST"]         # likewise (case-insensitive)
    }

A script step is a string (``ok``, ``throttle``, ``error``, ``drop``, ``latency``, ``error_after``,
``drop_after``, ``commit_late``), an HTTP status (429 = throttle, any other 400-599 = error with that
status, 200 = ok) or an object ``{"kind", "status", "retry_after", "latency_ms", "after", "times",
"after_requests"}``. What each kind does:

- ``throttle``: 429 with ``Retry-After: <seconds>``; the app never sees the request.
- ``error``: the given status (default 503; ``retry_after`` adds a Retry-After header). With
  ``after: true`` the app handles the request first and its response is replaced (the server did the work,
  the client sees an error) -- the case a non-idempotent client must survive.
- ``drop``: the TCP connection is aborted without a response (the client sees a transport error:
  httpx ``RemoteProtocolError`` "Server disconnected without sending a response", or ``ReadError``
  "Connection reset by peer" when request bytes were still unread; requests ``ConnectionError``).
  With ``after: true`` the app handles the request first.
- ``latency``: the request is delayed by ``latency_ms`` and then handled normally. Any step may carry
  ``latency_ms``, which delays it before its outcome.
- ``commit_late``: the request is read in full but *applied later*, after the client has given up and
  gone: a slow commit behind a gateway timeout. Without ``status`` nothing is answered and the connection
  is held until the client disconnects (its own timeout); with ``status`` (e.g. 504) a gateway answers it
  at once. Either way the app handles the request just before the simulator handles the
  ``after_requests``-th request that arrives after that (default 1), so a client's look-ups that come
  first find nothing, deterministically. The app sees the request only then (a token that expired in
  between is refused then). ``GET /_admin/faults`` shows how many are ``held``; a reset discards them.
  (``latency`` instead delays a request *before* it is read: a client that gives up meanwhile never has
  its request applied.)

How a drop works under uvicorn: ASGI has no "abort" message, so the middleware aborts the connection's
asyncio transport (reached through uvicorn's ``send``, a bound method of its request cycle) and waits for
uvicorn to notice the disconnect, so uvicorn neither answers 500 nor logs an error. Under any other server
the fallback sends a response head promising a body and raises ``ConnectionDropped``, which makes the
server close the connection mid-response (or, in-process, makes the client call raise).

Every non-exempt request is recorded in the ``RequestLog`` (method, path, query, status, fault, simulated
time, headers with credentials redacted); ``GET /_admin/requests`` shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import random
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulators.common.clock import SimClock
from simulators.common.provenance import assumed


class FaultKind(StrEnum):
    """What happens to one request."""

    OK = "ok"
    THROTTLE = "throttle"
    ERROR = "error"
    DROP = "drop"
    COMMIT_LATE = "commit_late"


class FaultPlanError(ValueError):
    """A fault plan (JSON) is malformed; the message says where and why."""


class ConnectionDropped(Exception):  # noqa: N818 -- it names the event, like ConnectionResetError
    """Raised to make a non-uvicorn server abandon the connection (see the module docstring)."""


@dataclass(frozen=True)
class Fault:
    """The outcome chosen for one request."""

    kind: FaultKind = FaultKind.OK
    status: int = 200
    retry_after: int = 0
    latency_ms: int = 0
    after: bool = False  # error/drop strike after the app handled the request
    after_requests: int = 1  # commit_late: applied just before this many later requests are handled

    @property
    def label(self) -> str:
        """Short name for logs: ok, latency, throttle, error, error_after, drop, drop_after, commit_late."""
        if self.kind is FaultKind.OK:
            return "latency" if self.latency_ms else "ok"
        return f"{self.kind}_after" if self.after else str(self.kind)

    def to_json(self) -> dict[str, Any]:
        """The step as a JSON object (the long form accepted in a script)."""
        step: dict[str, Any] = {"kind": str(self.kind)}
        if self.kind is FaultKind.ERROR or (self.kind is FaultKind.COMMIT_LATE and self.status):
            step["status"] = self.status
        if self.kind is FaultKind.COMMIT_LATE:
            step["after_requests"] = self.after_requests
        if self.kind in (FaultKind.THROTTLE, FaultKind.ERROR):
            step["retry_after"] = self.retry_after
        if self.latency_ms:
            step["latency_ms"] = self.latency_ms
        if self.after:
            step["after"] = True
        return step


NO_FAULT = Fault()
_STEP_KEYS = {"kind", "status", "retry_after", "latency_ms", "after", "times", "after_requests"}
_PLAN_KEYS = {
    "script",
    "rates",
    "seed",
    "retry_after_seconds",
    "error_status",
    "latency_ms",
    "paths",
    "methods",
}
_RATE_KEYS = {"throttle", "error", "drop", "latency"}


def _integer(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FaultPlanError(f"{where}: expected an integer in [{low}, {high}], got {value!r}")
    return value


def _rate(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise FaultPlanError(f"{where}: expected a number in [0, 1], got {value!r}")
    return float(value)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise FaultPlanError(f"{where}: expected a list of non-empty strings, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class _Defaults:
    retry_after: int
    error_status: int
    latency_ms: int


def _step_from_status(status: int, where: str, defaults: _Defaults) -> Fault:
    if status == 200:
        return NO_FAULT
    if status == 429:
        return Fault(FaultKind.THROTTLE, 429, defaults.retry_after)
    if 400 <= status <= 599:
        return Fault(FaultKind.ERROR, status)
    raise FaultPlanError(f"{where}: status {status} is not a fault (use 200, 429 or another 400-599)")


def _step_from_name(name: str, where: str, defaults: _Defaults) -> Fault:
    steps = {
        "ok": NO_FAULT,
        "latency": Fault(latency_ms=defaults.latency_ms),
        "throttle": Fault(FaultKind.THROTTLE, 429, defaults.retry_after),
        "error": Fault(FaultKind.ERROR, defaults.error_status),
        "error_after": Fault(FaultKind.ERROR, defaults.error_status, after=True),
        "drop": Fault(FaultKind.DROP, 0),
        "drop_after": Fault(FaultKind.DROP, 0, after=True),
        "commit_late": Fault(FaultKind.COMMIT_LATE, 0),
    }
    if name not in steps:
        raise FaultPlanError(f"{where}: unknown fault {name!r} (expected one of {', '.join(steps)})")
    return steps[name]


def _step_from_object(raw: Mapping[str, Any], where: str, defaults: _Defaults) -> list[Fault]:
    unknown = set(raw) - _STEP_KEYS
    if unknown:
        raise FaultPlanError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(_STEP_KEYS)})")
    kind = raw.get("kind")
    if not isinstance(kind, str):
        raise FaultPlanError(f"{where}: 'kind' is required (ok, throttle, error, drop, latency, commit_late)")
    base = _step_from_name(kind, where, defaults)
    if "status" in raw:
        if base.kind not in (FaultKind.ERROR, FaultKind.COMMIT_LATE):
            raise FaultPlanError(f"{where}: 'status' applies only to error and commit_late steps")
        base = replace(base, status=_integer(raw["status"], f"{where}.status", 400, 599))
    if "after_requests" in raw:
        if base.kind is not FaultKind.COMMIT_LATE:
            raise FaultPlanError(f"{where}: 'after_requests' applies only to commit_late steps")
        base = replace(
            base, after_requests=_integer(raw["after_requests"], f"{where}.after_requests", 1, 10_000)
        )
    if "retry_after" in raw:
        if base.kind not in (FaultKind.THROTTLE, FaultKind.ERROR):
            raise FaultPlanError(f"{where}: 'retry_after' applies only to throttle and error steps")
        base = replace(base, retry_after=_integer(raw["retry_after"], f"{where}.retry_after", 0, 86_400))
    if "latency_ms" in raw:
        base = replace(base, latency_ms=_integer(raw["latency_ms"], f"{where}.latency_ms", 0, 600_000))
    if "after" in raw:
        if not isinstance(raw["after"], bool) or base.kind not in (FaultKind.ERROR, FaultKind.DROP):
            raise FaultPlanError(f"{where}: 'after' is a boolean and applies only to error and drop steps")
        base = replace(base, after=raw["after"])
    times = _integer(raw.get("times", 1), f"{where}.times", 1, 10_000)
    return [base] * times


def _parse_step(raw: Any, where: str, defaults: _Defaults) -> list[Fault]:
    if isinstance(raw, bool):
        raise FaultPlanError(f"{where}: expected a fault name, status or object, got {raw!r}")
    if isinstance(raw, int):
        return [_step_from_status(raw, where, defaults)]
    if isinstance(raw, str):
        return [_step_from_name(raw, where, defaults)]
    if isinstance(raw, dict):
        return _step_from_object(raw, where, defaults)
    raise FaultPlanError(f"{where}: expected a fault name, status or object, got {raw!r}")


@dataclass(frozen=True)
class FaultPlan:
    """Which faults to inject: a script consumed first, then random faults at the given rates."""

    script: tuple[Fault, ...] = ()
    throttle_rate: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    latency_rate: float = 0.0
    seed: int = 0
    retry_after_seconds: int = 1
    error_status: int = 503
    latency_ms: int = 100
    paths: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> FaultPlan:
        """Parse the JSON plan described in the module docstring; raises FaultPlanError with the reason."""
        if not isinstance(data, dict):
            raise FaultPlanError(f"a fault plan is a JSON object, got {type(data).__name__}")
        unknown = set(data) - _PLAN_KEYS
        if unknown:
            raise FaultPlanError(f"unknown keys {sorted(unknown)} (allowed: {sorted(_PLAN_KEYS)})")
        defaults = _Defaults(
            retry_after=_integer(data.get("retry_after_seconds", 1), "retry_after_seconds", 0, 86_400),
            error_status=_integer(data.get("error_status", 503), "error_status", 400, 599),
            latency_ms=_integer(data.get("latency_ms", 100), "latency_ms", 0, 600_000),
        )
        raw_script = data.get("script", [])
        if not isinstance(raw_script, list):
            raise FaultPlanError(f"script: expected a list of steps, got {raw_script!r}")
        script = [f for i, raw in enumerate(raw_script) for f in _parse_step(raw, f"script[{i}]", defaults)]
        rates = data.get("rates", {})
        if not isinstance(rates, dict) or set(rates) - _RATE_KEYS:
            raise FaultPlanError(
                f"rates: expected an object with keys among {sorted(_RATE_KEYS)}, got {rates!r}"
            )
        parsed = {key: _rate(value, f"rates.{key}") for key, value in rates.items()}
        if parsed.get("throttle", 0) + parsed.get("error", 0) + parsed.get("drop", 0) > 1:
            raise FaultPlanError("rates: throttle + error + drop must not exceed 1")
        return cls(
            script=tuple(script),
            throttle_rate=parsed.get("throttle", 0.0),
            error_rate=parsed.get("error", 0.0),
            drop_rate=parsed.get("drop", 0.0),
            latency_rate=parsed.get("latency", 0.0),
            seed=_integer(data.get("seed", 0), "seed", 0, 2**63),
            retry_after_seconds=defaults.retry_after,
            error_status=defaults.error_status,
            latency_ms=defaults.latency_ms,
            paths=_strings(data.get("paths", []), "paths"),
            methods=tuple(m.upper() for m in _strings(data.get("methods", []), "methods")),
        )

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON (script steps in their long form)."""
        return {
            "script": [step.to_json() for step in self.script],
            "rates": {
                "throttle": self.throttle_rate,
                "error": self.error_rate,
                "drop": self.drop_rate,
                "latency": self.latency_rate,
            },
            "seed": self.seed,
            "retry_after_seconds": self.retry_after_seconds,
            "error_status": self.error_status,
            "latency_ms": self.latency_ms,
            "paths": list(self.paths),
            "methods": list(self.methods),
        }

    def applies_to(self, method: str, path: str) -> bool:
        """Whether a request is subject to this plan (its paths and methods filters)."""
        if self.methods and method.upper() not in self.methods:
            return False
        return not self.paths or any(fnmatch.fnmatchcase(path, pattern) for pattern in self.paths)


@dataclass
class LateCommit:
    """A request read by a ``commit_late`` step and not applied yet: its ASGI scope and body.

    Counting towards ``remaining`` starts once it is ``ready``: when its client has the gateway's answer,
    or has given up and gone.
    """

    scope: dict[str, Any]
    body: bytes
    remaining: int
    ready: bool = False


class FaultInjector:
    """The active fault plan, its progress (script, RNG) and the requests held to apply late; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plan = FaultPlan()
        self._remaining: deque[Fault] = deque()
        self._rng = random.Random(0)
        self._held: list[LateCommit] = []

    def hold(self, commit: LateCommit) -> None:
        """Keep a request read by ``commit_late`` until it is due."""
        with self._lock:
            self._held.append(commit)

    def mark_ready(self, commit: LateCommit) -> None:
        """The held request's client has its answer or is gone: later requests count down from now."""
        with self._lock:
            commit.ready = True

    def due(self) -> list[LateCommit]:
        """Called as each request arrives: count it, and hand out the held requests to apply before it."""
        with self._lock:
            for commit in self._held:
                if commit.ready:
                    commit.remaining -= 1
            due = [commit for commit in self._held if commit.ready and commit.remaining <= 0]
            self._held = [commit for commit in self._held if commit not in due]
            return due

    def held(self) -> int:
        """How many requests are read but not applied yet."""
        with self._lock:
            return len(self._held)

    def discard_held(self) -> int:
        """Forget the held requests without applying them (a reset); returns how many there were."""
        with self._lock:
            count, self._held = len(self._held), []
            return count

    @property
    def plan(self) -> FaultPlan:
        """The active plan."""
        with self._lock:
            return self._plan

    def remaining_script(self) -> list[Fault]:
        """Script steps not yet consumed."""
        with self._lock:
            return list(self._remaining)

    def set_plan(self, plan: FaultPlan) -> None:
        """Replace the plan; its script starts from the first step and its RNG from its seed."""
        with self._lock:
            self._plan = plan
            self._remaining = deque(plan.script)
            self._rng = random.Random(plan.seed)

    def clear(self) -> None:
        """Inject nothing from now on."""
        self.set_plan(FaultPlan())

    def next_fault(self, method: str, path: str) -> Fault:
        """The outcome for the next request: the next script step, else one drawn at the plan's rates."""
        with self._lock:
            plan = self._plan
            if not plan.applies_to(method, path):
                return NO_FAULT
            if self._remaining:
                return self._remaining.popleft()
            draw = self._rng.random()
            if draw < plan.throttle_rate:
                fault = Fault(FaultKind.THROTTLE, 429, plan.retry_after_seconds)
            elif draw < plan.throttle_rate + plan.error_rate:
                fault = Fault(FaultKind.ERROR, plan.error_status)
            elif draw < plan.throttle_rate + plan.error_rate + plan.drop_rate:
                fault = Fault(FaultKind.DROP, 0)
            else:
                fault = NO_FAULT
            if plan.latency_rate and self._rng.random() < plan.latency_rate:
                fault = replace(fault, latency_ms=plan.latency_ms)
            return fault


_REDACTED_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-functions-key"}


def _redact(name: str, value: str) -> str:
    if name not in _REDACTED_HEADERS:
        return value
    scheme, _, rest = value.partition(" ")
    return f"{scheme} <redacted>" if rest else "<redacted>"


@dataclass(frozen=True)
class RequestRecord:
    """One request as the simulator saw it; ``status`` is None when the connection was dropped."""

    seq: int
    method: str
    path: str
    query: str
    status: int | None
    fault: str
    at: float  # simulated time the request arrived
    headers: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object."""
        return {
            "seq": self.seq,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "fault": self.fault,
            "at": self.at,
            "headers": self.headers,
        }


class RequestLog:
    """The last ``capacity`` requests a simulator handled, oldest first; safe across threads."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._records: deque[RequestRecord] = deque(maxlen=capacity)
        self._seq = 0

    def add(
        self,
        method: str,
        path: str,
        *,
        query: str,
        status: int | None,
        fault: str,
        at: float,
        headers: Iterable[tuple[str, str]] = (),
    ) -> RequestRecord:
        """Record a request; returns the record with its sequence number (1, 2, ...)."""
        with self._lock:
            self._seq += 1
            record = RequestRecord(
                self._seq, method, path, query, status, fault, at, {k: _redact(k, v) for k, v in headers}
            )
            self._records.append(record)
            return record

    def entries(
        self, *, since: int = 0, path: str | None = None, method: str | None = None
    ) -> list[RequestRecord]:
        """Records after sequence number ``since``, optionally only under a path prefix or of a method."""
        with self._lock:
            records = list(self._records)
        return [
            r
            for r in records
            if r.seq > since
            and (path is None or r.path.startswith(path))
            and (method is None or r.method == method.upper())
        ]

    def clear(self) -> None:
        """Forget every record (sequence numbers keep counting up)."""
        with self._lock:
            self._records.clear()


FaultResponder = Callable[[Fault], Response]


@assumed(
    "common",
    "fault responses",
    "A generic JSON error body; simulators whose service has a documented throttling/error body "
    "(Dataverse service-protection 429) pass their own FaultResponder.",
)
def default_fault_response(fault: Fault) -> Response:
    """A JSON error response for a throttle or error fault (Retry-After set when the fault has one)."""
    headers = (
        {"Retry-After": str(fault.retry_after)}
        if fault.kind is FaultKind.THROTTLE or fault.retry_after
        else {}
    )
    if fault.kind is FaultKind.THROTTLE:
        body = {
            "code": "TooManyRequests",
            "message": f"Simulated throttling: retry after {fault.retry_after} s.",
        }
    else:
        body = {"code": "SimulatedFault", "message": f"Simulated {fault.status} fault."}
    return JSONResponse({"error": body}, status_code=fault.status, headers=headers)


async def _drop_connection(receive: Receive, send: Send) -> None:
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    abort = getattr(transport, "abort", None)
    if not callable(abort):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})
        raise ConnectionDropped("fault injection dropped the connection")
    abort()
    # Wait until uvicorn has seen the connection go, so it does not answer 500 for the silent app.
    while (await receive())["type"] != "http.disconnect":
        pass


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _client_gone(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _discard(message: Message) -> None:
    """A ``send`` that loses the response (the app did the work; the client never hears of it)."""


class FaultMiddleware:
    """Injects the ``FaultInjector``'s faults into every non-exempt request and logs each one."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        injector: FaultInjector,
        log: RequestLog,
        clock: SimClock,
        exempt_prefixes: tuple[str, ...] = ("/_admin",),
        responder: FaultResponder = default_fault_response,
    ) -> None:
        self.app = app
        self.injector = injector
        self.log = log
        self.clock = clock
        self.exempt_prefixes = exempt_prefixes
        self.responder = responder

    async def _apply_late(self, commit: LateCommit) -> None:
        """Let the app handle a held request now; nobody is listening for the answer any more."""
        delivered = False

        async def receive_body() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": commit.body, "more_body": False}

        # The client is long gone: whatever the app makes of the request, there is no one to tell.
        with contextlib.suppress(Exception):
            await self.app(commit.scope, receive_body, _discard)

    def _response(self, fault: Fault) -> Response:
        response = self.responder(fault)
        if fault.kind is FaultKind.THROTTLE and "retry-after" not in response.headers:
            response.headers["Retry-After"] = str(fault.retry_after)
        return response

    async def _commit_late(
        self,
        fault: Fault,
        scope: Scope,
        receive: Receive,
        send: Send,
        record: Callable[[int | None], None],
    ) -> None:
        """Read the request, hold it for later, and answer as a gateway would (or not at all)."""
        commit = LateCommit(dict(scope), await _read_body(receive), fault.after_requests)
        self.injector.hold(commit)
        if fault.status:
            self.injector.mark_ready(commit)  # before answering: the client's next request must count
            await self._response(fault)(scope, receive, send)
        else:
            record(None)
            await _client_gone(receive)  # held until the client's own timeout
            self.injector.mark_ready(commit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope: apply the next fault, then log the request."""
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        arrived = self.clock.now()
        for commit in self.injector.due():  # held requests whose time has come go first
            await self._apply_late(commit)
        fault = self.injector.next_fault(method, path)
        recorded = False

        def record(status: int | None) -> None:
            # Recorded before the client can see the outcome, so a test reading the log right after its
            # call always finds that call in it.
            nonlocal recorded
            if not recorded:
                recorded = True
                headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
                query = scope.get("query_string", b"").decode("latin-1")
                self.log.add(
                    method, path, query=query, status=status, fault=fault.label, at=arrived, headers=headers
                )

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record(int(message["status"]))
            await send(message)

        try:
            if fault.latency_ms:
                await asyncio.sleep(fault.latency_ms / 1000)
            if fault.after:
                await self.app(scope, receive, _discard)
            if fault.kind is FaultKind.COMMIT_LATE:
                await self._commit_late(fault, scope, receive, tracking_send, record)
            elif fault.kind in (FaultKind.THROTTLE, FaultKind.ERROR):
                await self._response(fault)(scope, receive, tracking_send)
            elif fault.kind is FaultKind.DROP:
                record(None)
                await _drop_connection(receive, send)
            else:
                await self.app(scope, receive, tracking_send)
        finally:
            record(None)  # the app failed before answering: uvicorn sends 500 or closes the connection
