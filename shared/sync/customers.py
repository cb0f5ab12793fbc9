"""IFS customers → Dataverse accounts.

The source record is a ``CustomerInfo`` row with its ``CustomerInfoAddresses``. The mapping file reads
these view parts:

- ``customer``: the customer row;
- ``company``: the same row when it belongs to the configured IFS company (``IFS_COMPANY``), else empty.
  Credit limit, payment terms and currency are per company in IFS; the simulator flattens them onto the
  customer (an assumed shape), and a customer of another company gets none of them;
- ``bill_to``: the default document address (else the first address); ``ship_to``: the default delivery
  address (else the bill-to address);
- ``status``: ``state`` is ``active``, ``blocked`` or ``inactive`` (from the boolean customer fields the
  mapping's options name), so a blocked or inactive customer deactivates its account;
- ``phone`` and ``email``: the customer's communication method (``CommunicationMethods``) of a kind the
  options name (``phone_methods``, ``email_methods``), the default one first (shape assumed).

The account is upserted by ``accountnumber`` (the alternate key) = the IFS customer id, or by id where the
key cannot be a key value (see ``shared.sync.addressing``). A customer that no longer exists in IFS
deactivates its account; nothing is ever deleted in Dynamics. On a first run against an org that already
has accounts, an account without an account number that matches the customer (option ``link_existing``:
``name``, ``name+postalcode`` or ``none``) is linked and updated instead of duplicated.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.sync.addressing import Addressable, address
from shared.sync.flow import Link, first
from shared.sync.mapping.evaluate import evaluate
from shared.sync.mapping.load import MappingSchema, TargetSchema
from shared.sync.mapping.model import EntityMapping
from shared.sync.plan import RecordPlan, TargetRow
from shared.sync.ports import Aggregate, Target

ENTITY = "customers"
_UNNUMBERED_SECONDS = 300.0
ROOT, ADDRESSES, COMM_METHODS = "customer", "addresses", "comm_methods"
SCHEMA = MappingSchema(
    entity=ENTITY,
    targets={
        "account": TargetSchema(
            parts=frozenset({"customer", "company", "bill_to", "ship_to", "status", "phone", "email"}),
            table="account",
        )
    },
    options={
        "blocked_fields": list,
        "inactive_fields": list,
        "link_existing": str,
        "phone_methods": list,
        "email_methods": list,
    },
    choices={"link_existing": ("none", "name", "name+postalcode")},
)


@dataclass
class CustomersFlow:
    """Plans accounts from IFS customers."""

    company: str | None
    addressable: Addressable
    target: Target
    entity: str = ENTITY
    schema: MappingSchema = SCHEMA
    _unnumbered: dict[str, list[uuid.UUID]] | None = field(default=None, repr=False)
    _read_at: float = field(default=0.0, repr=False)
    _claimed: set[uuid.UUID] = field(default_factory=set, repr=False)  # linked by this process

    def view(self, aggregate: Aggregate, mapping: EntityMapping) -> dict[str, Mapping[str, Any] | None]:
        """The parts the mapping reads, from one customer and its addresses."""
        customer: Mapping[str, Any] = first(aggregate.get(ROOT, ())) or {}
        addresses = list(aggregate.get(ADDRESSES, ()))
        bill_to = next((a for a in addresses if a.get("DefaultDocumentAddress")), first(addresses))
        ship_to = next((a for a in addresses if a.get("DefaultDeliveryAddress")), bill_to)
        in_company = self.company is None or customer.get("Company") in (None, self.company)
        methods = list(aggregate.get(COMM_METHODS, ()))
        return {
            "customer": customer,
            "company": customer if in_company else {},
            "bill_to": bill_to,
            "ship_to": ship_to,
            "status": {"state": self._state(customer, mapping)},
            "phone": _method(methods, mapping.options.get("phone_methods", ("Phone",))),
            "email": _method(methods, mapping.options.get("email_methods", ("EMail",))),
        }

    @staticmethod
    def _state(customer: Mapping[str, Any], mapping: EntityMapping) -> str:
        if any(customer.get(name) is True for name in mapping.options.get("inactive_fields", ())):
            return "inactive"
        if any(customer.get(name) is True for name in mapping.options.get("blocked_fields", ())):
            return "blocked"
        return "active"

    def plan(
        self, key: str, version: str | None, aggregate: Aggregate, mapping: EntityMapping, link: Link
    ) -> RecordPlan:
        """The account row of one customer."""
        target = mapping.target("account")
        evaluated = evaluate(mapping, target, self.view(aggregate, mapping))
        record, key_values, known_id = address(target, self.entity, key, link.target_id, self.addressable)
        row = TargetRow(target, record, {**key_values, **evaluated.values}, evaluated.lookups, id=known_id)
        return RecordPlan(key, version, [row])

    def plan_missing(self, key: str, mapping: EntityMapping, link: Link) -> RecordPlan | None:
        """A customer gone from IFS deactivates its account (when there is one); nothing is deleted."""
        if link.target_id is None:
            return None
        target = mapping.target("account")
        row = TargetRow(target, link.target_id, {"statecode": 1, "statuscode": 2}, id=link.target_id)
        return RecordPlan(
            key, None, [row], note="not in IFS any more: account deactivated", outcome="deactivated"
        )

    def before_write(self, plans: Sequence[RecordPlan], mapping: EntityMapping) -> dict[str, Exception]:
        """Nothing Dataverse locks here."""
        return {}

    def after_write(self, plans: Sequence[RecordPlan], mapping: EntityMapping) -> dict[str, Exception]:
        """No transitions: states are plain columns."""
        return {}

    def prepare(
        self, plans: Sequence[RecordPlan], mapping: EntityMapping, *, dry_run: bool = False
    ) -> dict[str, Exception]:
        """Link new customers to existing accounts without an account number, by the configured rule."""
        rule = mapping.options.get("link_existing", "none")
        new = [plan for plan in plans if plan.main.id is None and isinstance(plan.main.record, Mapping)]
        if rule == "none" or not new:
            return {}
        candidates = self._existing(rule, mapping)
        for plan in new:
            named = candidates.get(_match_key(rule, plan.main.values), ())
            found = [account for account in named if account not in self._claimed]
            if len(found) == 1:  # several accounts of that name: ambiguous, a new account is created
                account_id = found[0]
                if not dry_run:
                    self._claimed.add(account_id)  # one IFS customer per account
                key_column = plan.main.target.key
                if key_column is not None and isinstance(plan.main.record, Mapping):
                    plan.main.values[key_column] = plan.main.record[key_column]
                plan.main.record = account_id
                plan.main.id = account_id
                plan.note = f"linked to the existing account {account_id} by {rule}"
                plan.outcome = "linked"
        return {}

    def _existing(self, rule: str, mapping: EntityMapping) -> dict[str, list[uuid.UUID]]:
        """Accounts without an account number, by match key (read again after five minutes)."""
        if self._unnumbered is None or time.monotonic() - self._read_at > _UNNUMBERED_SECONDS:
            target = mapping.target("account")
            key = target.key or "accountnumber"
            rows = self.target.find(
                target.entity_set, {key: None}, ["accountid", "name", "address1_postalcode"]
            )
            found: dict[str, list[uuid.UUID]] = {}
            for row in rows:
                found.setdefault(_match_key(rule, row), []).append(uuid.UUID(str(row["accountid"])))
            self._unnumbered, self._read_at = found, time.monotonic()
        return self._unnumbered


def _method(methods: Sequence[Mapping[str, Any]], kinds: Sequence[str]) -> Mapping[str, Any] | None:
    """The customer's communication method of one of ``kinds``: the default one, else the first."""
    found = [m for m in methods if m.get("Method") in kinds]
    return next((m for m in found if m.get("MethodDefault")), found[0] if found else None)


def _match_key(rule: str, values: Mapping[str, Any]) -> str:
    name = str(values.get("name") or "").strip().casefold()
    if rule == "name+postalcode":
        return f"{name}|{str(values.get('address1_postalcode') or '').strip().casefold()}"
    return name
