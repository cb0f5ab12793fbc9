"""The Entra ID simulator: an OAuth 2.0 client-credentials authority that azure-identity talks to unchanged.

Routes (serve over HTTPS -- MSAL refuses ``http://`` authorities):

- ``GET /{tenant}/v2.0/.well-known/openid-configuration``: the discovery document MSAL fetches first.
- ``POST /{tenant}/oauth2/v2.0/token``: ``grant_type=client_credentials`` with ``client_id`` and either
  ``client_secret`` (form field or HTTP Basic) or ``client_assertion`` (JWT-bearer, certificate
  credential); ``scope=<resource>/.default``. Answers a bearer token for the resource (see
  ``simulators.entra.tokens``) or an AADSTS error. Extra MSAL fields (``client_info``, ``claims`` for CAE)
  are accepted and ignored.

A client such as ``ClientSecretCredential`` must be built with ``authority="https://127.0.0.1:<port>"``,
``disable_instance_discovery=True`` and ``connection_verify=<the loopback cert.pem>``.

Admin actions (``POST /_admin/actions/<name>``):

- ``register_client`` ``{tenant_id, client_id, client_secret | secrets | certificate_pem | certificates,
  object_id?, display_name?, roles?}``: add or replace an app (replace = rotate its credentials).
- ``remove_client`` ``{tenant_id, client_id}``.
- ``set_token_lifetime`` ``{seconds}``: lifetime of tokens issued from now on.

Reset restores the apps and token lifetime the simulator was created with.
"""

from __future__ import annotations

import base64
import binascii
import threading
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from simulators.common.admin import Admin, AdminError
from simulators.common.clock import SimClock
from simulators.entra import responses
from simulators.entra.assertions import CLIENT_ASSERTION_TYPE, AssertionRejected, verify_client_assertion
from simulators.entra.directory import ClientApp, Directory
from simulators.entra.tokens import SIMULATOR_SIGNING_KEY, issue

DEFAULT_TOKEN_LIFETIME = 3599
_RESERVED_SCOPES = {"openid", "profile", "offline_access", "email"}
_DEFAULT_SUFFIX = "/.default"


class _Rejected(Exception):  # noqa: N818 -- control flow inside the token handler, never escapes it
    def __init__(self, error: responses.EntraError) -> None:
        self.error = error


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _resource_of(scope: str, tenant_id: str, known_resources: frozenset[str] | None) -> str:
    """The single resource a client-credentials ``scope`` parameter names."""
    scopes = [s for s in scope.split() if s not in _RESERVED_SCOPES]
    if not scopes:
        raise _Rejected(responses.invalid_scope(scope))
    resources: set[str] = set()
    for item in scopes:
        if not item.endswith(_DEFAULT_SUFFIX):
            raise _Rejected(responses.scope_not_default(item))
        resource = item.removesuffix(_DEFAULT_SUFFIX)
        parts = urlsplit(resource)
        if not ((parts.scheme and parts.netloc) or _is_guid(resource)):
            raise _Rejected(
                responses.invalid_scope(
                    scope,
                    " The scope format is invalid. Scope must be in a valid URI form "
                    "<https://example/scope> or a valid Guid <guid/scope>.",
                )
            )
        resources.add(resource)
    if len(resources) > 1:
        raise _Rejected(responses.invalid_scope(scope, " All scopes must be for a single resource."))
    resource = resources.pop()
    if known_resources is not None and resource.rstrip("/") not in known_resources:
        raise _Rejected(responses.unknown_resource(resource, tenant_id))
    return resource


def _basic_credentials(request: Request) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None, None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    # RFC 6749 section 2.3.1: both parts are form-urlencoded before Basic encoding.
    return unquote_plus(client_id), unquote_plus(secret)


class EntraSimulator:
    """Registered client apps, token issuance and the Starlette app serving them (``.app``)."""

    def __init__(
        self,
        clients: Iterable[ClientApp] = (),
        *,
        clock: SimClock | None = None,
        token_lifetime: int = DEFAULT_TOKEN_LIFETIME,
        resources: Iterable[str] | None = None,
        signing_key: bytes = SIMULATOR_SIGNING_KEY,
    ) -> None:
        self.admin = Admin("entra", clock=clock)
        self.clock = self.admin.clock
        self.directory = Directory(clients)
        self.signing_key = signing_key
        self.resources = None if resources is None else frozenset(r.rstrip("/") for r in resources)
        self._initial_lifetime = token_lifetime
        self._lock = threading.Lock()
        self._lifetime = token_lifetime
        self._register_admin()
        self.app: ASGIApp = self.admin.build_app(
            [
                Route("/{tenant}/v2.0/.well-known/openid-configuration", self._discovery, methods=["GET"]),
                Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
            ]
        )

    @property
    def token_lifetime(self) -> int:
        """Seconds tokens issued from now on stay valid."""
        with self._lock:
            return self._lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: int) -> None:
        with self._lock:
            self._lifetime = seconds

    def register(self, app: ClientApp) -> ClientApp:
        """Add (or replace) a client app."""
        return self.directory.register(app)

    def _register_admin(self) -> None:
        @self.admin.action("register_client", "Add or replace a client app (see simulators.entra.app)")
        def register_client(body: dict[str, Any]) -> dict[str, Any]:
            return self.register(ClientApp.from_json(body)).to_json()

        @self.admin.action("remove_client", "Remove a client app: {tenant_id, client_id}")
        def remove_client(body: dict[str, Any]) -> dict[str, Any]:
            removed = self.directory.remove(str(body.get("tenant_id", "")), str(body.get("client_id", "")))
            if not removed:
                raise AdminError("no such client app")
            return {"removed": True}

        @self.admin.action(
            "set_token_lifetime", "Lifetime in seconds of tokens issued from now on: {seconds}"
        )
        def set_token_lifetime(body: dict[str, Any]) -> dict[str, Any]:
            seconds = body.get("seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 1:
                raise AdminError('expected {"seconds": <positive integer>}')
            self.token_lifetime = seconds
            return {"seconds": seconds}

        @self.admin.on_reset
        def restore() -> None:
            self.directory.reset()
            self.token_lifetime = self._initial_lifetime

    @staticmethod
    def _authority(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    def _correlation_id(self, request: Request) -> str:
        # MSAL sends client-request-id; Entra echoes it as the correlation id.
        return request.headers.get("client-request-id") or str(uuid.uuid4())

    async def _discovery(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        if not self.directory.has_tenant(tenant):
            return responses.unknown_tenant(tenant).response(
                correlation_id=self._correlation_id(request), now=self.clock.now()
            )
        return JSONResponse(responses.discovery_document(self._authority(request), tenant))

    async def _token(self, request: Request) -> Response:
        form = dict(
            parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True)
        )
        try:
            return self._grant(request, request.path_params["tenant"], form)
        except _Rejected as rejected:
            return rejected.error.response(correlation_id=self._correlation_id(request), now=self.clock.now())

    def _grant(self, request: Request, tenant: str, form: dict[str, str]) -> Response:
        if not self.directory.has_tenant(tenant):
            raise _Rejected(responses.unknown_tenant(tenant))
        grant_type = form.get("grant_type")
        if not grant_type:
            raise _Rejected(responses.missing_parameter("grant_type"))
        if grant_type != "client_credentials":
            raise _Rejected(responses.unsupported_grant(grant_type))
        basic_id, basic_secret = _basic_credentials(request)
        client_id = form.get("client_id") or basic_id
        if not client_id:
            raise _Rejected(responses.missing_parameter("client_id"))
        app = self.directory.find(tenant, client_id)
        if app is None:
            raise _Rejected(responses.unknown_client(client_id, tenant))
        credential_kind = self._authenticate(request, app, form, basic_secret)
        scope = form.get("scope")
        if not scope:
            raise _Rejected(responses.missing_parameter("scope"))
        resource = _resource_of(scope, tenant, self.resources)
        lifetime = self.token_lifetime
        token = issue(
            tenant_id=tenant,
            app_id=app.client_id,
            object_id=app.object_id,
            audience=resource,
            now=self.clock.now(),
            lifetime=lifetime,
            credential_kind=credential_kind,
            roles=app.roles,
            key=self.signing_key,
        )
        return responses.token_response(token, lifetime)

    def _authenticate(
        self, request: Request, app: ClientApp, form: dict[str, str], basic_secret: str | None
    ) -> str:
        """Check the app's credential; returns ``appidacr`` ("1" secret, "2" certificate)."""
        assertion = form.get("client_assertion")
        if assertion:
            if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
                raise _Rejected(responses.missing_credential())
            token_endpoint = f"{self._authority(request)}{request.url.path}"
            try:
                verify_client_assertion(assertion, app, token_endpoint)
            except AssertionRejected as exc:
                raise _Rejected(responses.bad_assertion(exc.code, str(exc))) from exc
            return "2"
        secret = form.get("client_secret", basic_secret)
        if secret is None:
            raise _Rejected(responses.missing_credential())
        if secret not in app.secrets:
            raise _Rejected(responses.invalid_client_secret(app.client_id))
        return "1"
