"""A typed client for a simulator's ``/_admin`` routes, for tests and the demo.

It takes an ``httpx.Client`` whose ``base_url`` is the simulator (and, for HTTPS simulators, whose
``verify`` trusts the loopback certificate), so it works against any simulator in or out of process.
"""

from __future__ import annotations

from typing import Any

import httpx


class AdminRequestError(Exception):
    """An admin call was refused; the message carries the simulator's reason."""


class AdminClient:
    """Calls ``/_admin`` on one simulator."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def _call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, f"/_admin{path}", json=body, params=params)
        if response.is_error:
            raise AdminRequestError(f"{method} /_admin{path} -> {response.status_code}: {response.text}")
        return response.json()

    def reset(self) -> None:
        """Reset faults, request log, clock and the simulator's own state."""
        self._call("POST", "/reset")

    def set_faults(self, plan: dict[str, Any]) -> dict[str, Any]:
        """Install a fault plan (see ``simulators.common.faults``); returns it as the simulator holds it."""
        result: dict[str, Any] = self._call("POST", "/faults", plan)
        return result

    def clear_faults(self) -> None:
        """Inject nothing from now on."""
        self._call("DELETE", "/faults")

    def requests(
        self, *, since: int = 0, path: str | None = None, method: str | None = None
    ) -> list[dict[str, Any]]:
        """The request log, optionally after a sequence number, under a path prefix or of one method."""
        params: dict[str, Any] = {"since": since}
        if path is not None:
            params["path"] = path
        if method is not None:
            params["method"] = method
        records: list[dict[str, Any]] = self._call("GET", "/requests", params=params)["requests"]
        return records

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._call("DELETE", "/requests")

    def now(self) -> float:
        """The simulator's simulated time (epoch seconds)."""
        return float(self._call("GET", "/clock")["now"])

    def advance_clock(self, seconds: float) -> float:
        """Move simulated time forward; returns the new time."""
        return float(self._call("POST", "/clock", {"advance_seconds": seconds})["now"])

    def shapes(self, *, every_simulator: bool = False) -> list[dict[str, str]]:
        """Response shapes and their provenance."""
        shapes: list[dict[str, str]] = self._call(
            "GET", "/shapes", params={"all": "1"} if every_simulator else None
        )["shapes"]
        return shapes

    def action(self, name: str, body: dict[str, Any] | None = None) -> Any:
        """Run one of the simulator's own admin actions."""
        return self._call("POST", f"/actions/{name}", body or {})
