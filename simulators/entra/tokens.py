"""Access tokens of the Entra ID simulator: issuing them, and validating them in any simulator.

Tokens are JWTs shaped like Entra's v1.0 app-only access tokens (the version Dataverse and Key Vault
accept): ``aud`` (the resource, e.g. ``https://vault.azure.net`` or ``http://127.0.0.1:9999``), ``iss``
(``https://sts.windows.net/<tid>/``), ``iat``/``nbf``/``exp`` from the simulator's clock, ``appid``
(the client id), ``appidacr`` (``1`` secret, ``2`` certificate), ``oid`` and ``sub`` (the app's service
principal object id), ``tid``, ``ver`` ``1.0``, ``uti`` and, when the app has any, ``roles``.

Real Entra signs RS256 with rotating keys published at ``jwks_uri``. The simulator signs HS256 with a
fixed, openly published key (``SIMULATOR_SIGNING_KEY``) instead, so any simulator, in this process or
another, validates tokens offline with one call::

    from simulators.entra.tokens import validate, TokenError
    claims = validate(token, "http://127.0.0.1:9999", now=clock.now(), tenant_id=TENANT)
    # -> Claims(app_id=..., object_id=..., ...); raises TokenError(code, reason) when it must be rejected

The connector itself never validates these tokens (it is the client), so the algorithm difference does
not reach production code.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt

from simulators.common.provenance import assumed

SIMULATOR_SIGNING_KEY = b"ifs-dataverse-connector entra simulator signing key -- public, not a secret"
ALGORITHM = "HS256"

TOKEN_CLAIMS = assumed(
    "entra",
    "access token claims",
    "v1.0 app-only claim names (aud, iss sts.windows.net/<tid>/, appid, appidacr, oid, sub, tid, roles, ver) "
    "as documented for Entra access tokens; no decoded production token was captured. Signed HS256 with a "
    "public simulator key instead of RS256 so every simulator can validate offline.",
)


class TokenRejection(StrEnum):
    """Why a token was rejected (simulators map these to their own 401 bodies)."""

    MALFORMED = "malformed"
    SIGNATURE = "signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    AUDIENCE = "audience"
    TENANT = "tenant"


class TokenError(Exception):
    """A token must be rejected; ``code`` says why in one word, the message in a sentence."""

    def __init__(self, code: TokenRejection, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"{code}: {reason}")


@dataclass(frozen=True)
class Claims:
    """The validated claims of a simulator-issued access token."""

    audience: str
    tenant_id: str
    app_id: str
    object_id: str
    issued_at: int
    not_before: int
    expires_at: int
    roles: tuple[str, ...]
    raw: Mapping[str, Any]


def issuer_for(tenant_id: str) -> str:
    """The ``iss`` claim of v1.0 tokens issued for ``tenant_id``."""
    return f"https://sts.windows.net/{tenant_id}/"


def issue(
    *,
    tenant_id: str,
    app_id: str,
    object_id: str,
    audience: str,
    now: float,
    lifetime: int,
    credential_kind: str = "1",
    roles: tuple[str, ...] = (),
    key: bytes = SIMULATOR_SIGNING_KEY,
) -> str:
    """Sign an access token; ``credential_kind`` is ``appidacr`` ("1" client secret, "2" certificate)."""
    issued = int(now)
    claims: dict[str, Any] = {
        "aud": audience,
        "iss": issuer_for(tenant_id),
        "iat": issued,
        "nbf": issued,
        "exp": issued + lifetime,
        "appid": app_id,
        "appidacr": credential_kind,
        "idp": issuer_for(tenant_id),
        "oid": object_id,
        "sub": object_id,
        "tid": tenant_id,
        "uti": uuid.uuid4().hex[:22],
        "ver": "1.0",
    }
    if roles:
        claims["roles"] = list(roles)
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"typ": "JWT"})


def _same_resource(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def validate(
    token: str,
    audience: str,
    *,
    now: float | None = None,
    tenant_id: str | None = None,
    key: bytes = SIMULATOR_SIGNING_KEY,
) -> Claims:
    """Check signature, lifetime (against ``now``, default wall-clock), audience and optionally tenant.

    ``audience`` is compared without a trailing slash and case-insensitively, as resources are.
    Raises ``TokenError`` naming the first problem found.
    """
    try:
        raw: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
        )
    except jwt.InvalidSignatureError as exc:
        raise TokenError(TokenRejection.SIGNATURE, "the token signature is invalid") from exc
    except jwt.PyJWTError as exc:
        raise TokenError(TokenRejection.MALFORMED, f"the token is not a valid JWT ({exc})") from exc
    required = ("aud", "tid", "appid", "oid", "iat", "nbf", "exp")
    missing = [name for name in required if name not in raw]
    if missing:
        raise TokenError(TokenRejection.MALFORMED, f"the token lacks claims {missing}")
    instant = time.time() if now is None else now
    if instant >= raw["exp"]:
        raise TokenError(TokenRejection.EXPIRED, f"the token expired at {raw['exp']} (now {int(instant)})")
    if instant < raw["nbf"]:
        raise TokenError(TokenRejection.NOT_YET_VALID, f"the token is not valid before {raw['nbf']}")
    if not _same_resource(str(raw["aud"]), audience):
        raise TokenError(TokenRejection.AUDIENCE, f"the token is for {raw['aud']!r}, not {audience!r}")
    if tenant_id is not None and raw["tid"] != tenant_id:
        raise TokenError(
            TokenRejection.TENANT, f"the token was issued by tenant {raw['tid']}, not {tenant_id}"
        )
    return Claims(
        audience=str(raw["aud"]),
        tenant_id=str(raw["tid"]),
        app_id=str(raw["appid"]),
        object_id=str(raw["oid"]),
        issued_at=int(raw["iat"]),
        not_before=int(raw["nbf"]),
        expires_at=int(raw["exp"]),
        roles=tuple(raw.get("roles", ())),
        raw=raw,
    )
