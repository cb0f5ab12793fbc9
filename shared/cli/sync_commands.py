"""``provision``, ``sync --once`` and ``backfill``: set Dataverse up, and move IFS data by hand."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from typing import Any

from shared.cli.context import EXIT_ATTENTION, EXIT_OK, EXIT_USAGE, Context
from shared.d365_runtime import deprovision_d365, provision_all
from shared.dataverse.provisioning import Provisioner
from shared.sync import backfill as backfill_service
from shared.sync.engine import Report
from shared.sync.provision import ColumnStatus, KeyStatus
from shared.sync.provision import provision as provision_mappings

PROVISION_HELP = (
    "set Dataverse up: the connector's columns, the alternate keys (created and awaited), change tracking "
    "on opportunities and leads, and the webhook with its steps; running it again changes nothing"
)
DEPROVISION_HELP = "remove exactly the webhook endpoint and steps provision registered (keys and data stay)"
SYNC_HELP = "poll IFS and work the queues in this process until they are empty (--once)"
BACKFILL_HELP = (
    "send every record of an entity to Dataverse, resumable where it stopped (--dry-run: plan only)"
)
OUTCOME_COLUMNS = ["created", "updated", "linked", "deactivated", "retired", "unchanged", "parked", "missing"]


def _entities(context: Context, asked: list[str] | None) -> list[str]:
    known = list(context.runtime.engine.entities)
    unknown = [e for e in asked or [] if e not in known]
    if unknown:
        raise ValueError(f"unknown entity {', '.join(unknown)} (known: {', '.join(known)})")
    return asked or known


def _entity_argument(parser: argparse.ArgumentParser, *, many: bool) -> None:
    parser.add_argument(
        "--entity",
        action="append" if many else "store",
        required=not many,
        metavar="E",
        help="customers, sales_parts, orders or quotations" + (" (repeatable; default: all)" if many else ""),
    )


# ---- provision ----------------------------------------------------------------------------------------


def configure_provision(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``provision``."""
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds to wait for a key (default 900)"
    )
    parser.add_argument(
        "--webhook-url",
        help="public URL of the webhook function (default: D365_WEBHOOK_URL, or the app's host in Azure)",
    )
    parser.add_argument(
        "--keys-only",
        action="store_true",
        help="only the columns and alternate keys of the IFS → Dynamics sync",
    )


def _key_rows(keys: list[KeyStatus]) -> list[dict[str, Any]]:
    return [
        {"table": k.table, "key": k.schema_name, "columns": ",".join(k.columns), "status": k.status}
        for k in keys
    ]


def _column_rows(columns: list[ColumnStatus]) -> list[dict[str, Any]]:
    return [
        {"table": c.table, "column": c.column, "max_length": c.max_length, "created": c.created}
        for c in columns
    ]


def provision(args: argparse.Namespace, context: Context) -> int:
    """Everything Dataverse needs for both directions; running it again changes nothing."""
    runtime = context.runtime
    if args.keys_only:
        mappings = [runtime.engine.mapping(entity) for entity in runtime.engine.entities]
        columns, keys = provision_mappings(mappings, Provisioner(runtime.dataverse), timeout=args.timeout)
        rows, column_rows = _key_rows(keys), _column_rows(columns)
        if not context.json_output:
            context.show({}, column_rows, ["table", "column", "max_length", "created"], "columns:")
        context.show(
            {"columns": column_rows, "keys": rows},
            rows,
            ["table", "key", "columns", "status"],
            "alternate keys:",
        )
        return EXIT_OK

    def notify(notice: str) -> None:
        print(f"note: {notice}", file=sys.stderr)  # said before it is done, also with --json

    try:
        done = provision_all(
            context.settings, runtime.dataverse, notify=notify, url=args.webhook_url, timeout=args.timeout
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    rows = _key_rows(done.keys)
    if context.json_output:
        context.show(done.to_json(), [], [])
        return EXIT_OK
    context.show({}, _column_rows(done.columns), ["table", "column", "max_length", "created"], "columns:")
    context.show({}, rows, ["table", "key", "columns", "status"], "alternate keys:")
    report = done.report
    steps = [{"step": name, "id": step_id} for name, step_id in sorted(report.steps.items())]
    context.show({}, steps, ["step", "id"], f"webhook endpoint {report.endpoint_id}:")
    for skipped in report.skipped_steps:
        print(f"  not registered (the org allows no custom step on it): {skipped}")
    print("changed: " + ("; ".join(report.changed) if report.changed else "nothing (already provisioned)"))
    return EXIT_OK


def configure_deprovision(parser: argparse.ArgumentParser) -> None:
    """``deprovision`` takes no arguments beyond --json."""


def deprovision(args: argparse.Namespace, context: Context) -> int:
    """Remove what provision registered under D365_WEBHOOK_NAME, and nothing else."""
    report = deprovision_d365(context.settings, context.runtime.dataverse)
    document = {
        "removed_steps": report.removed_steps,
        "endpoint_removed": report.endpoint_removed,
        "kept": report.kept,
    }
    rows = [
        {"what": "steps removed", "value": report.removed_steps},
        {"what": "endpoint removed", "value": report.endpoint_removed},
    ]
    rows += [{"what": "kept", "value": kept} for kept in report.kept]
    context.show(document, rows, ["what", "value"])
    return EXIT_OK


# ---- sync --once ----------------------------------------------------------------------------------------


def configure_sync(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``sync``."""
    parser.add_argument("--once", action="store_true", help="one poll and its work, then stop (required)")
    _entity_argument(parser, many=True)


def _row(entity: str, report: Report, **extra: Any) -> dict[str, Any]:
    return {
        "entity": entity,
        **extra,
        **{k: report.outcomes.get(k, 0) for k in OUTCOME_COLUMNS},
        "requeued": report.requeued,
    }


def sync(args: argparse.Namespace, context: Context) -> int:
    """Poll each entity once and work its queue here until it is empty."""
    if not args.once:
        print("error: say --once; in Azure the timers run the sync continuously")
        return EXIT_USAGE
    try:
        entities = _entities(context, args.entity)
    except ValueError as exc:
        print(f"error: {exc}")
        return EXIT_USAGE
    runtime = context.runtime
    rows = []
    for entity in entities:
        polled = runtime.poll(entity)
        report = _drain(context, entity, polled.changed)
        rows.append(_row(entity, report, changed=polled.changed, left_scope=polled.left_scope))
    columns = ["entity", "changed", "left_scope", *OUTCOME_COLUMNS, "requeued"]
    context.show({"entities": rows}, rows, columns)
    return EXIT_ATTENTION if any(row["parked"] for row in rows) else EXIT_OK


def _drain(context: Context, entity: str, expected: int) -> Report:
    progress = context.progress(entity)
    report = context.runtime.drain(
        entity, progress=lambda r: progress.update(sum(r.outcomes.values()), expected)
    )
    progress.close()
    return report


# ---- backfill ---------------------------------------------------------------------------------------------


def configure_backfill(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``backfill``."""
    _entity_argument(parser, many=False)
    parser.add_argument(
        "--since",
        type=_moment,
        help="only records whose watermark column is at or after this (ISO date or time)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be created, linked and updated; write nothing",
    )
    parser.add_argument(
        "--force", action="store_true", help="write every record even when nothing changed (repair drift)"
    )
    parser.add_argument("--chunk", type=int, default=500, help="records per engine call (default 500)")
    parser.add_argument(
        "--all",
        action="store_true",
        dest="whole",
        help="every record IFS has, not only the poll's scope (e.g. the closed orders of past years)",
    )


def _moment(text: str) -> date | datetime:
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date or time: {text!r}") from exc
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give the time zone, e.g. {text}Z")
    return moment


def backfill(args: argparse.Namespace, context: Context) -> int:
    """Send every record of one entity through the engine (or plan it with --dry-run)."""
    try:
        [entity] = _entities(context, [args.entity])
    except ValueError as exc:
        print(f"error: {exc}")
        return EXIT_USAGE
    runtime = context.runtime
    column = runtime.entities[entity].watermark_column or None
    start = backfill_service.position(runtime.watermarks, entity)
    if start.after and not context.json_output and not args.dry_run:
        print(f"{entity}: continuing a stopped backfill after key {start.after!r}")
    progress = context.progress(f"{entity} backfill")
    report = backfill_service.backfill(
        runtime.engine,
        runtime.sources[entity],
        runtime.watermarks,
        entity,
        since=args.since,
        column=column,
        chunk_size=args.chunk,
        dry_run=args.dry_run,
        force=args.force,
        whole=args.whole,
        progress=lambda r, done, total: progress.update(done, total),
    )
    progress.close()
    if not args.dry_run:
        report.add(runtime.drain(entity))  # throttled work handed back to the queue
    if args.dry_run:
        rows = [
            {"key": p.key, "action": p.action, "dataverse_id": p.target_id, "detail": p.detail}
            for p in report.planned
        ]
        summary = dict(sorted(report.outcomes.items()))
        if context.json_output:
            context.show({"entity": entity, "dry_run": True, "summary": summary, "records": rows}, [], [])
        else:
            context.show(
                {}, rows, ["key", "action", "dataverse_id", "detail"], f"{entity}: planned (nothing written)"
            )
            print("summary: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
        return EXIT_ATTENTION if summary.get("park") else EXIT_OK
    rows = [_row(entity, report)]
    context.show({"entities": rows}, rows, ["entity", *OUTCOME_COLUMNS, "requeued"])
    return EXIT_ATTENTION if report.outcomes.get("parked") else EXIT_OK
