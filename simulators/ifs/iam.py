"""IFS IAM (Keycloak) for the simulator: the realm token endpoint and bearer-token checks.

``POST /auth/realms/{realm}/protocol/openid-connect/token`` with client credentials in the form body (or
HTTP Basic, which Keycloak also accepts) answers the recorded response shape (``expires_in`` 180,
``refresh_expires_in`` 1800, ``token_type`` Bearer, granted ``scope`` wider than requested). Failures use
Keycloak's error JSON: unknown client -> 401 ``invalid_client``, wrong secret -> 401 ``unauthorized_client``
(both "Invalid client or Invalid client credentials", as Keycloak 2x answers), unsupported grant -> 400.
Tokens are JWT-shaped (HS256 over a per-simulator key) but checked against the issued set, and expire by
the simulator clock, so tests move time instead of waiting.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

GRANTED_SCOPE = "openid audience microprofile-jwt profile email"  # as recorded from a live tenant
_INVALID_CREDENTIALS = "Invalid client or Invalid client credentials"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class TokenReply:
    """What the token endpoint answers: a status and a JSON body."""

    status: int
    body: dict[str, Any]


class Iam:
    """One realm with its registered clients; issues and checks access tokens."""

    def __init__(
        self,
        realm: str,
        clients: Mapping[str, str],
        clock: Callable[[], datetime],
        *,
        host: str = "http://127.0.0.1",
        token_lifetime: int = 180,
        refresh_lifetime: int = 1800,
    ) -> None:
        self.realm = realm
        self.clients = dict(clients)
        self.clock = clock
        self.host = host
        self.token_lifetime = token_lifetime
        self.refresh_lifetime = refresh_lifetime
        self._key = secrets.token_bytes(32)
        self._issued: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self.issued_count = 0

    def token(self, form: Mapping[str, str], basic: tuple[str, str] | None = None) -> TokenReply:
        """Answer a token request (form fields, and HTTP Basic credentials if sent)."""
        grant = form.get("grant_type")
        if not grant:
            return _error(400, "invalid_request", "Missing form parameter: grant_type")
        client_id, secret = basic if basic else (form.get("client_id", ""), form.get("client_secret", ""))
        if client_id not in self.clients:
            return _error(401, "invalid_client", _INVALID_CREDENTIALS)
        if not hmac.compare_digest(self.clients[client_id].encode(), (secret or "").encode()):
            return _error(401, "unauthorized_client", _INVALID_CREDENTIALS)
        if grant != "client_credentials":
            return _error(400, "unsupported_grant_type", "Unsupported grant_type")
        now = self.clock()
        access = self._jwt(client_id, now, self.token_lifetime, "Bearer")
        with self._lock:
            self._issued[access] = now + timedelta(seconds=self.token_lifetime)
            self.issued_count += 1
        return TokenReply(
            200,
            {
                "access_token": access,
                "expires_in": self.token_lifetime,
                "refresh_expires_in": self.refresh_lifetime,
                "refresh_token": self._jwt(client_id, now, self.refresh_lifetime, "Refresh"),
                "token_type": "Bearer",
                "id_token": self._jwt(client_id, now, self.token_lifetime, "ID"),
                "not-before-policy": 0,
                "session_state": str(uuid.uuid4()),
                "scope": GRANTED_SCOPE,
            },
        )

    def accepts(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries a token this realm issued and that has not expired."""
        if not authorization or not authorization.startswith("Bearer "):
            return False
        token = authorization[len("Bearer ") :].strip()
        with self._lock:
            expires = self._issued.get(token)
        return expires is not None and self.clock() < expires

    def revoke_all(self) -> int:
        """Forget every issued token (an IAM restart, a rotated key); returns how many there were."""
        with self._lock:
            count = len(self._issued)
            self._issued.clear()
            return count

    def _jwt(self, client_id: str, now: datetime, lifetime: int, kind: str) -> str:
        issued = int(now.timestamp())
        header = {"alg": "HS256", "typ": "JWT", "kid": "sim"}
        claims = {
            "exp": issued + lifetime,
            "iat": issued,
            "jti": str(uuid.uuid4()),
            "iss": f"{self.host}/auth/realms/{self.realm}",
            "aud": "audience",
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
            "typ": kind,
            "azp": client_id,
            "scope": GRANTED_SCOPE,
            "clientId": client_id,
        }
        signing_input = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        signature = hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + _b64url(signature)


def _error(status: int, error: str, description: str) -> TokenReply:
    return TokenReply(status, {"error": error, "error_description": description})


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """Client id and secret from an HTTP Basic ``Authorization`` header, if that is what it is."""
    if not authorization or not authorization.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[len("Basic ") :], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None
