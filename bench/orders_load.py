"""Initial load of customer orders and quotations with their lines: the bulk path beside one request per
record, then 100,000 order lines through the bulk path with its peak memory.

Run: ``.venv/bin/python -m devhost.azurite -- .venv/bin/python -m bench.orders_load [options]`` (``--help``
lists them). Entra, Key Vault, Dataverse and IFS are served by a child process over loopback HTTPS, with a
seeded IFS tenant of ``--orders`` customer orders (5,000 by default) of 3-10 lines each, a third as many
quotations (the same), and a latency injected on every IFS and Dataverse request (``--latency-ms``, 20 ms).
The connector is built by its own composition root (``shared.runtime``), state in Azurite. Customers and
sales parts are loaded first in every phase and not measured: the figures are the orders' and quotations'.

1. **Initial load, two ways, side by side**, each on a fresh Dataverse organization and fresh state, driven
   by the same ``--workers`` threads. *Bulk*: the engine with messages of ``--chunk`` keys (IFS read in
   URL-sized ``or`` filters: headers, then the lines and charges of many orders at once; Dataverse written
   with UpsertMultiple for headers and lines and ``$batch`` for state changes). *One request per record*:
   the same engine and flows, one key per engine call (so IFS reads one order per request, its lines and
   charges in one more each) and the Dataverse bulk path off (one PATCH per row, one request per action).
   Records are headers and lines; Dataverse and IFS requests per record (counted as the connector sees
   them, token requests left out), 429s seen, and the peak Python memory of a
   second bulk load traced by tracemalloc (never on while timing).
2. **100,000 lines, bulk path alone**: a tenant of about 100,000 order lines, loaded by the bulk path under
   tracemalloc, and a fifth of it loaded the same way before: the two peaks show whether memory grows with
   the data (it must stay flat, and under 200 MB).

A figure is printed only for a run that did its work: every order, line and quotation in Dataverse, none
parked. A table for people, then, as the last line, one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import ssl
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from azure.data.tables import TableServiceClient

from bench.queue_workers import Traffic
from devhost.scenario import add_currencies, scenario_settings
from shared.config import AppSettings, IfsSettings
from shared.dataverse.provisioning import Provisioner
from shared.runtime import RuntimeOptions, SyncRuntime, sync_runtime
from shared.sync.messages import ChangedKey
from shared.sync.provision import provision
from simulators.common.admin_client import AdminClient
from simulators.common.tls import loopback_certificate
from simulators.ifs.tenant import TenantConfig
from simulators.stack import running_simulators

ENTITIES = ("orders", "quotations")
MEMORY_LIMIT_MB = 200.0


class BenchError(SystemExit):
    """A run did not do what its figure would claim: no figure is printed."""


# ---- the simulators, in a child process --------------------------------------------------------------


def serve(connection: Connection, orders: int) -> None:
    """Child process: serve every simulator, the IFS tenant seeded with ``orders`` orders, until told."""
    tenant = TenantConfig(seed=1, size=orders, order_lines=(3, 10), captures=None)
    with tempfile.TemporaryDirectory() as directory:
        tls = loopback_certificate(Path(directory))
        with running_simulators(tls, ifs_tenant=tenant, key_activation_seconds=0.05) as stack:
            connection.send(
                {
                    "settings": stack.app_settings(),
                    "ifs": stack.ifs_url,
                    "dataverse": stack.dataverse_url,
                    "cert": str(tls.cert_path),
                }
            )
            connection.recv()  # stop


class Simulators:
    """The child process's simulators, reached over their admin surfaces."""

    def __init__(self, orders: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._parent, child = context.Pipe()
        self._process = context.Process(target=serve, args=(child, orders), daemon=True)
        self._process.start()
        self.info: dict[str, Any] = self._parent.recv()
        verify = ssl.create_default_context(cafile=self.info["cert"])
        self.ifs = self._admin(self.info["ifs"], verify)
        self.dataverse = self._admin(self.info["dataverse"], verify)

    @staticmethod
    def _admin(url: str, verify: ssl.SSLContext) -> AdminClient:
        return AdminClient(httpx.Client(base_url=url, verify=verify, timeout=300, trust_env=False))

    def stop(self) -> None:
        """Stop the child."""
        self._parent.send("stop")
        self._process.join(30)


# ---- one measured load ----------------------------------------------------------------------------------


@dataclass
class Load:
    """One measured load of orders and quotations."""

    name: str
    headers: int
    lines: int
    seconds: float
    dataverse_requests: int
    ifs_requests: int
    throttled: int
    peak_mb: float | None = None

    @property
    def records(self) -> int:
        """Headers and lines."""
        return self.headers + self.lines

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.records / self.seconds

    def row(self) -> str:
        """A table row."""
        memory = f"{self.peak_mb:>8.1f}" if self.peak_mb is not None else f"{'-':>8}"
        return (
            f"{self.name:<30} {self.headers:>7} {self.lines:>7} {self.seconds:>8.1f} {self.rate:>9.1f} "
            f"{self.dataverse_requests / self.records:>9.4f} {self.ifs_requests / self.records:>9.4f} "
            f"{self.throttled:>5} {memory}"
        )


HEADER = (
    f"{'load':<30} {'headers':>7} {'lines':>7} {'seconds':>8} {'records/s':>9} {'DV req/r':>9} "
    f"{'IFS req/r':>9} {'429s':>5} {'peak MB':>8}"
)


class Bench:
    """The phases, against one child's simulators and the Azurite account in the environment."""

    def __init__(self, simulators: Simulators, storage: str, options: argparse.Namespace) -> None:
        self.simulators = simulators
        self.storage = storage
        self.options = options
        self.prefix: str | None = None

    def fresh(self, *, bulk: bool) -> tuple[SyncRuntime, Traffic]:
        """A fresh organization (latency, no service protection), fresh state, customers and parts loaded.

        The state of the previous load is deleted first: Azurite keeps every table in memory, and three
        loads of 47,000 records each (id map, ledger, audit) outgrew it.
        """
        self.drop_state()
        dataverse, ifs = self.simulators.dataverse, self.simulators.ifs
        dataverse.reset()
        dataverse.action("set_limits", {"off": True})
        latency = {"script": [], "rates": {"latency": 1.0}, "latency_ms": self.options.latency_ms}
        dataverse.set_faults(latency)
        ifs.set_faults(latency)
        self.prefix = prefix = f"bench{uuid.uuid4().hex[:10]}"
        values = scenario_settings(_Stack(self.simulators.info), self.storage, prefix)  # type: ignore[arg-type]
        settings = AppSettings(values)
        # Requests are counted as the connector sees them (the simulators' request logs keep the last
        # 10,000 only: a one-request-per-record load of 5,000 orders sends far more).
        traffic = Traffic({"ifs": settings.get(IfsSettings).api_root, "dataverse": ""})
        runtime = sync_runtime(settings, RuntimeOptions(on_response=traffic))
        traffic.set_root("dataverse", runtime.dataverse.service_root)
        add_currencies(runtime.dataverse)  # the org's set-up, as an administrator makes it
        mappings = [runtime.engine.mapping(e) for e in runtime.engine.entities]
        provision(mappings, Provisioner(runtime.dataverse), poll=0.05)
        if not bulk:
            runtime.upserter.use_bulk = False  # one PATCH per row, one request per action
            runtime.upserter.batch_available = False
        for entity in ("customers", "sales_parts"):
            runtime.poll(entity)
            runtime.drain(entity, timeout=3600)
        return runtime, traffic

    def drop_state(self) -> None:
        """Delete the tables of the previous load's state (they share its prefix)."""
        if self.prefix is None:
            return
        service = TableServiceClient.from_connection_string(self.storage)
        with service:
            for table in list(service.list_tables()):
                if table.name.startswith(self.prefix):
                    service.delete_table(table.name)
        self.prefix = None

    def load(self, name: str, *, bulk: bool, keys_limit: int | None = None, traced: bool = False) -> Load:
        """Orders then quotations, every record IFS has, through ``--workers`` threads; checked, measured."""
        runtime, traffic = self.fresh(bulk=bulk)
        keys = {entity: sorted(k for k, _ in runtime.sources[entity].scan(whole=True)) for entity in ENTITIES}
        if keys_limit is not None:
            keys = {"orders": keys["orders"][:keys_limit], "quotations": []}
        before = traffic.snapshot()
        if traced:
            tracemalloc.start()
        start = time.perf_counter()
        for entity in ENTITIES:
            size = self.options.chunk if bulk else 1
            chunks = [keys[entity][i : i + size] for i in range(0, len(keys[entity]), size)]
            _run_parallel(runtime, entity, chunks, self.options.workers)
            runtime.drain(entity, timeout=3600)  # work handed back (none expected: no throttling)
        seconds = time.perf_counter() - start
        peak = None
        if traced:
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
        after = traffic.snapshot()
        headers, lines = self.check(runtime, keys)
        dataverse, ifs = (after[s].requests - before[s].requests for s in ("dataverse", "ifs"))
        throttled = sum(after[s].throttled - before[s].throttled for s in ("dataverse", "ifs"))
        return Load(name, headers, lines, seconds, dataverse, ifs, throttled, peak)

    @staticmethod
    def check(runtime: SyncRuntime, keys: dict[str, list[str]]) -> tuple[int, int]:
        """(headers, lines) written; BenchError unless every record is in Dataverse and none parked."""
        parked = [p for p in runtime.storage.parked.list() if p.entity in ENTITIES]
        if parked:
            raise BenchError(
                f"{len(parked)} records parked, e.g. {parked[0].error_class}: {parked[0].message}"
            )

        def count(entity_set: str, column: str) -> list[Any]:
            return [r[column] for r in runtime.dataverse.query(entity_set, select=[column])]

        orders = count("salesorders", "salesorderid")
        quotes = set(count("quotes", "ifs_quotationno"))
        if len(orders) != len(keys["orders"]) or len(quotes) != len(keys["quotations"]):
            raise BenchError(
                f"Dataverse holds {len(orders)} orders and {len(quotes)} quotes, IFS "
                f"{len(keys['orders'])} and {len(keys['quotations'])}"
            )
        lines = len(count("salesorderdetails", "salesorderdetailid"))
        lines += len(count("quotedetails", "quotedetailid"))
        return len(orders) + len(quotes), lines


class _Stack:
    """What ``scenario_settings`` and ``SyncScenario`` read of a stack, from the child's answer."""

    def __init__(self, info: dict[str, Any]) -> None:
        self._info = info
        self.ifs_url, self.dataverse_url = info["ifs"], info["dataverse"]

    def app_settings(self) -> dict[str, str]:
        return dict(self._info["settings"])


def _run_parallel(runtime: SyncRuntime, entity: str, chunks: Sequence[Sequence[str]], workers: int) -> None:
    """Each chunk of keys through the engine (as one queue message), ``workers`` at a time."""

    def one(chunk: Sequence[str]) -> None:
        runtime.engine.process(entity, [ChangedKey(k) for k in chunk], correlation_id="bench")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(one, chunks):
            pass


def _phase(say: Callable[[str], None], title: str) -> None:
    say("")
    say(f"== {title} ==")


def main(argv: list[str] | None = None) -> int:
    """Run the bench; the last line printed is one JSON object of the figures."""
    parser = argparse.ArgumentParser(prog="bench.orders_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=5000, help="customer orders (3-10 lines each)")
    parser.add_argument("--latency-ms", type=int, default=20, help="latency added to every request")
    parser.add_argument("--workers", type=int, default=4, help="engine calls in flight, for both paths")
    parser.add_argument("--chunk", type=int, default=250, help="keys per engine call on the bulk path")
    parser.add_argument("--big-lines", type=int, default=100_000, help="order lines of the memory run")
    parser.add_argument("--skip-big", action="store_true", help="leave out the 100,000-line run")
    options = parser.parse_args(argv)
    storage = _storage()
    say = print
    figures: dict[str, Any] = {"orders": options.orders}
    simulators = Simulators(options.orders)
    try:
        bench = Bench(simulators, storage, options)
        _phase(say, f"initial load: {options.orders:,} orders of 3-10 lines and their quotations")
        say(HEADER)
        bulk = bench.load("bulk", bulk=True)
        say(bulk.row())
        single = bench.load("one request per record", bulk=False)
        say(single.row())
        traced = bench.load("bulk, memory traced", bulk=True, traced=True)
        say(traced.row())
        bench.drop_state()
        figures |= {
            "lines": bulk.lines,
            "records": bulk.records,
            "bulk_records_per_s": round(bulk.rate, 1),
            "single_records_per_s": round(single.rate, 1),
            "speedup": round(bulk.rate / single.rate, 1),
            "bulk_dataverse_requests_per_record": round(bulk.dataverse_requests / bulk.records, 4),
            "bulk_ifs_requests_per_record": round(bulk.ifs_requests / bulk.records, 4),
            "single_dataverse_requests_per_record": round(single.dataverse_requests / single.records, 4),
            "single_ifs_requests_per_record": round(single.ifs_requests / single.records, 4),
            "throttled": bulk.throttled + single.throttled,
            "peak_mb": round(traced.peak_mb or 0.0, 1),
        }
    finally:
        simulators.stop()
    if not options.skip_big:
        orders = round(options.big_lines / 6.5)
        simulators = Simulators(orders)
        try:
            bench = Bench(simulators, storage, options)
            _phase(say, f"bulk path alone, about {options.big_lines:,} order lines ({orders:,} orders)")
            say(HEADER)
            fifth = bench.load("a fifth, memory traced", bulk=True, keys_limit=orders // 5, traced=True)
            say(fifth.row())
            whole = bench.load("all, memory traced", bulk=True, keys_limit=orders, traced=True)
            say(whole.row())
            peak = whole.peak_mb or 0.0
            if peak >= MEMORY_LIMIT_MB:
                raise BenchError(f"peak memory {peak:.1f} MB for {whole.lines:,} lines: over the limit")
            small = fifth.peak_mb or 0.0
            say(f"peak memory {small:.1f} MB for {fifth.lines:,} lines, {peak:.1f} MB for {whole.lines:,}")
            figures |= {
                "lines_100k": whole.lines,
                "peak_mb_100k_lines": round(peak, 1),
                "peak_mb_fifth": round(fifth.peak_mb or 0.0, 1),
                "bulk_records_per_s_100k": round(whole.rate, 1),
            }
        finally:
            simulators.stop()
    print(json.dumps(figures))
    return 0


def _storage() -> str:
    import os  # noqa: PLC0415 - only main needs the environment

    value = os.environ.get("AzureWebJobsStorage")
    if not value:
        raise BenchError("run under devhost.azurite: AzureWebJobsStorage is not set")
    return value


if __name__ == "__main__":
    sys.exit(main())
