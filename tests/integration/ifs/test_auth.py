"""IAM tokens: fetched with client credentials, cached until near expiry, renewed once on a 401."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import httpx
import pytest

from shared.config import IfsSettings
from shared.ifs.auth import IfsTokenProvider
from shared.ifs.client import IfsClient
from shared.ifs.errors import IfsAuthenticationError, IfsError, IfsServerError, IfsThrottledError
from shared.ifs.query import Query
from shared.platform.encryption import Cipher
from shared.platform.retry import recording_waits
from shared.platform.tokens import AccessToken
from shared.state.tables import StateTables
from shared.state.tokens import EncryptedTokenCache
from simulators.common.admin_client import AdminClient
from simulators.common.clock import SimClock
from simulators.ifs.app import IfsSimulator
from tests.integration.ifs.conftest import MemoryTokenCache, ifs_settings


def test_token_is_fetched_once_and_reused(
    client: IfsClient,
    settings: IfsSettings,
    tokens: IfsTokenProvider,
    simulator: IfsSimulator,
    cache: MemoryTokenCache,
) -> None:
    """Several calls within the token's life share one token, kept in the cache."""
    for _ in range(3):
        list(client.iter_rows(settings.entities.orders, Query(top=1)))
    assert simulator.iam.issued_count == 1
    assert tokens.fetch_count == 1
    assert list(cache.tokens) == [tokens.cache_name]


def test_token_is_renewed_before_it_expires(
    client: IfsClient, settings: IfsSettings, tokens: IfsTokenProvider, client_clock: SimClock
) -> None:
    """Inside the refresh margin (30 s of 180 s) a new token is fetched before the call, not after a 401."""
    list(client.iter_rows(settings.entities.orders, Query(top=1)))
    client_clock.advance(149)
    list(client.iter_rows(settings.entities.orders, Query(top=1)))
    assert tokens.fetch_count == 1
    client_clock.advance(2)  # 29 s left: inside the margin
    list(client.iter_rows(settings.entities.orders, Query(top=1)))
    assert tokens.fetch_count == 2


def test_a_token_the_server_rejects_is_replaced_once(
    client: IfsClient, settings: IfsSettings, tokens: IfsTokenProvider, simulator: IfsSimulator
) -> None:
    """IFS answers 401 to a token the cache thought valid: one new token, and the call is repeated."""
    list(client.iter_rows(settings.entities.orders, Query(top=1)))
    simulator.iam.revoke_all()
    rows = list(client.iter_rows(settings.entities.orders, Query(top=2)))
    assert len(rows) == 2
    assert tokens.fetch_count == 2


def test_a_cached_token_is_shared_by_providers(
    http: httpx.Client, settings: IfsSettings, cache: MemoryTokenCache, client_clock: SimClock
) -> None:
    """A second provider (another function invocation) reads the token from the cache instead of fetching."""
    first = IfsTokenProvider.from_settings(http, settings, cache, clock=client_clock.now_datetime)
    second = IfsTokenProvider.from_settings(http, settings, cache, clock=client_clock.now_datetime)
    assert first.token() == second.token()
    assert (first.fetch_count, second.fetch_count) == (1, 0)


@pytest.mark.parametrize(
    ("client_id", "secret", "code"),
    [("ifs-d365-sync", "wrong", "unauthorized_client"), ("nobody", "sim-secret", "invalid_client")],
)
def test_refused_credentials_raise_with_keycloaks_error(
    http: httpx.Client, server_url: str, client_id: str, secret: str, code: str
) -> None:
    """Wrong secret or unknown client: 401 with Keycloak's error, surfaced as IfsAuthenticationError."""
    settings = ifs_settings(server_url, IFS_CLIENT_ID=client_id, IFS_CLIENT_SECRET=secret)
    provider = IfsTokenProvider.from_settings(http, settings, MemoryTokenCache())
    with pytest.raises(IfsAuthenticationError) as caught:
        provider.token()
    assert caught.value.status == 401
    assert caught.value.code == code
    assert "Invalid client or Invalid client credentials" in str(caught.value)
    assert secret not in str(caught.value)


def test_unknown_realm_is_a_404(http: httpx.Client, server_url: str) -> None:
    """A wrong realm is reported with Keycloak's realm error."""
    provider = IfsTokenProvider.from_settings(
        http, ifs_settings(server_url, IFS_REALM="other"), MemoryTokenCache()
    )
    with pytest.raises(IfsAuthenticationError, match="Realm does not exist") as caught:
        provider.token()
    assert caught.value.status == 404


def test_calls_without_a_valid_token_are_refused(
    http: httpx.Client, server_url: str, settings: IfsSettings
) -> None:
    """No token, an unknown token and an expired token all get 401 on the API."""
    url = settings.api_root + settings.entities.orders.path
    assert http.get(url).status_code == 401
    assert http.get(url, headers={"Authorization": "Bearer not-issued"}).status_code == 401
    response = http.get(url, headers={"Authorization": "Basic eDp5"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_is_refused(
    http: httpx.Client, settings: IfsSettings, sim_clock: SimClock, client_clock: SimClock
) -> None:
    """A token past its 180 s lifetime on the server's clock gets 401."""
    provider = IfsTokenProvider.from_settings(
        http, settings, MemoryTokenCache(), clock=client_clock.now_datetime
    )
    token = provider.token()
    url = settings.api_root + settings.entities.orders.path + "?$top=1"
    assert http.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    sim_clock.advance(181)
    assert http.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 401


@pytest.mark.azurite
def test_tokens_are_shared_through_the_encrypted_table_cache(
    http: httpx.Client,
    settings: IfsSettings,
    client_clock: SimClock,
    azurite_connection_string: str,
    unique_name: str,
) -> None:
    """The real Table Storage cache plugs in unchanged: a second invocation reuses the stored token."""
    tables = StateTables.from_connection_string(azurite_connection_string, unique_name)
    key = bytes(range(32))
    first = IfsTokenProvider.from_settings(
        http, settings, EncryptedTokenCache(tables, Cipher(key)), clock=client_clock.now_datetime
    )
    token = first.token()
    second = IfsTokenProvider.from_settings(
        http, settings, EncryptedTokenCache(tables, Cipher(key)), clock=client_clock.now_datetime
    )
    assert second.token() == token
    assert (first.fetch_count, second.fetch_count) == (1, 0)


class CountingCache(MemoryTokenCache):
    """The in-memory cache, counting reads (each one a Table GET and a decryption with the real cache)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, name: str) -> AccessToken | None:
        self.reads += 1
        return super().get(name)


class GatedClock:
    """The client's clock; once armed, its next ``parties`` readings wait for each other at a barrier."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._mutex = threading.Lock()
        self._barrier: threading.Barrier | None = None
        self._left = 0

    def arm(self, parties: int) -> None:
        self._barrier, self._left = threading.Barrier(parties, timeout=10), parties

    def __call__(self) -> datetime:
        with self._mutex:
            gate = self._barrier if self._left > 0 else None
            self._left = max(0, self._left - 1)
        if gate is not None:
            gate.wait()
        return self._clock.now_datetime()


@pytest.mark.parametrize(("status", "kind"), [(503, IfsServerError), (429, IfsThrottledError)])
def test_an_iam_outage_is_transient(
    tokens: IfsTokenProvider, admin: AdminClient, status: int, kind: type[IfsError]
) -> None:
    """5xx or 429 from the token endpoint past the retries: a transient error, not a refused client."""
    step = {"kind": "throttle"} if status == 429 else {"kind": "error", "status": status}
    admin.set_faults({"script": [{**step, "times": 9}], "paths": ["/auth/*"]})
    with recording_waits() as waits, pytest.raises(kind) as caught:
        tokens.token()
    assert caught.value.transient
    assert caught.value.status == status
    assert not isinstance(caught.value, IfsAuthenticationError)
    assert len(waits) == 4  # five tries


def test_the_lifetime_comes_from_expires_in(
    tokens: IfsTokenProvider, admin: AdminClient, client_clock: SimClock, cache: MemoryTokenCache
) -> None:
    """With 600 s tokens the provider keeps the first one for 570 s (600 less the 30 s margin)."""
    admin.action("set_token_lifetime", {"seconds": 600})
    first = tokens.token()
    cached = cache.get(tokens.cache_name)
    assert cached is not None
    assert cached.expires_at - client_clock.now_datetime() == timedelta(seconds=600)
    client_clock.advance(569)
    assert tokens.token() == first
    assert tokens.fetch_count == 1
    client_clock.advance(2)
    assert tokens.token() != first
    assert tokens.fetch_count == 2


def test_renew_takes_a_newer_token_another_instance_fetched(
    http: httpx.Client, settings: IfsSettings, client_clock: SimClock, simulator: IfsSimulator
) -> None:
    """Instance B already replaced the refused token in the shared cache: A's renew() uses B's, no fetch."""
    shared = MemoryTokenCache()
    a = IfsTokenProvider.from_settings(http, settings, shared, clock=client_clock.now_datetime)
    b = IfsTokenProvider.from_settings(http, settings, shared, clock=client_clock.now_datetime)
    refused = a.token()
    newer = b.renew(refused)
    assert newer != refused
    assert a.renew(refused) == newer
    assert (a.fetch_count, b.fetch_count, simulator.iam.issued_count) == (1, 1, 2)


def test_calls_read_the_shared_cache_only_near_expiry(
    http: httpx.Client, settings: IfsSettings, client_clock: SimClock
) -> None:
    """The in-process copy serves every call until it nears expiry; only then is the shared cache read."""
    shared = CountingCache()
    provider = IfsTokenProvider.from_settings(http, settings, shared, clock=client_clock.now_datetime)
    client = IfsClient.from_settings(http, settings, provider)
    for _ in range(3):
        client.get(settings.entities.orders, {"OrderNo": "C1000000933"})
    assert (shared.reads, provider.fetch_count) == (1, 1)  # the first miss only
    client_clock.advance(151)  # 29 s left
    client.get(settings.entities.orders, {"OrderNo": "C1000000933"})
    assert (shared.reads, provider.fetch_count) == (2, 2)


def test_threads_missing_the_token_together_fetch_it_once(
    http: httpx.Client, settings: IfsSettings, client_clock: SimClock
) -> None:
    """Eight threads find the local token near expiry at the same moment: one fetch, one shared-cache read."""
    shared = CountingCache()
    clock = GatedClock(client_clock)
    provider = IfsTokenProvider.from_settings(http, settings, shared, clock=clock)
    first = provider.token()
    client_clock.advance(151)
    clock.arm(8)  # every thread reads the clock in its unlocked check before any of them goes on
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: provider.token(), range(8)))
    assert len(set(got)) == 1
    assert got[0] != first
    assert provider.fetch_count == 2
    assert shared.reads == 2
