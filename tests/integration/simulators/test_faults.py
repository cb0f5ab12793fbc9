"""Fault injection as an httpx client sees it over a real socket: throttling, errors, drops, latency."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulators.common.admin import Admin
from simulators.common.admin_client import AdminClient
from simulators.common.server import BackgroundServer
from simulators.common.tls import TlsFiles


@dataclass
class EchoSim:
    """A tiny simulator that records which requests its handler really processed."""

    admin: Admin
    handled: list[str] = field(default_factory=list)


def echo_app(sim: EchoSim) -> Route:
    async def handle(request: Request) -> JSONResponse:
        await request.body()
        sim.handled.append(f"{request.method} {request.url.path}")
        return JSONResponse({"item": request.path_params["item"]})

    return Route("/items/{item}", handle, methods=["GET", "POST"])


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[EchoSim, str]]:
    sim = EchoSim(Admin("echo"))
    with BackgroundServer(sim.admin.build_app([echo_app(sim)])) as server:
        yield sim, server.url


@pytest.fixture
def sim(served: tuple[EchoSim, str]) -> EchoSim:
    served[0].admin.reset()
    served[0].handled.clear()
    return served[0]


@pytest.fixture
def http(served: tuple[EchoSim, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[1], timeout=10) as client:
        yield client


@pytest.fixture
def admin(http: httpx.Client) -> AdminClient:
    return AdminClient(http)


def test_throttle_answers_429_with_retry_after_and_skips_the_handler(
    sim: EchoSim, http: httpx.Client, admin: AdminClient
) -> None:
    """A throttle step is a 429 carrying the configured Retry-After; the service never sees it."""
    admin.set_faults({"script": ["throttle"], "retry_after_seconds": 7})
    throttled = http.get("/items/1")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert http.get("/items/1").status_code == 200
    assert sim.handled == ["GET /items/1"]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_error_answers_the_configured_status(
    sim: EchoSim, http: httpx.Client, admin: AdminClient, status: int
) -> None:
    """An error step answers its status instead of the service."""
    admin.set_faults({"script": [{"kind": "error", "status": status, "retry_after": 2}]})
    response = http.post("/items/1", json={})
    assert response.status_code == status
    assert response.headers["Retry-After"] == "2"
    assert sim.handled == []


def test_drop_is_a_transport_error_and_the_request_is_not_processed(
    sim: EchoSim, http: httpx.Client, admin: AdminClient
) -> None:
    """A drop closes the connection without a response; the client raises, the service did nothing."""
    admin.set_faults({"script": ["drop"]})
    # Usually "Server disconnected without sending a response" (RemoteProtocolError); a reset (ReadError)
    # when request bytes were still unread. Both are transport errors, which is what clients must handle.
    with pytest.raises(httpx.TransportError):
        http.post("/items/1", json={"a": 1})
    assert sim.handled == []
    assert http.get("/items/1").status_code == 200


def test_drop_over_tls_is_a_transport_error_too(tls: TlsFiles) -> None:
    """Dropping works the same behind TLS."""
    admin = Admin("echo-tls")
    sim = EchoSim(admin)
    admin.faults.set_plan(admin.faults.plan.from_json({"script": ["drop"]}))
    with (
        BackgroundServer(admin.build_app([echo_app(sim)]), tls=tls) as server,
        httpx.Client(base_url=server.url, verify=ssl.create_default_context(cafile=tls.cert_path)) as client,
    ):
        with pytest.raises(httpx.TransportError):
            client.get("/items/1")
        assert client.get("/items/1").status_code == 200


def test_drop_after_processing_loses_only_the_response(
    sim: EchoSim, http: httpx.Client, admin: AdminClient
) -> None:
    """drop_after: the service did the work, yet the client sees a transport error (the ambiguous case)."""
    admin.set_faults({"script": ["drop_after"]})
    with pytest.raises(httpx.TransportError):
        http.post("/items/9", json={})
    assert sim.handled == ["POST /items/9"]


def test_error_after_processing_replaces_the_response(
    sim: EchoSim, http: httpx.Client, admin: AdminClient
) -> None:
    """error_after: the service did the work, the client gets a 5xx."""
    admin.set_faults({"script": [{"kind": "error", "status": 504, "after": True}]})
    assert http.post("/items/9", json={}).status_code == 504
    assert sim.handled == ["POST /items/9"]


def test_latency_delays_but_delivers(sim: EchoSim, http: httpx.Client, admin: AdminClient) -> None:
    """A latency step still answers normally and is recorded as such."""
    admin.set_faults({"script": [{"kind": "latency", "latency_ms": 50}]})
    assert http.get("/items/1").json() == {"item": "1"}
    assert [r["fault"] for r in admin.requests()] == ["latency"]


def test_scripted_sequence_is_seen_in_order(sim: EchoSim, http: httpx.Client, admin: AdminClient) -> None:
    """'429, 503, drop, ok' reaches the client in exactly that order, and the log shows it."""
    admin.set_faults({"script": [429, 503, "drop", "ok"]})
    outcomes: list[int | str] = []
    for _ in range(4):
        try:
            outcomes.append(http.get("/items/1").status_code)
        except httpx.TransportError:
            outcomes.append("dropped")
    assert outcomes == [429, 503, "dropped", 200]
    log = admin.requests()
    assert [(r["status"], r["fault"]) for r in log] == [
        (429, "throttle"),
        (503, "error"),
        (None, "drop"),
        (200, "ok"),
    ]


def test_seeded_rates_replay_identically(sim: EchoSim, http: httpx.Client, admin: AdminClient) -> None:
    """The same seeded plan yields the same statuses, so random faults never make a test flaky."""
    plan = {"rates": {"throttle": 0.3, "error": 0.3}, "seed": 11, "retry_after_seconds": 0}

    def statuses() -> list[int]:
        admin.set_faults(plan)
        return [http.get("/items/1").status_code for _ in range(30)]

    first = statuses()
    assert statuses() == first
    assert {200, 429, 503} <= set(first)


def test_filters_limit_faults_to_matching_requests(
    sim: EchoSim, http: httpx.Client, admin: AdminClient
) -> None:
    """Only POSTs are hit when the plan says methods: [POST]."""
    admin.set_faults({"script": ["error"], "methods": ["POST"]})
    assert http.get("/items/1").status_code == 200
    assert http.post("/items/1", json={}).status_code == 503


def test_admin_routes_are_exempt_from_faults(sim: EchoSim, http: httpx.Client, admin: AdminClient) -> None:
    """With a drop pending, the admin routes still answer and do not consume it."""
    admin.set_faults({"script": ["drop"]})
    assert admin.requests() == []
    faults = http.get("/_admin/faults").json()
    assert faults["remaining_script"] == [{"kind": "drop"}]


def test_commit_late_answers_at_once_and_applies_the_request_later(
    sim: EchoSim, http: httpx.Client, admin: AdminClient
) -> None:
    """A gateway answers 504; the service applies the POST only before the 2nd request that follows."""
    admin.set_faults({"script": [{"kind": "commit_late", "status": 504, "after_requests": 2}]})
    assert http.post("/items/7", json={"n": 7}).status_code == 504
    assert sim.handled == []
    assert http.get("/_admin/faults").json()["held"] == 1
    assert http.get("/items/1").status_code == 200
    assert sim.handled == ["GET /items/1"]
    assert http.get("/items/2").status_code == 200
    assert sim.handled == ["GET /items/1", "POST /items/7", "GET /items/2"]
    first = admin.requests()[0]
    assert (first["status"], first["fault"]) == (504, "commit_late")


def test_commit_late_without_an_answer_holds_until_the_client_gives_up(
    served: tuple[EchoSim, str], sim: EchoSim, admin: AdminClient
) -> None:
    """No answer at all: the client times out, and only then does the service apply its request."""
    admin.set_faults({"script": ["commit_late"]})
    with (
        httpx.Client(base_url=served[1], timeout=0.3) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        impatient.post("/items/8", json={})
    assert sim.handled == []
    with httpx.Client(base_url=served[1], timeout=10) as http:
        # The disconnect may be noticed a moment after the next request arrives: the commit then waits
        # for the one after. Either way it comes after the client gave up, never before.
        for n in range(5):
            http.get(f"/items/{n}")
            if "POST /items/8" in sim.handled:
                break
    assert "POST /items/8" in sim.handled[-2:]


def test_a_reset_discards_held_requests(sim: EchoSim, http: httpx.Client, admin: AdminClient) -> None:
    """Back to the seeded state: a request held for later is never applied."""
    admin.set_faults({"script": [{"kind": "commit_late", "status": 504}]})
    http.post("/items/9", json={})
    admin.reset()
    http.get("/items/1")
    http.get("/items/2")
    assert sim.handled == ["GET /items/1", "GET /items/2"]
