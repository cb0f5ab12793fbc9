"""Backfill: load (or re-load) every record of an entity, in key order, resumable where it stopped.

Where a poll sends only what changed, a backfill sends everything in scope (or everything whose watermark
column is at or after ``since``) through the engine, a chunk of keys at a time, and stores the last key
done after each chunk. A backfill that stops (a crash, Ctrl-C, a deploy) continues after that key when
run again; one that finishes clears its position, so the next starts from the beginning. There is no cap
on the number of records. A dry run writes nothing at all (not even its position) and returns the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shared.sync.engine import Report, SyncEngine
from shared.sync.messages import ChangedKey, new_correlation_id
from shared.sync.ports import ChangeSource, Watermarks

DONE = ""  # the position of a backfill that is not in progress


@dataclass(frozen=True)
class BackfillPosition:
    """Where a backfill of one entity stands: the last key done (None: not in progress)."""

    entity: str
    after: str | None


def stream(entity: str) -> str:
    """The watermark stream that holds an entity's backfill position."""
    return f"backfill:{entity}"


def parse_since(text: str) -> date | datetime:
    """A backfill's ``since``: an ISO date, or a time with its zone; ValueError otherwise."""
    if len(text) == 10:
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"give the time zone, e.g. {text}Z")
    return moment


def position(watermarks: Watermarks, entity: str) -> BackfillPosition:
    """The entity's backfill position."""
    read = watermarks.get(stream(entity))
    after = None if read is None or read.value == DONE else str(read.value)
    return BackfillPosition(entity, after)


def _chunks(items: Sequence[tuple[str, str]], size: int) -> Iterator[Sequence[tuple[str, str]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def backfill(
    engine: SyncEngine,
    source: ChangeSource,
    watermarks: Watermarks,
    entity: str,
    *,
    since: date | datetime | None = None,
    column: str | None = None,
    chunk_size: int = 500,
    dry_run: bool = False,
    force: bool = False,
    whole: bool = False,
    progress: Callable[[Report, int, int], None] | None = None,
) -> Report:
    """Send every record of ``entity`` (from where a stopped backfill left off) through the engine.

    ``since`` with ``column``: only records whose column is at or after it. ``force`` rewrites records
    even when their hash says nothing changed (to repair drift made by hand in Dynamics). ``whole``: every
    record IFS has, not only those in the poll's scope (the history of closed orders, on a first load).
    ``progress(report, done, total)`` is called after each chunk.
    """
    if since is not None and not column:
        raise ValueError(f"{entity}: --since needs a watermark column (SYNC_<ENTITY>_WATERMARK_COLUMN)")
    scanned: list[tuple[str, str]] = (
        list(source.scan(whole=whole))
        if since is None
        else [(key, version) for key, version, _ in source.scan_since(str(column), since)]
    )
    scanned.sort()
    start = position(watermarks, entity).after
    todo = [item for item in scanned if start is None or item[0] > start]
    report = Report(entity)
    read: Any = watermarks.get(stream(entity))
    done = len(scanned) - len(todo)
    correlation_id = new_correlation_id()
    for chunk in _chunks(todo, chunk_size):
        keys = [ChangedKey(key, version) for key, version in chunk]
        report.add(engine.process(entity, keys, correlation_id=correlation_id, dry_run=dry_run, force=force))
        done += len(chunk)
        if not dry_run:
            read = watermarks.advance(stream(entity), chunk[-1][0], read=read)
        if progress is not None:
            progress(report, done, len(scanned))
    if not dry_run and read is not None:
        watermarks.advance(stream(entity), DONE, read=read)
    return report
