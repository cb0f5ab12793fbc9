"""The event hook of the simulated organization: every write raises pipeline events a listener can act on.

Dataverse runs each message (Create, Update, Delete, an action such as WinQuote) through an event pipeline
where registered steps run before (stages 10, 20) or after (stage 40) the main operation. The simulator's
``Organization`` raises the same events, so webhook steps (``simulators/dataverse/webhooks.py``) can fire:

- An ``Operation`` is one user request: the caller, a ``CorrelationId`` shared by everything the request
  causes, a ``RequestId``, and the message the request runs (``Create``, ``Upsert``,
  ``ConvertQuoteToSalesOrder``, ``CreateMultiple``…). All of its writes are one transaction
  (``Store.transaction``).
- A ``RowEvent`` is one message on one row inside it. A request raises one per row it touches: an action
  that creates an order and its lines raises a Create per row (and an Update for the totals), all under the
  request's correlation id; a bulk operation raises a Create/Update per item, as the bulk-operations article
  says webhooks see them.
- A ``Pipeline`` receives ``before`` (pre-validation/pre-operation stages, inside the transaction),
  ``after`` (post-operation, inside the transaction: a synchronous step that fails here fails the request
  and rolls it back) and, once the request is over, ``committed`` or ``rolled_back`` (asynchronous steps run
  only for committed requests).

Code that writes rows for a request (a Web API route, an action, a bulk operation) wraps its writes in
``Organization.operation(caller, message)``; writes made outside any operation (seeding) raise no events.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from simulators.dataverse.store import Row
from simulators.dataverse.tables import Table


@dataclass(frozen=True)
class Caller:
    """The user a request runs as (from the bearer token's application user)."""

    user_id: uuid.UUID
    business_unit_id: uuid.UUID


def _frozen(values: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True)
class Operation:
    """One user request: who runs it, its ids, and the message it runs with its parameters.

    ``parameters`` are the request's input parameters in stored form (``Ref`` for references) for messages
    that are not plain row writes (an action's ``QuoteId``, ``Status``…). ``deferred`` is scratch space a
    pipeline fills during the request and reads in ``committed``/``rolled_back``.
    """

    caller: Caller
    message: str
    correlation_id: uuid.UUID
    request_id: uuid.UUID
    started: dt.datetime
    primary_entity: str | None = None
    primary_id: uuid.UUID | None = None
    parameters: Mapping[str, Any] = field(default_factory=_frozen)
    deferred: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class RowEvent:
    """One message on one row, with the row before and after.

    ``target`` is what the Target parameter carries at post-operation: for a Create every column with a
    value, for an Update the columns written (including what the platform derived, such as ``modifiedon``
    or recomputed totals), for a Delete nothing. ``submitted`` is what the request itself wrote (what the
    main operation's Target shows). ``parameters`` are further input parameters of an action message.
    """

    message: str
    table: Table
    row_id: uuid.UUID
    target: Mapping[str, Any] = field(default_factory=_frozen)
    submitted: Mapping[str, Any] = field(default_factory=_frozen)
    before: Row | None = None
    after: Row | None = None
    parameters: Mapping[str, Any] = field(default_factory=_frozen)


class Pipeline(Protocol):
    """What listens to an organization's events (the webhook dispatcher)."""

    def before(self, operation: Operation, event: RowEvent) -> None:
        """Pre-validation and pre-operation stages; raising refuses the request."""

    def after(self, operation: Operation, event: RowEvent) -> None:
        """Post-operation stage, inside the request's transaction; raising rolls the request back."""

    def committed(self, operation: Operation) -> None:
        """The request's writes are committed (asynchronous steps may now run)."""

    def rolled_back(self, operation: Operation) -> None:
        """The request failed and its writes were undone."""
