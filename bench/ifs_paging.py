"""Paging the seeded IFS order set: $top/$skip (baseline) against server-driven nextLink, side by side.

Run: ``.venv/bin/python -m bench.ifs_paging [ORDERS]`` (default 5000). Starts ``python -m simulators.ifs``
in a subprocess on loopback with ORDERS generated orders, then reads every order with IfsClient for page
sizes 100, 500 and 1000, two ways each: the baseline asks ``$top=P&$skip=…`` (ordered by key, stopping at a
short page); nextLink sets the simulator's server page size to P and follows ``@odata.nextLink``. Two read
shapes: the etag-ledger key scan (``$select=OrderNo``) and full rows. Prints records/s, API calls per record
(token calls not counted) and the client's peak Python memory (the simulator runs in its own process).
"""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import httpx

from bench.common import HEADER, Result
from shared.config import AppSettings, IfsSettings
from shared.ifs.auth import IfsTokenProvider
from shared.ifs.client import IfsClient
from shared.ifs.query import Query
from shared.platform.tokens import AccessToken
from simulators.common.admin_client import AdminClient

REPO = Path(__file__).resolve().parents[1]


class _Cache:
    def __init__(self) -> None:
        self.tokens: dict[str, AccessToken] = {}

    def get(self, name: str) -> AccessToken | None:
        return self.tokens.get(name)

    def put(self, name: str, token: AccessToken) -> None:
        self.tokens[name] = token


def _run(
    name: str, client: IfsClient, settings: IfsSettings, query: Query, *, page_size: int, expected: int
) -> Result:
    before = client.requests_sent
    tracemalloc.start()
    start = time.perf_counter()
    count = sum(1 for _ in client.iter_rows(settings.entities.orders, query, page_size=page_size))
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if count != expected:
        raise SystemExit(f"{name}: read {count} orders, expected {expected}")
    return Result(name, count, seconds, client.requests_sent - before, peak / 1024)


def main(orders: int) -> None:
    """Start the simulator, measure, print the table."""
    process = subprocess.Popen(  # noqa: S603 - a fixed argv running this repository's simulator
        [sys.executable, "-m", "simulators.ifs", "--port", "0", "--size", str(orders), "--no-captures"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().removeprefix("serving on ")
        settings = AppSettings(
            {
                "IFS_BASE_URL": url,
                "IFS_REALM": "acme1",
                "IFS_CLIENT_ID": "ifs-d365-sync",
                "IFS_CLIENT_SECRET": "change-me",
            }
        ).get(IfsSettings)
        with httpx.Client(timeout=60) as http, httpx.Client(base_url=url, timeout=60) as admin_http:
            admin = AdminClient(admin_http)
            client = IfsClient.from_settings(
                http, settings, IfsTokenProvider.from_settings(http, settings, _Cache())
            )
            results: list[Result] = []
            for label, query in (("key scan", Query(select=("OrderNo",))), ("full rows", Query())):
                for page in (100, 500, 1000):
                    admin.action("set_page_size", {"size": page})
                    results.append(
                        _run(
                            f"{label}, $skip paging, page {page}",
                            client,
                            settings,
                            query,
                            page_size=page,
                            expected=orders,
                        )
                    )
                    results.append(
                        _run(
                            f"{label}, nextLink paging, page {page}",
                            client,
                            settings,
                            query,
                            page_size=0,
                            expected=orders,
                        )
                    )
        print(f"{orders} orders, simulator on loopback ({url})")
        print(HEADER)
        for result in results:
            print(result.row())
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
