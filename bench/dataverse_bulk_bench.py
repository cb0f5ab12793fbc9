"""Bulk upsert into Dataverse three ways: one PATCH per row, ``$batch`` chunks, UpsertMultiple chunks.

Run: ``.venv/bin/python -m bench.dataverse_bulk_bench [N]`` (default 2000 accounts per case).

The Entra and Dataverse simulators run in a child process over loopback HTTPS (service protection off),
so the figures are the client's: records per second, Dataverse HTTP calls per record (token requests
excluded) and peak Python memory of the client process. Every case upserts N new accounts by
``accountnumber`` (the key index makes the simulator's cost per row constant, so later cases are not
penalised by a fuller table). The last case puts one bad row in every run of N to show what isolating
it costs: the chunk holding it is redone as ``$batch``.

A figure is printed only for a run that did what it claims: every row has its result, only the planted bad
row failed (with its error), and the organization holds exactly the rows written. Time and request counts
come from one run; peak memory from a second run on fresh keys (``bench.common.measure``), because
tracemalloc slows allocation-heavy code and must not be on while timing.
"""

from __future__ import annotations

import multiprocessing
import ssl
import sys
import tempfile
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from bench.common import HEADER, Result, measure
from shared.config import AppSettings, EntraSettings
from shared.dataverse.bulk import BulkUpserter, RecordResult
from shared.dataverse.client import DataverseClient
from shared.dataverse.errors import DataverseError
from shared.platform.credentials import build_credential
from simulators.common.admin_client import AdminClient
from simulators.common.server import BackgroundServer
from simulators.common.tls import loopback_certificate
from simulators.dataverse.app import DataverseSimulator, Settings
from simulators.identity_stack import running_identity_stack


def serve(connection: Connection) -> None:
    """Child process: serve Entra and Dataverse until the parent says stop."""
    with tempfile.TemporaryDirectory() as directory:
        tls = loopback_certificate(Path(directory))
        with running_identity_stack(tls) as identity:
            simulator = DataverseSimulator(
                [identity.client.client_id],
                clock=identity.clock,
                settings=Settings(tenant_id=identity.client.tenant_id, limits=None),
            )
            with BackgroundServer(simulator.app, tls=tls) as server:
                connection.send({"settings": identity.app_settings(), "url": server.url})
                connection.recv()  # stop


class Counter:
    """Counts the requests an httpx.Client sends (an event hook)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, request: httpx.Request) -> None:
        self.count += 1


def rows(prefix: str, n: int, bad: int | None = None) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """N accounts keyed ``<prefix><i>``; row ``bad`` has a name longer than the column allows."""
    return [
        (
            {"accountnumber": f"{prefix}{i:06d}"},
            {"name": "x" * 161 if i == bad else f"Account {i}", "creditlimit": i, "telephone1": "555 0100"},
        )
        for i in range(n)
    ]


Write = Callable[[str, int | None], list[RecordResult]]
"""Upserts the bench's rows under a key prefix (the bad row given, if any); one result per row."""


class BenchError(SystemExit):
    """A run that did not do what its figure would claim: no figure is printed."""


def stored(client: DataverseClient, prefix: str) -> int:
    """How many accounts the organization holds under ``prefix`` (read after the run, not timed)."""
    keys = client.query("accounts", select=["accountnumber"], filter=f"startswith(accountnumber,'{prefix}')")
    return sum(1 for _ in keys)


def checked(
    name: str, client: DataverseClient, prefix: str, results: list[RecordResult], *, n: int, bad: int | None
) -> None:
    """Every row accounted for, only ``bad`` failed (with an error), and exactly the good rows stored."""
    if [result.index for result in results] != list(range(n)):
        raise BenchError(f"{name}: {len(results)} results for {n} rows")
    failed = [result for result in results if not result.ok]
    if [result.index for result in failed] != ([] if bad is None else [bad]):
        first = failed[0].error if failed else None
        raise BenchError(f"{name}: rows {[r.index for r in failed][:10]} failed (first error: {first})")
    if any(result.error is None for result in failed):
        raise BenchError(f"{name}: a failed row carries no error")
    expected = n - len(failed)
    if (found := stored(client, prefix)) != expected:
        raise BenchError(f"{name}: {found} accounts stored under {prefix!r}, expected {expected}")


def main(n: int) -> None:
    """Start the simulators, run the cases, check each run, print the table."""
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(target=serve, args=(child,), daemon=True)
    process.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the simulators did not start within 60 s (see the child's traceback above)")
        started: dict[str, Any] = parent.recv()
        settings, url = started["settings"], started["url"]
        verify = ssl.create_default_context(cafile=settings["TLS_CA_BUNDLE"])
        credential = build_credential(AppSettings(settings).get(EntraSettings))
        counter = Counter()
        http = httpx.Client(verify=verify, timeout=120, event_hooks={"request": [counter]}, trust_env=False)
        client = DataverseClient(http, url, credential)
        with httpx.Client(base_url=url, verify=verify, timeout=60, trust_env=False) as admin_http:
            admin = AdminClient(admin_http)
            admin.action("define_key", {"table": "account", "columns": ["accountnumber"]})
            admin.action("set_message_availability", {"table": "account", "available": True})
        client.who_am_i()  # token and connection warm-up, not measured
        counter.count = 0

        def single(prefix: str, bad: int | None) -> list[RecordResult]:
            results: list[RecordResult] = []
            for index, (key, body) in enumerate(rows(prefix, n, bad)):
                try:
                    client.upsert("accounts", key, body)
                except DataverseError as exc:
                    results.append(RecordResult(index, key, ok=False, via="single", error=exc))
                else:
                    results.append(RecordResult(index, key, ok=True, via="single"))
            return results

        def bulk(**options: Any) -> Write:
            def upsert(prefix: str, bad: int | None) -> list[RecordResult]:
                upserter = BulkUpserter(client, **options)
                return upserter.upsert_many("accounts", "account", rows(prefix, n, bad))

            return upsert

        def measured(name: str, prefix: str, write: Write, bad: int | None = None) -> Result:
            """Time ``write`` on keys ``<prefix>t…``, trace its memory on ``<prefix>m…``, then check both."""
            outcomes: dict[str, list[RecordResult]] = {}
            timed, traced = prefix + "t", prefix + "m"
            result = measure(
                name,
                n,
                counter,
                lambda: outcomes.setdefault(timed, write(timed, bad)),
                memory_run=lambda: outcomes.setdefault(traced, write(traced, bad)),
            )
            for run_prefix, outcome in outcomes.items():
                checked(name, client, run_prefix, outcome, n=n, bad=bad)
            return result

        results = [
            measured("single PATCH per row", "S", single),
            measured("$batch, 100 per batch", "B", bulk(use_bulk=False, batch_size=100)),
            measured("$batch, 1000 per batch", "K", bulk(use_bulk=False, batch_size=1000)),
            measured("UpsertMultiple, 500 per request", "U", bulk(chunk_size=500)),
            measured("UpsertMultiple, 1000 per request", "M", bulk(chunk_size=1000)),
            measured("UpsertMultiple 500 + 1 bad row isolated", "X", bulk(chunk_size=500), bad=n // 2),
        ]
        http.close()
        print(f"{n} accounts per case, Dataverse simulator over loopback HTTPS, service protection off")
        print(HEADER)
        for result in results:
            print(result.row())
    finally:
        parent.send("stop")
        process.join(timeout=30)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
