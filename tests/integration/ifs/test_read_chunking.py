"""Reads of many keys stay under the URL limit the IFS simulator enforces (8 KB by default, assumed)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from shared.config import IfsSettings
from shared.ifs.auth import IfsTokenProvider
from shared.ifs.client import DEFAULT_MAX_URL_LENGTH, IfsClient
from shared.ifs.errors import IfsError
from shared.platform.retry import RetryPolicy
from simulators.common.admin_client import AdminClient
from simulators.common.clock import SimClock
from simulators.common.server import BackgroundServer
from simulators.ifs.app import DEFAULT_MAX_URL_LENGTH as SIMULATOR_LIMIT
from simulators.ifs.app import IfsSimulator
from simulators.ifs.tenant import TenantConfig
from tests.integration.ifs.conftest import CLIENT_ID, CLIENT_SECRET, REALM


@pytest.fixture
def simulator(sim_clock: SimClock) -> IfsSimulator:
    """A tenant with about 3000 customer orders."""
    return IfsSimulator(
        tenant=TenantConfig(seed=3, size=3000),
        clients={CLIENT_ID: CLIENT_SECRET},
        realm=REALM,
        page_size=100,
        clock=sim_clock,
    )


@pytest.fixture
def server(simulator: IfsSimulator) -> Iterator[BackgroundServer]:
    with BackgroundServer(simulator.app) as running:
        yield running


def order_numbers(simulator: IfsSimulator) -> list[str]:
    state = simulator.tenant.of_table("CustomerOrder")
    return sorted(str(r.values["OrderNo"]) for r in simulator.tenant.store.scan(state.table))


def read_urls(admin: AdminClient) -> list[str]:
    return [f"{r['path']}?{r['query']}" for r in admin.requests(path="/main", method="GET")]


def test_the_default_budget_is_under_the_simulators_limit() -> None:
    """The client's default URL budget leaves room under the simulator's default 8 KB limit."""
    assert DEFAULT_MAX_URL_LENGTH < SIMULATOR_LIMIT


def test_thousands_of_keys_are_read_in_requests_under_the_url_limit(
    client: IfsClient, settings: IfsSettings, simulator: IfsSimulator, admin: AdminClient, server_url: str
) -> None:
    """3000 order keys come back complete, each request's URL (encoded, with paging) under 8 KB."""
    stored = order_numbers(simulator)
    assert len(stored) >= 3000
    keys = [{"OrderNo": number} for number in stored] + [{"OrderNo": "C9000000001"}]
    rows = list(client.get_many(settings.entities.orders, keys, select=("OrderNo",)))
    assert sorted(row["OrderNo"] for row in rows) == stored
    urls = read_urls(admin)
    assert len(urls) > 10  # split by length: ~190 keys fit in one URL
    origin = len(server_url)
    assert all(origin + len(url) <= DEFAULT_MAX_URL_LENGTH for url in urls)
    assert max(origin + len(url) for url in urls) > DEFAULT_MAX_URL_LENGTH - 100  # groups are filled


def test_a_smaller_budget_makes_more_smaller_requests(
    client: IfsClient, settings: IfsSettings, simulator: IfsSimulator, admin: AdminClient, server_url: str
) -> None:
    """With a 2000-character budget against a simulator limited to 2000, every read still succeeds."""
    admin.action("set_max_url_length", {"length": 2000})
    narrow = IfsClient(
        client._http,
        api_root=settings.api_root,
        tokens=client._tokens,
        retry=RetryPolicy(attempts=1),
        page_size=settings.page_size,
        max_url_length=2000,
    )
    stored = order_numbers(simulator)[:600]
    keys = [{"OrderNo": n} for n in stored]
    rows = list(narrow.get_many(settings.entities.orders, keys, select=("OrderNo",)))
    assert sorted(row["OrderNo"] for row in rows) == stored
    assert all(len(server_url) + len(url) <= 2000 for url in read_urls(admin))


def test_a_url_over_the_simulators_limit_is_refused_with_414(
    http: httpx.Client, settings: IfsSettings, tokens: IfsTokenProvider, simulator: IfsSimulator
) -> None:
    """A client whose budget exceeds the service's limit gets the 414, not a truncated answer."""
    client = IfsClient(
        http, api_root=settings.api_root, tokens=tokens, retry=RetryPolicy(attempts=1), max_url_length=30_000
    )
    keys = [{"OrderNo": n} for n in order_numbers(simulator)[:400]]
    with pytest.raises(IfsError) as caught:
        list(client.get_many(settings.entities.orders, keys, select=("OrderNo",)))
    assert caught.value.status == 414


def test_count_cap_and_a_key_too_long_for_any_url(
    client: IfsClient, settings: IfsSettings, simulator: IfsSimulator, admin: AdminClient
) -> None:
    """chunk_size caps the keys per request; a key longer than the budget is a ValueError, not a 414."""
    stored = order_numbers(simulator)[:10]
    rows = list(client.get_many(settings.entities.orders, [{"OrderNo": n} for n in stored], chunk_size=3))
    assert sorted(row["OrderNo"] for row in rows) == stored
    assert len(read_urls(admin)) == 4
    with pytest.raises(ValueError, match="over the budget"):
        list(client.get_many(settings.entities.orders, [{"OrderNo": "X" * 8000}]))


def test_deep_or_filters_are_answered_not_failed(
    client: IfsClient, settings: IfsSettings, simulator: IfsSimulator, admin: AdminClient
) -> None:
    """800 'or' terms (a 23 KB URL) get an answer from a simulator allowing it: 200, never a 500."""
    admin.action("set_max_url_length", {"length": 100_000})
    wide = IfsClient(
        client._http,
        api_root=settings.api_root,
        tokens=client._tokens,
        max_url_length=100_000,
    )
    stored = order_numbers(simulator)[:800]
    keys = [{"OrderNo": n} for n in stored]
    rows = list(wide.get_many(settings.entities.orders, keys, select=("OrderNo",)))
    assert sorted(row["OrderNo"] for row in rows) == stored
    assert len(read_urls(admin)) == 1
