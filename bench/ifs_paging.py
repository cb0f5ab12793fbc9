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
from pathlib import Path

import httpx

from bench.common import HEADER, Result, measure
from shared.config import AppSettings, IfsSettings
from shared.ifs.auth import IfsTokenProvider
from shared.ifs.client import IfsClient
from shared.ifs.query import Query
from simulators.common.admin_client import AdminClient

REPO = Path(__file__).resolve().parents[1]


class ApiCalls:
    """Counts the requests an httpx.Client sends below the projection root (an event hook; not tokens)."""

    def __init__(self, api_root: str) -> None:
        self.api_root = api_root
        self.count = 0

    def __call__(self, request: httpx.Request) -> None:
        if str(request.url).startswith(self.api_root):
            self.count += 1


def read_all(
    name: str, client: IfsClient, calls: ApiCalls, settings: IfsSettings, query: Query, *, page_size: int
) -> Result:
    """Read every order once, measured; the count must be the whole set."""
    counted: list[int] = []

    def run() -> None:
        counted.append(sum(1 for _ in client.iter_rows(settings.entities.orders, query, page_size=page_size)))

    result = measure(name, 0, calls, run)
    return Result(name, counted[0], result.seconds, result.requests, result.peak_kib)


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
        calls = ApiCalls(settings.api_root)
        # trust_env=False: loopback traffic never goes through a proxy named in the environment.
        with (
            httpx.Client(timeout=60, trust_env=False, event_hooks={"request": [calls]}) as http,
            httpx.Client(base_url=url, timeout=60, trust_env=False) as admin_http,
        ):
            admin = AdminClient(admin_http)
            client = IfsClient.from_settings(
                http, settings, IfsTokenProvider.from_settings(http, settings, None)
            )
            results: list[Result] = []
            for label, query in (("key scan", Query(select=("OrderNo",))), ("full rows", Query())):
                for page in (100, 500, 1000):
                    admin.action("set_page_size", {"size": page})
                    for paging, size in (("$skip", page), ("nextLink", 0)):
                        result = read_all(
                            f"{label}, {paging} paging, page {page}",
                            client,
                            calls,
                            settings,
                            query,
                            page_size=size,
                        )
                        if result.records != orders:
                            raise SystemExit(
                                f"{result.name}: read {result.records} orders, expected {orders}"
                            )
                        results.append(result)
        print(f"{orders} orders, simulator on loopback ({url})")
        print(HEADER)
        for result in results:
            print(result.row())
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
