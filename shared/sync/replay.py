"""Replay: poison messages and parked records go back to work, by entity, key, error class or all.

- A **poison** message (``<queue>-poison``: it failed ``maxDequeueCount`` times) goes back on its queue as
  it was, its envelope counting one more replay (``body.replays``); content that is no envelope at all
  goes back byte for byte. If it fails again it returns to ``-poison`` the way it came. Poison messages
  carry no error class: ``error_class`` selects parked records only, except the value ``poison``.
- A **parked** record's key is enqueued again as a change message (``force``: written even if its hash
  says nothing changed). The engine closes its parked entry when it goes through; when it fails again it is
  parked again and its attempts count one more. A malformed message parked with its text cannot succeed
  by itself: it is counted as tried again and stays parked.
- ``dry_run`` lists what would be replayed and moves nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.records import ParkedRecord
from shared.sync.detection import CHANGES
from shared.sync.messages import ChangedKey, Envelope, MessageFormatError
from shared.sync.ports import MessagePublisher, ParkedList, QueueView, Requeue
from shared.sync.status import poison_queue

POISON = "poison"
MALFORMED = "malformed_message"


@dataclass(frozen=True)
class ReplayTarget:
    """Where an entity's work goes: its queue, and how its keys are enqueued again."""

    entity: str
    queue: str
    requeue: Requeue


@dataclass(frozen=True)
class Replayed:
    """One poison message or parked record, and what replay did with it."""

    source: str  # "poison" or "parked"
    entity: str
    item: str  # the message id, or the record's key
    outcome: str  # "requeued", "would requeue", "parked again", "skipped"
    detail: str = ""


@dataclass
class ReplayReport:
    """Everything one replay did."""

    items: list[Replayed] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many items ended each way."""
        return dict(Counter(item.outcome for item in self.items))

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON document."""
        return {
            "counts": self.counts(),
            "items": [
                {
                    "source": i.source,
                    "entity": i.entity,
                    "item": i.item,
                    "outcome": i.outcome,
                    "detail": i.detail,
                }
                for i in self.items
            ],
        }


def _envelope(text: str | None, entity: str) -> Envelope | None:
    if text is None:
        return None
    try:
        envelope = Envelope.from_json(text)
    except MessageFormatError:
        return None
    return envelope if envelope.type == CHANGES and envelope.entity == entity else None


def replay(
    *,
    targets: Mapping[str, ReplayTarget],
    queues: QueueView[Any],
    parking: ParkedList,
    publisher: MessagePublisher,
    what: str = "all",
    entity: str | None = None,
    key: str | None = None,
    error_class: str | None = None,
    dry_run: bool = False,
) -> ReplayReport:
    """Replay what the filters select (``what``: ``poison``, ``parked`` or ``all``)."""
    if what not in ("all", "poison", "parked"):
        raise ValueError(f"what must be all, poison or parked, not {what!r}")
    if entity is not None and entity not in targets:
        raise ValueError(f"unknown entity {entity} (known: {', '.join(targets)})")
    run = _Replay(targets, queues, parking, publisher, key=key, dry_run=dry_run)
    chosen = [targets[entity]] if entity is not None else list(targets.values())
    if what in ("all", "poison") and error_class in (None, POISON):
        for target in chosen:
            run.poison(target)
    if what in ("all", "parked") and error_class != POISON:
        run.parked(chosen, error_class, everything=entity is None)
    return run.report


@dataclass
class _Replay:
    targets: Mapping[str, ReplayTarget]
    queues: QueueView[Any]
    parking: ParkedList
    publisher: MessagePublisher
    key: str | None
    dry_run: bool
    report: ReplayReport = field(default_factory=ReplayReport)

    def _add(self, source: str, entity: str, item: str, outcome: str, detail: str) -> None:
        self.report.items.append(Replayed(source, entity, item, outcome, detail))

    def poison(self, target: ReplayTarget) -> None:
        """Move the selected messages of the target's poison queue back to its queue."""
        kept = []
        for message in self.queues.take(poison_queue(target.queue)):
            envelope = _envelope(message.text, target.entity)
            keys = [k.key for k in envelope.keys] if envelope is not None else []
            if self.key is not None and self.key not in keys:
                kept.append(message)
                continue
            what = (
                f"{len(keys)} keys" if envelope is not None else "not a change envelope: sent back unchanged"
            )
            if self.dry_run:
                kept.append(message)
                self._add(POISON, target.entity, str(message.id), "would requeue", what)
                continue
            if envelope is not None:
                replays = int(envelope.body.get("replays") or 0) + 1
                self.publisher.send(target.queue, [envelope.with_body({"replays": replays}).to_json()])
                what += f", replay {replays}"
            else:
                self.queues.send_raw(target.queue, message.raw)
            self.queues.delete(message)
            self._add(POISON, target.entity, str(message.id), "requeued", what)
        for message in kept:
            self.queues.release(message)

    def parked(self, chosen: list[ReplayTarget], error_class: str | None, *, everything: bool) -> None:
        """Enqueue the selected parked records' keys again (malformed messages: counted, kept)."""
        queues = {t.queue: t for t in chosen}
        names = {t.entity for t in chosen}
        by_entity: dict[str, list[ParkedRecord]] = {}
        for record in self.parking.list(None, error_class):
            if self.key is not None and record.source_key != self.key:
                continue
            if record.entity in names:
                by_entity.setdefault(record.entity, []).append(record)
            elif record.error_class == MALFORMED and record.queue in queues:
                outcome = "would retry" if self.dry_run else "parked again"
                if not self.dry_run:
                    self.parking.park(_again(record))
                entity = queues[record.queue].entity
                self._add(
                    "parked", entity, record.source_key, outcome, "a malformed message fails every time"
                )
            elif record.entity not in self.targets and everything:
                self._add("parked", record.entity, record.source_key, "skipped", "no replay for this entity")
        for name, records in by_entity.items():
            if not self.dry_run:
                self.targets[name].requeue(
                    [ChangedKey(r.source_key) for r in records],
                    delay_seconds=0,
                    body={"force": True, "reason": "replay"},
                )
            outcome = "would requeue" if self.dry_run else "requeued"
            for r in records:
                self._add("parked", name, r.source_key, outcome, f"{r.error_class}, {r.attempts} attempts")


def _again(record: ParkedRecord) -> ParkedRecord:
    """The same parked record, to be parked once more (its attempts count one more)."""
    return ParkedRecord(
        entity=record.entity,
        source_key=record.source_key,
        error_class=record.error_class,
        message=record.message,
        direction=record.direction,
        queue=record.queue,
        payload=record.payload,
        correlation_id=record.correlation_id,
    )
