"""Opportunities and leads → IFS business opportunities, read through Dataverse change tracking.

**Poll** (a timer, ``OpportunityPoller``): for each table, the rows changed since the delta token kept in
Table Storage (watermark stream ``d365:<table>``) and the ids deleted since, put on the opportunities queue
as keys ``<table>:<id>``; the token moves only after they are enqueued. Dataverse keeps change-tracking
tokens for a limited time (``ExpireChangeTrackingInDays``, 7 by default): an expired token falls back to
a full read compared with the ledger (rows whose version differs, and ledger keys no longer read, which
were deleted meanwhile), automatically and logged. The very first read sends the open records only.

**Worker** (``OpportunityWorker``): reads each record again (state is truth), maps it through
``d365_opportunities.toml`` and compares a hash of the mapped values with the ledger (unchanged: no IFS
request). The IFS business opportunity is found by the id map, else by the Dynamics id in its reference
field (``ExternalRef`` by default), and only then created, through ``create_once`` (an insert-only lease:
exactly once). Changed fields are written with the ETag read first (412: read and write again). Won, lost
and disqualified are reflected through the projection's state actions. A qualified lead hands its IFS
record over to the opportunity Dynamics made of it (``originatingleadid``), so one IFS record follows the
deal. Deletions follow ``on_delete``: ``close`` (the default: the IFS record is cancelled, never deleted)
or ``ignore``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.records import AuditEntry, LedgerEntry, ParkedRecord, SyncMark
from shared.sync.d365.mapping import InboundMapping, InboundSchema
from shared.sync.failures import classify
from shared.sync.ifs_create import create_once
from shared.sync.messages import ChangedKey, Envelope, MessageFormatError, new_correlation_id, pack_changes
from shared.sync.ports import (
    AuditLog,
    ChangeFeed,
    CreateLeases,
    DynamicsSales,
    IdMapping,
    IfsOperations,
    Ledger,
    MessagePublisher,
    ParkingLot,
    Watermarks,
)

_log = logging.getLogger(__name__)
ENTITY = "d365_opportunities"
CHANGES = "d365.changes"
DIRECTION = "dataverse->ifs"
CUSTOMERS_ENTITY = "customers"
SCHEMA = InboundSchema(
    entity=ENTITY,
    sections={
        "opportunity": frozenset({"opportunity", "customer", "currency"}),
        "lead": frozenset({"lead", "customer", "currency"}),
    },
    options={
        "on_delete": str,
        "reference_field": str,
        "won_action": str,
        "lost_action": str,
        "close_action": str,
    },
)
ACTIVE, WON, LOST, CLOSED = "Active", "Won", "Lost", "Cancelled"


@dataclass(frozen=True)
class Table:
    """One tracked Dynamics table: its entity set, id column, the columns read and how its state maps."""

    name: str
    entity_set: str
    id_column: str
    columns: tuple[str, ...]
    customer_column: str
    states: Mapping[int, str | None]  # statecode -> IFS state (None: leave the IFS state alone)


TABLES: tuple[Table, ...] = (
    Table(
        "opportunity",
        "opportunities",
        "opportunityid",
        (
            "name", "statecode", "statuscode", "estimatedvalue", "estimatedclosedate", "closeprobability",
            "description", "_customerid_value", "_transactioncurrencyid_value", "_originatingleadid_value",
        ),
        "_customerid_value",
        {0: ACTIVE, 1: WON, 2: LOST},
    ),
    Table(
        "lead",
        "leads",
        "leadid",
        (
            "subject", "fullname", "companyname", "statecode", "statuscode", "estimatedamount",
            "estimatedclosedate", "description", "_parentaccountid_value", "_transactioncurrencyid_value",
        ),
        "_parentaccountid_value",
        {0: ACTIVE, 1: None, 2: LOST},  # qualified: the opportunity made from it carries on
    ),
)  # fmt: skip
TABLES_BY_NAME = {t.name: t for t in TABLES}


def record_key(table: str, row_id: uuid.UUID | str) -> str:
    """The key of a tracked record: ``opportunity:<id>``."""
    return f"{table}:{str(row_id).lower()}"


def _split(key: str) -> tuple[Table, uuid.UUID]:
    name, _, raw = key.partition(":")
    table = TABLES_BY_NAME.get(name)
    if table is None:
        raise MessageFormatError(f"unknown table in key {key[:60]!r}")
    try:
        return table, uuid.UUID(raw)
    except ValueError as exc:
        raise MessageFormatError(f"no id in key {key[:60]!r}") from exc


def _version(row: Mapping[str, Any]) -> str:
    return str(row.get("@odata.etag") or row.get("versionnumber") or row.get("modifiedon") or "")


# ---- the poll ------------------------------------------------------------------------------------------


@dataclass
class PollResult:
    """What one poll found per table: records enqueued, deletions among them, and whether a token expired."""

    enqueued: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)
    full_reads: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)


class OpportunityPoller:
    """Reads the tracked tables' changes and enqueues them."""

    def __init__(
        self,
        *,
        feed: ChangeFeed,
        watermarks: Watermarks,
        ledger: Ledger,
        publisher: MessagePublisher,
        queue: str,
        clock: Callable[[], datetime],
        tables: Sequence[Table] = TABLES,
    ) -> None:
        self._feed = feed
        self._watermarks = watermarks
        self._ledger = ledger
        self._publisher = publisher
        self._queue = queue
        self._clock = clock
        self._tables = tables

    def poll(self) -> PollResult:
        """One pass over every tracked table."""
        result = PollResult()
        for table in self._tables:
            self._poll_table(table, result)
        return result

    def _poll_table(self, table: Table, result: PollResult) -> None:
        stream = f"d365:{table.name}"
        mark = self._watermarks.get(stream)
        token = str(mark.value) if mark is not None else None
        select = [table.id_column, "statecode", "modifiedon"]
        read = self._feed.read_changes(table.entity_set, select, token)
        if read is None:
            _log.warning(
                "the change-tracking token of %s expired (Dataverse keeps them ExpireChangeTrackingInDays): "
                "reading every row and comparing it with the ledger instead",
                table.entity_set,
            )
            result.expired.append(table.name)
            read = self._feed.read_changes(table.entity_set, select, None)
            if read is None:
                raise RuntimeError(f"{table.entity_set}: a read without a delta token was refused")
        versions = {record_key(table.name, row[table.id_column]): _version(row) for row in read.changed_rows}
        deleted = [record_key(table.name, row_id) for row_id in read.deleted_ids]
        if token is None or table.name in result.expired:
            result.full_reads.append(table.name)
            known = {k: v for k, v in self._ledger.versions(ENTITY).items() if k.startswith(f"{table.name}:")}
            if mark is None and not known:  # the very first read: open records only
                open_rows = {
                    record_key(table.name, row[table.id_column])
                    for row in read.changed_rows
                    if row.get("statecode") == 0
                }
                changed = {k: v for k, v in versions.items() if k in open_rows}
                self._ledger.mark_seen(ENTITY, {k: v for k, v in versions.items() if k not in open_rows})
            else:
                changed = {k: v for k, v in versions.items() if known.get(k) != v}
            deleted += [k for k, v in known.items() if k not in versions and v != "deleted"]
        else:
            changed = versions
        keys = [ChangedKey(k, v) for k, v in changed.items()] + [ChangedKey(k, "deleted") for k in deleted]
        if keys:
            envelopes = pack_changes(
                CHANGES, ENTITY, keys, correlation_id=new_correlation_id(), enqueued_at=self._clock()
            )
            self._publisher.send(self._queue, [e.to_json() for e in envelopes])
            self._ledger.mark_seen(ENTITY, {k.key: k.version or "" for k in keys})
        result.enqueued[table.name] += len(keys)
        result.deleted[table.name] += len(deleted)
        self._watermarks.advance(stream, read.next_delta_token, read=mark)


# ---- the worker ----------------------------------------------------------------------------------------


@dataclass
class OpportunityReport:
    """What one message came to, per outcome."""

    outcomes: Counter[str] = field(default_factory=Counter)
    requeued: int = 0
    numbers: dict[str, str] = field(default_factory=dict)  # record key -> IFS opportunity number


@dataclass(frozen=True)
class _Plan:
    body: dict[str, Any]
    state: str | None
    digest: str
    adopt_from: str | None = None  # the lead key whose IFS record an opportunity takes over


class OpportunityWorker:
    """Writes changed opportunities and leads to IFS business opportunities."""

    def __init__(
        self,
        *,
        sales: DynamicsSales,
        ifs: IfsOperations,
        entity: Any,
        leases: CreateLeases,
        idmap: IdMapping,
        ledger: Ledger,
        mapping: InboundMapping,
        audit: AuditLog,
        parking: ParkingLot,
        publisher: MessagePublisher,
        queue: str,
        clock: Callable[[], datetime],
        pending_seconds: float,
    ) -> None:
        self._sales = sales
        self._ifs = ifs
        self._entity = entity
        self._leases = leases
        self._idmap = idmap
        self._ledger = ledger
        self._mapping = mapping
        self._audit = audit
        self._parking = parking
        self._publisher = publisher
        self._queue = queue
        self._clock = clock
        self._pending = pending_seconds

    @property
    def _reference(self) -> str:
        return str(self._mapping.option("reference_field", "ExternalRef"))

    def handle(self, text: bytes | str, *, message_id: str) -> OpportunityReport:
        """Handle one queue message of changed keys."""
        report = OpportunityReport()
        raw = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
        try:
            envelope = Envelope.from_json(raw)
            if envelope.type != CHANGES or envelope.entity != ENTITY:
                raise MessageFormatError(f"expected a {CHANGES!r} envelope of {ENTITY!r}")
            items = [(k, _split(k.key)) for k in envelope.keys]
        except MessageFormatError as exc:
            self._parking.park(
                ParkedRecord(
                    "message", message_id, "malformed_message", str(exc), "queue", self._queue, {"text": raw}
                )
            )
            report.outcomes["parked"] += 1
            return report
        before = self._ledger.entries(ENTITY, [k.key for k, _ in items])
        marks: list[SyncMark] = []
        again: list[ChangedKey] = []
        for changed, (table, row_id) in items:
            started = self._clock()
            try:
                outcome, number, digest, note = self._one(
                    changed, table, row_id, before.get(changed.key), envelope.body
                )
            except Exception as exc:
                failure = classify(exc)
                if failure.kind == "transient":
                    raise
                if failure.kind == "throttled":
                    again.append(changed)
                    report.requeued += 1
                    continue
                self._park(changed.key, failure.error_class, failure.message, envelope.correlation_id)
                self._audit_one(
                    changed.key,
                    "parked",
                    None,
                    failure.message,
                    envelope.correlation_id,
                    started,
                    failure.error_class,
                )
                report.outcomes["parked"] += 1
                continue
            if outcome != "unchanged":
                marks.append(SyncMark(changed.key, changed.version, number, digest, started))
            if number:
                report.numbers[changed.key] = number
            self._parking.resolve(ENTITY, changed.key)  # closes an open entry, if there is one
            self._audit_one(changed.key, outcome, number, note, envelope.correlation_id, started)
            report.outcomes[outcome] += 1
        conflicts = self._ledger.record_synced(ENTITY, marks, before) if marks else []
        again += [ChangedKey(k) for k in conflicts]
        if again:
            envelopes = pack_changes(
                CHANGES, ENTITY, again, correlation_id=envelope.correlation_id, enqueued_at=self._clock()
            )
            self._publisher.send(
                self._queue, [e.with_body({"force": True}).to_json() for e in envelopes], delay_seconds=30
            )
        return report

    def _one(
        self,
        changed: ChangedKey,
        table: Table,
        row_id: uuid.UUID,
        entry: LedgerEntry | None,
        body: Mapping[str, Any],
    ) -> tuple[str, str | None, str, str]:
        """(outcome, IFS number, values hash, note) for one record."""
        key = changed.key
        row = self._sales.row(table.entity_set, row_id, [*table.columns, table.id_column])
        if row is None:
            return self._deleted(key, entry)
        plan = self._plan(table, row)
        number = (entry.target_id if entry else None) or self._idmap.target_id(ENTITY, key)
        if (
            entry is not None
            and entry.values_hash == plan.digest
            and number
            and body.get("force") is not True
        ):
            return "unchanged", number, plan.digest, "nothing changed since the last write"
        if number is None:
            number = self._find(row_id)
        if number is None and plan.adopt_from is not None:
            number = self._adopt(plan.adopt_from, row_id)
        if (
            table.name == "lead"
            and row.get("statecode") == 1
            and number is not None
            and not self._ours(number, row_id)
        ):
            return (
                "unchanged",
                number,
                plan.digest,
                f"qualified: IFS opportunity {number} went to its opportunity",
            )
        if number is None:
            outcome = create_once(
                self._ifs,
                self._leases,
                self._entity,
                {**plan.body, self._reference: str(row_id)},
                unique_on=(self._reference,),
                holder=key,
                clock=self._clock,
                pending_seconds=self._pending,
            )
            number, written = str(outcome.row[self._key_field]), "created"
        else:
            written = "updated" if self._update(number, plan.body) else "unchanged"
        self._idmap.link(ENTITY, key, number)
        if plan.state is not None and self._transition(number, plan.state):
            written = "updated" if written == "unchanged" else written
            note = f"IFS opportunity {number} is {plan.state}"
        else:
            note = f"IFS opportunity {number}"
        return written, number, plan.digest, note

    @property
    def _key_field(self) -> str:
        keys = getattr(self._entity, "keys", ())
        return str(keys[0]) if keys else "OpportunityNo"

    def _plan(self, table: Table, row: Mapping[str, Any]) -> _Plan:
        account = row.get(table.customer_column)
        customer = self._idmap.source_key(CUSTOMERS_ENTITY, str(account)) if account else None
        currency_id = row.get("_transactioncurrencyid_value")
        currency = (
            self._sales.rows_by_id(
                "transactioncurrencies",
                "transactioncurrencyid",
                [uuid.UUID(str(currency_id))],
                ["isocurrencycode"],
            ).get(uuid.UUID(str(currency_id)), {})
            if currency_id
            else {}
        )
        view = {
            table.name: row,
            "customer": {"CustomerId": customer} if customer else None,
            "currency": currency,
        }
        body = self._mapping.body(table.name, view)
        statecode = row.get("statecode")
        state = table.states.get(statecode if isinstance(statecode, int) else -1)
        digest = hashlib.sha256(
            json.dumps({"body": body, "state": state}, sort_keys=True, default=str).encode()
        ).hexdigest()
        lead = row.get("_originatingleadid_value")
        adopt = record_key("lead", lead) if table.name == "opportunity" and lead else None
        return _Plan(body, state, digest, adopt)

    def _find(self, row_id: uuid.UUID) -> str | None:
        rows = self._ifs.find_by(self._entity, {self._reference: str(row_id)}, select=(self._key_field,))
        return str(rows[0][self._key_field]) if rows else None

    def _ours(self, number: str, row_id: uuid.UUID) -> bool:
        row, _ = self._ifs.get(
            self._entity, {self._key_field: number}, select=(self._key_field, self._reference)
        )
        return str(row.get(self._reference) or "").lower() == str(row_id).lower()

    def _adopt(self, lead_key: str, row_id: uuid.UUID) -> str | None:
        """Take over the IFS record of the lead this opportunity was qualified from, if it has one."""
        number = self._idmap.target_id(ENTITY, lead_key)
        if number is None:
            return None
        self._update(number, {self._reference: str(row_id)})
        _log.info("opportunity %s takes over IFS opportunity %s of its lead %s", row_id, number, lead_key)
        return number

    def _update(self, number: str, body: Mapping[str, Any]) -> bool:
        """Write the fields that differ (ETag read first; 412: read and write again); whether it wrote."""
        key = {self._key_field: number}
        for attempt in range(3):
            row, etag = self._ifs.get(self._entity, key)
            changes = {name: value for name, value in body.items() if not _same(row.get(name), value)}
            if not changes:
                return False
            try:
                self._ifs.update(self._entity, key, changes, etag or "*")
            except Exception as exc:
                if getattr(exc, "status", None) in (409, 412) and attempt < 2:
                    continue
                raise
            return True
        return False

    def _transition(self, number: str, state: str) -> bool:
        """Move the IFS record to ``state`` through its action, when it is Active; whether it moved."""
        action = {WON: "won_action", LOST: "lost_action", CLOSED: "close_action"}.get(state)
        if action is None:
            return False
        name = str(self._mapping.option(action, ""))
        key = {self._key_field: number}
        for attempt in range(3):
            row, etag = self._ifs.get(self._entity, key, select=(self._key_field, "Objstate"))
            if row.get("Objstate") == state or row.get("Objstate") != ACTIVE or not name:
                return False
            try:
                self._ifs.call_action(self._entity, key, name, {}, etag=etag or "*")
            except Exception as exc:
                if getattr(exc, "status", None) in (409, 412) and attempt < 2:
                    continue
                raise
            return True
        return False

    def _deleted(self, key: str, entry: LedgerEntry | None) -> tuple[str, str | None, str, str]:
        number = (entry.target_id if entry else None) or self._idmap.target_id(ENTITY, key)
        policy = str(self._mapping.option("on_delete", "close"))
        if number is None:
            return "ignored", None, "deleted", "deleted in Dynamics before it reached IFS"
        if policy == "ignore":
            return (
                "ignored",
                number,
                "deleted",
                f"deleted in Dynamics; on_delete = ignore leaves IFS {number}",
            )
        moved = self._transition(number, CLOSED)
        done = "closed" if moved else "left as it is (not active)"
        note = f"deleted in Dynamics: IFS opportunity {number} {done}"
        return "closed" if moved else "unchanged", number, "deleted", note

    def _park(self, key: str, error_class: str, message: str, correlation: str) -> None:
        self._parking.park(
            ParkedRecord(
                entity=ENTITY,
                source_key=key,
                error_class=error_class,
                message=message,
                direction=DIRECTION,
                queue=self._queue,
                payload={"key": key},
                correlation_id=correlation,
            )
        )

    def _audit_one(  # noqa: PLR0917 - what one audit row says, in the order it reads
        self,
        key: str,
        outcome: str,
        number: str | None,
        message: str,
        correlation: str,
        started: datetime,
        error_class: str | None = None,
    ) -> None:
        latency = round((self._clock() - started).total_seconds() * 1000, 1)
        self._audit.record(
            [AuditEntry(DIRECTION, ENTITY, key, outcome, number, error_class, message, correlation, latency)]
        )


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(current, int | float) and isinstance(wanted, int | float) and not isinstance(current, bool):
        return float(current) == float(wanted)
    if isinstance(current, str) and isinstance(wanted, str) and len(wanted) == 10 and current[:10] == wanted:
        return True  # a date IFS serves as a timestamp
    return bool(current == wanted)
