"""Fixtures: the IFS simulator on a real loopback socket, settings pointing at it, and an IfsClient.

Every test client is built with ``trust_env=False``, and every test (but those needing Azurite, whose SDK
reads the environment too) runs with proxy variables pointing at a closed loopback port: a client that
honoured them could not reach the simulator, so none can slip through a proxy unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from shared.config import AppSettings, IfsSettings
from shared.ifs.auth import IfsTokenProvider
from shared.ifs.client import IfsClient
from shared.platform.retry import RetryPolicy
from shared.platform.tokens import AccessToken
from simulators.common.admin_client import AdminClient
from simulators.common.clock import SimClock
from simulators.common.server import BackgroundServer
from simulators.ifs.app import IfsSimulator
from simulators.ifs.tenant import TenantConfig

CLIENT_ID = "ifs-d365-sync"
CLIENT_SECRET = "sim-secret"
REALM = "acme1"


START = datetime(2025, 11, 12, 9, 0, tzinfo=UTC)


def frozen_clock() -> SimClock:
    """Simulated time standing at START until a test advances it."""
    return SimClock(START.timestamp(), frozen=True)


class MemoryTokenCache:
    """An in-memory TokenCache (the Table Storage one is tested in test_tokens_cache)."""

    def __init__(self) -> None:
        self.tokens: dict[str, AccessToken] = {}

    def get(self, name: str) -> AccessToken | None:
        return self.tokens.get(name)

    def put(self, name: str, token: AccessToken) -> None:
        self.tokens[name] = token


# Port 9 (discard) on loopback: nothing listens there, so a proxied request fails at once.
DEAD_PROXY = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def proxies_that_must_not_be_used(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("azurite") is not None:
        return
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, DEAD_PROXY)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sim_clock() -> SimClock:
    return frozen_clock()


@pytest.fixture
def client_clock() -> SimClock:
    """The connector's own clock: separate from the simulator's, as in real life."""
    return frozen_clock()


@pytest.fixture
def simulator(sim_clock: SimClock) -> IfsSimulator:
    return IfsSimulator(
        tenant=TenantConfig(seed=3, size=40),
        clients={CLIENT_ID: CLIENT_SECRET},
        realm=REALM,
        page_size=25,
        clock=sim_clock,
    )


@pytest.fixture
def server(simulator: IfsSimulator) -> Iterator[BackgroundServer]:
    with BackgroundServer(simulator.app) as running:
        yield running


def ifs_settings(base_url: str, **overrides: str) -> IfsSettings:
    values = {
        "IFS_BASE_URL": base_url,
        "IFS_REALM": REALM,
        "IFS_CLIENT_ID": CLIENT_ID,
        "IFS_CLIENT_SECRET": CLIENT_SECRET,
        **overrides,
    }
    return AppSettings(values).get(IfsSettings)


@pytest.fixture
def settings(server: BackgroundServer) -> IfsSettings:
    return ifs_settings(server.url)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture
def cache() -> MemoryTokenCache:
    return MemoryTokenCache()


@pytest.fixture
def tokens(
    http: httpx.Client, settings: IfsSettings, cache: MemoryTokenCache, client_clock: SimClock
) -> IfsTokenProvider:
    return IfsTokenProvider.from_settings(http, settings, cache, clock=client_clock.now_datetime)


@pytest.fixture
def client(http: httpx.Client, settings: IfsSettings, tokens: IfsTokenProvider) -> IfsClient:
    return IfsClient.from_settings(http, settings, tokens, retry=RetryPolicy(attempts=4))


@pytest.fixture
def server_url(server: BackgroundServer) -> str:
    return server.url


@pytest.fixture
def admin(server: BackgroundServer) -> Iterator[AdminClient]:
    """The simulator's /_admin over HTTP."""
    with httpx.Client(base_url=server.url, timeout=10, trust_env=False) as http:
        yield AdminClient(http)
