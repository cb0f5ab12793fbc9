"""The demo's sync part: IFS customers and sales parts into Dynamics, loaded, changed, compared.

Against the simulators and Azurite, with the connector's own command line and function app: the
administrator's set-up (the org's currencies; ``provision`` for the alternate keys), the initial load with
``sync --once`` (progress and rate per entity), then a change made in IFS flowing through the function
app's timer and queue worker under devhost, and a table of IFS count against Dataverse count per entity.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from devhost.host import LocalHost
from devhost.scenario import SyncScenario
from shared.cli.app import main as cli

Say = Callable[[str], None]


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _cli(say: Say, *argv: str) -> tuple[int, Any]:
    """Run ``python -m shared.cli`` with --json here; narrate the command, return its document."""
    say(f"$ python -m shared.cli {' '.join(argv)}")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli([*argv, "--json"])
    return code, json.loads(out.getvalue() or "{}")


def _ifs_rows(scenario: SyncScenario, entity_set: str) -> list[dict[str, Any]]:
    state = next(s for s in scenario.stack.ifs.tenant.sets.values() if s.model.name == entity_set)
    return [dict(row.values) for row in state.table.rows.values()]


def _in_scope(scenario: SyncScenario) -> tuple[int, int]:
    """(customers, catalog numbers on the configured sites) in IFS: what Dynamics must hold."""
    sites = set(scenario.values["SALES_PARTS_SITES"].split(","))
    parts = {r["CatalogNo"] for r in _ifs_rows(scenario, "SalesPartSet") if r["Contract"] in sites}
    return len(_ifs_rows(scenario, "CustomerInfoSet")), len(parts)


def run(scenario: SyncScenario, say: Say) -> bool:
    """Run the sync part; True when Dynamics ends in step with IFS and the change arrived."""
    with _environment(scenario.values):
        return _run(scenario, say)


def _run(scenario: SyncScenario, say: Say) -> bool:
    scenario.add_currencies()
    say("the org's currencies set up by an administrator: EUR, GBP, SEK beside the base currency USD")
    code, keys = _cli(say, "provision", "--keys-only")
    for key in keys["keys"]:
        say(f"  alternate key {key['table']}({key['columns']}): {key['status']}")
    started = time.monotonic()
    code, loaded = _cli(say, "sync", "--once")
    elapsed = time.monotonic() - started
    for row in loaded["entities"]:
        written = row["created"] + row["updated"]
        say(f"  {row['entity']}: {row['changed']} changed in IFS -> {written} written to Dataverse, "
            f"{row['parked']} parked")  # fmt: skip
    total = sum(row["created"] for row in loaded["entities"])
    say(f"  initial load: {total} records in {elapsed:.1f} s ({total / elapsed:,.0f} records/s)")

    ours = [c for c in _ifs_rows(scenario, "CustomerInfoSet") if c.get("Company") == "10"]
    customer = min(ours, key=lambda c: str(c["CustomerId"]))
    customer_id = customer["CustomerId"]
    scenario.admin("ifs").action(
        "touch",
        {
            "entity_set": "CustomerInfoSet",
            "key": {"CustomerId": customer_id},
            "changes": {"CreditLimit": 777000.0},
        },
    )
    before = customer["CreditLimit"]
    say(f"in IFS, a user raises customer {customer_id}'s credit limit from {before:,.0f} to 777,000")
    with LocalHost(settings=scenario.values) as host:
        say("function_app.py under devhost: timer poll_customers fires, queue worker sync_customers runs")
        host.fire_timer("poll_customers")
        host.drain(timeout=60)
    [account] = scenario.rows("accounts", ["name", "creditlimit"], accountnumber=customer_id)
    say(f"  Dynamics account {customer_id} ({account['name']}): credit limit {account['creditlimit']:,.0f}")
    customers, parts = _in_scope(scenario)
    counts = [
        ("customers", customers, len(scenario.rows("accounts", ["accountid"]))),
        ("sales_parts", parts, len(scenario.rows("products", ["productid"]))),
    ]
    say(f"{'entity':<12} {'IFS':>6} {'Dataverse':>10}")
    for entity, in_ifs, in_dataverse in counts:
        say(f"{entity:<12} {in_ifs:>6} {in_dataverse:>10}")
    code, again = _cli(say, "sync", "--once")
    quiet = all(row["changed"] == 0 for row in again["entities"])
    say(f"  nothing changed since: {quiet}")
    return (
        code == 0
        and account["creditlimit"] == 777000
        and all(in_ifs == in_dataverse for _, in_ifs, in_dataverse in counts)
        and quiet
    )
