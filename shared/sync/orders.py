"""IFS customer orders → Dataverse sales orders with their lines.

The source record is a ``CustomerOrder`` with its ``CustomerOrderLine`` rows and its ``CustomerOrderCharge``
rows, keyed by ``OrderNo``. The mapping file reads these view parts:

- ``order`` target (``salesorder``): ``order`` (the header row), ``bill_to`` and ``ship_to`` (the order's
  document and delivery addresses, from the expanded ``BillAddrNoRef``/``ShipAddrNoRef``, else the
  customer's default address from ``CustomerNoRef``), ``totals`` (``Charges``: the gross of the order's
  charges, ``Discounts``: the gross of its negative charges as a positive amount, ``LinesNet``, ``LinesTax``)
  and ``status`` (``state``: the order's IFS state);
- ``line`` target (``salesorderdetail``): ``order``, ``line`` (the IFS line), ``amounts`` (see
  ``shared.sync.documents``) and ``status`` (the line's IFS state, ``cancelled``).

The order is upserted by its alternate key ``ifs_ordernumber`` (= ``OrderNo``) or by id: the id map's
first, so an order pushed from Dynamics to IFS and linked there is the one updated, never a second one.
Lines are keyed within their order (``salesorderid``, ``ifs_linekey``); lines Dataverse holds that IFS no
longer has are removed. Order charges become the header's ``freightamount`` and order-level discounts (a
negative charge) its ``discountamount``, both with their tax (Dataverse has no tax on freight): with the
lines' own amounts, the totals Dataverse computes equal IFS's. The customer, the lines' parts, the price
list of the order's site and currency and the units are found or synced on demand.

State (IFS owns an order's life once it exists in IFS): the mapping's ``statecode``/``statuscode`` rules
say the state for each IFS state. After the lines are written the order moves there: Active or Submitted
by an update, Fulfilled by ``FulfillSalesOrder``, Canceled by ``CancelSalesOrder``; Invoiced is refused
(it takes ``ConvertSalesOrderToInvoice``, which makes an invoice: finance stays in IFS). Dataverse locks
closed orders (Canceled, Fulfilled, Invoiced): an order that must change after it was closed there is
reopened first with an update to Active (``reopen_closed``, on by default; no document says whether
Dataverse allows it, so a refusal parks the order with Dataverse's reason, and with the option off the order
is parked as closed). Every request carries the connector's application user, whose changes the
Dynamics → IFS flow ignores.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.sync import documents
from shared.sync.addressing import Addressable, address
from shared.sync.flow import Link, RecordError, first
from shared.sync.mapping.evaluate import evaluate
from shared.sync.mapping.load import MappingSchema, TargetSchema, Within
from shared.sync.mapping.model import EntityMapping
from shared.sync.plan import RecordPlan, TargetRow
from shared.sync.ports import Aggregate, Request, Target
from shared.sync.references import References

ENTITY = "orders"
ROOT, LINES, CHARGES = "order", "lines", "charges"
# References expanded with the order headers (one-to-one, which IFS serves).
EXPAND = ("CustomerNoRef", "BillAddrNoRef", "ShipAddrNoRef")
ACTIVE, SUBMITTED, CANCELED, FULFILLED, INVOICED = 0, 1, 2, 3, 4
CLOSED = frozenset({CANCELED, FULFILLED, INVOICED})
STATE_NAMES = {0: "Active", 1: "Submitted", 2: "Canceled", 3: "Fulfilled", 4: "Invoiced"}
SCHEMA = MappingSchema(
    entity=ENTITY,
    targets={
        "order": TargetSchema(
            parts=frozenset({"order", "bill_to", "ship_to", "totals", "status"}),
            table="salesorder",
            key_required=True,
        ),
        "line": TargetSchema(
            parts=frozenset({"order", "line", "amounts", "status"}),
            table="salesorderdetail",
            key_required=True,
            key_with=("salesorderid",),
            within=Within("order", "salesorderid"),
        ),
    },
    options={**documents.LINE_OPTIONS, "reopen_closed": bool},
    choices=documents.LINE_CHOICES,
    entities=frozenset({"customers", "sales_parts"}),
)
_ADDRESS_FIELDS = ("Name", "Address1", "Address2", "ZipCode", "City", "State", "County", "Country")


def _address(row: Mapping[str, Any] | None, name: Any) -> dict[str, Any]:
    found = {field: (row or {}).get(field) for field in _ADDRESS_FIELDS}
    if name:
        found["Name"] = name
    return found


def _default_address(customer: Mapping[str, Any] | None) -> dict[str, Any]:
    """The customer's default address as ``CustomerNoRef`` gives it, in address-row names."""
    row = customer or {}
    return {
        "Name": row.get("Name"),
        "Address1": row.get("DefaultAddress1"),
        "Address2": row.get("DefaultAddress2"),
        "ZipCode": row.get("DefaultZipCode"),
        "City": row.get("DefaultCity"),
        "State": row.get("DefaultState"),
        "County": row.get("DefaultCounty"),
        "Country": row.get("DefaultCountry"),
    }


def _charges(rows: Sequence[Mapping[str, Any]]) -> dict[str, Decimal]:
    """The order's charges with their tax: positive ones (freight …) and negative ones (discounts)."""
    charges = discounts = net = Decimal(0)
    for row in rows:
        quantity = documents.decimal(row.get("ChargedQty"))
        gross = documents.money(documents.decimal(row.get("ChargeAmountInclTax")) * quantity)
        net += documents.money(documents.decimal(row.get("ChargeAmount")) * quantity)
        if gross >= 0:
            charges += gross
        else:
            discounts -= gross
    return {"Charges": charges, "Discounts": discounts, "ChargesNet": net}


@dataclass
class OrdersFlow:
    """Plans sales orders and their lines from IFS customer orders, and moves them to IFS's state."""

    addressable: Addressable
    references: References
    target: Target
    entity: str = ENTITY
    schema: MappingSchema = SCHEMA

    def view(self, aggregate: Aggregate, mapping: EntityMapping) -> dict[str, Mapping[str, Any] | None]:
        """The header's parts: the order, its addresses, its totals and its state."""
        order: Mapping[str, Any] = first(aggregate.get(ROOT, ())) or {}
        customer = order.get("CustomerNoRef")
        default = _default_address(customer if isinstance(customer, Mapping) else None)
        bill, ship = order.get("BillAddrNoRef"), order.get("ShipAddrNoRef")
        cancelled = set(mapping.options.get("cancelled_line_states", ("Cancelled",)))
        live = [line for line in aggregate.get(LINES, ()) if line.get("Objstate") not in cancelled]
        totals = {
            **_charges(aggregate.get(CHARGES, ())),
            "LinesNet": sum((documents.decimal(x.get("NetAmountCurr")) for x in live), Decimal(0)),
            "LinesTax": sum((documents.decimal(x.get("TaxAmountCurr")) for x in live), Decimal(0)),
        }
        return {
            "order": order,
            "bill_to": _address(bill if isinstance(bill, Mapping) else default, order.get("BillAddrName")),
            "ship_to": _address(ship if isinstance(ship, Mapping) else default, order.get("DelAddrName")),
            "totals": totals,
            "status": {"state": order.get("Objstate")},
        }

    def plan(
        self, key: str, version: str | None, aggregate: Aggregate, mapping: EntityMapping, link: Link
    ) -> RecordPlan:
        """The order header and its lines."""
        target = mapping.target("order")
        view = self.view(aggregate, mapping)
        evaluated = evaluate(mapping, target, view)
        values = dict(evaluated.values)
        transition = documents.take_transition(values)
        record, key_values, known_id = address(target, self.entity, key, link.target_id, self.addressable)
        header = TargetRow(target, record, {**key_values, **values}, evaluated.lookups, id=known_id)
        order = view["order"] or {}
        plan = RecordPlan(
            key,
            version,
            [header],
            transition=transition,
            context={"price_list": (order.get("Contract"), order.get("CurrencyCode"))},
        )
        documents.plan_lines(
            plan,
            aggregate.get(LINES, ()),
            {"order": order},
            mapping,
            target=mapping.target("line"),
            header_target="order",
            parent_column="salesorderid",
            parent_bind="salesorderid",
            addressable=self.addressable,
        )
        return plan

    def plan_missing(self, key: str, mapping: EntityMapping, link: Link) -> RecordPlan | None:
        """An order gone from IFS is canceled in Dynamics (when it is there); nothing is deleted."""
        if link.target_id is None:
            return None
        row = TargetRow(mapping.target("order"), link.target_id, {}, id=link.target_id)
        return RecordPlan(
            key,
            None,
            [row],
            transition={"statecode": CANCELED, "statuscode": 4},
            note="not in IFS any more: order canceled",
            outcome="deactivated",
        )

    def prepare(
        self, plans: Sequence[RecordPlan], mapping: EntityMapping, *, dry_run: bool = False
    ) -> dict[str, Exception]:
        """Bind each order's price list (site and currency) and each line's unit, creating them if missing."""
        return documents.bind_references(plans, self.references, dry_run=dry_run, what="order")

    # ---- states ------------------------------------------------------------------------------------

    def before_write(self, plans: Sequence[RecordPlan], mapping: EntityMapping) -> dict[str, Exception]:
        """Read the orders' states; reopen those Dataverse closed that must change (``reopen_closed``)."""
        target = mapping.target("order")
        states = documents.current_states(self.target, target.entity_set, target.table, plans)
        reopen: dict[str, list[Request]] = {}
        failures: dict[str, Exception] = {}
        for plan in plans:
            row = states.get(plan.main.id) if plan.main.id is not None else None
            current = (row["statecode"], row["statuscode"]) if row else (ACTIVE, 1)
            plan.context["current"] = current
            if current[0] not in CLOSED:
                continue
            writes = any(not r.skip for r in plan.rows)
            if not writes and _wanted(plan) == current:
                continue
            if not mapping.options.get("reopen_closed", True):
                failures[plan.key] = RecordError(
                    "order_closed",
                    f"order {plan.key} is {STATE_NAMES.get(current[0])} in Dynamics, which locks it, and "
                    "the mapping option reopen_closed is off: it is not changed",
                )
                continue
            update = {"statecode": ACTIVE, "statuscode": 1}
            reopen[plan.key] = [("PATCH", f"{target.entity_set}({plan.main.id})", update)]
        by_key = {plan.key: plan for plan in plans}

        def reopened(key: str, _round: int, _outcome: Any) -> None:
            by_key[key].context["current"] = (ACTIVE, 1)

        failures |= documents.run_rounds(self.target, reopen, reopened)
        return failures

    def after_write(self, plans: Sequence[RecordPlan], mapping: EntityMapping) -> dict[str, Exception]:
        """Move each written order to its planned state with the request Dataverse requires."""
        entity_set = mapping.target("order").entity_set
        steps: dict[str, list[Request]] = {}
        failures: dict[str, Exception] = {}
        for plan in plans:
            wanted = _wanted(plan)
            current = plan.context.get("current", (ACTIVE, 1))
            if wanted is None or wanted == current or plan.main.id is None:
                continue
            try:
                steps[plan.key] = [self._transition(plan, entity_set, plan.main.id, wanted)]
            except RecordError as exc:
                failures[plan.key] = exc
        return failures | documents.run_rounds(self.target, steps)

    @staticmethod
    def _transition(
        plan: RecordPlan, entity_set: str, order_id: uuid.UUID, wanted: tuple[int, int]
    ) -> Request:
        state, status = wanted
        if state in (ACTIVE, SUBMITTED):
            return ("PATCH", f"{entity_set}({order_id})", {"statecode": state, "statuscode": status})
        if state == INVOICED:
            raise RecordError(
                "unsupported_state",
                f"order {plan.key}: the Invoiced state takes ConvertSalesOrderToInvoice, which creates an "
                "invoice (finance stays in IFS); map the IFS state to Fulfilled (3) in orders.toml",
            )
        close = {
            "@odata.type": "Microsoft.Dynamics.CRM.orderclose",
            "subject": f"IFS order {plan.key}",
            "salesorderid@odata.bind": f"/{entity_set}({order_id})",
        }
        action = "FulfillSalesOrder" if state == FULFILLED else "CancelSalesOrder"
        return ("POST", action, {"OrderClose": close, "Status": status})


def _wanted(plan: RecordPlan) -> tuple[int, int] | None:
    wanted = plan.transition
    if not wanted:
        return None
    return int(wanted["statecode"]), int(wanted.get("statuscode") or -1)
