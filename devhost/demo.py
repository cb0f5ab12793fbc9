"""``make demo``: the function app running locally against Azurite, showing each trigger at work.

Runs under ``python -m devhost.azurite`` (which provides the storage). No credentials needed: every
setting comes from local.settings.sample.json, with this run's storage and a one-second heartbeat.
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

from devhost import demo_adapters, demo_d365, demo_sync
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
SIZE = 800  # the IFS simulator's tenant: about 200 customers and 100 sales parts


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
    host_ok = run_function_app(demo_settings(os.environ["AzureWebJobsStorage"]), say)
    with (
        tempfile.TemporaryDirectory() as tls_dir,
        running_simulators(loopback_certificate(Path(tls_dir)), ifs_size=SIZE) as stack,
    ):
        print("== 2. IFS -> Dynamics: set-up, initial load, changes through the function app ==")
        values = scenario_settings(stack, os.environ["AzureWebJobsStorage"], "demosync")
        sync_ok = demo_sync.run(SyncScenario(stack, values), say)
        print("== 3. Dynamics -> IFS: a quote won in Dynamics becomes an IFS order, fulfilled ==")
        d365 = D365Scenario(stack, d365_settings(stack, os.environ["AzureWebJobsStorage"], "demosync"))
        d365_ok = demo_d365.run(d365, say)
        print("== 4. the adapters beneath: tokens from the vault, bulk upsert by key ==")
        storage = {
            "AzureWebJobsStorage": os.environ["AzureWebJobsStorage"],
            "STATE_TABLE_PREFIX": "demoadapters",
        }
        adapters_ok = demo_adapters.run(stack, storage, say)
    ok = host_ok and sync_ok and d365_ok and adapters_ok
    print("demo: ok" if ok else "demo: FAILED")
    return 0 if ok else 1


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
