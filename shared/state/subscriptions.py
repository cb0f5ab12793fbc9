"""Webhook subscriptions: what provisioning registered in Dataverse.

Kept so the registration can be inspected and removed, and so running provisioning twice registers once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from shared.state.clock import Clock, utc_now
from shared.state.keys import decode_key, encode_key
from shared.state.tables import StateTables, get_entity

_PARTITION = "webhook"


@dataclass(frozen=True)
class Subscription:
    """One registered webhook endpoint and its processing steps."""

    name: str
    endpoint_url: str
    service_endpoint_id: str
    step_ids: dict[str, str] = field(default_factory=dict)  # step name -> sdkmessageprocessingstep id
    updated_at: datetime | None = None


class SubscriptionRepository:
    """Stores registered webhook subscriptions by name."""

    TABLE = "subscriptions"

    def __init__(self, tables: StateTables, clock: Clock = utc_now) -> None:
        self._table = tables.table(self.TABLE)
        self._clock = clock

    def save(self, subscription: Subscription) -> Subscription:
        """Create or replace the subscription named ``subscription.name``."""
        now = self._clock()
        self._table.upsert_entity(
            {
                "PartitionKey": _PARTITION,
                "RowKey": encode_key(subscription.name),
                "EndpointUrl": subscription.endpoint_url,
                "ServiceEndpointId": subscription.service_endpoint_id,
                "StepIds": json.dumps(subscription.step_ids, sort_keys=True),
                "UpdatedAt": now,
            }
        )
        return Subscription(
            subscription.name,
            subscription.endpoint_url,
            subscription.service_endpoint_id,
            dict(subscription.step_ids),
            now,
        )

    def get(self, name: str) -> Subscription | None:
        """The subscription named ``name``."""
        row = get_entity(self._table, _PARTITION, encode_key(name))
        if row is None:
            return None
        return Subscription(
            name, row["EndpointUrl"], row["ServiceEndpointId"], json.loads(row["StepIds"]), row["UpdatedAt"]
        )

    def list(self) -> list[Subscription]:
        """Every saved subscription."""
        rows = self._table.query_entities("PartitionKey eq @p", parameters={"p": _PARTITION})
        return [
            Subscription(
                decode_key(r["RowKey"]),
                r["EndpointUrl"],
                r["ServiceEndpointId"],
                json.loads(r["StepIds"]),
                r["UpdatedAt"],
            )
            for r in rows
        ]

    def delete(self, name: str) -> None:
        """Forget the subscription (after its Dataverse registrations were removed)."""
        self._table.delete_entity(_PARTITION, encode_key(name))
