r"""Response bodies of the Entra simulator: discovery document, token response and AADSTS errors.

Error bodies follow the captured shape ``{"error", "error_description": "AADSTS<n>: <text>\\r\\nTrace ID:
…\\r\\nCorrelation ID: …\\r\\nTimestamp: …", "error_codes": [n], "timestamp", "trace_id", "correlation_id",
"error_uri"}``. azure-identity surfaces ``error_description`` in ``ClientAuthenticationError``'s message,
so the AADSTS text reaches the connector's logs exactly as with the real service.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse

from simulators.common.provenance import assumed, captured

SIM = "entra"

captured(
    SIM,
    "AADSTS error body",
    "Real responses quoted in github.com/OfficeDev/microsoft-365-agents-toolkit/issues/8621 (HTTP 401, "
    "AADSTS7000215, with error_uri) and github.com/microsoftgraph/msgraph-sdk-python-core/issues/49 "
    "(AADSTS70011); keys as in the Entra client-credentials doc error sample.",
)
TOKEN_RESPONSE = captured(
    SIM,
    "token response",
    "Entra client-credentials doc sample {token_type, expires_in: 3599, access_token} "
    "(learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow) plus ext_expires_in as "
    "recorded from login.microsoftonline.com in github.com/Azure/azure-sdk-for-js "
    "sdk/keyvault/keyvault-secrets/recordings/node/secret_client__list_secrets_in_various_ways/"
    "recording_can_list_deleted_secrets.js.",
)
DISCOVERY = assumed(
    SIM,
    "openid-configuration",
    "MSAL (1.39) reads only authorization_endpoint and token_endpoint (verified against azure-identity "
    "1.27 with a document holding just those); issuer and token_endpoint_auth_methods_supported follow the "
    "public document's key names but were not copied from a capture.",
)


@dataclass(frozen=True)
class EntraError:
    """One AADSTS error: HTTP status, OAuth ``error`` code, AADSTS number and message."""

    status: int
    error: str
    code: int
    message: str

    def response(self, *, correlation_id: str, now: float) -> JSONResponse:
        """The error as Entra's JSON body."""
        trace_id = str(uuid.uuid4())
        stamp = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        description = (
            f"AADSTS{self.code}: {self.message}\r\nTrace ID: {trace_id}\r\n"
            f"Correlation ID: {correlation_id}\r\nTimestamp: {stamp}"
        )
        return JSONResponse(
            {
                "error": self.error,
                "error_description": description,
                "error_codes": [self.code],
                "timestamp": stamp,
                "trace_id": trace_id,
                "correlation_id": correlation_id,
                "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
            },
            status_code=self.status,
            headers={"Cache-Control": "no-store, no-cache"},
        )


@captured(
    SIM,
    "AADSTS7000215 invalid client secret",
    "HTTP 401 body quoted in github.com/OfficeDev/microsoft-365-agents-toolkit/issues/8621 and "
    "github.com/Azure/sap-automation/issues/418.",
)
def invalid_client_secret(client_id: str) -> EntraError:
    """A client secret that matches none of the app's secrets."""
    return EntraError(
        401,
        "invalid_client",
        7000215,
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
        f"value, not the client secret ID, for a secret added to app '{client_id}'.",
    )


@captured(
    SIM,
    "AADSTS700016 unknown application",
    "Body quoted in github.com/microsoft/AzureMonitorAddonForSplunk/issues/114 (error unauthorized_client); "
    "the HTTP status (400) is not in the capture and follows RFC 6749 section 5.2.",
)
def unknown_client(client_id: str, tenant_id: str) -> EntraError:
    """A client id not registered in the tenant."""
    return EntraError(
        400,
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory '{tenant_id}'. This can "
        "happen if the application has not been installed by the administrator of the tenant or consented "
        "to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
    )


@captured(
    SIM,
    "AADSTS70011 invalid scope",
    "Body quoted in github.com/microsoftgraph/msgraph-sdk-python-core/issues/49; HTTP 400 per the Entra "
    "client-credentials doc error sample.",
)
def invalid_scope(scope: str, detail: str = "") -> EntraError:
    """A scope value that is malformed or names several resources."""
    return EntraError(
        400,
        "invalid_scope",
        70011,
        "The provided request must include a 'scope' input parameter. The provided value for the input "
        f"parameter 'scope' is not valid. The scope {scope} is not valid.{detail}",
    )


@captured(
    SIM,
    "AADSTS1002012 scope without /.default",
    "Message quoted in github.com/MicrosoftDocs/azure-docs/issues/99862; error invalid_scope and HTTP 400 "
    "assumed like AADSTS70011.",
)
def scope_not_default(scope: str) -> EntraError:
    """A client-credentials scope that is not ``<resource>/.default``."""
    return EntraError(
        400,
        "invalid_scope",
        1002012,
        f"The provided value for scope {scope} is not valid. Client credential flows must have a scope value "
        "with /.default suffixed to the resource identifier (application ID URI).",
    )


@captured(
    SIM,
    "AADSTS7000216 no client credential",
    "Message quoted in github.com/MicrosoftDocs/azure-docs/issues/30777; error invalid_client and HTTP 401 "
    "assumed like AADSTS7000215.",
)
def missing_credential() -> EntraError:
    """Neither a client secret nor a client assertion was sent."""
    return EntraError(
        401,
        "invalid_client",
        7000216,
        "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' "
        "grant type.",
    )


@assumed(SIM, "AADSTS900144 missing parameter", "Message text from memory of the service; not captured.")
def missing_parameter(name: str) -> EntraError:
    """A required form parameter is absent."""
    return EntraError(
        400, "invalid_request", 900144, f"The request body must contain the following parameter: '{name}'."
    )


@assumed(SIM, "AADSTS90002 unknown tenant", "Message text from memory of the service; not captured.")
def unknown_tenant(tenant_id: str) -> EntraError:
    """A tenant the simulator has no apps in."""
    return EntraError(
        400,
        "invalid_request",
        90002,
        f"Tenant '{tenant_id}' not found. Check to make sure you have the correct tenant ID and are signing "
        "into the correct cloud.",
    )


@assumed(SIM, "AADSTS70003 unsupported grant type", "Message text from memory; the simulator does only "
         "client credentials.")  # fmt: skip
def unsupported_grant(grant_type: str) -> EntraError:
    """A grant other than client_credentials."""
    return EntraError(
        400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant_type}'."
    )


@assumed(SIM, "AADSTS500011 unknown resource", "Message text from memory of the service; not captured.")
def unknown_resource(resource: str, tenant_id: str) -> EntraError:
    """A scope whose resource is not among the simulator's configured resources."""
    return EntraError(
        400,
        "invalid_resource",
        500011,
        f"The resource principal named {resource} was not found in the tenant named {tenant_id}. This can "
        "happen if the application has not been installed by the administrator of the tenant or consented "
        "to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
    )


@assumed(SIM, "client assertion errors", "AADSTS700027/700024/700021/50027 texts from memory; not captured.")
def bad_assertion(code: int, message: str) -> EntraError:
    """A client assertion (certificate credential) that fails validation."""
    return EntraError(401, "invalid_client", code, message)


def token_response(access_token: str, lifetime: int) -> JSONResponse:
    """A successful client-credentials response."""
    return JSONResponse(
        {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        },
        headers={"Cache-Control": "no-store, no-cache"},
    )


def discovery_document(authority: str, tenant_id: str) -> dict[str, Any]:
    """The v2.0 OpenID configuration of ``tenant_id`` at ``authority`` (``https://127.0.0.1:<port>``)."""
    base = f"{authority}/{tenant_id}"
    return {
        "issuer": f"{base}/v2.0",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
    }
