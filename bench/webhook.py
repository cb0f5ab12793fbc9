"""The Dataverse webhook: acknowledgement latency, and the time from a converted quote to the IFS order.

Run: ``.venv/bin/python -m devhost.azurite -- .venv/bin/python -m bench.webhook [CALLS] [AT_ONCE] [QUOTES]``
(2,000 deliveries, 20 at once, 5 quotes by default; Azurite in memory, everything on loopback).

1. **Acknowledgement latency.** ``function_app.py`` under devhost, in a process of its own; CALLS webhook
   calls (each a new event: an asynchronous Create of a salesorder converted from a quote, as the Dataverse
   simulator encodes it), AT_ONCE at a time, over HTTP. Each is authenticated, parsed, checked against the
   dedupe marks, queued and marked in Azurite, and answered 202. The figure measures our handler, devhost
   (uvicorn, a thread per call) and Azurite, all on this machine's cores, not Azure's front end. Baselines
   in the same run: ``GET /api/health`` (the same HTTP path, no storage), the same deliveries again
   (recognised as duplicates: one read), and a fifth as many new events one at a time (no queueing for
   the CPU).
2. **Quote to IFS order.** The simulators, master data synced, provisioning; devhost running in the
   background as the Functions host would (queues polled with back-off, capped at 2 s locally). For each of
   QUOTES quotes: ``ConvertQuoteToSalesOrder`` is called, and the clock stops when the IFS simulator holds
   the order with all its lines.

Prints a table, then as the last line one JSON object: ``ack_p50_ms``, ``ack_p99_ms``, ``quote_to_ifs_s``.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from devhost.d365_scenario import WEBHOOK_SECRET, D365Scenario, Line, d365_settings
from devhost.host import REPO_ROOT, LocalHost
from shared.config import read_local_settings
from shared.dataverse.webhook import EntityReference, OptionSetValue
from shared.dataverse.webhook.values import Entity
from shared.records import Subscription
from shared.state.subscriptions import SubscriptionRepository
from shared.state.tables import StateTables
from simulators.common.tls import loopback_certificate
from simulators.dataverse.remote_context import new_context, webhook_delivery
from simulators.stack import running_simulators

ORGANIZATION = uuid.UUID("4ef5b371-e89e-e711-8122-000d3aa2331c")
WEBHOOK = "/api/webhooks/dataverse"


class BenchError(SystemExit):
    """A run did not do its work: no figure is printed for it."""


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def deliveries(count: int) -> list[tuple[bytes, dict[str, str]]]:
    """``count`` distinct webhook calls: Create of a salesorder converted from a quote."""
    calls = []
    for _ in range(count):
        order = uuid.uuid4()
        target = Entity(
            "salesorder",
            order,
            attributes={"quoteid": EntityReference("quote", uuid.uuid4()), "statecode": OptionSetValue(0)},
        )
        context = new_context(
            message_name="Create",
            primary_entity_name="salesorder",
            primary_entity_id=order,
            target=target,
            organization_id=ORGANIZATION,
        )
        delivery = webhook_delivery(context, organization="org.crm4.dynamics.com")
        headers = dict(delivery.headers) | {"x-connector-webhook-secret": WEBHOOK_SECRET}
        calls.append((delivery.body, headers))
    return calls


def timed(call: Callable[[], int], count: int, concurrency: int) -> tuple[list[float], list[int]]:
    """Run ``call`` ``count`` times, ``concurrency`` at once: latencies (ms) and statuses."""
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def one(_: int) -> None:
        started = time.perf_counter()
        status = call()
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            latencies.append(elapsed)
            statuses.append(status)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(count)))
    return latencies, statuses


@contextlib.contextmanager
def served(values: dict[str, str]) -> Iterator[str]:
    """``function_app.py`` under devhost in a process of its own (HTTP only), so the load this bench makes
    does not share its interpreter; the base URL."""
    environment = os.environ | values
    command = [sys.executable, "-m", "bench.webhook", "--serve"]
    with subprocess.Popen(  # noqa: S603 - this interpreter, this module, fixed arguments
        command, env=environment, stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True
    ) as server:
        try:
            assert server.stdout is not None
            line = server.stdout.readline().strip()
            if not line.startswith("http://"):
                raise BenchError(f"devhost did not start: {line!r}")
            yield line
        finally:
            server.terminate()
            server.wait(timeout=30)


def serve() -> None:
    """The server side of ``served``: HTTP only (no timers, no queue pollers), until stdin closes."""
    with LocalHost(settings=dict(os.environ)) as host:
        print(host.url, flush=True)
        sys.stdin.read()


def acknowledgements(storage: str, count: int, concurrency: int) -> dict[str, list[float]]:
    """Latencies of the health baseline, new events and repeated events, through devhost."""
    prefix = "bh" + uuid.uuid4().hex[:8]
    values = webhook_settings(storage, prefix)
    tables = StateTables.from_connection_string(storage, prefix)
    SubscriptionRepository(tables).save(
        Subscription(
            "ifs-connector", "https://bench", "se", {}, None, str(ORGANIZATION), str(uuid.uuid4()), "fp"
        )
    )
    alone = max(1, count // 5)
    calls = deliveries(count + alone)
    results: dict[str, list[float]] = {}
    with served(values) as url, httpx.Client(base_url=url, timeout=60, trust_env=False) as http:
        http.get("/api/health")  # warm: the app's first call builds its clients
        next_call = iter(range(count))
        lock = threading.Lock()

        def health() -> int:
            return http.get("/api/health").status_code

        def post() -> int:
            with lock:
                body, headers = calls[next(next_call)]
            return http.post(WEBHOOK, content=body, headers=headers).status_code

        results["baseline: GET /api/health"], statuses = timed(health, count, concurrency)
        _expect(statuses, 200, "health")
        results["webhook: new events (queued)"], statuses = timed(post, count, concurrency)
        _expect(statuses, 202, "new events")
        next_call = iter(range(count))
        results["webhook: the same events again (duplicates)"], statuses = timed(post, count, concurrency)
        _expect(statuses, 200, "duplicates")
        next_call = iter(range(count, count + alone))
        results["webhook: new events, one at a time"], statuses = timed(post, alone, 1)
        _expect(statuses, 202, "new events one at a time")
    return results


def webhook_settings(storage: str, prefix: str) -> dict[str, str]:
    """The sample settings on this storage (the webhook needs nothing else), timers quiet."""
    values = read_local_settings(REPO_ROOT / "local.settings.sample.json")
    never = "0 0 0 1 1 *"
    return values | {
        "AzureWebJobsStorage": storage,
        "STATE_TABLE_PREFIX": prefix,
        "D365_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "D365_ORDERS_QUEUE": f"{prefix}-orders",
        "D365_OPPORTUNITIES_QUEUE": f"{prefix}-opps",
        "ECHO_QUEUE": f"{prefix}-echo",
        "SYNC_CUSTOMERS_QUEUE": f"{prefix}-customers",
        "SYNC_SALES_PARTS_QUEUE": f"{prefix}-parts",
        **dict.fromkeys(
            (
                "HEARTBEAT_SCHEDULE",
                "SYNC_CUSTOMERS_SCHEDULE",
                "SYNC_SALES_PARTS_SCHEDULE",
                "D365_RECONCILE_SCHEDULE",
                "D365_OPPORTUNITIES_SCHEDULE",
            ),
            never,
        ),
    }


def _expect(statuses: list[int], wanted: int, what: str) -> None:
    wrong = [s for s in statuses if s != wanted]
    if wrong:
        raise BenchError(f"{what}: {len(wrong)} answers were not {wanted} (e.g. {wrong[0]}); no figures")


def quote_to_ifs(storage: str, quotes: int) -> list[float]:
    """Seconds from ConvertQuoteToSalesOrder to the IFS order with all its lines, per quote."""
    seconds: list[float] = []
    with (
        tempfile.TemporaryDirectory() as tls,
        running_simulators(loopback_certificate(Path(tls)), ifs_size=40) as stack,
    ):
        scenario = D365Scenario(stack, d365_settings(stack, storage, "bq" + uuid.uuid4().hex[:8]))
        scenario.prepare()
        host = LocalHost(settings=scenario.values).start(background=True)  # timers, queues: as in Azure
        try:
            scenario.provision_d365(f"{host.url}{WEBHOOK}")
            sam = scenario.salesperson()
            parts = scenario.catalog(count=3)
            account = scenario.account()
            for n in range(quotes):
                quote = sam.quote(account, [Line(p, 1 + i, 10.0 + n) for i, p in enumerate(parts)])
                started = time.perf_counter()
                order = sam.convert(quote)
                deadline = started + 60
                while time.perf_counter() < deadline:
                    found = scenario.ifs_orders(order["ordernumber"])
                    if found and len(found[0]["lines"]) == len(parts):
                        break
                    time.sleep(0.02)
                else:
                    raise BenchError(f"quote {n}: no IFS order within 60 s; no figures")
                seconds.append(time.perf_counter() - started)
        finally:
            host.stop()
    return seconds


def main(count: int, concurrency: int, quotes: int) -> None:
    """Run both parts and print the table and the JSON line."""
    storage = os.environ["AzureWebJobsStorage"]
    acks = acknowledgements(storage, count, concurrency)
    journeys = quote_to_ifs(storage, quotes)
    print(f"{'case':<46} {'calls':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, latencies in acks.items():
        print(
            f"{name:<46} {len(latencies):>6} {percentile(latencies, 0.5):>8.1f} "
            f"{percentile(latencies, 0.99):>8.1f} {max(latencies):>8.1f}"
        )
    print(f"(acknowledgements: {concurrency} at once, loopback: our handler, devhost and Azurite)")
    print(
        f"quote converted -> IFS order with its lines: median {statistics.median(journeys):.2f} s, "
        f"max {max(journeys):.2f} s over {len(journeys)} quotes (devhost polls idle queues every 2 s at most)"
    )
    new = acks["webhook: new events (queued)"]
    print(
        json.dumps(
            {
                "ack_p50_ms": round(percentile(new, 0.5), 1),
                "ack_p99_ms": round(percentile(new, 0.99), 1),
                "quote_to_ifs_s": round(statistics.median(journeys), 2),
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
        sys.exit(0)
    arguments = [int(a) for a in sys.argv[1:4]]
    defaults = [2000, 20, 5]
    main(*(arguments + defaults[len(arguments) :]))
