"""``make demo``: the function app running locally against Azurite, showing each trigger at work.

Runs under ``python -m devhost.azurite`` (which provides the storage). No credentials needed: every
setting comes from local.settings.sample.json, with this run's storage and a one-second heartbeat.
"""

from __future__ import annotations

import json
import logging
import os
import sys

import httpx

from devhost.host import REPO_ROOT, LocalHost
from shared.config import AppSettings, read_local_settings
from shared.state.audit import AuditTrail
from shared.state.tables import StateTables

RUN_SECONDS = 4.5


def demo_settings() -> dict[str, str]:
    """The sample settings, pointed at this run's Azurite, with a heartbeat every second."""
    settings = read_local_settings(REPO_ROOT / "local.settings.sample.json")
    settings["AzureWebJobsStorage"] = os.environ["AzureWebJobsStorage"]
    settings["STATE_TABLE_PREFIX"] = "demo"
    settings["HEARTBEAT_SCHEDULE"] = "* * * * * *"
    return settings


def main() -> int:
    """Run the demo; exit status 0 when every step did what it should."""
    logging.basicConfig(level=logging.WARNING)
    settings = demo_settings()
    host = LocalHost(settings=settings).start(background=True)
    try:
        print(f"devhost serving {len(host.functions)} functions: {', '.join(sorted(host.functions))}")
        health = httpx.get(f"{host.url}/api/health", timeout=10).json()
        print(f"GET /api/health -> {json.dumps(health)}")
        print(f"running for {RUN_SECONDS} s with HEARTBEAT_SCHEDULE='{settings['HEARTBEAT_SCHEDULE']}'...")
        host.run_for(RUN_SECONDS)
    finally:
        host.stop()
    beats = host.timers["heartbeat"].stats
    echo = host.queues["heartbeat_echo"].stats
    print(f"heartbeat fired {beats.fired}x ({beats.failed} failed)")
    print(f"echo worker: {echo.succeeded} ok, {echo.failed} failed")
    audit = AuditTrail(StateTables.from_connection_string(settings["AzureWebJobsStorage"], "demo"))
    entries = [e for e in audit.recent() if e.outcome == "echoed"]
    for entry in reversed(entries):
        print(f"  audit: {entry.direction} {entry.outcome} after {entry.latency_ms} ms in the queue")
    problems = AppSettings(settings).problems()
    ok = health["status"] == "ok" and beats.failed == 0 and len(entries) >= 2 and not problems
    print("demo: ok" if ok else f"demo: FAILED (problems: {problems})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
