"""The recorded exchanges with a live tenant (keboola cassettes), replayed against IfsClient."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from shared.ifs.auth import IfsTokenProvider
from shared.ifs.client import IfsClient
from shared.ifs.entities import EntitySet
from shared.ifs.errors import IfsBadRequestError, IfsNotFoundError
from shared.ifs.query import Query, eq
from shared.platform.retry import RetryPolicy
from simulators.common.server import BackgroundServer
from tests.integration.ifs.conftest import START, MemoryTokenCache, frozen_clock, ifs_settings
from tests.integration.ifs.replay import Replay, load

# Keys as the recorded EDMX declares them (VoucherRowsAnalysis.metadata.xml). The recorded client paged
# without an order; the connector orders $skip pages by the keys, the only option it adds to the recording.
KEYS = ("Company", "VoucherType", "AccountingYear", "VoucherNo", "RowNo")
VOUCHER_ROWS = EntitySet("VoucherRowsAnalysis", "VoucherRowSet", KEYS)
COLUMNS = (*KEYS, "VoucherDate")
ORDERED = {"$orderby": ",".join(KEYS)}


@dataclass(frozen=True)
class Cassette:
    names: tuple[str, ...] = ()
    client_adds: dict[str, str] | None = None


@dataclass
class Replaying:
    replay: Replay
    client: IfsClient
    tokens: IfsTokenProvider
    cache: MemoryTokenCache


@pytest.fixture
def replaying(request: pytest.FixtureRequest) -> Iterator[Replaying]:
    cassette: Cassette = request.param
    replay = Replay(load("token-client-credentials.json", *cassette.names), client_adds=cassette.client_adds)
    clock = frozen_clock()
    cache = MemoryTokenCache()
    with BackgroundServer(replay.app) as server, httpx.Client(timeout=10, trust_env=False) as http:
        settings = ifs_settings(
            server.url, IFS_CLIENT_ID="REDACTED", IFS_CLIENT_SECRET="REDACTED", IFS_REALM="acme1"
        )
        tokens = IfsTokenProvider.from_settings(http, settings, cache, clock=clock.now_datetime)
        client = IfsClient.from_settings(http, settings, tokens, retry=RetryPolicy(attempts=1))
        yield Replaying(replay, client, tokens, cache)
    assert replay.mismatches == []


@pytest.mark.parametrize("replaying", [Cassette()], indirect=True)
def test_token_exchange(replaying: Replaying) -> None:
    """The client sends the recorded form and keeps the token for expires_in (180 s) from its clock."""
    assert replaying.tokens.token() == "REDACTED"
    assert replaying.replay.pending == []
    cached = replaying.cache.get(replaying.tokens.cache_name)
    assert cached is not None
    assert cached.expires_at - START == timedelta(seconds=180)


@pytest.mark.parametrize(
    "replaying", [Cassette(("paging-top60-skip-142-rows.json",), client_adds=ORDERED)], indirect=True
)
def test_top_skip_paging(replaying: Replaying) -> None:
    """$top=60, then $skip=60 and 120: 142 rows, stopping at the short page, as the live tenant answered."""
    replay, client = replaying.replay, replaying.client
    rows = list(
        client.iter_rows(VOUCHER_ROWS, Query(select=COLUMNS, filter=eq("AccountingYear", 2026)), page_size=60)
    )
    assert len(rows) == 142
    assert replay.pending == []
    assert client.requests_sent == 3


@pytest.mark.parametrize(
    "replaying", [Cassette(("query-select-top1.json",), client_adds=ORDERED)], indirect=True
)
def test_select_top_one(replaying: Replaying) -> None:
    """$select with $top=1 returns one row, keys included, with its ETag."""
    replay, client = replaying.replay, replaying.client
    [row] = client.iter_rows(
        VOUCHER_ROWS, Query(select=("Company", "VoucherNo", "RowNo", "VoucherDate"), top=1)
    )
    assert row["VoucherDate"] == "2020-01-01"
    assert "@odata.etag" in row
    assert replay.pending == []


@pytest.mark.parametrize(
    "replaying", [Cassette(("error-400-malformed-request.json",), client_adds=ORDERED)], indirect=True
)
def test_bad_filter_400(replaying: Replaying) -> None:
    """The recorded 400 becomes IfsBadRequestError with IFS's code, message and detail."""
    client = replaying.client
    with pytest.raises(IfsBadRequestError) as caught:
        list(
            client.iter_rows(
                VOUCHER_ROWS, Query(select=("Company", "VoucherNo"), filter=eq("NotAColumn", "x"))
            )
        )
    error = caught.value
    assert (error.status, error.code, error.message) == (400, "REDACTED", "Malformed Request.")
    assert error.details[0].message == (
        "The property 'NotAColumn', used in a query expression, is not defined in type "
        "'IfsApp.VoucherRowsAnalysis.VoucherRow'."
    )
    assert not error.transient


@pytest.mark.parametrize("replaying", [Cassette(("error-404-metadata-not-found.json",))], indirect=True)
def test_unknown_service_404(replaying: Replaying) -> None:
    """The recorded 404 for an unknown projection becomes IfsNotFoundError("Metadata not found.")."""
    client = replaying.client
    with pytest.raises(IfsNotFoundError) as caught:
        client.metadata("NoSuchServiceXyz")
    assert (caught.value.status, caught.value.message) == (404, "Metadata not found.")


@pytest.mark.parametrize("replaying", [Cassette(("metadata-voucherrowsanalysis.json",))], indirect=True)
def test_metadata(replaying: Replaying) -> None:
    """The recorded EDMX comes back as text, entity type and namespace intact."""
    client = replaying.client
    edmx = client.metadata("VoucherRowsAnalysis")
    assert len(edmx.encode()) == 57362
    assert 'Namespace="IfsApp.VoucherRowsAnalysis"' in edmx
    assert '<EntityType Name="VoucherRow"' in edmx
