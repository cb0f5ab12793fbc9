"""The /_admin routes over HTTP: reset, faults, request log, clock, shapes and simulator actions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulators.common.admin import Admin, AdminError
from simulators.common.admin_client import AdminClient, AdminRequestError
from simulators.common.clock import SimClock
from simulators.common.provenance import captured
from simulators.common.server import BackgroundServer

captured("counter", "count body", "made up for the admin tests")


class Counter:
    """A simulator with state, an action that changes it and a reset hook."""

    def __init__(self) -> None:
        self.admin = Admin("counter", clock=SimClock(1_000.0, frozen=True))
        self.value = 0

        @self.admin.action("bump", "Add {by} to the counter")
        def bump(body: dict[str, Any]) -> dict[str, int]:
            by = body.get("by", 1)
            if not isinstance(by, int):
                raise AdminError("by must be an integer")
            self.value += by
            return {"value": self.value}

        @self.admin.action("noop")
        def noop(body: dict[str, Any]) -> None:
            return None

        @self.admin.on_reset
        def zero() -> None:
            self.value = 0

    async def read(self, request: Request) -> JSONResponse:
        return JSONResponse({"value": self.value, "at": self.admin.clock.now()})


@pytest.fixture
def counter() -> Iterator[tuple[Counter, AdminClient, httpx.Client]]:
    sim = Counter()
    app = sim.admin.build_app([Route("/count", sim.read, methods=["GET"])])
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url) as http:
        yield sim, AdminClient(http), http


def test_index_lists_actions(counter: tuple[Counter, AdminClient, httpx.Client]) -> None:
    """GET /_admin names the simulator and its actions."""
    _, _, http = counter
    index = http.get("/_admin").json()
    assert index["simulator"] == "counter"
    assert {"name": "bump", "description": "Add {by} to the counter"} in index["actions"]


def test_actions_run_and_report_bad_input(counter: tuple[Counter, AdminClient, httpx.Client]) -> None:
    """An action answers its result; bad input is a 400 with the reason; unknown actions are 404."""
    _, admin, http = counter
    assert admin.action("bump", {"by": 5}) == {"value": 5}
    assert admin.action("noop") == {"ok": True}
    assert http.get("/count").json()["value"] == 5
    with pytest.raises(AdminRequestError, match=r"400.*by must be an integer"):
        admin.action("bump", {"by": "lots"})
    refused = http.post("/_admin/actions/explode", json={})
    assert refused.status_code == 404
    assert "known: bump, noop" in refused.json()["error"]
    assert http.post("/_admin/actions/bump", content=b"[1]").status_code == 400


def test_clock_advances_over_http(counter: tuple[Counter, AdminClient, httpx.Client]) -> None:
    """POST /_admin/clock moves the simulator's time; the service sees it."""
    _, admin, http = counter
    assert admin.now() == 1_000.0
    assert admin.advance_clock(3600) == 4_600.0
    assert http.get("/count").json()["at"] == 4_600.0
    assert http.post("/_admin/clock", json={"advance_seconds": -5}).status_code == 400
    assert http.post("/_admin/clock", json={"advance": 5}).status_code == 400


def test_request_log_records_requests_with_credentials_redacted(
    counter: tuple[Counter, AdminClient, httpx.Client],
) -> None:
    """Each request is logged with method, path, query, status, fault and time; secrets are hidden."""
    _, admin, http = counter
    http.get("/count?x=1", headers={"Authorization": "Bearer secret-token"})
    http.get("/missing")
    first, second = admin.requests()
    assert (first["method"], first["path"], first["query"], first["status"], first["fault"]) == (
        "GET",
        "/count",
        "x=1",
        200,
        "ok",
    )
    assert first["at"] == 1_000.0
    assert first["headers"]["authorization"] == "Bearer <redacted>"
    assert second["status"] == 404
    assert [r["path"] for r in admin.requests(since=first["seq"])] == ["/missing"]
    assert [r["path"] for r in admin.requests(path="/count")] == ["/count"]
    admin.clear_requests()
    assert admin.requests() == []


def test_faults_can_be_read_set_and_cleared(counter: tuple[Counter, AdminClient, httpx.Client]) -> None:
    """POST installs a plan, GET shows what is left, DELETE clears; a bad plan is a 400 with the reason."""
    _, admin, http = counter
    installed = admin.set_faults({"script": ["throttle", "ok"]})
    assert [step["kind"] for step in installed["remaining_script"]] == ["throttle", "ok"]
    assert http.get("/count").status_code == 429
    assert [s["kind"] for s in http.get("/_admin/faults").json()["remaining_script"]] == ["ok"]
    admin.clear_faults()
    assert http.get("/_admin/faults").json()["remaining_script"] == []
    with pytest.raises(AdminRequestError, match="unknown fault 'sometimes'"):
        admin.set_faults({"script": ["sometimes"]})
    assert http.post("/_admin/faults", content=b"{not json").status_code == 400


def test_reset_clears_everything_and_runs_the_hooks(
    counter: tuple[Counter, AdminClient, httpx.Client],
) -> None:
    """Reset clears faults, log and clock and lets the simulator reset its own state."""
    sim, admin, http = counter
    admin.action("bump", {"by": 3})
    admin.advance_clock(60)
    admin.set_faults({"script": ["error"]})
    http.get("/count")
    admin.reset()
    assert sim.value == 0
    assert admin.now() == 1_000.0
    assert admin.requests() == []
    assert http.get("/count").status_code == 200


def test_shapes_are_listed_with_provenance(counter: tuple[Counter, AdminClient, httpx.Client]) -> None:
    """GET /_admin/shapes lists this simulator's shapes; ?all=1 lists every simulator's."""
    _, admin, _ = counter
    assert admin.shapes() == [
        {
            "simulator": "counter",
            "name": "count body",
            "provenance": "captured",
            "source": "made up for the admin tests",
        }
    ]
    assert any(s["simulator"] == "common" for s in admin.shapes(every_simulator=True))
