"""IFS IAM (Keycloak) client-credentials tokens, cached until shortly before they expire.

IFS access tokens live 180 s on real tenants (docs/ifs-api.md, "Token lifetime"): the provider keeps the token
in the ``TokenCache`` port (encrypted Table Storage in Azure, so function invocations share it) and fetches a
new one when less than ``refresh_margin_seconds`` remain, or once when IFS answers 401 to a token the cache
still thought valid. It also keeps its own in-process copy and reads the shared cache only when that copy is
missing or near expiry, so an API call costs no Table Storage read. Client id and secret go in the form body
(``client_secret_post``), as Keycloak and the recorded exchange expect. The lifetime is read from
``expires_in``, never assumed.

The token endpoint's refusals (400/401, or 403/404 for a wrong realm) raise ``IfsAuthenticationError``,
which no retry can cure; a 5xx or 429 that outlasts the retries is an IAM outage and raises the transient
``IfsServerError`` or ``IfsThrottledError``, so records are retried instead of parked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from shared.config import IfsSettings
from shared.ifs.errors import (
    IfsAuthenticationError,
    IfsError,
    IfsProtocolError,
    IfsServerError,
    IfsThrottledError,
    IfsUnavailableError,
)
from shared.platform.retry import RetryPolicy, retry_after_seconds
from shared.platform.tokens import AccessToken, TokenCache


def utc_now() -> datetime:
    """The current instant, timezone-aware (the default clock)."""
    return datetime.now(UTC)


class IfsTokenProvider:
    """Hands out a valid bearer token for one IAM client, sharing it through a ``TokenCache``.

    ``cache=None`` keeps tokens in this process only (benchmarks, command-line tools).
    """

    def __init__(
        self,
        http: httpx.Client,
        *,
        token_url: str,
        client_id: str,
        client_secret: str | Callable[[], str],
        scope: str,
        cache: TokenCache | None,
        refresh_margin_seconds: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._cache = cache
        self._margin = refresh_margin_seconds
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._lock = threading.Lock()
        self._local: AccessToken | None = None  # this process's copy of the shared token
        self.cache_name = f"ifs:{token_url}:{client_id}"
        self.fetch_count = 0  # how many times the token endpoint was asked (diagnostics, tests)

    @classmethod
    def from_settings(
        cls,
        http: httpx.Client,
        settings: IfsSettings,
        cache: TokenCache | None,
        *,
        secret: Callable[[], str] | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> IfsTokenProvider:
        """A provider for the tenant and client named in ``settings``.

        ``secret`` supplies the client secret when the settings leave it to Key Vault.
        """
        client_secret = settings.client_secret if settings.client_secret is not None else secret
        if client_secret is None:
            raise ValueError("IFS_CLIENT_SECRET is not in the settings: pass secret= (the secret provider)")
        return cls(
            http,
            token_url=settings.token_url,
            client_id=settings.client_id,
            client_secret=client_secret,
            scope=settings.scope,
            cache=cache,
            refresh_margin_seconds=settings.token_refresh_margin_seconds,
            retry=retry,
            clock=clock,
        )

    def token(self) -> str:
        """A token valid for at least the refresh margin: this process's copy, else the shared cache's."""
        local = self._local
        if local is not None and local.valid_at(self._clock(), self._margin):
            return local.token
        with self._lock:
            # Another thread of this process, or another instance through the cache, may have fetched.
            return self._usable(rejected=None).token

    def renew(self, rejected: str) -> str:
        """A new token after IFS refused ``rejected`` with 401 (unless another caller already replaced it)."""
        with self._lock:
            return self._usable(rejected=rejected).token

    def _usable(self, rejected: str | None) -> AccessToken:
        """The local copy, else the shared cache's token, else a fetched one (called under the lock)."""
        local = self._local
        if local is not None and self._acceptable(local, rejected):
            return local
        shared = None if self._cache is None else self._cache.get(self.cache_name)
        if shared is not None and self._acceptable(shared, rejected):
            self._local = shared
            return shared
        fetched = self._fetch()
        self._local = fetched
        if self._cache is not None:
            self._cache.put(self.cache_name, fetched)
        return fetched

    def _acceptable(self, candidate: AccessToken, rejected: str | None) -> bool:
        return candidate.token != rejected and candidate.valid_at(self._clock(), self._margin)

    def _fetch(self) -> AccessToken:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            # A callable is asked on every fetch, so a secret rotated in Key Vault is picked up.
            "client_secret": self._client_secret() if callable(self._client_secret) else self._client_secret,
            "scope": self._scope,
        }
        request = self._http.build_request(
            "POST", self._token_url, data=form, headers={"Accept": "application/json"}
        )
        issued = self._clock()
        self.fetch_count += 1
        try:
            # Asking for a token has no side effect worth protecting: safe to repeat on 5xx or timeouts.
            response = self._retry.send(self._http, request, idempotent=True)
        except httpx.TransportError as exc:
            raise IfsUnavailableError(
                f"token endpoint unreachable: {exc!r}", method="POST", url=self._token_url
            ) from exc
        if response.status_code != 200:
            raise _token_error(response, self._token_url)
        try:
            document = response.json()
            token = document["access_token"]
            lifetime = float(document["expires_in"])
        except (ValueError, KeyError, TypeError) as exc:
            raise IfsProtocolError(
                "token response lacks access_token/expires_in", status=200, method="POST", url=self._token_url
            ) from exc
        if not isinstance(token, str) or not token:
            raise IfsProtocolError(
                "token response has an empty access_token", method="POST", url=self._token_url
            )
        return AccessToken(token=token, expires_at=issued + timedelta(seconds=lifetime))


def _token_error(response: httpx.Response, url: str) -> IfsError:
    """Keycloak answers ``{"error": "...", "error_description": "..."}``; keep both, never the secret.

    An outage (5xx) or throttling (429) is transient; every other refusal is about the client itself.
    """
    error: str | None = None
    description = response.text[:300].strip() or response.reason_phrase
    try:
        document = response.json()
    except ValueError:
        document = None
    if isinstance(document, dict):
        error = str(document.get("error")) if document.get("error") is not None else None
        description = str(document.get("error_description") or error or description)
    status = response.status_code
    if status >= 500:
        return IfsServerError(
            f"IAM token endpoint failed: {description}", status=status, code=error, method="POST", url=url
        )
    if status == 429:
        return IfsThrottledError(
            f"IAM token endpoint throttled the client: {description}",
            status=status,
            code=error,
            method="POST",
            url=url,
            retry_after=retry_after_seconds(response),
        )
    return IfsAuthenticationError(
        f"IAM refused the client: {description}", status=status, code=error, method="POST", url=url
    )
