"""``status``, ``pause``, ``resume``, ``replay``, ``reconcile``, ``audit`` and ``jobs``: running the sync.

Every command works over the engine's entities (a new flow appears without code here) and calls the same
operations the admin HTTP functions call (``shared.ops.runtime.Operations``).
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from shared.cli.context import EXIT_ATTENTION, EXIT_OK, EXIT_USAGE, Context
from shared.sync.status import EntityStatus

STATUS_HELP = "per entity: position, last poll and work, lag, queue depth, poison and parked counts"
PAUSE_HELP = "pause an entity: polls skipped, queue messages held, position kept (for as long as needed)"
RESUME_HELP = "resume a paused entity: it catches up from its kept position"
REPLAY_HELP = "send poison messages and parked records back to work (by entity, key, error class, or all)"
RECONCILE_HELP = (
    "compare an entity in IFS and Dataverse on its mapped columns (--fix: enqueue the differences)"
)
AUDIT_HELP = "the history of one record across both directions (KEY), or of one correlation id"
JOBS_HELP = "reconcile and backfill jobs queued over HTTP: the unfinished ones, or one by id"


def _usage(message: str) -> int:
    print(f"error: {message}")
    return EXIT_USAGE


def _entity_argument(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--entity",
        required=required,
        metavar="E",
        help="an entity the engine runs (customers, sales_parts …)" + ("" if required else "; default: all"),
    )


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    if whole < 86_400:
        return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"{whole // 86_400}d {whole % 86_400 // 3600:02d}h"


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


# ---- status --------------------------------------------------------------------------------------------


def configure_status(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``status``."""
    _entity_argument(parser, required=False)


def _status_row(status: EntityStatus) -> dict[str, Any]:
    def run(record: Any) -> str:
        return "-" if record is None else f"{_when(record.at)} {record.outcome}"

    return {
        "entity": status.entity,
        "paused": "-" if status.paused_since is None else f"since {_when(status.paused_since)}",
        "position": status.position,
        "last poll": run(status.last_poll),
        "last work": run(status.last_work),
        "lag": _age(status.lag_seconds),
        "unsynced": status.unsynced,
        "queue": status.queue_depth,
        "poison": status.poison,
        "parked": status.parked,
    }


def status(args: argparse.Namespace, context: Context) -> int:
    """Show where each entity stands; exit 1 when something waits in poison or parked."""
    try:
        found = context.operations.status([args.entity] if args.entity else None)
    except ValueError as exc:
        return _usage(str(exc))
    rows = [_status_row(s) for s in found]
    columns = ["entity", "paused", "position", "last poll", "last work", "lag", "unsynced", "queue", "poison"]
    context.show({"entities": [s.to_json() for s in found]}, rows, [*columns, "parked"])
    attention = any(s.poison or s.parked for s in found)
    return EXIT_ATTENTION if attention else EXIT_OK


# ---- pause / resume ------------------------------------------------------------------------------------


def configure_pause(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pause``."""
    _entity_argument(parser, required=True)
    parser.add_argument("--reason", default="", help="why, shown by status")


def pause(args: argparse.Namespace, context: Context) -> int:
    """Pause one entity."""
    try:
        record = context.operations.pause(args.entity, args.reason)
    except ValueError as exc:
        return _usage(str(exc))
    document = {
        "entity": record.entity,
        "paused_since": record.paused_at.isoformat(),
        "reason": record.reason,
    }
    if context.json_output:
        context.show(document, [], [])
    else:
        print(
            f"{record.entity} paused since {_when(record.paused_at)}: its polls are skipped and its queue "
            "messages held; `resume` catches up from where it stopped"
        )
    return EXIT_OK


def configure_resume(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``resume``."""
    _entity_argument(parser, required=True)


def resume(args: argparse.Namespace, context: Context) -> int:
    """Resume one entity."""
    try:
        resumed = context.operations.resume(args.entity)
    except ValueError as exc:
        return _usage(str(exc))
    seconds = None if resumed.paused_for is None else resumed.paused_for.total_seconds()
    document = {
        "entity": resumed.entity,
        "paused_at": None if resumed.paused_at is None else resumed.paused_at.isoformat(),
        "paused_seconds": seconds,
        "notes": resumed.notes,
    }
    if context.json_output:
        context.show(document, [], [])
    else:
        if resumed.paused_at is not None:
            print(
                f"{resumed.entity} resumed after {_age(seconds)}: the next poll catches up from its position"
            )
        for note in resumed.notes:
            print(f"{resumed.entity}: {note}")
    return EXIT_OK


# ---- replay ------------------------------------------------------------------------------------------------


def configure_replay(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``replay``."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--poison", action="store_true", help="only messages of the <queue>-poison queues")
    which.add_argument("--parked", action="store_true", help="only parked records")
    _entity_argument(parser, required=False)
    parser.add_argument("--key", help="only this record (a source key)")
    parser.add_argument("--error-class", help="only parked records of this error class (poison: only poison)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be replayed; move nothing")


def replay(args: argparse.Namespace, context: Context) -> int:
    """Replay poison messages and parked records."""
    what = "poison" if args.poison else "parked" if args.parked else "all"
    try:
        report = context.operations.replay(
            what=what, entity=args.entity, key=args.key, error_class=args.error_class, dry_run=args.dry_run
        )
    except ValueError as exc:
        return _usage(str(exc))
    rows = [
        {"source": i.source, "entity": i.entity, "item": i.item, "outcome": i.outcome, "detail": i.detail}
        for i in report.items
    ]
    context.show(report.to_json(), rows, ["source", "entity", "item", "outcome", "detail"])
    if not context.json_output:
        counts = report.counts()
        print("replayed: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing matched"))
    return EXIT_ATTENTION if report.counts().get("parked again") else EXIT_OK


# ---- reconcile -------------------------------------------------------------------------------------------


def configure_reconcile(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``reconcile``."""
    _entity_argument(parser, required=True)
    parser.add_argument("--fix", action="store_true", help="enqueue the records missing or differing, forced")
    parser.add_argument(
        "--limit", type=int, default=200, help="findings shown (default 200; counts are whole)"
    )


def reconcile(args: argparse.Namespace, context: Context) -> int:
    """Compare one entity in both systems; exit 1 when anything differs."""
    operations = context.operations
    try:
        operations.known(args.entity)
    except ValueError as exc:
        return _usage(str(exc))
    progress = context.progress(f"{args.entity} reconcile")
    report = operations.reconcile(args.entity, fix=args.fix, progress=progress.update)
    progress.close()
    summary = report.summary()
    if context.json_output:
        context.show(report.to_json(limit=args.limit), [], [])
    else:
        rows = [f.to_json() for f in report.findings[: args.limit]]
        columns = ["key", "issue", "target", "row", "column", "ifs", "dataverse"]
        context.show({}, rows, columns, f"{args.entity}:")
        if len(report.findings) > args.limit:
            print(f"… {len(report.findings) - args.limit} more findings (--limit)")
        print("summary: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in summary.items()))
    differing = summary["missing_in_dataverse"] + summary["missing_in_ifs"] + summary["differs"]
    return EXIT_ATTENTION if differing or summary["cannot_be_planned"] else EXIT_OK


# ---- audit ------------------------------------------------------------------------------------------------


def configure_audit(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``audit``."""
    parser.add_argument("key", nargs="?", help="a record's key: IFS key or Dataverse id")
    parser.add_argument("--correlation", metavar="ID", help="a correlation id instead of a key")
    parser.add_argument("--days", type=int, default=30, help="how far back (default 30 days)")


def audit(args: argparse.Namespace, context: Context) -> int:
    """Print the history of one record or one correlation id, oldest first."""
    if (args.key is None) == (args.correlation is None):
        return _usage("give a KEY or --correlation ID (one of them)")
    rows = context.operations.history(key=args.key, correlation_id=args.correlation, days=args.days)
    table = [
        {
            "at": _when(r.at),
            "direction": r.direction,
            "entity": r.entity,
            "key": r.source_key,
            "outcome": r.outcome,
            "target": r.target_id or "",
            "error": r.error_class or "",
            "correlation": r.correlation_id or "",
        }
        for r in rows
    ]
    document = {
        "entries": [
            {
                **row,
                "at": r.at.isoformat() if r.at else None,
                "message": r.message,
                "latency_ms": r.latency_ms,
            }
            for row, r in zip(table, rows, strict=True)
        ]
    }
    columns = ["at", "direction", "entity", "key", "outcome", "target", "error", "correlation"]
    context.show(document, table, columns)
    return EXIT_OK if rows else EXIT_ATTENTION


# ---- jobs -------------------------------------------------------------------------------------------------


def configure_jobs(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``jobs``."""
    parser.add_argument("id", nargs="?", help="one job's id (default: the unfinished jobs)")


def jobs(args: argparse.Namespace, context: Context) -> int:
    """Show queued and running jobs, or one job with its result."""
    store = context.operations.jobs
    found = [store.get(args.id)] if args.id else store.unfinished()
    if args.id and found[0] is None:
        return _usage(f"no job {args.id}")
    listed = [job for job in found if job is not None]
    rows = [
        {
            "id": job.id,
            "kind": job.kind,
            "params": ", ".join(f"{k}={v}" for k, v in sorted(job.params.items())),
            "status": job.status,
            "progress": f"{job.done}/{job.total}" if job.total is not None else str(job.done),
            "updated": _when(job.updated_at),
            "error": job.error or "",
        }
        for job in listed
    ]
    document = {"jobs": [{**row, "result": job.result} for row, job in zip(rows, listed, strict=True)]}
    context.show(document, rows, ["id", "kind", "params", "status", "progress", "updated", "error"])
    return EXIT_ATTENTION if any(job.status == "failed" for job in listed) else EXIT_OK
