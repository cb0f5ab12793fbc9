"""Webhook subscriptions: what provisioning registered in Dataverse.

Kept so the registration can be inspected and removed, and so running provisioning twice registers once.
The webhook function reads it to know the organization it serves and the connector's own application user.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from shared.records import Subscription
from shared.state.clock import Clock, utc_now
from shared.state.keys import decode_key, encode_key
from shared.state.tables import StateTables, get_entity

_PARTITION = "webhook"
__all__ = ["Subscription", "SubscriptionRepository"]  # the record lives in shared.records


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
                "OrganizationId": subscription.organization_id,
                "ApplicationUserId": subscription.application_user_id,
                "AuthFingerprint": subscription.auth_fingerprint,
            }
        )
        return replace(subscription, step_ids=dict(subscription.step_ids), updated_at=now)

    def get(self, name: str) -> Subscription | None:
        """The subscription named ``name``."""
        row = get_entity(self._table, _PARTITION, encode_key(name))
        return None if row is None else _subscription(name, row)

    def list(self) -> list[Subscription]:
        """Every saved subscription."""
        rows = self._table.query_entities("PartitionKey eq @p", parameters={"p": _PARTITION})
        return [_subscription(decode_key(r["RowKey"]), r) for r in rows]

    def delete(self, name: str) -> None:
        """Forget the subscription (after its Dataverse registrations were removed)."""
        self._table.delete_entity(_PARTITION, encode_key(name))


def _subscription(name: str, row: Any) -> Subscription:
    return Subscription(
        name,
        row["EndpointUrl"],
        row["ServiceEndpointId"],
        json.loads(row["StepIds"]),
        row["UpdatedAt"],
        row.get("OrganizationId"),
        row.get("ApplicationUserId"),
        row.get("AuthFingerprint"),
    )
