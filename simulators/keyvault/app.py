"""The Key Vault simulator: the secrets data plane azure-keyvault-secrets' ``SecretClient`` uses unchanged.

Routes (serve over HTTPS -- ``SecretClient`` refuses to send a bearer token over ``http://``); any
``api-version`` is accepted:

- ``GET /secrets/{name}``, ``GET /secrets/{name}/`` (what ``SecretClient`` sends for the latest version)
  and ``GET /secrets/{name}/{version}``: the secret bundle, 404 ``SecretNotFound`` when absent, 403
  ``SecretDisabled`` when the version is disabled.
- ``PUT /secrets/{name}``: ``{"value", "contentType"?, "tags"?, "attributes"?: {"enabled"?}}`` creates a
  new version and answers its bundle.

Every request needs ``Authorization: Bearer <token>`` from the Entra simulator for the vault resource
(``https://vault.azure.net``) and the vault's tenant. Without one the answer is Key Vault's 401 challenge,
``WWW-Authenticate: Bearer authorization="<authority>/<tenant>", resource="https://vault.azure.net"``,
which makes ``SecretClient`` ask its credential for ``https://vault.azure.net/.default``. Build the client
with ``verify_challenge_resource=False`` (a loopback vault is not a subdomain of vault.azure.net) and
``connection_verify=<the loopback cert.pem>``.

Admin actions: ``set_secret`` ``{name, value, enabled?}`` (seed without a token; answers the bundle),
``delete_secret`` ``{name}``, ``revoke_role`` ``{}`` / ``grant_role`` ``{}``: the callers lose (get back)
their role assignment on the vault (Key Vault Secrets User): every request with a valid token answers 403
``ForbiddenByRbac``, as an RBAC vault does. Reset restores the secrets the simulator was created with, and
the role.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from simulators.common.admin import Admin, AdminError
from simulators.common.clock import SimClock
from simulators.common.provenance import assumed, captured
from simulators.entra.tokens import SIMULATOR_SIGNING_KEY, TokenError, validate

VAULT_RESOURCE = "https://vault.azure.net"
PUBLIC_AUTHORITY = "https://login.microsoftonline.com"
SECRET_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
SIM = "keyvault"

captured(
    SIM,
    "secret bundle",
    "PUT /secrets/{name} 200 {value, id: <vault>/secrets/<name>/<32 hex>, attributes: {enabled, created, "
    "updated, recoveryLevel, recoverableDays}} recorded from a live vault in "
    "github.com/Azure/azure-sdk-for-js "
    "sdk/keyvault/keyvault-secrets/recordings/node/secret_client__list_secrets_in_various_ways/"
    "recording_can_list_deleted_secrets.js; GET answers the same bundle.",
)
CHALLENGE = captured(
    SIM,
    "401 bearer challenge",
    'WWW-Authenticate \'Bearer authorization="https://login.windows.net/<tenant>", '
    'resource="https://vault.azure.net"\' with body {"error":{"code":"Unauthorized","message":"AKV10000: '
    'Request is missing a Bearer or PoP token."}}: recordings in github.com/Azure/azure-sdk-for-js '
    "sdk/keyvault/keyvault-secrets/recordings/ (2022) and "
    "github.com/Azure/azure-sdk-for-python/issues/24557.",
)
NOT_FOUND = captured(
    SIM,
    "404 SecretNotFound",
    '{"error":{"code":"SecretNotFound","message":"A secret with (name/id) <name> was not found in this '
    "key vault. If you recently deleted this secret you may be able to recover it using the correct recovery "
    'command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"}} '
    "quoted in github.com/Azure/azure-sdk-for-js/issues/25489.",
)
INVALID_TOKEN = assumed(
    SIM,
    "401 invalid token",
    "Key Vault answers 401 Unauthorized with an AKV100xx message for a bad token; the message texts were not "
    "captured, so the simulator states its own reason after the code.",
)
OTHER_ERRORS = assumed(
    SIM,
    "400 BadParameter",
    "Codes follow Key Vault's error envelope {error: {code, message}}; messages were not captured.",
)
DISABLED = captured(
    SIM,
    "403 disabled secret",
    '{"error":{"code":"Forbidden","message":"Operation get is not allowed on a disabled secret.",'
    '"innererror":{"code":"SecretDisabled"}}}: code, message and inner code quoted in '
    "github.com/Azure/azure-sdk-for-js/issues/24756 (the JS model calls it innerError; on the wire it is "
    "innererror, the name azure-keyvault-secrets' generated KeyVaultError model reads).",
)
FORBIDDEN_BY_RBAC = captured(
    SIM,
    "403 without a role assignment",
    '{"error":{"code":"Forbidden","message":"Caller is not authorized to perform action on resource. …",'
    '"innererror":{"code":"ForbiddenByRbac"}}} as quoted in Microsoft Q&A 2139767 (azure.core.exceptions.'
    "HttpResponseError: (Forbidden) …, Inner error: ForbiddenByRbac); the lines after the first sentence "
    "(caller, action, resource, assignment) were not captured and are left out.",
)


@dataclass(frozen=True)
class SecretVersion:
    """One version of a secret."""

    version: str
    value: str
    created: int
    enabled: bool = True
    content_type: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def bundle(self, vault_url: str, name: str) -> dict[str, Any]:
        """The secret bundle Key Vault returns for this version."""
        body: dict[str, Any] = {
            "value": self.value,
            "id": f"{vault_url}/secrets/{name}/{self.version}",
            "attributes": {
                "enabled": self.enabled,
                "created": self.created,
                "updated": self.created,
                "recoveryLevel": "Recoverable+Purgeable",
                "recoverableDays": 90,
            },
        }
        if self.content_type is not None:
            body["contentType"] = self.content_type
        if self.tags:
            body["tags"] = self.tags
        return body


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, inner: str | None = None
) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if inner is not None:
        error["innererror"] = {"code": inner}  # the wire name (azure-keyvault-secrets' KeyVaultError model)
    return JSONResponse({"error": error}, status_code=status, headers=headers)


class KeyVaultSimulator:
    """Secrets with versions, bearer-token checks and the Starlette app serving them (``.app``)."""

    def __init__(
        self,
        tenant_id: str,
        *,
        authority: str = PUBLIC_AUTHORITY,
        clock: SimClock | None = None,
        signing_key: bytes = SIMULATOR_SIGNING_KEY,
        secrets: Mapping[str, str] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.authority = authority.rstrip("/")
        self.signing_key = signing_key
        self.admin = Admin(SIM, clock=clock)
        self.clock = self.admin.clock
        self._lock = threading.Lock()
        self._secrets: dict[str, list[SecretVersion]] = {}
        self._initial = dict(secrets or {})
        self.role_assigned = True  # the callers hold Key Vault Secrets User on the vault
        self._register_admin()
        self._restore()
        self.app: ASGIApp = self.admin.build_app(
            [
                Route("/secrets/{name}", self._secret, methods=["GET", "PUT"]),
                Route("/secrets/{name}/", self._secret, methods=["GET"]),
                Route("/secrets/{name}/{version}", self._secret, methods=["GET"]),
            ]
        )

    # --- state --------------------------------------------------------------------------------------

    def set_secret(
        self,
        name: str,
        value: str,
        *,
        enabled: bool = True,
        content_type: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> SecretVersion:
        """Store a new version of ``name`` (case-insensitive, as in Key Vault) and return it."""
        if not SECRET_NAME.fullmatch(name):
            raise ValueError(f"secret name {name!r} must be 1-127 letters, digits and dashes")
        version = SecretVersion(
            uuid.uuid4().hex, value, int(self.clock.now()), enabled, content_type, dict(tags or {})
        )
        with self._lock:
            self._secrets.setdefault(name.lower(), []).append(version)
        return version

    def get_secret(self, name: str, version: str | None = None) -> SecretVersion | None:
        """The latest (or the given) version of ``name``, or None."""
        with self._lock:
            versions = self._secrets.get(name.lower(), [])
            if not version:
                return versions[-1] if versions else None
            return next((v for v in versions if v.version == version), None)

    def delete_secret(self, name: str) -> bool:
        """Remove every version of ``name``; False when it did not exist."""
        with self._lock:
            return self._secrets.pop(name.lower(), None) is not None

    def _register_admin(self) -> None:
        @self.admin.action("set_secret", "Store a secret version without a token: {name, value, enabled?}")
        def set_secret(body: dict[str, Any]) -> dict[str, Any]:
            name, value, enabled = body.get("name"), body.get("value"), body.get("enabled", True)
            if not isinstance(name, str) or not isinstance(value, str) or not isinstance(enabled, bool):
                raise AdminError('expected {"name": str, "value": str, "enabled"?: bool}')
            return self.set_secret(name, value, enabled=enabled).bundle("", name)

        @self.admin.action("delete_secret", "Remove every version of a secret: {name}")
        def delete_secret(body: dict[str, Any]) -> dict[str, Any]:
            if not self.delete_secret(str(body.get("name", ""))):
                raise AdminError("no such secret")
            return {"deleted": True}

        @self.admin.action("revoke_role", "Callers lose their role on the vault: 403 ForbiddenByRbac")
        def revoke_role(body: dict[str, Any]) -> dict[str, Any]:
            self.role_assigned = False
            return {"role_assigned": False}

        @self.admin.action("grant_role", "Callers get their role assignment on the vault back")
        def grant_role(body: dict[str, Any]) -> dict[str, Any]:
            self.role_assigned = True
            return {"role_assigned": True}

        self.admin.on_reset(self._restore)

    def _restore(self) -> None:
        self.role_assigned = True
        with self._lock:
            self._secrets.clear()
        for name, value in self._initial.items():
            self.set_secret(name, value)

    # --- HTTP ---------------------------------------------------------------------------------------

    def _challenge(self, message: str) -> JSONResponse:
        header = f'Bearer authorization="{self.authority}/{self.tenant_id}", resource="{VAULT_RESOURCE}"'
        return _error(401, "Unauthorized", message, {"WWW-Authenticate": header})

    def _authorize(self, request: Request) -> JSONResponse | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return self._challenge("AKV10000: Request is missing a Bearer or PoP token.")
        try:
            validate(
                token, VAULT_RESOURCE, now=self.clock.now(), tenant_id=self.tenant_id, key=self.signing_key
            )
        except TokenError as exc:
            return self._challenge(f"AKV10022: Invalid token: {exc.reason}.")
        if not self.role_assigned:
            message = "Caller is not authorized to perform action on resource."
            return _error(403, "Forbidden", message, inner="ForbiddenByRbac")
        return None

    async def _secret(self, request: Request) -> Response:
        refused = self._authorize(request)
        if refused is not None:
            return refused
        name = request.path_params["name"]
        if not SECRET_NAME.fullmatch(name):
            return _error(
                400, "BadParameter", f"The secret name '{name}' is invalid: use 1-127 letters, digits, -."
            )
        vault_url = f"{request.url.scheme}://{request.url.netloc}"
        if request.method == "PUT":
            return await self._put(request, vault_url, name)
        found = self.get_secret(name, request.path_params.get("version"))
        if found is None:
            return _error(
                404,
                "SecretNotFound",
                f"A secret with (name/id) {name} was not found in this key vault. "
                "If you recently deleted this secret you may be able to recover it using the correct "
                "recovery command. For help resolving this issue, please see "
                "https://go.microsoft.com/fwlink/?linkid=2125182",
            )
        if not found.enabled:
            message = "Operation get is not allowed on a disabled secret."
            return _error(403, "Forbidden", message, inner="SecretDisabled")
        return JSONResponse(found.bundle(vault_url, name))

    async def _put(self, request: Request, vault_url: str, name: str) -> Response:
        try:
            body = json.loads(await request.body())
        except json.JSONDecodeError:
            return _error(400, "BadParameter", "The request body is not valid JSON.")
        value = body.get("value") if isinstance(body, dict) else None
        if not isinstance(value, str):
            return _error(400, "BadParameter", "Property 'value' is required and must be a string.")
        attributes = body.get("attributes") or {}
        enabled = attributes.get("enabled", True) if isinstance(attributes, dict) else True
        tags = body.get("tags") or {}
        stored = self.set_secret(
            name,
            value,
            enabled=bool(enabled),
            content_type=body["contentType"] if isinstance(body.get("contentType"), str) else None,
            tags={str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {},
        )
        return JSONResponse(stored.bundle(vault_url, name))
