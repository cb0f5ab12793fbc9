"""The simulated tenant's state and business rules: load seed and captures, create, update, run actions.

This layer knows IFS semantics (server-assigned order numbers, which attributes may be written, which state
an action may leave from, what a line inherits from its order and sales part) but nothing of HTTP or OData;
``projections`` turns requests into these calls and results into responses.

Write rules for CustomerOrderSet and CustomerOrderLineSet come from the real OpenAPI digest
(tests/vectors/ifs/customer-order-handling-openapi-digest.json): only its POST payload fields may be sent on
create and only its PATCH payload fields on update. Note that ``ExternalRef`` is not insertable there, so a
Dynamics order number has to travel in ``CustomerPoNo``. Other sets follow assumed rules: every
non-key, non-meta attribute is writable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from simulators.ifs.captures import DEFAULT_CAPTURES, load_captures
from simulators.ifs.model import ENTITY_SETS, EntitySetModel
from simulators.ifs.seed import DEFAULT_AS_OF, generate
from simulators.ifs.store import Record, Store, Table, keyref

DEFAULT_DIGEST = DEFAULT_CAPTURES.with_name("customer-order-handling-openapi-digest.json")
_META = frozenset({"luname", "keyref", "Objstate", "Objgrants", "Objsite"})


class BusinessError(Exception):
    """IFS refused a write for a business reason (unknown customer, wrong state …); HTTP 400."""

    def __init__(self, message: str, *, code: str = "ODP_VALIDATION_ERROR") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class NotFoundError(Exception):
    """The addressed row does not exist; HTTP 404."""


class ActionNotSimulatedError(Exception):
    """A real bound action the simulator does not implement; HTTP 501 (a simulator limit, not IFS's)."""


@dataclass(frozen=True)
class WriteRules:
    """Which attributes may be sent on create and on update (None: any non-key, non-meta attribute)."""

    insertable: frozenset[str] | None = None
    updatable: frozenset[str] | None = None


@dataclass
class TenantConfig:
    """What the tenant starts with."""

    seed: int = 1
    size: int = 200
    as_of: date = DEFAULT_AS_OF
    customers: int | None = None  # exact counts instead of the ones size implies (see seed.generate)
    sales_parts: int | None = None
    part_sites: tuple[str, ...] | None = None  # the sites sales parts are on (None: every seeded site)
    order_lines: tuple[int, int] | None = None  # lines per order and quotation (see seed.generate)
    captures: Path | None = DEFAULT_CAPTURES
    digest: Path | None = DEFAULT_DIGEST


@dataclass
class SetState:
    """One entity set at run time: its model, its table and its property list in serving order."""

    model: EntitySetModel
    table: Table
    properties: list[str] = field(default_factory=list)
    rules: WriteRules = field(default_factory=WriteRules)

    def learn(self, values: Mapping[str, Any]) -> None:
        """Add properties seen on a loaded row (captured rows carry more than seeded ones)."""
        known = set(self.properties)
        self.properties.extend(name for name in values if name not in known)


class Tenant:
    """Tables, sequences and rules of one simulated IFS tenant."""

    def __init__(self, config: TenantConfig, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.clock = clock
        self.store = Store(clock)
        self.sets: dict[tuple[str, str], SetState] = {}
        self.actions: dict[str, frozenset[str]] = {}  # entity set -> bound action names (from the digest)
        self._load()

    # ---- loading ---------------------------------------------------------------------------------

    def _load(self) -> None:
        for model in ENTITY_SETS:
            table = self.store.table(model.luname, model.keys)
            self.sets[(model.projection, model.name)] = SetState(model, table)
        rules = self._digest_rules()
        for state in self.sets.values():
            state.rules = rules.get(state.model.name, WriteRules())
        if self.config.captures is not None:
            for captured in load_captures(self.config.captures):
                table = self.store.table(captured.luname)
                objid = captured.objid or table.new_objid()
                self.store.load(table, captured.values, objid, captured.objversion)
                self._learn(captured.luname, captured.values)
        data = generate(
            self.config.seed,
            self.config.size,
            self.config.as_of,
            customers=self.config.customers,
            sales_parts=self.config.sales_parts,
            part_sites=self.config.part_sites,
            order_lines=self.config.order_lines,
        )
        for row in data.rows:
            table = self.store.table(row.luname)
            if table.key_of(row.values) in table.rows:
                continue  # a captured row wins over a seeded one with the same key
            self.store.load(table, row.values, table.new_objid(), row.objversion)
        for luname in {r.luname for r in data.rows}:
            first = next(r for r in data.rows if r.luname == luname)
            self._learn(luname, first.values)
        for name, value in data.sequences.items():
            self.store.bump_sequence(name, value)

    def _learn(self, luname: str, values: Mapping[str, Any]) -> None:
        for state in self.sets.values():
            if state.model.luname == luname:
                state.learn(values)

    def _digest_rules(self) -> dict[str, WriteRules]:
        if self.config.digest is None:
            return {}
        digest = json.loads(self.config.digest.read_text(encoding="utf-8"))
        orders, lines = digest["CustomerOrderSet"], digest["CustomerOrderLineSet"]

        def fields(operation: dict[str, Any]) -> frozenset[str]:
            return frozenset(f["key"] for f in operation["payload_fields"])

        self.actions = {}
        for action in digest["bound_actions"]:
            bound = action["bound_to"]
            self.actions[bound] = self.actions.get(bound, frozenset()) | {action["action"]}
        return {
            "CustomerOrderSet": WriteRules(fields(orders["post_create"]), fields(orders["patch_update"])),
            "CustomerOrderLineSet": WriteRules(
                fields(orders["post_OrderLinesArray"]), fields(lines["patch_update"])
            ),
        }

    # ---- lookups ---------------------------------------------------------------------------------

    def set_state(self, projection: str, name: str) -> SetState | None:
        """The run-time state of ``<projection>.svc/<name>``."""
        return self.sets.get((projection, name))

    def of_table(self, luname: str) -> SetState:
        """The (first) set backed by table ``luname``."""
        return next(s for s in self.sets.values() if s.model.luname == luname)

    def get(self, state: SetState, key: Mapping[str, Any]) -> Record:
        """The row with ``key``; NotFoundError if absent."""
        record = self.store.get(state.table, tuple(key[k] for k in state.model.keys))
        if record is None:
            raise NotFoundError(f"{state.model.entity_type} {dict(key)} does not exist")
        return record

    def now(self) -> datetime:
        """The simulator's current instant (UTC)."""
        moment = self.clock()
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    # ---- writes --------------------------------------------------------------------------------

    def create(
        self, state: SetState, body: Mapping[str, Any], parent: Mapping[str, Any] | None = None
    ) -> Record:
        """Create a row from a POST body (``parent``: link values of a navigation like OrderLinesArray)."""
        self._check_names(state, body, state.rules.insertable, "insertable")
        values = dict(body)
        if parent:
            values.update(parent)
        creator = _CREATORS.get(state.model.name, _create_generic)
        with self.store.lock:
            full = creator(self, state, values)
            full = self._complete(state, full)
            try:
                return self.store.insert(state.table, full)
            except KeyError as exc:
                raise BusinessError(
                    f"{state.model.entity_type} {state.table.key_of(full)} already exists",
                    code="ODP_CONFLICT",
                ) from exc

    def update(self, state: SetState, key: Mapping[str, Any], changes: Mapping[str, Any]) -> Record:
        """Apply a PATCH body to an existing row (key properties in the body are ignored)."""
        changes = {k: v for k, v in changes.items() if k not in state.model.keys}
        self._check_names(state, changes, state.rules.updatable, "updatable")
        with self.store.lock:
            record = self.get(state, key)
            derived = _DERIVERS.get(state.model.name)
            if derived is not None:
                changes = {**changes, **derived(self, record.values, changes)}
            return self.store.update(state.table, state.table.key_of(record.values), changes)

    def upsert(self, state: SetState, key: Mapping[str, Any], body: Mapping[str, Any]) -> tuple[Record, bool]:
        """PATCH without If-Match: update when the row exists, else create it with the URL's key."""
        with self.store.lock:
            exists = self.store.get(state.table, tuple(key[k] for k in state.model.keys)) is not None
            if exists:
                return self.update(state, key, body), False
            values = {k: v for k, v in body.items() if k not in state.model.keys}
            self._check_names(state, values, state.rules.insertable, "insertable")
            values.update(key)
            return self._insert_with_key(state, values), True

    def delete(self, state: SetState, key: Mapping[str, Any]) -> None:
        """Remove a row."""
        with self.store.lock:
            record = self.get(state, key)
            self.store.delete(state.table, state.table.key_of(record.values))

    def touch(self, state: SetState, key: Mapping[str, Any], changes: Mapping[str, Any]) -> Record:
        """An edit made inside IFS by a user (admin/test hook): any attribute, no write rules."""
        with self.store.lock:
            record = self.get(state, key)
            return self.store.update(state.table, state.table.key_of(record.values), dict(changes))

    def _insert_with_key(self, state: SetState, values: dict[str, Any]) -> Record:
        creator = _CREATORS.get(state.model.name, _create_generic)
        full = self._complete(state, creator(self, state, values))
        return self.store.insert(state.table, full)

    def _check_names(
        self, state: SetState, body: Mapping[str, Any], allowed: frozenset[str] | None, what: str
    ) -> None:
        known = set(state.properties)
        for name in body:
            if name.startswith("@odata."):
                continue
            if name not in known:
                raise BusinessError(
                    f"The property '{name}' does not exist on type "
                    f"'IfsApp.{state.model.projection}.{state.model.entity_type}'.",
                    code="ODP_UNKNOWN_PROPERTY",
                )
            if name in _META or (
                allowed is not None and name not in allowed and name not in state.model.keys
            ):
                raise BusinessError(f"The property '{name}' is not {what}.", code="ODP_PROPERTY_NOT_WRITABLE")

    def _complete(self, state: SetState, values: dict[str, Any]) -> dict[str, Any]:
        """Meta attributes first (as IFS serves them), then every known property, nulls where unset."""
        model = state.model
        missing = [k for k in model.keys if values.get(k) in (None, "")]
        if missing:
            raise BusinessError(f"Required key attribute(s) {missing} of {model.entity_type} are missing.")
        ordered: dict[str, Any] = {
            "luname": model.luname,
            "keyref": keyref(values, model.keys),
        }
        for name in state.properties:
            if name not in ordered:
                ordered[name] = values.get(name)
        for name, value in values.items():
            ordered.setdefault(name, value)
        return ordered

    # ---- bound actions ---------------------------------------------------------------------------

    def run_action(
        self, state: SetState, key: Mapping[str, Any], action: str, params: Mapping[str, Any]
    ) -> Any:
        """Run a bound action on one row; returns its result value (None for void actions)."""
        known = self.actions.get(state.model.name, frozenset()) | frozenset(
            _ACTIONS.get(state.model.name, {})
        )
        if action not in known:
            raise NotFoundError(f"action {action} is not bound to {state.model.name}")
        handler = _ACTIONS.get(state.model.name, {}).get(action)
        if handler is None:
            raise ActionNotSimulatedError(action)
        with self.store.lock:
            record = self.get(state, key)
            return handler(self, state, record, params)


# ---- per-set creation rules -------------------------------------------------------------------------


def _today(tenant: Tenant) -> str:
    return tenant.now().date().isoformat()


def _stamp(tenant: Tenant) -> str:
    return tenant.now().strftime("%Y-%m-%dT%H:%M:%SZ")


def _customer(tenant: Tenant, customer_no: Any) -> Mapping[str, Any]:
    customers = tenant.of_table("CustomerInfo")
    record = tenant.store.get(customers.table, (customer_no,))
    if record is None:
        raise BusinessError(f"Customer {customer_no} does not exist.", code="ODP_VALIDATION_ERROR")
    return record.values


def _sales_part(tenant: Tenant, contract: Any, catalog_no: Any) -> Mapping[str, Any]:
    parts = tenant.of_table("SalesPart")
    record = tenant.store.get(parts.table, (contract, catalog_no))
    if record is None:
        raise BusinessError(f"Sales part {catalog_no} does not exist on site {contract}.")
    return record.values


def _create_generic(tenant: Tenant, state: SetState, values: dict[str, Any]) -> dict[str, Any]:
    return values


def _create_order(tenant: Tenant, state: SetState, values: dict[str, Any]) -> dict[str, Any]:
    for required in ("CustomerNo", "Contract"):
        if not values.get(required):
            raise BusinessError(f"Field [{required}] is mandatory for Customer Order.")
    customer = _customer(tenant, values["CustomerNo"])
    parts = tenant.of_table("SalesPart")
    sites = {record.values.get("Contract"): record.values for record in tenant.store.scan(parts.table)}
    site = sites.get(values["Contract"])
    if site is None:
        raise BusinessError(f"Site {values['Contract']} does not exist.")
    if not values.get("OrderNo"):
        values["OrderNo"] = f"C{tenant.store.next_number('order')}"
    now = _stamp(tenant)
    defaults = {
        "Objstate": "Planned",
        "Company": site.get("Company"),
        "CurrencyCode": customer.get("CurrencyCode") or site.get("CurrencyCode"),
        "PayTermId": customer.get("PayTermId"),
        "PaymentTermDescription": customer.get("PayTermDescription"),
        "LanguageCode": customer.get("DefaultLanguage"),
        "CustomerName": customer.get("Name"),
        "DelAddrName": customer.get("Name"),
        "BillAddrName": customer.get("Name"),
        "AuthorizeCode": "*",
        "OrderId": "NO",
        "DeliveryTerms": "EXW",
        "AddrFlag": "No",
        "DateEntered": _today(tenant),
        "OrderCreationDate": now,
        "WantedDeliveryDate": now,
        "DeliveryLeadtime": 0,
        "TaxLiability": "TAX",
        "SmConnection": "NotConnected",
        "SchedulingConnection": "NotSchedulingOrder",
        "BlockedType": "NotBlocked",
        "IsNewCustomer": False,
        "UsePriceInclTax": False,
        "ChargesExist": False,
        "TotalAmount": 0,
        "BusinessObjectType": "CustomerOrder",
        "PartyType": "Customer",
    }
    for name, value in defaults.items():
        if values.get(name) is None:
            values[name] = value
    values["Objstate"] = "Planned"
    values["BusinessObjectId"] = values["OrderNo"]
    values.setdefault("PlannedDeliveryDate", values["WantedDeliveryDate"])
    return values


def _line_amounts(values: Mapping[str, Any], tax_rate: float) -> dict[str, Any]:
    qty = float(values.get("BuyQtyDue") or 0)
    price = float(values.get("SaleUnitPrice") or 0)
    discount = float(values.get("Discount") or 0)
    net = round(qty * price * (1 - discount / 100), 2)
    tax = round(net * tax_rate, 2)
    return {
        "NetAmountCurr": net,
        "TaxAmountCurr": tax,
        "GrossAmountCurr": round(net + tax, 2),
        "NetAmountBase": net,
        "GrossAmountBase": round(net + tax, 2),
        "DiscountAmountCurr": round(qty * price * discount / 100, 2),
    }


def _tax_rate(part: Mapping[str, Any]) -> float:
    price, with_tax = part.get("ListPrice") or 0, part.get("ListPriceInclTax") or 0
    return round(float(with_tax) / float(price) - 1, 4) if price else 0.0


def _create_order_line(tenant: Tenant, state: SetState, values: dict[str, Any]) -> dict[str, Any]:
    for required in ("OrderNo", "CatalogNo", "BuyQtyDue"):
        if values.get(required) in (None, ""):
            raise BusinessError(f"Field [{required}] is mandatory for Customer Order Line.")
    orders = tenant.of_table("CustomerOrder")
    order = tenant.store.get(orders.table, (values["OrderNo"],))
    if order is None:
        raise BusinessError(f"Customer order {values['OrderNo']} does not exist.")
    if order.values.get("Objstate") not in ("Planned", "Released", "Reserved", "Blocked"):
        state_now = order.values.get("Objstate")
        raise BusinessError(
            f"Lines cannot be added to customer order {values['OrderNo']} in state {state_now}."
        )
    contract = values.get("Contract") or order.values.get("Contract")
    part = _sales_part(tenant, contract, values["CatalogNo"])
    if not values.get("LineNo"):
        numbers = [
            int(r.values["LineNo"])
            for r in tenant.store.scan(state.table)
            if r.values.get("OrderNo") == values["OrderNo"] and str(r.values.get("LineNo", "")).isdigit()
        ]
        values["LineNo"] = str(max(numbers, default=0) + 1)
    values.setdefault("RelNo", "1")
    values.setdefault("LineItemNo", 0)
    values["RelNo"] = values["RelNo"] or "1"
    values["LineItemNo"] = values["LineItemNo"] or 0
    price = values.get("SaleUnitPrice")
    if price is None:
        price = part.get("ListPrice") or 0
    now = _stamp(tenant)
    defaults = {
        "Contract": contract,
        "Company": order.values.get("Company"),
        "CustomerNo": order.values.get("CustomerNo"),
        "CatalogDesc": part.get("CatalogDesc"),
        "CatalogType": part.get("CatalogType"),
        "PartNo": part.get("PartNo"),
        "SalesUnitMeas": part.get("SalesUnitMeas"),
        "PriceUnitMeas": part.get("PriceUnitMeas"),
        "TaxCode": part.get("TaxCode"),
        "SaleUnitPrice": price,
        "BaseSaleUnitPrice": price,
        "UnitPriceInclTax": round(float(price) * (1 + _tax_rate(part)), 2),
        "BaseUnitPriceInclTax": round(float(price) * (1 + _tax_rate(part)), 2),
        "DesiredQty": values["BuyQtyDue"],
        "RevisedQtyDue": values["BuyQtyDue"],
        "Discount": 0,
        "OrderDiscount": 0,
        "ConvFactor": 1,
        "PriceConvFactor": 1,
        "CurrencyRate": 1,
        "DateEntered": now,
        "WantedDeliveryDate": order.values.get("WantedDeliveryDate"),
        "PlannedDeliveryDate": order.values.get("WantedDeliveryDate"),
        "PromisedDeliveryDate": order.values.get("WantedDeliveryDate"),
        "ShipAddrNo": order.values.get("ShipAddrNo"),
        "SupplyCode": "InventOrder" if part.get("CatalogType") == "InventoryPart" else "NotApplicable",
        "PriceSource": "SalesPart",
        "PriceFreeze": "Free",
        "QtyAssigned": 0,
        "QtyInvoiced": 0,
        "QtyPicked": 0,
        "QtyShipped": 0,
        "QtyReturned": 0,
        "QtyToShip": 0,
        "QtyShort": 0,
        "Cost": 0,
    }
    for name, value in defaults.items():
        if values.get(name) is None:
            values[name] = value
    values["Objstate"] = "Released" if order.values.get("Objstate") in ("Released", "Reserved") else "Planned"
    values.update(_line_amounts(values, _tax_rate(part)))
    return values


def _derive_order_line(
    tenant: Tenant, current: Mapping[str, Any], changes: Mapping[str, Any]
) -> dict[str, Any]:
    if not {"BuyQtyDue", "SaleUnitPrice", "Discount"} & set(changes):
        return {}
    merged = {**current, **changes}
    part = tenant.store.get(
        tenant.of_table("SalesPart").table, (merged.get("Contract"), merged.get("CatalogNo"))
    )
    return _line_amounts(merged, _tax_rate(part.values) if part else 0.0)


def _create_numbered(
    prefix: str, sequence: str, state_value: str
) -> Callable[[Tenant, SetState, dict[str, Any]], dict[str, Any]]:
    def create(tenant: Tenant, state: SetState, values: dict[str, Any]) -> dict[str, Any]:
        key = state.model.keys[0]
        if not values.get(key):
            values[key] = f"{prefix}{tenant.store.next_number(sequence)}"
        values["Objstate"] = state_value
        if "DateEntered" in state.properties:
            values.setdefault("DateEntered", _today(tenant))
        return values

    return create


def _create_opportunity(tenant: Tenant, state: SetState, values: dict[str, Any]) -> dict[str, Any]:
    if not values.get("Description"):
        raise BusinessError("Field [Description] is mandatory for Business Opportunity.")
    if values.get("CustomerId"):
        _customer(tenant, values["CustomerId"])
    values = _create_numbered("BO", "opportunity", "Active")(tenant, state, values)
    values.setdefault("StartDate", _today(tenant))
    return values


_CREATORS: dict[str, Callable[[Tenant, SetState, dict[str, Any]], dict[str, Any]]] = {
    "CustomerOrderSet": _create_order,
    "CustomerOrderLineSet": _create_order_line,
    "OrderQuotationSet": _create_numbered("Q", "quotation", "Planned"),
    "BusinessOpportunitySet": _create_opportunity,
}
_DERIVERS: dict[str, Callable[[Tenant, Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]] = {
    "CustomerOrderLineSet": _derive_order_line,
}


# ---- bound actions on CustomerOrder ------------------------------------------------------------------

ActionHandler = Callable[[Tenant, SetState, Record, Mapping[str, Any]], Any]


def _transition(allowed_from: tuple[str, ...], target: str, lines_from: tuple[str, ...]) -> ActionHandler:
    def run(tenant: Tenant, state: SetState, record: Record, params: Mapping[str, Any]) -> None:
        current = record.values.get("Objstate")
        if current not in allowed_from:
            raise BusinessError(
                f"Customer order {record.values['OrderNo']} is {current}; "
                f"the operation needs it to be {' or '.join(allowed_from)}.",
                code="ODP_STATE_ERROR",
            )
        lines = tenant.of_table("CustomerOrderLine")
        for line in tenant.store.scan(lines.table):
            if (
                line.values.get("OrderNo") == record.values["OrderNo"]
                and line.values.get("Objstate") in lines_from
            ):
                tenant.store.update(lines.table, lines.table.key_of(line.values), {"Objstate": target})
        extra: dict[str, Any] = {"Objstate": target}
        if target == "Blocked":
            extra["BlockedType"] = "ManualBlocked"
        elif current == "Blocked":
            extra["BlockedType"] = "NotBlocked"
        tenant.store.update(state.table, state.table.key_of(record.values), extra)

    return run


def _print_result_key(tenant: Tenant, state: SetState, record: Record, params: Mapping[str, Any]) -> int:
    return tenant.store.next_number("print")


# ---- bound actions on quotations and business opportunities (ASSUMED: no capture names them) ----------

QUOTATION_OPEN_STATES = ("Planned", "Released", "Revised")
_QUOTATION_HEADER_COPY = (
    "CustomerNo",
    "Contract",
    "CurrencyCode",
    "PayTermId",
    "DeliveryTerms",
    "AuthorizeCode",
)
_QUOTATION_LINE_COPY = ("CatalogNo", "BuyQtyDue", "SaleUnitPrice", "Discount", "SalesUnitMeas")


def _close_quotation(tenant: Tenant, state: SetState, record: Record, target: str) -> None:
    lines = tenant.of_table("OrderQuotationLine")
    number = record.values["QuotationNo"]
    for line in tenant.store.scan(lines.table):
        if line.values.get("QuotationNo") == number:
            tenant.store.update(lines.table, lines.table.key_of(line.values), {"Objstate": target})
    tenant.store.update(state.table, state.table.key_of(record.values), {"Objstate": target})


def _open_quotation(record: Record, action: str) -> None:
    current = record.values.get("Objstate")
    if current not in QUOTATION_OPEN_STATES:
        raise BusinessError(
            f"Sales quotation {record.values['QuotationNo']} is {current}; {action} needs it to be "
            f"{' or '.join(QUOTATION_OPEN_STATES)}.",
            code="ODP_STATE_ERROR",
        )


def _quotation_to_order(tenant: Tenant, state: SetState, record: Record, params: Mapping[str, Any]) -> str:
    """A customer order made of the quotation and its lines, the quotation Won; returns the order's number.

    Parameters (assumed): ``CustomerPoNo`` and ``WantedDeliveryDate`` for the new order.
    """
    _open_quotation(record, "OrderQuotation_CreateOrder")
    quotation = record.values
    header = {name: quotation.get(name) for name in _QUOTATION_HEADER_COPY if quotation.get(name) is not None}
    header["QuotationNo"] = quotation["QuotationNo"]
    header["WantedDeliveryDate"] = params.get("WantedDeliveryDate") or quotation.get("WantedDeliveryDate")
    if params.get("CustomerPoNo"):
        header["CustomerPoNo"] = params["CustomerPoNo"]
    orders = next(s for s in tenant.sets.values() if s.model.name == "CustomerOrderSet")
    lines = next(s for s in tenant.sets.values() if s.model.name == "CustomerOrderLineSet")
    order = tenant.create(orders, header)
    quoted = tenant.of_table("OrderQuotationLine")
    rows = sorted(
        (
            r.values
            for r in tenant.store.scan(quoted.table)
            if r.values.get("QuotationNo") == quotation["QuotationNo"]
        ),
        key=lambda values: int(values["LineNo"]) if str(values.get("LineNo", "")).isdigit() else 0,
    )
    for line in rows:
        body = {name: line.get(name) for name in _QUOTATION_LINE_COPY if line.get(name) is not None}
        tenant.create(lines, {**body, "PriceFreeze": "Frozen"}, parent={"OrderNo": order.values["OrderNo"]})
    _close_quotation(tenant, state, record, "Won")
    return str(order.values["OrderNo"])


def _quotation_won(tenant: Tenant, state: SetState, record: Record, params: Mapping[str, Any]) -> None:
    _open_quotation(record, "OrderQuotation_SetWon")
    _close_quotation(tenant, state, record, "Won")


def _opportunity_transition(target: str) -> ActionHandler:
    def run(tenant: Tenant, state: SetState, record: Record, params: Mapping[str, Any]) -> None:
        current = record.values.get("Objstate")
        if current != "Active":
            raise BusinessError(
                f"Business opportunity {record.values['OpportunityNo']} is {current}; only an Active one can "
                f"become {target}.",
                code="ODP_STATE_ERROR",
            )
        tenant.store.update(state.table, state.table.key_of(record.values), {"Objstate": target})

    return run


_ACTIONS: dict[str, dict[str, ActionHandler]] = {
    "OrderQuotationSet": {
        "OrderQuotation_CreateOrder": _quotation_to_order,
        "OrderQuotation_SetWon": _quotation_won,
    },
    "BusinessOpportunitySet": {
        "BusinessOpportunity_SetWon": _opportunity_transition("Won"),
        "BusinessOpportunity_SetLost": _opportunity_transition("Lost"),
        "BusinessOpportunity_SetCancelled": _opportunity_transition("Cancelled"),
    },
    "CustomerOrderSet": {
        # Which of the two the web client's "Release" uses is not documented; both do the same here.
        "CustomerOrder_ReleaseOrder": _transition(("Planned",), "Released", ("Planned",)),
        "CustomerOrder_SetReleased": _transition(("Planned",), "Released", ("Planned",)),
        "CustomerOrder_SetCancelled": _transition(
            ("Planned", "Released", "Blocked"), "Cancelled", ("Planned", "Released")
        ),
        "CustomerOrder_SetBlocked": _transition(("Planned", "Released", "Reserved"), "Blocked", ()),
        "CustomerOrder_ManualBlock": _transition(("Planned", "Released", "Reserved"), "Blocked", ()),
        "CustomerOrder_ReleaseBlocked": _transition(("Blocked",), "Released", ()),
        "CustomerOrder_PrintResultKey": _print_result_key,
    },
}
