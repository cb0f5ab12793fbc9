"""Bulk upsert into Dataverse three ways: one PATCH per row, ``$batch`` chunks, UpsertMultiple chunks.

Run: ``.venv/bin/python -m bench.dataverse_bulk_bench [N]`` (default 2000 accounts per case).

The Entra and Dataverse simulators run in a child process over loopback HTTPS (service protection off),
so the figures are the client's: records per second, Dataverse HTTP calls per record (token requests
excluded) and peak Python memory of the client process. Every case upserts N new accounts by
``accountnumber`` (the key index makes the simulator's cost per row constant, so later cases are not
penalised by a fuller table). The last case puts one bad row in every run of N to show what isolating
it costs: the chunk holding it is redone as ``$batch``.
"""

from __future__ import annotations

import multiprocessing
import ssl
import sys
import tempfile
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from bench.common import HEADER, measure
from shared.config import AppSettings, EntraSettings
from shared.dataverse.bulk import BulkUpserter
from shared.dataverse.client import DataverseClient
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


def main(n: int) -> None:
    """Start the simulators, run the cases, print the table."""
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
        http = httpx.Client(verify=verify, timeout=120, event_hooks={"request": [counter]})
        client = DataverseClient(http, url, credential)
        with httpx.Client(base_url=url, verify=verify, timeout=60) as admin_http:
            admin = AdminClient(admin_http)
            admin.action("define_key", {"table": "account", "columns": ["accountnumber"]})
            admin.action("set_message_availability", {"table": "account", "available": True})
        client.who_am_i()  # token and connection warm-up, not measured
        counter.count = 0

        def single() -> None:
            for key, body in rows("S", n):
                client.upsert("accounts", key, body)

        results = [
            measure("single PATCH per row", n, counter, single),
            measure(
                "$batch, 100 per batch",
                n,
                counter,
                lambda: BulkUpserter(client, use_bulk=False, batch_size=100).upsert_many(
                    "accounts", "account", rows("B", n)
                ),
            ),
            measure(
                "$batch, 1000 per batch",
                n,
                counter,
                lambda: BulkUpserter(client, use_bulk=False, batch_size=1000).upsert_many(
                    "accounts", "account", rows("K", n)
                ),
            ),
            measure(
                "UpsertMultiple, 500 per request",
                n,
                counter,
                lambda: BulkUpserter(client, chunk_size=500).upsert_many("accounts", "account", rows("U", n)),
            ),
            measure(
                "UpsertMultiple, 1000 per request",
                n,
                counter,
                lambda: BulkUpserter(client, chunk_size=1000).upsert_many(
                    "accounts", "account", rows("M", n)
                ),
            ),
            measure(
                "UpsertMultiple 500 + 1 bad row isolated",
                n,
                counter,
                lambda: BulkUpserter(client, chunk_size=500).upsert_many(
                    "accounts", "account", rows("X", n, bad=n // 2)
                ),
            ),
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
