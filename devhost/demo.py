"""``make demo``: a business day of a mid-sized manufacturer, through the function app running locally.

Runs under ``python -m devhost.azurite`` (which provides the storage). No credentials needed: every
setting comes from local.settings.sample.json, pointed at this run's storage and the simulators.

The function app's heartbeat; the adapters beneath (on a small tenant of their own); then the story: the
IFS tenant loaded into Dynamics, the day's changes in IFS through the timers and queue workers (a new
customer, a credit limit, the new customer's first order and a line change), a quote converted in Dynamics
landing in IFS and fulfilled, and at the end of the day ``status`` and ``reconcile`` of every entity. The
demo exits 1 unless every step did what it should and both systems end in step (nothing missing or
different, nothing pending, parked or poisoned).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from devhost import demo_adapters, demo_d365, demo_day_end, demo_sync
from devhost.d365_scenario import D365Scenario, d365_settings
from devhost.host import REPO_ROOT, LocalHost
from devhost.scenario import NEVER, SyncScenario, scenario_settings
from shared.config import AppSettings, read_local_settings
from shared.state.audit import AuditTrail
from shared.state.tables import StateTables
from simulators.common.tls import loopback_certificate
from simulators.stack import running_simulators

HEARTBEATS = 2  # the function-app part ends once this many heartbeats have travelled to the audit trail
TIMEOUT_SECONDS = 30.0
SIZE = 800  # the IFS tenant: about 800 customer orders, 100 customers, 200 sales parts, 260 quotations
ADAPTERS_SIZE = 40  # the adapters' own small tenant


def demo_settings(storage: str) -> dict[str, str]:
    """The sample settings, pointed at ``storage``, with a heartbeat every second."""
    settings = read_local_settings(REPO_ROOT / "local.settings.sample.json")
    settings["AzureWebJobsStorage"] = storage
    settings["STATE_TABLE_PREFIX"] = "demo"
    settings["HEARTBEAT_SCHEDULE"] = "* * * * * *"
    # This part shows the heartbeat only; the sync's timers would poll the sample's (unreal) IFS tenant.
    for entity in ("CUSTOMERS", "SALES_PARTS", "ORDERS", "QUOTATIONS"):
        settings[f"SYNC_{entity}_SCHEDULE"] = NEVER
    settings["D365_RECONCILE_SCHEDULE"] = settings["D365_OPPORTUNITIES_SCHEDULE"] = NEVER
    return settings


def say(text: str) -> None:
    """Print one line of the demo's narration."""
    print(text, flush=True)


def main() -> int:
    """Run the demo; exit status 0 when every step did what it should."""
    logging.basicConfig(level=logging.WARNING)
    print("== 1. function_app.py under devhost, against Azurite ==")
    storage = os.environ["AzureWebJobsStorage"]
    steps: dict[str, bool] = {}
    steps["function app"] = run_function_app(demo_settings(storage), say)
    with tempfile.TemporaryDirectory() as tls_dir:
        tls = loopback_certificate(Path(tls_dir))
        with running_simulators(tls, ifs_size=ADAPTERS_SIZE) as stack:
            print("== 2. the adapters beneath: tokens from the vault, bulk upsert by key ==")
            adapters = {"AzureWebJobsStorage": storage, "STATE_TABLE_PREFIX": "demoadapters"}
            steps["adapters"] = demo_adapters.run(stack, adapters, say)
        with running_simulators(tls, ifs_size=SIZE) as stack:
            print("== 3. a mid-sized manufacturer's IFS tenant: set-up and first load into Dynamics ==")
            scenario = SyncScenario(stack, scenario_settings(stack, storage, "demosync"))
            demo_sync.describe_tenant(scenario, say)
            steps["first load"] = demo_sync.load(scenario, say)
            print("== 4. the day in IFS, through the function app's timers and queue workers ==")
            steps["the day in IFS"] = demo_sync.day(scenario, say)
            print("== 5. Dynamics -> IFS: a quote won in Dynamics becomes an IFS order, fulfilled ==")
            d365 = D365Scenario(stack, d365_settings(stack, storage, "demosync"))
            steps["Dynamics -> IFS"] = demo_d365.run(d365, say)
            print("== 6. end of the day: the last polls, status and reconcile ==")
            steps["end of the day"] = demo_day_end.run(scenario.values, say)
    failed = [name for name, ok in steps.items() if not ok]
    print(f"demo: FAILED ({', '.join(failed)})" if failed else "demo: ok")
    return 1 if failed else 0


def run_function_app(settings: dict[str, str], say: Callable[[str], None]) -> bool:
    """Run the function app in the background until the heartbeat has reached the audit trail twice."""
    host = LocalHost(settings=settings).start(background=True)
    try:
        say(f"devhost serving {len(host.functions)} functions: {', '.join(sorted(host.functions))}")
        health = httpx.get(f"{host.url}/api/health", timeout=10).json()
        say(f"GET /api/health -> {json.dumps(health)}")
        schedule = settings["HEARTBEAT_SCHEDULE"]
        say(f"running with HEARTBEAT_SCHEDULE='{schedule}' until {HEARTBEATS} heartbeats have been echoed...")
        echo = host.queues["heartbeat_echo"].stats
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while echo.succeeded + echo.failed < HEARTBEATS and time.monotonic() < deadline:
            host.run_for(0.1)
    finally:
        host.stop()
    beats = host.timers["heartbeat"].stats
    say(f"heartbeat fired {beats.fired}x ({beats.failed} failed)")
    say(f"echo worker: {echo.succeeded} ok, {echo.failed} failed")
    audit = AuditTrail(
        StateTables.from_connection_string(settings["AzureWebJobsStorage"], settings["STATE_TABLE_PREFIX"])
    )
    # Two days: a run that crosses midnight UTC has echoes in both days' partitions.
    entries = [e for e in audit.recent(days=2) if e.outcome == "echoed"]
    for entry in reversed(entries):
        say(f"  audit: {entry.direction} {entry.outcome} after {entry.latency_ms} ms in the queue")
    problems = AppSettings(settings).problems()
    if problems:
        say(f"configuration problems: {problems}")
    return (
        health["status"] == "ok"
        and beats.failed == 0
        and echo.failed == 0
        and len(entries) >= HEARTBEATS
        and not problems
    )


if __name__ == "__main__":
    sys.exit(main())
