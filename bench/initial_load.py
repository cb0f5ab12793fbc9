"""Initial load of a seeded tenant: the bulk path beside one request per record, then an incremental poll,
then the request budget under scaled-down service protection.

Run: ``.venv/bin/python -m devhost.azurite -- .venv/bin/python -m bench.initial_load [options]``
(``--help`` lists them). Entra, Key Vault, Dataverse and IFS are served by a child process over loopback
HTTPS with a seeded IFS tenant (2,000 customers and 500 catalog numbers on three sites by default) and a
latency injected on every IFS and Dataverse request (30 ms). The connector is built by its own composition
root (``shared.runtime``), state in Azurite.

1. **Initial load, two ways, side by side**, each on a fresh Dataverse organization and fresh state: poll
   both entities, then work their queues. *Bulk*: the engine with its normal messages (hundreds of keys:
   IFS read in URL-sized ``or`` filters and ``$batch`` child reads, Dataverse written with UpsertMultiple
   and ``$batch`` at the function app's sizes unless ``--chunk-size``/``--batch-size`` say otherwise).
   *One request per record*: the same engine and flows, one key per engine call (so IFS reads one record
   per request) and the Dataverse bulk path off (``use_bulk=False, use_batch=False``: one PATCH per row).
   Both are driven by ``bench.concurrency`` from the ``x-ms-dop-hint`` the simulator announces
   (``--dop-hint``), at most ``--workers`` engine calls in flight, so the ratio measures batching, not
   parallelism. Service protection is off for both, so neither waits on ``Retry-After``; the table says
   how long Dataverse's own budget (6,000 requests per 5 minutes) would hold each path's requests.
   Records/s, Dataverse and IFS API requests per record (token calls left out, retries counted), 429s
   seen; peak Python memory from a second bulk load traced by tracemalloc (never on while timing).
2. **Incremental poll** over the bulk-loaded tenant after ``--changed`` (1 %) of the customers and catalog
   numbers changed in IFS: the requests the poll and the sync of what it enqueued made, and how many
   records were enqueued (only the changed ones).
3. **Service protection**, limits scaled by ``--protection-scale`` (requests and execution time per
   window; the window shortened to ``--protection-window`` seconds so the phase takes minutes), driven
   adaptively from the ``x-ms-dop-hint`` (a 429 halves the workers and pauses them for its
   ``Retry-After``; they grow while none come) for ``--protection-windows`` windows of the most
   request-hungry work there is (one request per record). The share of the request budget used (admitted
   Dataverse requests over the budget of the windows the phase lasted) and the share of requests
   throttled. The simulator charges its own CPU time as execution time, far below real Dataverse's per-row
   cost, so this tests the request budget only.

A figure is printed only for a run that did its work: every record written, none parked, and the
organization holding one account per customer and one product per catalog number. A table for people,
then, as the last line, one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import ssl
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from bench.concurrency import DOP_HINT_HEADER, AdaptiveConcurrency, ConcurrencyLog
from bench.queue_workers import Counts, Drained, QueueWorkers, Traffic
from devhost.scenario import add_currencies, settings_for
from shared.config import AppSettings, IfsSettings
from shared.dataverse.provisioning import Provisioner
from shared.runtime import RuntimeOptions, SyncRuntime, sync_runtime
from shared.sync.provision import provision_keys
from simulators.common.admin_client import AdminClient
from simulators.common.tls import loopback_certificate
from simulators.dataverse.protection import Limits
from simulators.ifs.tenant import TenantConfig
from simulators.stack import running_simulators

ENTITIES = ["customers", "sales_parts"]
COMMAND = ".venv/bin/python -m bench.initial_load"
SITES = ("MFG10", "UK30", "SE40")  # one per currency the scenario's org has besides USD: EUR, GBP, SEK
SINGLE = RuntimeOptions(use_bulk=False, use_batch=False)
DATAVERSE_LIMITS = Limits()  # the real service's: 6,000 requests per 300 s per user


class BenchError(SystemExit):
    """A run did not do what its figure would claim: no figure is printed."""


# ---- the simulators, in a child process --------------------------------------------------------------


def serve(connection: Connection, tenant: TenantConfig) -> None:
    """Child process: serve every simulator until the parent says stop."""
    with tempfile.TemporaryDirectory() as directory:
        tls = loopback_certificate(Path(directory))
        with running_simulators(tls, ifs_tenant=tenant, key_activation_seconds=0.05) as stack:
            connection.send(
                {"settings": stack.app_settings(), "ifs": stack.ifs_url, "dataverse": stack.dataverse_url}
            )
            connection.recv()  # stop


# ---- one phase's results ---------------------------------------------------------------------------------


@dataclass
class Load:
    """One measured initial load."""

    name: str
    records: int
    seconds: float
    dataverse: Counts
    ifs: Counts
    concurrency: ConcurrencyLog
    drained: Drained
    runtime: SyncRuntime = field(repr=False)
    traffic: Traffic = field(repr=False)
    peak_mb: float | None = None

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.records / self.seconds

    def per_record(self, counts: Counts) -> float:
        """Requests per record."""
        return counts.requests / self.records

    def row(self) -> str:
        """A table row."""
        memory = f"{self.peak_mb:>8.1f}" if self.peak_mb is not None else f"{'-':>8}"
        return (
            f"{self.name:<34} {self.records:>7} {self.seconds:>8.1f} {self.rate:>9.1f} "
            f"{self.per_record(self.dataverse):>9.4f} {self.per_record(self.ifs):>9.4f} "
            f"{self.dataverse.throttled + self.ifs.throttled:>5} {memory} "
            f"{self.concurrency.lowest}-{self.concurrency.highest}"
        )


LOAD_HEADER = (
    f"{'initial load':<34} {'records':>7} {'seconds':>8} {'records/s':>9} {'DV req/r':>9} {'IFS req/r':>9} "
    f"{'429s':>5} {'peak MB':>8} workers"
)


@dataclass
class Options:
    """The command line."""

    customers: int
    parts: int
    orders: int
    latency_ms: int
    workers: int
    dop_hint: int
    changed: float
    protection_scale: float
    protection_window: int
    protection_windows: int
    protection_max_workers: int
    chunk_size: int
    batch_size: int

    @property
    def bulk(self) -> RuntimeOptions:
        """The bulk path's runtime options."""
        return RuntimeOptions(upsert_chunk_size=self.chunk_size, upsert_batch_size=self.batch_size)


class Bench:
    """The phases, against the simulators the child serves and the Azurite account in the environment."""

    def __init__(self, options: Options, simulators: dict[str, Any], storage: str) -> None:
        self.options = options
        self.simulators = simulators
        self.storage = storage
        self.verify = ssl.create_default_context(cafile=simulators["settings"]["TLS_CA_BUNDLE"])
        self.dataverse_admin = self._admin(simulators["dataverse"])
        self.ifs_admin = self._admin(simulators["ifs"])

    def _admin(self, url: str) -> AdminClient:
        return AdminClient(httpx.Client(base_url=url, verify=self.verify, timeout=60, trust_env=False))

    @property
    def records(self) -> int:
        """Records of one initial load: customers and catalog numbers."""
        return self.options.customers + self.options.parts

    # ---- set-up ----------------------------------------------------------------------------------------

    def fresh_org(self) -> None:
        """A new, empty Dataverse organization without service protection, with the dop hint and latency."""
        self.dataverse_admin.reset()
        self.dataverse_admin.action("set_limits", {"off": True})
        self.dataverse_admin.action("set_dop_hint", {"value": self.options.dop_hint})
        latency = {"script": [], "rates": {"latency": 1.0}, "latency_ms": self.options.latency_ms}
        self.dataverse_admin.set_faults(latency)
        self.ifs_admin.set_faults(latency)

    def runtime(self, options: RuntimeOptions) -> tuple[SyncRuntime, Traffic]:
        """The connector's runtime on fresh state (a new table prefix and queues), counting its traffic."""
        prefix = f"bench{uuid.uuid4().hex[:10]}"
        values = settings_for(
            self.simulators["settings"], self.storage, prefix, SALES_PARTS_SITES=",".join(SITES)
        )
        settings = AppSettings(values)
        api_roots = {"ifs": settings.get(IfsSettings).api_root}
        traffic = Traffic(api_roots | {"dataverse": ""})
        runtime = sync_runtime(settings, replace(options, on_response=traffic))
        traffic.set_root("dataverse", runtime.dataverse.service_root)
        return runtime, traffic

    def set_up(self, runtime: SyncRuntime) -> None:
        """What an administrator does before the first run: the org's currencies and the alternate keys."""
        dataverse = runtime.dataverse
        add_currencies(dataverse)
        mappings = [runtime.engine.mapping(e) for e in runtime.engine.entities]
        provision_keys(mappings, Provisioner(dataverse), poll=0.05)
        dataverse.who_am_i()  # the token, and the x-ms-dop-hint the controller starts from

    def controller(self, traffic: Traffic, maximum: int) -> AdaptiveConcurrency:
        """A controller starting at the dop hint Dataverse last announced, watching the traffic's 429s."""
        headers = {DOP_HINT_HEADER: traffic.dop_hint} if traffic.dop_hint else {}
        controller = AdaptiveConcurrency.from_hint(headers, maximum=maximum)
        traffic.controller = controller
        return controller

    # ---- phase 1: initial loads ------------------------------------------------------------------------

    def initial_load(self, name: str, options: RuntimeOptions, *, per_key: bool) -> Load:
        """Poll both entities and work their queues on a fresh org and fresh state; checked, then returned."""
        self.fresh_org()
        runtime, traffic = self.runtime(options)
        self.set_up(runtime)
        controller = self.controller(traffic, self.options.workers)
        before = traffic.snapshot()
        start = time.perf_counter()
        polls = [runtime.poll(entity) for entity in ENTITIES]
        drained = QueueWorkers(
            runtime, ENTITIES, controller, per_key=per_key, threads=self.options.workers
        ).run()
        seconds = time.perf_counter() - start
        after = traffic.snapshot()
        traffic.controller = None
        scanned = sum(p.scanned for p in polls)
        if scanned != self.records:
            raise BenchError(f"{name}: the polls found {scanned} records, the tenant has {self.records}")
        self.check(name, runtime, drained)
        return Load(
            name,
            self.records,
            seconds,
            after["dataverse"].minus(before["dataverse"]),
            after["ifs"].minus(before["ifs"]),
            controller.log,
            drained,
            runtime,
            traffic,
        )

    def check(self, name: str, runtime: SyncRuntime, drained: Drained) -> None:
        """Every record written once, none parked; one account per customer, one product per part."""
        expected = {"customers": self.options.customers, "sales_parts": self.options.parts}
        for entity, count in expected.items():
            report = drained.report(entity)
            if report.written != count or report.outcomes.get("parked"):
                raise BenchError(
                    f"{name}: {entity} outcomes {dict(report.outcomes)}, expected {count} written"
                )
        dataverse = runtime.dataverse
        accounts = sum(
            1 for _ in dataverse.query("accounts", select=["accountid"], filter="accountnumber ne null")
        )
        products = sum(1 for _ in dataverse.query("products", select=["productid"]))
        if (accounts, products) != (self.options.customers, self.options.parts):
            raise BenchError(f"{name}: Dataverse holds {accounts} accounts and {products} products")

    def traced_load(self, name: str, options: RuntimeOptions, *, per_key: bool) -> float:
        """Peak Python memory (MB) of the same load on a fresh org and state, traced by tracemalloc."""
        tracemalloc.start()
        try:
            self.initial_load(name, options, per_key=per_key)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return peak / 2**20

    # ---- phase 2: incremental ----------------------------------------------------------------------------

    def incremental(self, load: Load) -> dict[str, Any]:
        """Change a share of the loaded tenant in IFS, poll, sync what was enqueued; requests and counts."""
        runtime, traffic = load.runtime, load.traffic
        changed: dict[str, list[str]] = {}
        for entity in ENTITIES:
            keys = sorted(key for key, _ in runtime.sources[entity].scan())
            step = max(1, round(1 / self.options.changed))
            changed[entity] = keys[::step]
        for customer in changed["customers"]:
            self.ifs_admin.action(
                "touch",
                {
                    "entity_set": "CustomerInfoSet",
                    "key": {"CustomerId": customer},
                    "changes": {"Name": f"CHANGED {customer}"},
                },
            )
        parts = runtime.sources["sales_parts"].read(changed["sales_parts"])
        for catalog_no, aggregate in parts.items():
            for row in aggregate["part"]:
                self.ifs_admin.action(
                    "touch",
                    {
                        "entity_set": "SalesPartSet",
                        "key": {"Contract": row["Contract"], "CatalogNo": catalog_no},
                        "changes": {"CatalogDesc": f"{row['CatalogDesc']} (changed)"},
                    },
                )
        controller = self.controller(traffic, self.options.workers)
        before = traffic.snapshot()
        polls = [runtime.poll(entity) for entity in ENTITIES]
        polled = traffic.snapshot()
        drained = QueueWorkers(runtime, ENTITIES, controller, threads=self.options.workers).run()
        after = traffic.snapshot()
        traffic.controller = None
        enqueued = sum(p.changed + p.left_scope for p in polls)
        expected = sum(len(keys) for keys in changed.values())
        written = sum(drained.report(e).written for e in ENTITIES)
        if enqueued != expected or written != expected:
            raise BenchError(f"incremental: {expected} changed, {enqueued} enqueued, {written} written")
        poll = {s: polled[s].minus(before[s]).requests for s in ("ifs", "dataverse")}
        sync = {s: after[s].minus(polled[s]).requests for s in ("ifs", "dataverse")}
        return {
            "changed": expected,
            "scanned": sum(p.scanned for p in polls),
            "enqueued": enqueued,
            "written": written,
            "poll_ifs": poll["ifs"],
            "poll_dataverse": poll["dataverse"],
            "sync_ifs": sync["ifs"],
            "sync_dataverse": sync["dataverse"],
            "requests": sum(poll.values()) + sum(sync.values()),
        }

    # ---- phase 3: service protection ---------------------------------------------------------------------

    def protection(self) -> dict[str, Any]:
        """One request per record under scaled limits, driven adaptively; budget used and share throttled."""
        options = self.options
        self.fresh_org()
        runtime, traffic = self.runtime(SINGLE)
        self.set_up(runtime)
        limits = Limits().scaled(options.protection_scale)
        budget, window = limits.requests, options.protection_window
        # New limits start with empty windows: the set-up's requests are not charged to the phase.
        self.dataverse_admin.action(
            "set_limits",
            {"requests": budget, "execution_ms": limits.execution_ms, "window_seconds": window},
        )
        controller = self.controller(traffic, options.protection_max_workers)
        for entity in ENTITIES:
            runtime.poll(entity)  # IFS only: no Dataverse request yet
        taken: dict[str, dict[str, Counts]] = {}
        before = traffic.snapshot()
        end = time.monotonic() + window * options.protection_windows

        def stop() -> bool:
            if time.monotonic() < end:
                return False
            taken.setdefault("at_end", traffic.snapshot())
            return True

        QueueWorkers(runtime, ENTITIES, controller, per_key=True, threads=options.protection_max_workers).run(
            stop=stop, timeout=window * (options.protection_windows + 3)
        )
        traffic.controller = None
        stopped = taken.get("at_end") or traffic.snapshot()
        sent = stopped["dataverse"].minus(before["dataverse"])
        admitted = sent.requests - sent.throttled
        ceiling = budget * options.protection_windows
        refused = self.dataverse_admin.action("protection")["refusals"]
        return {
            "scale": options.protection_scale,
            "budget": budget,
            "window": window,
            "windows": options.protection_windows,
            "requests": sent.requests,
            "admitted": admitted,
            "throttled": sent.throttled,
            "refused_by_simulator": refused,
            "ceiling_share": admitted / ceiling,
            "throttled_share": sent.throttled / sent.requests if sent.requests else 0.0,
            "concurrency": controller.log,
        }


# ---- the run ------------------------------------------------------------------------------------------


def parse(argv: list[str] | None) -> Options:
    """The command line's options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--parts", type=int, default=500, help="catalog numbers, each on 1-3 of the 3 sites")
    parser.add_argument("--orders", type=int, default=200, help="orders in the tenant (not synced here)")
    parser.add_argument("--latency-ms", type=int, default=30, help="added to every IFS and Dataverse request")
    parser.add_argument("--workers", type=int, default=8, help="most engine calls in flight, either path")
    parser.add_argument("--dop-hint", type=int, default=8, help="x-ms-dop-hint the Dataverse simulator sends")
    parser.add_argument("--changed", type=float, default=0.01, help="share of records changed (incremental)")
    parser.add_argument("--protection-scale", type=float, default=0.01)
    parser.add_argument("--protection-window", type=int, default=60, help="seconds (Dataverse: 300)")
    parser.add_argument("--protection-windows", type=int, default=3, help="windows the phase runs for")
    parser.add_argument("--protection-max-workers", type=int, default=32)
    defaults = RuntimeOptions()
    parser.add_argument(
        "--chunk-size", type=int, default=defaults.upsert_chunk_size, help="rows per UpsertMultiple (bulk)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=defaults.upsert_batch_size, help="requests per $batch (bulk)"
    )
    args = parser.parse_args(argv)
    return Options(
        customers=args.customers,
        parts=args.parts,
        orders=args.orders,
        latency_ms=args.latency_ms,
        workers=args.workers,
        dop_hint=args.dop_hint,
        changed=args.changed,
        protection_scale=args.protection_scale,
        protection_window=args.protection_window,
        protection_windows=args.protection_windows,
        protection_max_workers=args.protection_max_workers,
        chunk_size=args.chunk_size,
        batch_size=args.batch_size,
    )


def with_simulators(options: Options, run: Callable[[dict[str, Any]], None]) -> None:
    """Start the simulators in a child process, call ``run`` with what they serve, stop them."""
    tenant = TenantConfig(
        seed=1,
        size=options.orders,
        customers=options.customers,
        sales_parts=options.parts,
        part_sites=SITES,
        captures=None,
    )
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=serve, args=(child, tenant), daemon=True)
    process.start()
    try:
        if not parent.poll(120):
            raise RuntimeError("the simulators did not start within 120 s (see the child's traceback above)")
        run(parent.recv())
    finally:
        parent.send("stop")
        process.join(timeout=30)


def main(argv: list[str] | None = None) -> None:
    """Run every phase, print the table and the JSON line."""
    options = parse(argv)
    storage = os.environ.get("AZURITE_CONNECTION_STRING")
    if not storage:
        raise SystemExit(f"run under Azurite: .venv/bin/python -m devhost.azurite -- {COMMAND}")

    def run(simulators: dict[str, Any]) -> None:
        bench = Bench(options, simulators, storage)
        bulk = bench.initial_load("bulk (UpsertMultiple, $batch)", options.bulk, per_key=False)
        incremental = bench.incremental(bulk)
        single = bench.initial_load("one request per record", SINGLE, per_key=True)
        bulk.peak_mb = bench.traced_load("bulk, traced", options.bulk, per_key=False)
        protection = bench.protection()
        report(options, bulk, single, incremental, protection)

    with_simulators(options, run)


def budget_minutes(requests: int) -> float:
    """Minutes Dataverse's own request budget (6,000 per 5 minutes per user) needs for ``requests``."""
    windows = requests / DATAVERSE_LIMITS.requests
    return windows * DATAVERSE_LIMITS.window_seconds / 60


def report(
    options: Options, bulk: Load, single: Load, incremental: dict[str, Any], protection: dict[str, Any]
) -> None:
    """The table, then the JSON line."""
    print(
        f"{options.customers} customers and {options.parts} catalog numbers on {len(SITES)} sites; "
        f"{options.latency_ms} ms on every IFS and Dataverse request; at most {options.workers} engine "
        f"calls in flight, from x-ms-dop-hint {options.dop_hint}; service protection off; bulk writes "
        f"{options.chunk_size} rows per UpsertMultiple, {options.batch_size} per $batch"
    )
    print(LOAD_HEADER)
    print(bulk.row())
    print(single.row())
    print(f"speedup (bulk / one request per record): {bulk.rate / single.rate:.1f}x")
    for load in (bulk, single):
        print(
            f"  {load.name}: {load.dataverse.requests} Dataverse requests, "
            f"{budget_minutes(load.dataverse.requests):.2f} min of Dataverse's 6,000-per-5-min budget"
        )
    inc = incremental
    print(
        f"incremental, {inc['changed']} of {inc['scanned']} records changed in IFS: {inc['enqueued']} "
        f"enqueued, {inc['written']} written; the poll {inc['poll_ifs']} IFS + {inc['poll_dataverse']} "
        f"Dataverse requests, the sync {inc['sync_ifs']} IFS + {inc['sync_dataverse']} Dataverse requests"
    )
    pro = protection
    log: ConcurrencyLog = pro["concurrency"]
    print(
        f"service protection x{pro['scale']} ({pro['budget']} requests per {pro['window']} s window), "
        f"{pro['windows']} windows of one request per record: {pro['admitted']} admitted of a "
        f"{pro['budget'] * pro['windows']} budget ({pro['ceiling_share']:.1%}), {pro['throttled']} of "
        f"{pro['requests']} throttled ({pro['throttled_share']:.2%}; one 429 per window is "
        f"{1 / (pro['budget'] + 1):.2%}); workers {log.lowest}-{log.highest}, {log.decreases} decreases, "
        f"{log.increases} increases, {log.paused_seconds:.0f} s paused"
    )
    figures = {
        "records": bulk.records,
        "bulk_records_per_s": round(bulk.rate, 1),
        "single_records_per_s": round(single.rate, 1),
        "speedup": round(bulk.rate / single.rate, 1),
        "dataverse_requests_per_record": round(bulk.per_record(bulk.dataverse), 4),
        "ifs_requests_per_record": round(bulk.per_record(bulk.ifs), 4),
        "single_dataverse_requests_per_record": round(single.per_record(single.dataverse), 4),
        "single_ifs_requests_per_record": round(single.per_record(single.ifs), 4),
        "bulk_429s": bulk.dataverse.throttled + bulk.ifs.throttled,
        "single_429s": single.dataverse.throttled + single.ifs.throttled,
        "peak_mb": round(bulk.peak_mb or 0.0, 1),
        "incremental_requests": inc["requests"],
        "incremental_enqueued": inc["enqueued"],
        "incremental_changed": inc["changed"],
        "ceiling_share": round(pro["ceiling_share"], 3),
        "throttled_share": round(pro["throttled_share"], 4),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1:])
