"""Bulk upsert by key, falling back from UpsertMultiple to ``$batch`` to single requests; per-row results.

Why this chain (bulk-operations.md, docs/dataverse-api.md, "Bulk actions"):

- **UpsertMultiple** writes a chunk of rows in one request and one transaction, the highest throughput
  Dataverse offers, and counts as one request for service protection. Not every standard table has it,
  so the table is probed once with the documented ``sdkmessagefilters`` query and the answer cached.
- On a standard table **one bad row fails the whole UpsertMultiple and nothing is written**. The article
  recommends falling back to ``$batch``: the failed chunk is sent again as a ``$batch`` of single upserts
  (``PATCH`` by key) with ``Prefer: odata.continue-on-error``, so only the bad rows fail and every other
  row lands. Each row gets its own result with the typed error.
- Where ``$batch`` is unavailable (the service answers it with 404, 405 or 501), or cannot be read,
  **single requests**, one ``PATCH`` per row.

Duplicate keys within one UpsertMultiple are an error, so a key that repeats in the input starts a new
chunk: every row is written, in input order, and the last one wins as sequential upserts would. A key
value a URL cannot carry fails that row at once (``UnaddressableKeyError``; write it by GUID instead).

A transient failure (throttling or a server error that outlasted the retry policy) stops the run: the
rows not yet written get that error (``error.transient`` is true), so the caller can hand the work back to
the queue instead of hammering a throttled service. Rows already written stay written; upserts are
idempotent, so writing them again later is harmless.

Chunk sizes are configurable: the article suggests 100-1000 records per bulk request for standard tables
("1,000 records per request is a reasonable place to start if the size of the record data is small and
there are no plug-ins"), fewer when requests time out; a ``$batch`` holds at most 1000 requests.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from shared.dataverse.batch import (
    MAX_OPERATIONS,
    BatchOperation,
    BatchResponseError,
    OperationResult,
    execute_batch,
)
from shared.dataverse.client import DataverseClient
from shared.dataverse.errors import DataverseError
from shared.dataverse.keys import RecordId, UnaddressableKeyError, record_path

_log = logging.getLogger(__name__)

Via = Literal["UpsertMultiple", "$batch", "single", "none"]
Row = tuple[RecordId, Mapping[str, Any]]
# How the service says a table lacks a bulk message. The Web API's exact answer is not published; these
# are the platform's "MessageProcessor" wording and OData's unknown-segment wording (kept configurable).
UNSUPPORTED_MESSAGE_TEXTS: tuple[str, ...] = (
    "does not support entities of type",
    "Resource not found for the segment",
)
NOT_SUPPORTED_CODE = "0x80040315"
BATCH_UNAVAILABLE_STATUSES = frozenset({404, 405, 501})
PROBE_FILTER = "sdkmessageid/name eq @message and primaryobjecttypecode eq @table"


@dataclass(frozen=True)
class RecordResult:
    """What became of one input row.

    ``index`` is its position in the input. ``via`` is the request that wrote (or failed) it, ``"none"``
    when nothing was sent for it. ``created`` and ``id`` are known only when the upserter was asked to
    ``return_created`` and the row went through ``$batch`` or a single request (UpsertMultiple's Web API
    answer is a bare 204).
    """

    index: int
    key: RecordId
    ok: bool
    via: Via
    created: bool | None = None
    id: uuid.UUID | None = None
    error: DataverseError | UnaddressableKeyError | None = None

    def __post_init__(self) -> None:
        if not self.ok and self.error is None:
            raise ValueError(f"row {self.index} failed without an error saying why")


@dataclass(frozen=True)
class _Pending:
    index: int
    key: RecordId
    body: Mapping[str, Any]
    path: str  # accounts(accountnumber='C1')


def message_unsupported(error: DataverseError) -> bool:
    """Whether an error says the table (or the org) does not have the bulk message."""
    if error.status not in (400, 404, 405, 501):
        return False
    return error.code.lower() == NOT_SUPPORTED_CODE or any(
        t in error.message for t in UNSUPPORTED_MESSAGE_TEXTS
    )


class BulkUpserter:
    """Upserts many rows of one table by key through the fastest path the table and the org support.

    ``chunk_size``: rows per UpsertMultiple request; ``batch_size``: requests per ``$batch`` (at most
    1000). ``use_bulk``/``use_batch`` switch a path off. ``return_created``: ask ``$batch`` and single
    upserts for ``Prefer: return=representation`` with only the primary key, so each result says whether
    the row was created and carries its id (one extra read per row on the server).
    """

    def __init__(
        self,
        client: DataverseClient,
        *,
        chunk_size: int = 500,
        batch_size: int = 100,
        use_bulk: bool = True,
        use_batch: bool = True,
        return_created: bool = False,
    ) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
        if not 1 <= batch_size <= MAX_OPERATIONS:
            raise ValueError(f"batch_size must be between 1 and {MAX_OPERATIONS}, not {batch_size}")
        self._client = client
        self.chunk_size = chunk_size
        self.batch_size = batch_size
        self.use_bulk = use_bulk
        self.batch_available = use_batch
        self.return_created = return_created
        self._support: dict[tuple[str, str], bool] = {}

    # -- availability ------------------------------------------------------------------------------------

    def supports(self, logical_name: str, message: str = "UpsertMultiple") -> bool:
        """Whether the table has ``message``: the documented sdkmessagefilters probe, asked once per table."""
        key = (logical_name.lower(), message.lower())
        if key not in self._support:
            page = self._client.query_page(
                "sdkmessagefilters",
                select=["sdkmessagefilterid"],
                filter=PROBE_FILTER,
                params={
                    "@message": _string_literal(message),
                    "@table": _string_literal(logical_name.lower()),
                },
            )
            self._support[key] = bool(page.rows)
            _log.info("Dataverse table %s %s %s", logical_name, "has" if page.rows else "lacks", message)
        return self._support[key]

    def _bulk_possible(self, logical_name: str) -> bool:
        if not self.use_bulk:
            return False
        try:
            return self.supports(logical_name)
        except DataverseError as exc:  # a failed probe is not cached: try again on the next call
            _log.warning("UpsertMultiple probe for %s failed (%s); using $batch for now", logical_name, exc)
            return False

    # -- the run -----------------------------------------------------------------------------------------

    def upsert_many(
        self, entity_set: str, logical_name: str, rows: Sequence[Row], *, primary_id: str | None = None
    ) -> list[RecordResult]:
        """Upsert every ``(key, body)`` of ``rows`` into ``entity_set``; one result per row, in input order.

        ``key`` is an alternate key (``{"accountnumber": "C1"}``) or a GUID; ``body`` holds the columns to
        write (not the key columns). ``primary_id`` (default ``<logical_name>id``) is read from
        representations when ``return_created`` is on.
        """
        results: list[RecordResult | None] = [None] * len(rows)
        pending: list[_Pending] = []
        for index, (key, body) in enumerate(rows):
            try:
                pending.append(_Pending(index, key, body, record_path(entity_set, key)))
            except UnaddressableKeyError as exc:
                results[index] = RecordResult(index, key, ok=False, via="none", error=exc)
        chunks = list(_chunks(pending, self.chunk_size))
        pk = primary_id or f"{logical_name}id"
        for number, chunk in enumerate(chunks):
            stopped = self._chunk(entity_set, logical_name, pk, chunk, results)
            if stopped is not None:
                for row in (row for later in chunks[number:] for row in later):
                    if results[row.index] is None:
                        results[row.index] = RecordResult(
                            row.index, row.key, ok=False, via="none", error=stopped
                        )
                break
        finished = [result for result in results if result is not None]
        if len(finished) != len(rows):  # every row must be accounted for, never dropped
            raise RuntimeError(f"{len(rows) - len(finished)} rows were left without a result")
        return finished

    def _chunk(
        self,
        entity_set: str,
        logical_name: str,
        pk: str,
        chunk: list[_Pending],
        results: list[RecordResult | None],
    ) -> DataverseError | None:
        """Write one chunk; a transient error that should stop the run, else None."""
        if self._bulk_possible(logical_name):
            try:
                self._upsert_multiple(entity_set, logical_name, chunk)
            except DataverseError as exc:
                if message_unsupported(exc):
                    _log.warning("%s refused UpsertMultiple (%s); falling back to $batch", logical_name, exc)
                    self._support[(logical_name.lower(), "upsertmultiple")] = False
                elif exc.transient:
                    return exc
                else:
                    _log.info(
                        "UpsertMultiple of %d %s rows failed (%s); isolating the bad rows",
                        len(chunk),
                        logical_name,
                        exc,
                    )
            else:
                for row in chunk:
                    results[row.index] = RecordResult(row.index, row.key, ok=True, via="UpsertMultiple")
                return None
        return self._isolate(entity_set, pk, chunk, results)

    def _upsert_multiple(self, entity_set: str, logical_name: str, chunk: list[_Pending]) -> None:
        kind = f"Microsoft.Dynamics.CRM.{logical_name}"
        targets = [{"@odata.type": kind, "@odata.id": row.path, **row.body} for row in chunk]
        self._client.send(
            "POST",
            f"{entity_set}/Microsoft.Dynamics.CRM.UpsertMultiple",
            json={"Targets": targets},
            idempotent=True,
        )

    def _isolate(
        self, entity_set: str, pk: str, chunk: list[_Pending], results: list[RecordResult | None]
    ) -> DataverseError | None:
        """``$batch`` with continue-on-error, ``batch_size`` rows at a time; single requests without it."""
        for start in range(0, len(chunk), self.batch_size):
            piece = chunk[start : start + self.batch_size]
            if self.batch_available:
                try:
                    outcomes = execute_batch(
                        self._client, [self._patch(row, pk) for row in piece], continue_on_error=True
                    )
                except DataverseError as exc:
                    if exc.transient:
                        return exc
                    if exc.status in BATCH_UNAVAILABLE_STATUSES or isinstance(exc, BatchResponseError):
                        _log.warning("$batch is unavailable (%s); falling back to single requests", exc)
                        self.batch_available = False
                else:
                    for row, outcome in zip(piece, outcomes, strict=True):
                        results[row.index] = self._from_outcome(row, outcome, pk)
                    continue
            for row in piece:
                result = self._single(entity_set, row, pk)
                results[row.index] = result
                if isinstance(result.error, DataverseError) and result.error.transient:
                    return result.error
        return None

    def _patch(self, row: _Pending, pk: str) -> BatchOperation:
        if self.return_created:
            return BatchOperation(
                "PATCH", f"{row.path}?$select={pk}", row.body, headers={"Prefer": "return=representation"}
            )
        return BatchOperation("PATCH", row.path, row.body)

    def _from_outcome(self, row: _Pending, outcome: OperationResult, pk: str) -> RecordResult:
        if not outcome.ok:
            error = outcome.error or BatchResponseError(
                outcome.status,
                "",
                "the $batch did not run this request"
                if outcome.status == 0
                else f"the $batch answered this request with status {outcome.status}",
                method=outcome.operation.method,
                url=outcome.operation.path,
            )
            return RecordResult(row.index, row.key, ok=False, via="$batch", error=error)
        # After a lost answer the row may have been created by the earlier attempt: 200 would not say.
        created = None if outcome.after_lost_answer else {201: True, 200: False}.get(outcome.status)
        record = outcome.json() if outcome.body else None
        return RecordResult(row.index, row.key, ok=True, via="$batch", created=created, id=_id(record, pk))

    def _single(self, entity_set: str, row: _Pending, pk: str) -> RecordResult:
        try:
            written = self._client.upsert(
                entity_set, row.key, row.body, return_representation=self.return_created, select=[pk]
            )
        except DataverseError as exc:
            return RecordResult(row.index, row.key, ok=False, via="single", error=exc)
        return RecordResult(
            row.index,
            row.key,
            ok=True,
            via="single",
            created=written.created,
            id=written.id or _id(written.record, pk),
        )


def _string_literal(value: str) -> str:
    """An OData string literal: quoted, with each ``'`` doubled (a parameter alias value, not yet encoded)."""
    return "'" + value.replace("'", "''") + "'"


def _id(record: Any, pk: str) -> uuid.UUID | None:
    value = record.get(pk) if isinstance(record, Mapping) else None
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _chunks(rows: list[_Pending], size: int) -> Iterator[list[_Pending]]:
    """Chunks of at most ``size`` rows, never two for one key (keys compare case-insensitively)."""
    chunk: list[_Pending] = []
    keys: set[str] = set()
    for row in rows:
        identity = row.path.casefold()
        if len(chunk) == size or identity in keys:
            yield chunk
            chunk, keys = [], set()
        chunk.append(row)
        keys.add(identity)
    if chunk:
        yield chunk
