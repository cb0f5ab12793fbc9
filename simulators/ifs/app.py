"""The IFS Cloud simulator as one Starlette app: IAM (Keycloak) token endpoint and the projections.

``IfsSimulator`` holds the state (tenant tables, issued tokens, the clock) and exposes ``app``; tests serve
it with ``BackgroundServer`` and talk HTTP to it, the demo runs it with ``python -m simulators.ifs``.
Defaults match ``local.settings.sample.json`` (realm ``acme1``, client ``ifs-d365-sync``), so the sample
settings work against a local simulator.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.ifs.iam import Iam, basic_credentials
from simulators.ifs.model import ENTITY_SETS
from simulators.ifs.projections import ProjectionApi
from simulators.ifs.tenant import Tenant, TenantConfig
from simulators.ifs.wire import API_ROOT, ApiRequest, ApiResponse

DEFAULT_REALM = "acme1"
DEFAULT_CLIENTS = {"ifs-d365-sync": "change-me"}
_PROVENANCE = {f"{m.projection}.svc/{m.name}": m.provenance for m in ENTITY_SETS}


def _utc_now() -> datetime:
    return datetime.now(UTC)


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
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.clock = clock
        self.tenant_config = tenant or TenantConfig()
        self.tenant = Tenant(self.tenant_config, clock)
        self.iam = Iam(realm, clients or DEFAULT_CLIENTS, clock, token_lifetime=token_lifetime)
        self.api = ProjectionApi(self.tenant, page_size=page_size)
        self.app = Starlette(
            routes=[
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
        """Back to the seeded state: tables rebuilt from seed and captures, tokens forgotten."""
        self.tenant = Tenant(self.tenant_config, self.clock)
        self.api.tenant = self.tenant
        self.iam.revoke_all()

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
        query = request.scope.get("query_string", b"").decode("latin-1")
        api_request = ApiRequest(
            method=request.method,
            path=path,
            params=tuple(parse_qsl(query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
            origin=str(request.base_url).rstrip("/"),
        )
        return self._respond(api_request, self.api.handle(api_request))

    @staticmethod
    def _respond(request: ApiRequest, answer: ApiResponse) -> Response:
        headers = {"OData-Version": "4.0", **answer.headers}
        set_path = "/".join(request.path.split("/")[:2]).split("(", 1)[0]
        provenance = _PROVENANCE.get(set_path)
        if provenance is not None:
            headers["X-Simulator-Provenance"] = provenance
        if answer.status == 204:
            return Response(status_code=204, headers=headers)
        return Response(
            answer.body(), status_code=answer.status, media_type=answer.content_type, headers=headers
        )
