"""The demo's end of the day: the last polls, then ``status`` and ``reconcile`` of every entity, all zero.

Run with the connector's own command line, as an operator would: ``sync --once`` stands in for the timers'
next round (it brings back what IFS did with the order that came from Dynamics), ``status`` must show
nothing unsynced, queued, poisoned or parked, and ``reconcile --entity E`` for every entity must find IFS
and Dynamics with the same records, none missing on either side and none different. Anything else fails
the demo, with what was found: the demo is a check, not a show.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from devhost.demo_cli import cli_json, cli_text, environment
from shared.cli.output import table

Say = Callable[[str], None]
STATUS_COUNTS = ("unsynced", "queue_depth", "poison", "parked")  # each must be 0 once the day is done
RECONCILE_COLUMNS = ["entity", "IFS", "Dynamics", "missing in Dynamics", "missing in IFS", "different"]
SHOWN_FINDINGS = 5  # per entity, when reconcile finds something


def run(values: dict[str, str], say: Say) -> bool:
    """Run the end of the day with the app settings ``values``; True when everything is in step."""
    with environment(values):
        return _run(say)


def _run(say: Say) -> bool:
    problems: list[str] = []
    code, synced = cli_json(say, "sync", "--once")
    for row in synced.get("entities", []):
        written, parked = row["created"] + row["updated"], row["parked"]
        say(f"  {row['entity']}: {row['changed']} changed in IFS -> {written} written, {parked} parked")
    if code != 0:
        problems.append(f"sync --once exited {code}")
    cli_text(say, "status")
    code, status = cli_json(None, "status")
    entities = [entry["entity"] for entry in status.get("entities", [])]
    for entry in status.get("entities", []):
        for count in STATUS_COUNTS:
            if entry.get(count):
                problems.append(f"status {entry['entity']}: {count.replace('_', ' ')} {entry[count]}")
        if entry.get("paused"):
            problems.append(f"status {entry['entity']}: paused")
    if code != 0 or not entities:
        problems.append(f"status exited {code} with {len(entities)} entities")
    say("$ python -m shared.cli reconcile --entity E   (for each entity)")
    rows = [_reconcile(entity, problems) for entity in entities]
    out = io.StringIO()
    table(rows, RECONCILE_COLUMNS, out=out)
    for line in out.getvalue().splitlines():
        say(f"  {line}")
    for problem in problems:
        say(f"  NOT IN STEP: {problem}")
    return not problems


def _reconcile(entity: str, problems: list[str]) -> dict[str, Any]:
    """One entity's reconcile as a table row; what is not in step goes to ``problems``, with examples."""
    code, report = cli_json(None, "reconcile", "--entity", entity, "--limit", str(SHOWN_FINDINGS))
    summary = report["summary"]
    row = {
        "entity": entity,
        "IFS": summary["ifs"],
        "Dynamics": summary["dataverse"],
        "missing in Dynamics": summary["missing_in_dataverse"],
        "missing in IFS": summary["missing_in_ifs"],
        "different": summary["differs"],
    }
    counts = ("missing_in_dataverse", "missing_in_ifs", "differs", "cannot_be_planned")
    off = {name: summary[name] for name in counts if summary[name]}
    if summary["ifs"] != summary["dataverse"]:
        off["count"] = summary["ifs"] - summary["dataverse"]
    if off or code != 0:
        said = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in off.items())
        problems.append(f"reconcile {entity} (exit {code}): {said or 'see the findings'}")
        for finding in report["findings"]:
            where = ".".join(p for p in (finding["target"], finding["row"], finding["column"]) if p)
            problems.append(
                f"  {entity} {finding['key']}: {finding['issue']} {where} "
                f"(IFS {finding['ifs']!r}, Dynamics {finding['dataverse']!r})"
            )
    return row
