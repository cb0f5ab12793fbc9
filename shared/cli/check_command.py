"""``check``: ping the real systems with these settings; every failure says what to fix and where."""

from __future__ import annotations

import argparse

from shared.cli.context import EXIT_ATTENTION, EXIT_OK, Context
from shared.ops.check import run_check

CHECK_HELP = (
    "check settings, Key Vault, storage, IFS (token, projections), Dataverse (token, privileges, keys, "
    "webhooks) and the mapping files against both systems' metadata"
)
MARKS = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


def configure_check(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``check`` (none beyond --json)."""


def check(args: argparse.Namespace, context: Context) -> int:
    """Run every check; exit 1 when one failed."""
    document = run_check(context.settings)
    rows = [
        {
            "status": MARKS.get(c["status"], c["status"]),
            "area": c["area"],
            "check": c["name"],
            "detail": c["detail"],
            "fix": c["fix"],
        }
        for c in document["checks"]
    ]
    context.show(document, rows, ["status", "area", "check", "detail", "fix"])
    summary = document["summary"]
    if not context.json_output:
        counts = [f"{summary['ok']} ok", f"{summary['warn']} warnings", f"{summary['fail']} failed"]
        print(f"checks: {', '.join(counts)}, {summary['skip']} skipped")
    return EXIT_ATTENTION if summary["fail"] else EXIT_OK
