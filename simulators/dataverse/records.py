"""One simulated organization and the Web API's record semantics: create, retrieve, update, upsert, delete.

This is the service layer under the HTTP routes (and under ``$batch`` and the bulk actions later): it
takes parsed locators and JSON bodies, enforces what the platform enforces, and returns stored rows.

- Creates fill what the platform fills (owner, business unit, state/status, currency and exchange
  rate, autonumbers, ``fullname``, ``_base`` amounts, prices and totals), then require every
  ``SystemRequired`` column to hold a value. ``ApplicationRequired`` columns are not enforced.
- Updates may not empty a ``SystemRequired`` column.
- A user other than SYSTEM needs the table's Create, Write or Delete privilege (``security.py``).
- ``@odata.bind`` must name an existing row of a target table, by id or by an Active alternate key.
- Active alternate keys are unique (case-insensitively, as SQL Server compares).
- Upsert (PATCH by id or key): ``If-Match: *`` forbids the create (404), ``If-None-Match: *`` forbids the
  update (412), ``If-Match: W/"v"`` needs that exact version (412); on update, key columns in the body
  are ignored; on create, body values win over the URL's key values.
- Deleting an order or quote deletes its lines, a webhook endpoint its steps, a step its images; a line's
  write recomputes its header's totals.
- A status reason must belong to its state (statuscode to statecode, per the table references); a new
  state without a status reason takes the state's default status.

Every write made inside ``operation(caller, message)`` is one transaction and raises the pipeline events
described in ``simulators/dataverse/events.py``: Create, Update (an Update that changes state and other
columns raises two, the other columns first, as the "special update operation behavior" article says),
Delete (also for cascaded rows), and an Update of a header whose totals a line changed. The public
operations below each run in their own operation unless one is already open (an action's, a bulk
operation's), in which case they join it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import string
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from simulators.dataverse import errors, pricing, registration, sales_rules
from simulators.dataverse.events import Caller, Operation, Pipeline, RowEvent
from simulators.dataverse.keys import Keys, Locator, parse_locator
from simulators.dataverse.payload import parse_body, record_path
from simulators.dataverse.schema import TABLES
from simulators.dataverse.security import Security
from simulators.dataverse.store import Ref, Row, Store
from simulators.dataverse.tables import Default, Table

__all__ = ["STATUSES", "Caller", "Organization", "etag"]

# state -> the status reasons it allows, the first being the state's default (table references' State and
# StatusCode options).
STATUSES: Mapping[str, Mapping[int, tuple[int, ...]]] = {
    "salesorder": {0: (1, 2), 1: (3,), 2: (4,), 3: (100001, 100002), 4: (100003,)},
    "quote": {0: (1,), 1: (2, 3), 2: (4,), 3: (7, 5, 6)},
    "opportunity": {0: (1, 2), 1: (3,), 2: (4, 5)},
    "lead": {0: (1, 2), 1: (3,), 2: (4, 5, 6, 7)},
    "quoteclose": {0: (1,), 1: (2,), 2: (3,)},
    "orderclose": {0: (1,), 1: (2,), 2: (3,)},
    "sdkmessageprocessingstep": {0: (1,), 1: (2,)},
    "asyncoperation": {0: (0,), 1: (10,), 2: (20, 21, 22), 3: (30, 31, 32)},
}
_STATE_COLUMNS = frozenset({"statecode", "statuscode"})
_FULLNAME_TABLES = frozenset({"contact", "lead", "systemuser"})
# parent table -> (child table, the child's lookup to the parent): deleting the parent deletes the children
CASCADE_DELETE: Mapping[str, tuple[tuple[str, str], ...]] = {
    **{header: (lines,) for header, lines in pricing.HEADER_LINES.items()},
    "serviceendpoint": (("sdkmessageprocessingstep", "eventhandler"),),
    "sdkmessageprocessingstep": (("sdkmessageprocessingstepimage", "sdkmessageprocessingstepid"),),
}


def etag(row: Row) -> str:
    """The row's weak ETag, ``W/"<versionnumber>"``."""
    return f'W/"{row["versionnumber"]}"'


def _is_star(header: str | None) -> bool:
    return header is not None and header.strip() == "*"


def _condition(header: str | None) -> str | None:
    """A conditional header's value, with the ``null`` that clients send to mean 'none' removed."""
    if header is None or header.strip().lower() in {"", "null"}:
        return None
    return header.strip()


class Organization:
    """The rows, keys and reference data of one Dataverse organization, and the operations on them."""

    def __init__(
        self,
        *,
        now: Callable[[], float],
        key_activation_seconds: float = 1.0,
        tables: Iterable[Table] = TABLES,
        expire_change_tracking_days: float = 7,
    ) -> None:
        self.now = now
        # Organization.ExpireChangeTrackingInDays: how long a change-tracking delta token stays valid.
        self.expire_change_tracking_days = expire_change_tracking_days
        self.store = Store()
        self.keys = Keys(self.store, now, key_activation_seconds)
        self._tables: dict[str, Table] = {}
        self._sets: dict[str, Table] = {}
        for table in tables:
            self.add_table(table)
        self.organization_id = uuid.uuid4()
        self.business_unit_id = uuid.uuid4()
        self.system_user_id = uuid.uuid4()
        self.base_currency_id = uuid.uuid4()
        # Roles and privileges: every write by a user other than SYSTEM needs its privilege (security.py).
        self.security = Security(self.system_user_id, self.business_unit_id, lambda: self.tables)
        self._autonumber = 1000
        self._random = random.Random()
        self.pipeline: Pipeline | None = None
        self._operation: Operation | None = None
        # Custom relationships made through RelationshipDefinitions (MetadataId -> RelationshipMetadata JSON).
        self.relationships: dict[str, dict[str, Any]] = {}
        self.sales_rules = sales_rules.SalesRules()

    # -- tables ----------------------------------------------------------------------------------------

    def add_table(self, table: Table) -> None:
        """Serve another table (e.g. a custom ``example_record`` table for documented exchanges)."""
        self._tables[table.logical_name] = table
        self._sets[table.entity_set] = table

    def remove_table(self, logical_name: str) -> None:
        """Stop serving a (custom) table."""
        table = self._tables.pop(logical_name, None)
        if table is not None:
            self._sets.pop(table.entity_set, None)

    def table(self, logical_name: str) -> Table | None:
        """The table with that logical name."""
        return self._tables.get(logical_name)

    def table_for_set(self, entity_set: str) -> Table | None:
        """The table behind an entity set name."""
        return self._sets.get(entity_set)

    @property
    def tables(self) -> list[Table]:
        """Every table served."""
        return list(self._tables.values())

    @property
    def system_caller(self) -> Caller:
        """The SYSTEM user (used to seed reference data)."""
        return Caller(self.system_user_id, self.business_unit_id)

    def now_datetime(self) -> dt.datetime:
        """The simulated time, as stored in ``createdon``/``modifiedon`` (whole seconds)."""
        return dt.datetime.fromtimestamp(int(self.now()), dt.UTC)

    # -- locating rows ---------------------------------------------------------------------------------

    def locate(self, table: Table, locator: Locator) -> tuple[Row | None, dict[str, Any]]:
        """The row a locator names (or None), and the typed key values when it is an alternate key."""
        if locator.id is not None:
            return self.store.get(table.logical_name, locator.id), {}
        _key, key_values = self.keys.resolve(table, locator.key)
        return self.keys.find(table, key_values), key_values

    def _missing(self, table: Table, locator: Locator) -> errors.WebApiError:
        if locator.id is not None:
            return errors.not_found(table.logical_name, str(locator.id))
        return errors.key_not_found(table.logical_name)

    def resolve_reference(self, targets: tuple[str, ...], url: str) -> Ref:
        """The row an ``@odata.bind`` URL names; WebApiError when malformed, of a wrong table, or missing."""
        path = record_path(url)
        entity_set, paren, rest = path.partition("(")
        table = self.table_for_set(entity_set)
        if not paren or not rest.endswith(")") or table is None:
            raise errors.bad_request(f"The URL '{url}' in an @odata.bind annotation is not a record URL.")
        if table.logical_name not in targets:
            raise errors.bad_request(
                f"The record URL '{url}' names a {table.logical_name}, which this lookup cannot reference."
            )
        locator = parse_locator(table, rest[:-1])
        if locator.key:
            with self.store.lock:
                try:
                    row, _ = self.locate(table, locator)
                except errors.WebApiError as exc:
                    raise errors.key_not_defined(table.logical_name) from exc
            if row is None:
                raise errors.key_not_found(table.logical_name)
        else:
            row = self.store.get(table.logical_name, locator.id or uuid.UUID(int=0))
            if row is None:
                raise errors.reference_not_found(table.logical_name, str(locator.id))
        return Ref(table.logical_name, row[table.primary_id])

    # -- requests and their events ---------------------------------------------------------------------

    @contextlib.contextmanager
    def operation(
        self,
        caller: Caller,
        message: str,
        *,
        table: Table | None = None,
        row_id: uuid.UUID | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> Iterator[Operation]:
        """One user request running ``message``: a transaction whose writes raise pipeline events.

        Inside an open operation this joins it (the writes belong to the outer request).
        """
        with self.store.lock:
            # Another request's transaction may be paused for a synchronous webhook call: not ours to join.
            self.store.wait_until_writable()
            current = self._operation
            if current is not None:
                yield current
                return
            operation = Operation(
                caller=caller,
                message=message,
                correlation_id=uuid.uuid4(),
                request_id=uuid.uuid4(),
                started=self.now_datetime(),
                primary_entity=table.logical_name if table is not None else None,
                primary_id=row_id,
                parameters=dict(parameters or {}),
            )
            self._operation = operation
            try:
                with self.store.transaction():
                    yield operation
            except BaseException:
                self._operation = None
                if self.pipeline is not None:
                    self.pipeline.rolled_back(operation)
                raise
            self._operation = None
            pipeline = self.pipeline
            if pipeline is not None:
                # Inside a $batch change set the request commits only with the whole change set.
                self.store.after_outcome(
                    lambda: pipeline.committed(operation), lambda: pipeline.rolled_back(operation)
                )

    def raise_before(self, event: RowEvent) -> None:
        """Run the pre-operation stages for ``event`` (nothing outside an operation or without a pipeline)."""
        if self._operation is not None and self.pipeline is not None:
            self.pipeline.before(self._operation, event)

    def raise_after(self, event: RowEvent) -> None:
        """Run the post-operation stage for ``event`` (nothing outside an operation or without a pipeline)."""
        if self._operation is not None and self.pipeline is not None:
            self.pipeline.after(self._operation, event)

    # -- operations ------------------------------------------------------------------------------------

    def retrieve(self, table: Table, locator: Locator) -> Row:
        """The row, or WebApiError 404."""
        with self.store.lock:
            row, _ = self.locate(table, locator)
        if row is None:
            raise self._missing(table, locator)
        return row

    def retrieve_row(self, table: Table, row_id: uuid.UUID) -> Row:
        """The row with that id, or WebApiError 404 (the conditional-operations article's message)."""
        row = self.store.get(table.logical_name, row_id)
        if row is None:
            raise errors.not_found(table.logical_name, str(row_id))
        return row

    def create(
        self,
        table: Table,
        body: Any,
        caller: Caller,
        *,
        row_id: uuid.UUID | None = None,
        key_values: Mapping[str, Any] | None = None,
    ) -> Row:
        """POST: a new row from ``body`` (plus the URL's key values / id for an upsert create)."""
        changes = parse_body(table, body, creating=True, resolve=self.resolve_reference)
        with self.operation(caller, "Create", table=table):
            self._check_sales_write(table, None, changes)
            return self._insert(table, changes, caller, row_id=row_id, key_values=key_values or {})

    def update(
        self, table: Table, locator: Locator, body: Any, caller: Caller, *, if_match: str | None = None
    ) -> Row:
        """PATCH with ``If-Match`` (``*`` or an ETag): update an existing row only."""
        row, _created = self.upsert(table, locator, body, caller, if_match=if_match or "*")
        return row

    def upsert(
        self,
        table: Table,
        locator: Locator,
        body: Any,
        caller: Caller,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> tuple[Row, bool]:
        """PATCH by id or key: update the row, or create it when absent; returns (row, created)."""
        if_match, if_none_match = _condition(if_match), _condition(if_none_match)
        # With If-Match the PATCH is a plain Update; without, an Upsert whose Create or Update follows.
        message = "Update" if if_match is not None else "Upsert"
        with self.operation(caller, message, table=table, row_id=locator.id):
            current, key_values = self.locate(table, locator)
            if current is None:
                if if_match is not None:
                    raise self._missing(table, locator)
                changes = parse_body(table, body, creating=True, resolve=self.resolve_reference)
                self._check_sales_write(table, None, {**self._key_refs(table, key_values), **changes})
                row = self._insert(table, changes, caller, row_id=locator.id, key_values=key_values)
                return row, True
            if _is_star(if_none_match):
                raise errors.already_exists()
            if if_match is not None and not _is_star(if_match) and if_match != etag(current):
                raise errors.version_mismatch()
            if isinstance(body, Mapping):
                body = {k: v for k, v in body.items() if k not in key_values}  # key columns are not updated
            changes = parse_body(table, body, creating=False, resolve=self.resolve_reference)
            self._check_sales_write(table, current, changes)
            return self._modify(table, current, changes, caller), False

    def delete(
        self,
        table: Table,
        locator: Locator,
        *,
        if_match: str | None = None,
        caller: Caller | None = None,
    ) -> None:
        """DELETE: remove the row and what cascades from it; 404 when absent, 412 on a stale ETag."""
        if_match = _condition(if_match)
        with self.operation(caller or self.system_caller, "Delete", table=table, row_id=locator.id):
            current, _ = self.locate(table, locator)
            if current is None:
                raise self._missing(table, locator)
            self.security.require(caller or self.system_caller, table, "Delete")
            if if_match is not None and not _is_star(if_match) and if_match != etag(current):
                raise errors.version_mismatch()
            if table.logical_name in pricing.LINE_PARENT:
                sales_rules.check_line(self.store, table.logical_name, current)
            self._remove(table, current)

    def _check_sales_write(self, table: Table, current: Row | None, changes: Mapping[str, Any]) -> None:
        """The Sales rules for a write through the Web API (the platform's own writes skip them)."""
        name = table.logical_name
        if name in pricing.LINE_PARENT:
            if current is not None:
                sales_rules.check_line(self.store, name, current)
            sales_rules.check_line(self.store, name, changes)
        elif current is not None:
            sales_rules.check_update(self.sales_rules, name, current, changes)

    @staticmethod
    def _key_refs(table: Table, key_values: Mapping[str, Any]) -> dict[str, Any]:
        """A URL's key values as stored, lookups as references (a line addressed by its order and key)."""
        return {
            name: Ref(table.columns[name].targets[0], value) if table.columns[name].is_lookup else value
            for name, value in key_values.items()
        }

    def _remove(self, table: Table, current: Row) -> None:
        row_id = current[table.primary_id]
        event = RowEvent("Delete", table, row_id, before=current)
        self.raise_before(event)
        self.store.remove(table.logical_name, row_id)
        # The parent goes first, so a cascaded line finds no header to re-total.
        for child_name, parent_column in CASCADE_DELETE.get(table.logical_name, ()):
            child_table = self.table(child_name)
            if child_table is None:
                continue
            for child in [dict(c) for c in self.store.children(child_name, parent_column, row_id)]:
                self._remove(child_table, child)
        if table.logical_name in pricing.LINE_PARENT:
            self._retotal(table, current)
        self.raise_after(event)

    # -- the platform's part of a write ------------------------------------------------------------------

    def _insert(
        self,
        table: Table,
        changes: dict[str, Any],
        caller: Caller,
        *,
        row_id: uuid.UUID | None,
        key_values: Mapping[str, Any],
    ) -> Row:
        self.security.require(caller, table, "Create")
        row: Row = dict.fromkeys(table.columns)
        for name, value in key_values.items():
            column = table.columns[name]
            row[name] = Ref(column.targets[0], value) if column.is_lookup else value
        row.update(changes)  # body values win over the URL's key values
        new_id = row.get(table.primary_id) or row_id or uuid.uuid4()
        if self.store.get(table.logical_name, new_id) is not None:
            raise errors.WebApiError(
                412, errors.DUPLICATE_RECORD, "Operation failed due to a SQL integrity violation."
            )
        row[table.primary_id] = new_id
        stamp = self.now_datetime()
        who = Ref("systemuser", caller.user_id)
        row.update(createdon=stamp, modifiedon=stamp, createdby=who, modifiedby=who)
        if table.ownership == "UserOwned":
            row["owningbusinessunit"] = Ref("businessunit", caller.business_unit_id)
        for column in table.columns.values():
            if row.get(column.name) is None and column.default is not None:
                row[column.name] = self._default(column.default, column.autonumber_prefix, who)
        self._derive(table, row, creating=True)
        self._apply_rules(table, row, None)
        self._require(table, row)
        submitted = {**changes, table.primary_id: new_id}
        self.raise_before(RowEvent("Create", table, new_id, target=submitted, submitted=submitted))
        stored = self._store(table, row)
        self._after_write(table, stored, created=True)
        target = {k: v for k, v in stored.items() if v is not None and k != "versionnumber"}
        self.raise_after(RowEvent("Create", table, new_id, target=target, submitted=submitted, after=stored))
        return stored

    def _modify(self, table: Table, current: Row, changes: dict[str, Any], caller: Caller) -> Row:
        self.security.require(caller, table, "Write")
        row = dict(current)
        row.update(changes)
        if "statecode" in changes and "statuscode" not in changes:
            row["statuscode"] = None  # the default status reason of the new state
        row.update(modifiedon=self.now_datetime(), modifiedby=Ref("systemuser", caller.user_id))
        self._derive(table, row, creating=False)
        self._apply_rules(table, row, current)
        self._require(table, row)
        events = self._update_events(table, current, row, changes)
        for event in events:
            self.raise_before(event)
        stored = self._store(table, row)
        self._after_write(table, stored, created=False)
        for event in events:
            self.raise_after(_with_after(event, stored) if event is events[-1] else event)
        return stored

    def _update_events(
        self, table: Table, current: Row, row: Row, changes: Mapping[str, Any]
    ) -> list[RowEvent]:
        """The Update events of one write: other columns, then state columns, as the platform splits them."""
        row_id = current[table.primary_id]
        always = {table.primary_id: row_id, "modifiedon": row["modifiedon"], "modifiedby": row["modifiedby"]}
        written = {
            k: v for k, v in row.items() if k != "versionnumber" and (k in changes or v != current.get(k))
        }
        state = {k: v for k, v in written.items() if k in _STATE_COLUMNS}
        other = {k: v for k, v in written.items() if k not in _STATE_COLUMNS}
        if not state:
            submitted = {**changes, table.primary_id: row_id}
            return [RowEvent("Update", table, row_id, {**other, **always}, submitted, current, row)]
        state_submitted = {k: v for k, v in changes.items() if k in _STATE_COLUMNS}
        state_event = RowEvent(
            "Update", table, row_id, {**state, **always}, {**state_submitted, table.primary_id: row_id}
        )
        if not set(changes) - _STATE_COLUMNS:
            return [_with_before(state_event, current)]
        between = {**current, **other}  # the row after the first execution, before the state change
        other_submitted = {k: v for k, v in changes.items() if k not in _STATE_COLUMNS}
        return [
            RowEvent(
                "Update",
                table,
                row_id,
                {**other, **always},
                {**other_submitted, table.primary_id: row_id},
                current,
                between,
            ),
            _with_before(state_event, between),
        ]

    def _default(self, default: object, prefix: str, who: Ref) -> Any:
        if default == Default.CALLER:
            return who
        if default == Default.BASE_CURRENCY:
            return Ref("transactioncurrency", self.base_currency_id)
        if default == Default.AUTONUMBER:
            self._autonumber += 1
            suffix = "".join(self._random.choices(string.ascii_uppercase + string.digits, k=6))
            return f"{prefix}-{self._autonumber:05d}-{suffix}"
        return default

    def _derive(self, table: Table, row: Row, *, creating: bool) -> None:
        name = table.logical_name
        self._state_and_status(table, row)
        if name in _FULLNAME_TABLES:
            parts = [row.get("firstname"), row.get("lastname")]
            row["fullname"] = " ".join(p for p in parts if p) or None
        if name == "productpricelevel":
            pricing.prepare_price_list_item(self.store, row, creating)
        if name in pricing.LINE_PARENT:
            pricing.price_line(self.store, name, row, creating)
        if name in pricing.HEADER_LINES:
            pricing.check_header(self.store, row)
            pricing.total_header(self.store, name, row)
        self._exchange(table, row)

    def _apply_rules(self, table: Table, row: Row, current: Row | None) -> None:
        rule = registration.RULES.get(table.logical_name)
        if rule is not None:
            rule(self.store, row, current)

    def _state_and_status(self, table: Table, row: Row) -> None:
        if "statuscode" not in table.columns:
            return
        statuses = STATUSES.get(table.logical_name)
        state = row.get("statecode") or 0
        if row.get("statuscode") is None:
            row["statuscode"] = statuses[state][0] if statuses and state in statuses else 1
        elif statuses is not None and row["statuscode"] not in statuses.get(state, ()):
            raise errors.invalid_state_status()

    def _exchange(self, table: Table, row: Row) -> None:
        currency = row.get("transactioncurrencyid") if "exchangerate" in table.columns else None
        rate = Decimal(1)
        if isinstance(currency, Ref):
            record = self.store.get("transactioncurrency", currency.id)
            if record is not None and isinstance(record.get("exchangerate"), Decimal):
                rate = record["exchangerate"]
            row["exchangerate"] = rate
        for column in table.money_columns:
            if f"{column.name}_base" in table.columns:
                value = row.get(column.name)
                row[f"{column.name}_base"] = (
                    None if value is None else (value / rate).quantize(Decimal("0.01"))
                )

    def _require(self, table: Table, row: Row) -> None:
        for column in table.columns.values():
            if column.required == "SystemRequired" and row.get(column.name) is None:
                raise errors.required_missing(table.logical_name, column.name)

    def _store(self, table: Table, row: Row) -> Row:
        row_id = row[table.primary_id]
        key = self.keys.conflict(table, row, row_id)
        if key is not None:
            raise errors.duplicate_key(key.schema_name, list(key.attributes))
        return self.store.put(table.logical_name, row_id, row)

    def _after_write(self, table: Table, row: Row, *, created: bool) -> None:
        if table.logical_name == "uomschedule" and created:
            self._create_base_unit(row)
        if table.logical_name in pricing.LINE_PARENT:
            self._retotal(table, row)

    def _retotal(self, line_table: Table, line: Row) -> None:
        parent_column, header_table = pricing.LINE_PARENT[line_table.logical_name]
        parent = line.get(parent_column)
        if not isinstance(parent, Ref):
            return
        header = self.table(header_table)
        if header is not None:
            pricing.retotal(self.store, header_table, parent.id, lambda row: self._store_derived(header, row))

    def _store_derived(self, table: Table, row: Row) -> Row:
        self._exchange(table, row)
        row_id = row[table.primary_id]
        before = self.store.get(table.logical_name, row_id)
        stored = self.store.put(table.logical_name, row_id, row)
        if before is not None:
            changed = {k: v for k, v in stored.items() if k != "versionnumber" and v != before.get(k)}
            if changed:  # the pricing engine's Update of the header
                target = {**changed, table.primary_id: row_id}
                self.raise_after(RowEvent("Update", table, row_id, target, target, before, stored))
        return stored

    def _create_base_unit(self, schedule: Row) -> None:
        """A new unit group gets its base unit (named ``baseuomname``, quantity 1, its own base)."""
        unit_table = self.table("uom")
        if unit_table is None:
            return
        unit_id = uuid.uuid4()
        stamp = self.now_datetime()
        row: Row = dict.fromkeys(unit_table.columns)
        row.update(
            uomid=unit_id,
            name=schedule["baseuomname"],
            uomscheduleid=Ref("uomschedule", schedule["uomscheduleid"]),
            quantity=Decimal(1),
            baseuom=Ref("uom", unit_id),
            isschedulebaseuom=True,
            createdon=stamp,
            modifiedon=stamp,
            createdby=schedule["createdby"],
            modifiedby=schedule["createdby"],
            statecode=0,
            statuscode=1,
        )
        self.store.put("uom", unit_id, row)

    # -- writes the platform makes for a request (actions) ------------------------------------------------

    def platform_create(
        self, table: Table, values: Mapping[str, Any], caller: Caller, *, row_id: uuid.UUID | None = None
    ) -> Row:
        """Create a row from stored-form values as part of the current request (events and rules apply)."""
        with self.operation(caller, "Create", table=table):
            return self._insert(table, dict(values), caller, row_id=row_id, key_values={})

    def platform_update(
        self, table: Table, row_id: uuid.UUID, values: Mapping[str, Any], caller: Caller
    ) -> Row:
        """Update a row with stored-form values as part of the current request (events and rules apply)."""
        with self.operation(caller, "Update", table=table, row_id=row_id):
            current = self.store.get(table.logical_name, row_id)
            if current is None:
                raise errors.not_found(table.logical_name, str(row_id))
            return self._modify(table, current, dict(values), caller)

    # -- direct writes for seeding -----------------------------------------------------------------------

    def insert_system_row(self, table: Table, values: Mapping[str, Any]) -> Row:
        """Seed a row as the platform does (no API validation beyond required columns)."""
        with self.store.lock:
            return self._insert(table, dict(values), self.system_caller, row_id=None, key_values={})


def _with_before(event: RowEvent, before: Row) -> RowEvent:
    return RowEvent(
        event.message, event.table, event.row_id, event.target, event.submitted, before, event.after
    )


def _with_after(event: RowEvent, after: Row) -> RowEvent:
    return RowEvent(
        event.message, event.table, event.row_id, event.target, event.submitted, event.before, after
    )
