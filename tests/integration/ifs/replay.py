"""Replays recorded IFS exchanges (the keboola cassettes) over a real loopback socket, strictly in order.

Each request must match the next recorded one: method, path, query parameters (decoded), Accept header and,
for the token call, the form fields. The answer is the recorded status, Content-Type and body. A request
that does not match gets 599 and is noted in ``mismatches`` so the test can show what differed.

``client_adds`` names query options the connector sends on API requests that the recorded client did not
(the key ``$orderby`` of ``$skip`` paging): they must be sent exactly, and are otherwise ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

CASSETTES = Path(__file__).resolve().parents[2] / "vectors" / "ifs" / "keboola-cassettes"


def load(*names: str) -> list[dict[str, Any]]:
    """The exchanges of the named cassette files, in order."""
    exchanges: list[dict[str, Any]] = []
    for name in names:
        exchanges.extend(json.loads((CASSETTES / name).read_text(encoding="utf-8")))
    return exchanges


class Replay:
    """A Starlette app answering with recorded responses."""

    def __init__(
        self,
        exchanges: list[dict[str, Any]],
        *,
        token: str = "REDACTED",  # noqa: S107
        client_adds: dict[str, str] | None = None,
    ) -> None:
        self.pending = list(exchanges)
        self.token = token
        self.client_adds = client_adds or {}
        self.mismatches: list[str] = []
        self.app = Starlette(routes=[Route("/{path:path}", self._answer, methods=["GET", "POST", "PATCH"])])

    async def _answer(self, request: Request) -> Response:
        body = await request.body()
        if not self.pending:
            return self._refuse(f"unexpected {request.method} {request.url.path}: nothing left to replay")
        exchange = self.pending[0]
        recorded = exchange["request"]
        url = urlsplit(recorded["url"])
        problems = []
        if request.method != recorded["method"]:
            problems.append(f"method {request.method} != {recorded['method']}")
        if request.url.path != url.path:
            problems.append(f"path {request.url.path} != {url.path}")
        sent = sorted(parse_qsl(request.url.query, keep_blank_values=True))
        expected = sorted(parse_qsl(url.query, keep_blank_values=True))
        if recorded["method"] == "GET" and url.query:
            expected = sorted([*expected, *self.client_adds.items()])
        if sent != expected:
            problems.append(f"query {sent} != {expected}")
        accept = recorded["headers"].get("Accept")
        if accept not in (None, "*/*") and request.headers.get("accept") != accept:
            problems.append(f"Accept {request.headers.get('accept')} != {accept}")
        if recorded["method"] == "POST":
            if dict(parse_qsl(body.decode())) != dict(parse_qsl(recorded["body"])):
                problems.append(f"form {body.decode()} != {recorded['body']}")
        elif request.headers.get("authorization") != f"Bearer {self.token}":
            problems.append("no bearer token from the recorded token response")
        if problems:
            return self._refuse("; ".join(problems))
        self.pending.pop(0)
        response = exchange["response"]
        if "body_file" in response:
            content = (CASSETTES / response["body_file"]).read_bytes()
        else:
            content = json.dumps(response["body"]).encode()
        return Response(
            content, status_code=response["status"], media_type=response["headers"]["Content-Type"]
        )

    def _refuse(self, problem: str) -> Response:
        self.mismatches.append(problem)
        return Response(problem, status_code=599)
