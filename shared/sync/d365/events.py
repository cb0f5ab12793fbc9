"""A Dataverse webhook event as the service layer sees it, with its dedupe key.

The HTTP entry point parses the RemoteExecutionContext (``shared.dataverse.webhook``) and hands over this
typed, plain-valued event: lookups as their ids, choices as their integers, money as its number. The
payload is only a hint: the worker reads the order itself, so a trimmed payload (over 256 KB, no Target and
no images) still carries everything the webhook needs to decide.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

SALES_ORDER = "salesorder"
QUOTE = "quote"
# The messages the connector registers steps for (docs/architecture.md, "Dataverse → IFS events").
ORDER_MESSAGES = frozenset({"Create", "Update", "FulfillSalesOrder", "CancelSalesOrder", "SetState"})
QUOTE_MESSAGES = frozenset({"ConvertQuoteToSalesOrder"})


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class WebhookEvent:
    """One pipeline step Dataverse reported: which message on which row, caused by whom, in which org.

    ``attributes`` holds plain values of the columns the Target (or a post image) carried; empty when the
    body was ``trimmed``. ``parent_message`` is the ParentContext's message (an Update made by
    FulfillSalesOrder says so), when the payload has one.
    """

    message: str
    entity: str
    record_id: uuid.UUID
    operation_id: uuid.UUID
    stage: int
    mode: int
    correlation_id: uuid.UUID
    user_id: uuid.UUID
    initiating_user_id: uuid.UUID
    organization_id: uuid.UUID
    trimmed: bool = False
    parent_message: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=_empty)

    @property
    def dedupe_key(self) -> str:
        """``<OperationId>:<MessageName>:<PrimaryEntityId>:<Stage>``.

        An asynchronous step's OperationId is its system job, the same on Dataverse's retry; the RequestId
        is not, so it is left out. The CorrelationId is shared by every step of one user operation (a quote
        conversion's order and lines), so it would merge distinct events (docs/architecture.md,
        "Webhook dedupe key").
        """
        return f"{self.operation_id}:{self.message}:{self.record_id}:{self.stage}"

    def caused_by(self, user_id: uuid.UUID) -> bool:
        """Whether ``user_id`` ran the operation, or started it (an impersonated or nested call)."""
        return user_id in (self.user_id, self.initiating_user_id)

    def value(self, column: str) -> Any:
        """A column's plain value from the payload, None when absent (or the payload was trimmed)."""
        return self.attributes.get(column)
