"""The IFS Cloud simulator as one Starlette app: IAM (Keycloak) token endpoint, projections, ``/_admin``.

``IfsSimulator`` holds the state (tenant tables, issued tokens, the ``SimClock``) and exposes ``app``, wrapped
in the toolkit's fault middleware; tests serve it with ``BackgroundServer``, the demo with
``python -m simulators.ifs``. Defaults match ``local.settings.sample.json`` (realm ``acme1``, client
``ifs-d365-sync``), so the sample settings work against a local simulator. ``server_time_zone`` is the zone
in which the simulated server reads ``…Z`` timestamps of requests that do not say
``X-Ifs-Time-Zone-Aware-Request: true``.

Admin actions (``POST /_admin/actions/<name>``), besides the toolkit's reset, faults, request log and clock:

- ``touch`` ``{entity_set, key, changes}``: an edit made by a user inside IFS (any attribute, new ETag).
- ``create`` ``{entity_set, values}``: a row entered in IFS (same rules as a POST).
- ``delete`` ``{entity_set, key}``: a row removed in IFS.
- ``expire_tokens`` ``{}``: every issued token stops working (the next API call gets 401).
- ``set_token_lifetime`` ``{seconds}``: lifetime of tokens issued from now on.
- ``stats`` ``{}``: rows per entity set and issued tokens.
- ``set_page_size`` ``{size}``: server page size of requests without ``$top``.
- ``respond_late`` ``{seconds, times?, methods?}``: the next ``times`` API requests (of ``methods``, default
  POST) are handled at once and answered ``seconds`` later: a write that IFS committed but whose answer
  arrives after the client gave up. (The toolkit's latency delays a request *before* it is handled.)
- ``touch_after_read`` ``{entity_set, key, changes, times?}``: right after the next ``times`` (default 1) GETs
  of that row are answered, a user in IFS edits it (as ``touch``): the reader's ETag is stale by the time it
  writes, so its write is refused with 412 -- a concurrent edit, deterministically.
- ``set_max_url_length`` ``{length}``: the longest request URL (origin, path and query as sent) the API
  accepts; longer ones get 414 (``max_url_length``, 8192 by default, an assumption: IFS documents no limit,
  8 KB is the request-line buffer of common reverse proxies such as nginx's ``large_client_header_buffers``).
- ``revoke_projection`` ``{projection}`` / ``grant_projection`` ``{projection}``: the IAM client's user loses
  (gets back) the permission set granting that projection (``CustomerHandling``): its requests answer 403.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from simulators.common.admin import Admin, AdminError
from simulators.common.clock import SimClock
from simulators.ifs.iam import Iam, basic_credentials
from simulators.ifs.projections import ProjectionApi
from simulators.ifs.shapes import SIM, fault_response, forbidden_projection, uri_too_long
from simulators.ifs.tenant import BusinessError, NotFoundError, SetState, Tenant, TenantConfig
from simulators.ifs.wire import API_ROOT, ApiRequest, ApiResponse

DEFAULT_REALM = "acme1"
DEFAULT_MAX_URL_LENGTH = 8192
DEFAULT_CLIENTS = {"ifs-d365-sync": "change-me"}


@dataclass
class _LateAnswers:
    seconds: float
    times: int
    methods: frozenset[str]


@dataclass
class _EditAfterRead:
    state: SetState
    key: dict[str, Any]
    row_path: str  # "<EntitySet>(<key predicate>)" as a client addresses the row
    changes: dict[str, Any]
    times: int


def _row_path(name: str, key: dict[str, Any]) -> str:
    return (
        name
        + "("
        + ",".join(f"{k}='{v}'" if isinstance(v, str) else f"{k}={v}" for k, v in key.items())
        + ")"
    )


class IfsSimulator:
    """A simulated IFS Cloud tenant: IAM realm, projections, seed data and the real captured orders."""

    def __init__(
        self,
        *,
        tenant: TenantConfig | None = None,
        realm: str = DEFAULT_REALM,
        clients: dict[str, str] | None = None,
        token_lifetime: int = 180,
        page_size: int = 100,
        absolute_next_links: bool = False,
        server_time_zone: tzinfo = UTC,
        clock: SimClock | None = None,
        max_url_length: int = DEFAULT_MAX_URL_LENGTH,
    ) -> None:
        self.admin = Admin(SIM, clock=clock, responder=fault_response)
        self.clock = self.admin.clock
        self.tenant_config = tenant or TenantConfig()
        self.tenant = Tenant(self.tenant_config, self.clock.now_datetime)
        self._initial_lifetime = token_lifetime
        self._initial_page_size = page_size
        self.iam = Iam(
            realm, clients or DEFAULT_CLIENTS, self.clock.now_datetime, token_lifetime=token_lifetime
        )
        self.api = ProjectionApi(
            self.tenant,
            page_size=page_size,
            absolute_next_links=absolute_next_links,
            server_time_zone=server_time_zone,
        )
        self._late: _LateAnswers | None = None
        self._late_lock = threading.Lock()
        self._edits: list[_EditAfterRead] = []
        self._initial_max_url_length = max_url_length
        self.max_url_length = max_url_length
        self.revoked_projections: set[str] = set()  # no permission set grants them to the client's user
        self._register_admin()
        self.app: ASGIApp = self.admin.build_app(
            [
                Route("/auth/realms/{realm}/protocol/openid-connect/token", self._token, methods=["POST"]),
                Route(
                    "/auth/realms/{realm}/.well-known/openid-configuration", self._discovery, methods=["GET"]
                ),
                Route(
                    API_ROOT + "/{rest:path}",
                    self._projection,
                    methods=["GET", "POST", "PATCH", "DELETE", "PUT"],
                ),
            ]
        )

    def reset(self) -> None:
        """Back to the seeded state (what ``POST /_admin/reset`` does, faults and log included)."""
        self.admin.reset()

    # ---- admin ---------------------------------------------------------------------------------

    def _set(self, body: dict[str, Any]) -> SetState:
        name = body.get("entity_set")
        found = [s for s in self.tenant.sets.values() if s.model.name == name]
        if not found:
            names = sorted(s.model.name for s in self.tenant.sets.values())
            raise AdminError(f"entity_set must be one of {names}, got {name!r}")
        return found[0]

    @staticmethod
    def _object(body: dict[str, Any], name: str) -> dict[str, Any]:
        value = body.get(name)
        if not isinstance(value, dict):
            raise AdminError(f"{name} must be a JSON object")
        return value

    def _register_admin(self) -> None:  # noqa: PLR0915 - one small closure per admin action
        admin = self.admin

        @admin.action("touch", "An edit by a user in IFS: {entity_set, key, changes} -> {etag}")
        def touch(body: dict[str, Any]) -> dict[str, Any]:
            state = self._set(body)
            try:
                record = self.tenant.touch(state, self._object(body, "key"), self._object(body, "changes"))
            except (NotFoundError, KeyError) as exc:
                raise AdminError(f"no such row: {exc}") from exc
            return {"etag": record.etag, "objversion": record.objversion}

        @admin.action("create", "A row entered in IFS: {entity_set, values} -> the row")
        def create(body: dict[str, Any]) -> dict[str, Any]:
            try:
                return self.tenant.create(self._set(body), self._object(body, "values")).served()
            except BusinessError as exc:
                raise AdminError(exc.message) from exc

        @admin.action("delete", "A row removed in IFS: {entity_set, key}")
        def delete(body: dict[str, Any]) -> None:
            try:
                self.tenant.delete(self._set(body), self._object(body, "key"))
            except (NotFoundError, KeyError) as exc:
                raise AdminError(f"no such row: {exc}") from exc

        @admin.action("expire_tokens", "Every issued token stops working: {} -> {revoked}")
        def expire_tokens(body: dict[str, Any]) -> dict[str, Any]:
            return {"revoked": self.iam.revoke_all()}

        @admin.action("set_token_lifetime", "Lifetime of tokens issued from now on: {seconds}")
        def set_token_lifetime(body: dict[str, Any]) -> dict[str, Any]:
            seconds = body.get("seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 1:
                raise AdminError('expected {"seconds": <positive integer>}')
            self.iam.token_lifetime = seconds
            return {"seconds": seconds}

        @admin.action("set_page_size", "Server page size when no $top is sent: {size}")
        def set_page_size(body: dict[str, Any]) -> dict[str, Any]:
            size = body.get("size")
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise AdminError('expected {"size": <positive integer>}')
            self.api.page_size = size
            return {"size": size}

        @admin.action("stats", "Rows per entity set and tokens issued: {} -> {...}")
        def stats(body: dict[str, Any]) -> dict[str, Any]:
            return {
                "rows": {
                    f"{s.model.projection}.svc/{s.model.name}": len(s.table)
                    for s in self.tenant.sets.values()
                },
                "tokens_issued": self.iam.issued_count,
            }

        @admin.action("respond_late", "Handle now, answer later: {seconds, times?, methods?}")
        def respond_late(body: dict[str, Any]) -> dict[str, Any]:
            seconds, times, methods = body.get("seconds"), body.get("times", 1), body.get("methods", ["POST"])
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= 60:
                raise AdminError('expected {"seconds": <number in (0, 60]>}')
            if isinstance(times, bool) or not isinstance(times, int) or times < 1:
                raise AdminError('"times" must be a positive integer')
            if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
                raise AdminError('"methods" must be a list of HTTP methods')
            with self._late_lock:
                self._late = _LateAnswers(float(seconds), times, frozenset(m.upper() for m in methods))
            return {"seconds": seconds, "times": times, "methods": sorted(m.upper() for m in methods)}

        @admin.action(
            "touch_after_read", "A user edits the row right after it is read: {entity_set, key, changes}"
        )
        def touch_after_read(body: dict[str, Any]) -> dict[str, Any]:
            state = self._set(body)
            key, changes = self._object(body, "key"), self._object(body, "changes")
            times = body.get("times", 1)
            if isinstance(times, bool) or not isinstance(times, int) or times < 1:
                raise AdminError('"times" must be a positive integer')
            try:
                self.tenant.get(state, key)
            except (NotFoundError, KeyError) as exc:
                raise AdminError(f"no such row: {exc}") from exc
            with self._late_lock:
                self._edits.append(
                    _EditAfterRead(state, dict(key), _row_path(state.model.name, key), changes, times)
                )
            return {"armed": times}

        @admin.action("set_max_url_length", "Longest request URL the API accepts: {length} (414 beyond)")
        def set_max_url_length(body: dict[str, Any]) -> dict[str, Any]:
            length = body.get("length")
            if isinstance(length, bool) or not isinstance(length, int) or length < 1:
                raise AdminError('expected {"length": <characters, at least 1>}')
            self.max_url_length = length
            return {"max_url_length": length}

        @admin.action("revoke_projection", "The client's user loses a projection's permissions: {projection}")
        def revoke_projection(body: dict[str, Any]) -> dict[str, Any]:
            projection = body.get("projection")
            if not isinstance(projection, str) or not projection:
                raise AdminError('expected {"projection": "<name, e.g. CustomerHandling>"}')
            self.revoked_projections.add(projection.removesuffix(".svc"))
            return {"revoked": sorted(self.revoked_projections)}

        @admin.action("grant_projection", "The client's user gets them back: {projection}")
        def grant_projection(body: dict[str, Any]) -> dict[str, Any]:
            self.revoked_projections.discard(str(body.get("projection", "")).removesuffix(".svc"))
            return {"revoked": sorted(self.revoked_projections)}

        @admin.on_reset
        def reseed() -> None:
            self.revoked_projections.clear()
            self.max_url_length = self._initial_max_url_length
            with self._late_lock:
                self._late = None
                self._edits = []
            self.tenant = Tenant(self.tenant_config, self.clock.now_datetime)
            self.api.tenant = self.tenant
            self.iam.revoke_all()
            self.iam.token_lifetime = self._initial_lifetime
            self.api.page_size = self._initial_page_size

    # ---- IAM -----------------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        if request.path_params["realm"] != self.iam.realm:
            return JSONResponse({"error": "Realm does not exist"}, status_code=404)
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return JSONResponse(
                {"error": "invalid_request", "error_description": "Content-Type must be form-urlencoded"},
                status_code=400,
            )
        form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        reply = self.iam.token(form, basic_credentials(request.headers.get("authorization")))
        return JSONResponse(reply.body, status_code=reply.status, headers={"Cache-Control": "no-store"})

    async def _discovery(self, request: Request) -> Response:
        realm = request.path_params["realm"]
        if realm != self.iam.realm:
            return JSONResponse({"error": "Realm does not exist"}, status_code=404)
        issuer = f"{str(request.base_url).rstrip('/')}/auth/realms/{realm}"
        return JSONResponse(
            {
                "issuer": issuer,
                "token_endpoint": f"{issuer}/protocol/openid-connect/token",
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            }
        )

    # ---- projections ---------------------------------------------------------------------------

    async def _projection(self, request: Request) -> Response:
        if not self.iam.accepts(request.headers.get("authorization")):
            return JSONResponse(
                {"error": {"message": "Unauthorized"}},
                status_code=401,
                headers={"WWW-Authenticate": f'Bearer realm="{self.iam.realm}", error="invalid_token"'},
            )
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        path = raw_path.decode("latin-1").split("?", 1)[0][len(API_ROOT) + 1 :]
        projection = unquote(path).split("/", 1)[0].removesuffix(".svc")
        if projection in self.revoked_projections:
            return forbidden_projection(projection)
        query = request.scope.get("query_string", b"").decode("latin-1")
        origin = str(request.base_url).rstrip("/")
        url_length = len(origin) + len(raw_path.split(b"?", 1)[0]) + (len(query) + 1 if query else 0)
        if url_length > self.max_url_length:
            return uri_too_long(url_length, self.max_url_length)
        api_request = ApiRequest(
            method=request.method,
            path=path,
            params=tuple(parse_qsl(query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
            origin=origin,
        )
        answer = self.api.handle(api_request)
        if request.method == "GET" and answer.status == 200:
            self._edit_after_read(unquote(path))
        delay = self._late_delay(request.method)
        if delay:
            await asyncio.sleep(delay)  # the work is done; only the answer is late
        return self._respond(answer)

    def _edit_after_read(self, path: str) -> None:
        with self._late_lock:
            due = [e for e in self._edits if path.endswith(e.row_path)]
            for edit in due:
                edit.times -= 1
            self._edits = [e for e in self._edits if e.times > 0]
        for edit in due:
            self.tenant.touch(edit.state, edit.key, edit.changes)

    def _late_delay(self, method: str) -> float:
        with self._late_lock:
            late = self._late
            if late is None or method.upper() not in late.methods:
                return 0.0
            late.times -= 1
            if late.times == 0:
                self._late = None
            return late.seconds

    @staticmethod
    def _respond(answer: ApiResponse) -> Response:
        headers = {"OData-Version": "4.0", **answer.headers}
        if answer.status == 204:
            return Response(status_code=204, headers=headers)
        return Response(
            answer.body(), status_code=answer.status, media_type=answer.content_type, headers=headers
        )
