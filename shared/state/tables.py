"""Open the state tables under one prefix, and update entities safely when writers race.

``mutate`` is the one optimistic-concurrency loop every repository uses: read the entity with its ETag,
compute the new version, write it only if nobody else wrote in between (If-Match / create-if-absent),
and start over on 412 or 409.

``get_entities`` resolves a few keys of a partition by point reads on a bounded thread pool. A query
cannot do it cheaply: an ``or`` of RowKeys is not a range, so the service scans the whole partition
(Azure's table design guidance), and a partition such as the id map's grows with every link.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import tenacity
from azure.core import MatchConditions
from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, TableServiceClient, UpdateMode

from shared.config import StorageSettings

Entity = dict[str, Any]
# Table Storage allows at most 100 operations in one transaction, all in one partition.
TRANSACTION_LIMIT = 100
# Point reads in flight at once for one get_entities call (within the SDK's pool of 10 connections).
POINT_READ_WORKERS = 8


class ConcurrencyConflictError(RuntimeError):
    """Concurrent writers kept winning; the update was not applied."""


class StateTables:
    """The connector's state tables in one storage account, created on first use."""

    def __init__(self, service: TableServiceClient, prefix: str) -> None:
        self._service = service
        self._prefix = prefix
        self._clients: dict[str, TableClient] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_connection_string(cls, connection_string: str, prefix: str) -> StateTables:
        """State tables in the account named by ``connection_string``."""
        return cls(TableServiceClient.from_connection_string(connection_string), prefix)

    @classmethod
    def from_settings(
        cls, settings: StorageSettings, credential: TokenCredential | None = None
    ) -> StateTables:
        """State tables by connection string, or else at the identity-based endpoint with ``credential``."""
        if settings.connection_string:
            return cls.from_connection_string(settings.connection_string, settings.table_prefix)
        if settings.identity is None or credential is None:
            raise ValueError("an identity-based storage connection needs its endpoints and a credential")
        service = TableServiceClient(endpoint=settings.identity.table_service_uri, credential=credential)
        return cls(service, settings.table_prefix)

    @property
    def service(self) -> TableServiceClient:
        """The account's table service client (its ``url`` and ``credential`` say where and as whom)."""
        return self._service

    def table(self, name: str) -> TableClient:
        """The client of table ``<prefix><name>``, creating the table once per process."""
        with self._lock:
            client = self._clients.get(name)
            if client is None:
                client = self._service.create_table_if_not_exists(f"{self._prefix}{name}")
                self._clients[name] = client
            return client


def get_entity(table: TableClient, partition_key: str, row_key: str) -> TableEntity | None:
    """The entity, or None when it does not exist."""
    try:
        return table.get_entity(partition_key, row_key)
    except ResourceNotFoundError:
        return None


def get_entities(
    table: TableClient,
    partition_key: str,
    row_keys: Iterable[str],
    *,
    select: list[str] | None = None,
    workers: int = POINT_READ_WORKERS,
) -> dict[str, TableEntity]:
    """The entities of ``row_keys`` in one partition, by RowKey; missing ones are absent.

    One point read per key, at most ``workers`` at a time: the cost follows the keys asked for, not the
    size of the partition.
    """
    wanted = list(dict.fromkeys(row_keys))

    def read(row_key: str) -> TableEntity | None:
        try:
            return table.get_entity(partition_key, row_key, select=select)
        except ResourceNotFoundError:
            return None

    if len(wanted) <= 1:
        found = [read(row_key) for row_key in wanted]
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(wanted))) as pool:
            found = list(pool.map(read, wanted))
    return {row_key: entity for row_key, entity in zip(wanted, found, strict=True) if entity is not None}


# Up to this many keys are read one by one, in parallel; more are read as one RowKey range.
POINT_READ_LIMIT = 64


def read_rows(
    table: TableClient, partition_key: str, row_keys: Iterable[str], *, select: list[str] | None = None
) -> dict[str, TableEntity]:
    """The entities of ``row_keys`` in one partition, by RowKey; missing ones are absent.

    A few keys are read by parallel point reads (``get_entities``); many by one query of the RowKey range
    they span, keeping the wanted rows. A message's keys come sorted from the poller, so the range holds
    mostly wanted rows: one request per 1,000 rows instead of one per key.
    """
    wanted = sorted(set(row_keys))
    if len(wanted) <= POINT_READ_LIMIT:
        return get_entities(table, partition_key, wanted, select=select)
    keep = set(wanted)
    rows = table.query_entities(
        "PartitionKey eq @p and RowKey ge @first and RowKey le @last",
        parameters={"p": partition_key, "first": wanted[0], "last": wanted[-1]},
        select=None if select is None else list(dict.fromkeys(["RowKey", *select])),
    )
    return {row["RowKey"]: row for row in rows if row["RowKey"] in keep}


def mutate(
    table: TableClient,
    partition_key: str,
    row_key: str,
    change: Callable[[TableEntity | None], Mapping[str, Any] | None],
    *,
    attempts: int = 20,
) -> Mapping[str, Any] | None:
    """Apply ``change`` to the current entity (None if absent) under optimistic concurrency.

    ``change`` returns the new properties (PartitionKey/RowKey are added), or None to leave the entity
    as it is. It may run several times, so it must not have side effects. Returns what was written.
    """

    def attempt() -> Mapping[str, Any] | None:
        current = get_entity(table, partition_key, row_key)
        new = change(current)
        if new is None:
            return None
        entity: Entity = {**new, "PartitionKey": partition_key, "RowKey": row_key}
        if current is None:
            table.create_entity(entity)  # 409 when another writer created it first
        else:
            table.update_entity(
                entity,
                mode=UpdateMode.REPLACE,
                etag=current.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )  # 412 when another writer changed it since we read it
        return entity

    retrying = tenacity.Retrying(
        # 412: changed since read; 409: created since read; 404: deleted since read (next read sees None).
        retry=tenacity.retry_if_exception_type(
            (ResourceModifiedError, ResourceExistsError, ResourceNotFoundError)
        ),
        stop=tenacity.stop_after_attempt(attempts),
        # A little jitter so two writers that collided do not collide again in lockstep.
        wait=tenacity.wait_random(0, 0.02),
        reraise=True,
    )
    try:
        return retrying(attempt)
    except (ResourceModifiedError, ResourceExistsError, ResourceNotFoundError) as exc:
        raise ConcurrencyConflictError(
            f"{table.table_name}/{partition_key}/{row_key}: gave up after {attempts} tries"
        ) from exc


def upsert_in_batches(table: TableClient, entities: list[Entity]) -> None:
    """Upsert (merge) entities in transactions of up to 100, grouped by partition."""
    by_partition: dict[str, list[Entity]] = {}
    for entity in entities:
        by_partition.setdefault(entity["PartitionKey"], []).append(entity)
    for group in by_partition.values():
        for start in range(0, len(group), TRANSACTION_LIMIT):
            chunk = group[start : start + TRANSACTION_LIMIT]
            table.submit_transaction([("upsert", e, {"mode": UpdateMode.MERGE}) for e in chunk])
