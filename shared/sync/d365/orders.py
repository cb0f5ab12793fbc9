"""A Dynamics order read from Dataverse and made into one IFS customer order, exactly once.

``OrderReader`` reads the order and its lines (state is truth; a webhook's payload is only a hint) and the
rows they point at, and builds each IFS body through the ``d365_orders`` mapping file: the customer through
the id map (an account not linked to an IFS customer parks the order), each line's part by the product's
catalog number, unit, quantity, price and discount as agreed in Dynamics (sent as frozen prices, so IFS
does not re-price them), the site from the IFS price list the order uses, the Dynamics order number in
``CustomerPoNo`` (``ExternalRef`` is not insertable; the number is also what finds the order again).

``OrderPush.ensure`` creates the IFS order through ``create_once`` (an insert-only lease per Dynamics order
number: of two workers only one creates; a create whose answer was lost is found, or waited for, never sent
twice), with its lines in one ``$batch`` change set (all or nothing) or, where the projection does not
take that, header then lines. Lines carry their position in ``CustomerPoLineNo``, so a half-created order
(header without all its lines: a crash, a lost answer) is completed line by line, each line exactly once
too. An order converted from a quote that came from an IFS quotation is made from that quotation: through
the quotation's conversion action when one is configured, else as a new order referencing it, with the
quotation closed as won. The IFS order number is linked in the id map (entity ``orders``, IFS ``OrderNo`` →
Dynamics ``salesorderid``) right after the create, before anything else, so the IFS → Dynamics flow
updates this Dynamics order and never makes a second one; then it is written back to the order.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.sync.d365.mapping import InboundMapping, InboundSchema
from shared.sync.flow import RecordError
from shared.sync.ifs_create import create_once, reference_of
from shared.sync.ports import CreateLeases, DynamicsSales, IdMapping, IfsOperations

_log = logging.getLogger(__name__)

ENTITY = "d365_orders"
ORDERS_ENTITY = "orders"  # the id map entity the IFS → Dynamics orders flow reads: IFS OrderNo → salesorderid
QUOTATIONS_ENTITY = "quotations"  # IFS QuotationNo → Dynamics quoteid (written by the quotations flow)
CUSTOMERS_ENTITY = "customers"  # IFS CustomerId → Dynamics accountid (the customers flow)
REFERENCE_FIELD = "CustomerPoNo"  # where the Dynamics order number travels (ExternalRef is not insertable)
LINE_REFERENCE_FIELD = "CustomerPoLineNo"
SCHEMA = InboundSchema(
    entity=ENTITY,
    sections={
        "order": frozenset({"order", "customer", "site", "currency", "price_list", "quote"}),
        "line": frozenset({"line", "product", "unit", "order", "site"}),
    },
    options={"default_site": str, "price_list_site": str, "lines": str},
)
DEFAULT_PRICE_LIST_SITE = r"^IFS (?P<site>\S+) (?P<currency>\S+)$"  # what the sales parts flow names them
STATE_ACTIVE, STATE_SUBMITTED, STATE_CANCELED, STATE_FULFILLED, STATE_INVOICED = 0, 1, 2, 3, 4
_ORDER_COLUMNS = (
    "salesorderid", "ordernumber", "name", "statecode", "statuscode", "_customerid_value",
    "_pricelevelid_value", "_transactioncurrencyid_value", "_quoteid_value", "_createdby_value",
)  # fmt: skip
_LINE_COLUMNS = (
    "quantity", "priceperunit", "manualdiscountamount", "_productid_value", "_uomid_value",
    "isproductoverridden", "productdescription",
)  # fmt: skip


@dataclass(frozen=True)
class IfsOrderEntities:
    """Where orders live in IFS (the adapter's entity-set and navigation objects, passed through)."""

    orders: Any
    order_lines: Any
    lines_navigation: Any
    quotations: Any


@dataclass(frozen=True)
class OrderSettings:
    """How orders are pushed: the write-back column and the quotation actions (None: not used)."""

    number_column: str
    quotation_order_action: str | None
    quotation_won_action: str | None
    pending_seconds: float


@dataclass
class DynamicsOrder:
    """An order as read from Dynamics, with what its bodies need."""

    id: uuid.UUID
    row: dict[str, Any]
    lines: list[dict[str, Any]]
    header: dict[str, Any] = field(default_factory=dict)  # the mapped IFS header body
    line_bodies: list[dict[str, Any]] = field(default_factory=list)
    quotation_no: str | None = None  # the IFS quotation the converted quote came from

    @property
    def number(self) -> str:
        """The Dynamics order number (what travels in CustomerPoNo)."""
        return str(self.row.get("ordernumber") or "")

    @property
    def state(self) -> int:
        """The order's statecode."""
        value = self.row.get("statecode")
        return value if isinstance(value, int) else STATE_ACTIVE

    @property
    def quote_id(self) -> uuid.UUID | None:
        """The quote it was converted from, if any."""
        value = self.row.get("_quoteid_value")
        return uuid.UUID(str(value)) if value else None


def _guid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value is None or isinstance(value, bool) else Decimal(str(value))
    except InvalidOperation:
        return None


def discount_percent(line: Mapping[str, Any]) -> float:
    """The line's manual discount as the percentage IFS keeps (Dynamics keeps an amount per line)."""
    discount = _decimal(line.get("manualdiscountamount")) or Decimal(0)
    gross = (_decimal(line.get("quantity")) or Decimal(0)) * (
        _decimal(line.get("priceperunit")) or Decimal(0)
    )
    if not discount or not gross:
        return 0.0
    return float((discount / gross * 100).quantize(Decimal("0.0001")))


class OrderReader:
    """Reads a Dynamics order with everything its IFS bodies need, and maps it."""

    def __init__(
        self, sales: DynamicsSales, idmap: IdMapping, mapping: InboundMapping, number_column: str
    ) -> None:
        self._sales = sales
        self._idmap = idmap
        self._mapping = mapping
        self._number_column = number_column

    def _columns(self, part: str, base: Sequence[str]) -> list[str]:
        wanted = dict.fromkeys(base)
        for section in self._mapping.sections.values():
            for rule in section:
                source = rule.rule.source
                if source and source.split(".", 1)[0] == part:
                    column = source.split(".", 1)[1]
                    if column not in ("discount_percent", "position"):  # computed here, not read
                        wanted[column] = None
        return list(wanted)

    def read(self, order_id: uuid.UUID) -> DynamicsOrder | None:
        """The order and its lines as Dynamics holds them now; None when it no longer exists."""
        found = self._sales.order(
            order_id,
            self._columns("order", (*_ORDER_COLUMNS, self._number_column)),
            self._columns("line", _LINE_COLUMNS),
        )
        if found is None:
            return None
        row, lines = found
        return DynamicsOrder(order_id, row, lines)

    def linked_number(self, order: DynamicsOrder) -> str | None:
        """The IFS order number this order is linked to (id map first, then its write-back column)."""
        linked = self._idmap.source_key(ORDERS_ENTITY, str(order.id))
        if linked:
            return linked
        written = order.row.get(self._number_column)
        return str(written) if written else None

    def map(self, order: DynamicsOrder) -> None:
        """Fill ``order.header`` and ``order.line_bodies``; RecordError or MappingValueError if not."""
        if not order.number:
            raise RecordError("missing_value", f"order {order.id} has no order number")
        row = order.row
        customer = self._customer(order)
        price_list, currency = self._price_list_and_currency(row)
        site = self._site(price_list, order)
        quote = self._quote(order)
        view = {
            "order": row,
            "customer": {"CustomerId": customer},
            "site": {"Contract": site},
            "price_list": price_list,
            "currency": currency,
            "quote": quote,
        }
        order.header = self._mapping.body("order", view)
        order.header[REFERENCE_FIELD] = order.number
        order.line_bodies = self._lines(order, row, site)

    def _customer(self, order: DynamicsOrder) -> str:
        account = order.row.get("_customerid_value")
        customer = self._idmap.source_key(CUSTOMERS_ENTITY, str(account)) if account else None
        if customer is None:
            raise RecordError(
                "customer_not_linked",
                f"order {order.number}: its customer {account or '(none)'} is not linked to an IFS customer "
                "(only accounts the customers flow synced from IFS can order); link or sync it, then replay",
            )
        return customer

    def _price_list_and_currency(self, row: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        price_list_id = _guid(row.get("_pricelevelid_value"))
        currency_id = _guid(row.get("_transactioncurrencyid_value"))
        price_list = (
            self._sales.rows_by_id("pricelevels", "pricelevelid", [price_list_id], ["name"]).get(
                price_list_id, {}
            )
            if price_list_id
            else {}
        )
        currency = (
            self._sales.rows_by_id(
                "transactioncurrencies", "transactioncurrencyid", [currency_id], ["isocurrencycode"]
            ).get(currency_id, {})
            if currency_id
            else {}
        )
        return price_list, currency

    def _site(self, price_list: Mapping[str, Any], order: DynamicsOrder) -> str:
        pattern = str(self._mapping.option("price_list_site", DEFAULT_PRICE_LIST_SITE))
        match = re.match(pattern, str(price_list.get("name") or ""))
        if match is not None and match.groupdict().get("site"):
            return str(match.group("site"))
        default = str(self._mapping.option("default_site", "") or "")
        if default:
            return default
        raise RecordError(
            "no_site",
            f"order {order.number}: price list {price_list.get('name')!r} is not an IFS one "
            f"({pattern!r}) and the mapping names no default_site, so the IFS site is unknown",
        )

    def _quote(self, order: DynamicsOrder) -> dict[str, Any]:
        quote_id = order.quote_id
        if quote_id is None:
            return {}
        order.quotation_no = self._idmap.source_key(QUOTATIONS_ENTITY, str(quote_id))
        return {"quoteid": str(quote_id), "QuotationNo": order.quotation_no}

    def _lines(self, order: DynamicsOrder, row: Mapping[str, Any], site: str) -> list[dict[str, Any]]:
        products = self._sales.rows_by_id(
            "products",
            "productid",
            [p for line in order.lines if (p := _guid(line.get("_productid_value")))],
            ["productnumber", "name"],
        )
        units = self._sales.rows_by_id(
            "uoms", "uomid", [u for line in order.lines if (u := _guid(line.get("_uomid_value")))], ["name"]
        )
        bodies = []
        for position, line in enumerate(order.lines, start=1):
            product = products.get(_guid(line.get("_productid_value")) or uuid.UUID(int=0))
            if product is None or not product.get("productnumber"):
                what = line.get("productdescription") or line.get("salesorderdetailid")
                raise RecordError(
                    "write_in_product",
                    f"order {order.number} line {position} ({what!r}) has no catalog product: IFS needs a "
                    "sales part, so every line must name a product synced from IFS",
                )
            view = {
                "line": {**line, "discount_percent": discount_percent(line), "position": str(position)},
                "product": product,
                "unit": units.get(_guid(line.get("_uomid_value")) or uuid.UUID(int=0), {}),
                "order": row,
                "site": {"Contract": site},
            }
            body = self._mapping.body("line", view)
            body[LINE_REFERENCE_FIELD] = str(position)
            bodies.append(body)
        return bodies


@dataclass(frozen=True)
class PushResult:
    """What ``OrderPush.ensure`` did, for the audit trail.

    The IFS order number, whether a create of ours made it, the lines it added to a half-created order,
    whether the number was written back, and a note when Dynamics refused the write-back.
    """

    order_no: str
    created: bool
    lines_added: int = 0
    written_back: bool = False
    note: str = ""


class _OrderCreator:
    """``create_once``'s creator for an order header: with its lines in one change set, or header alone."""

    def __init__(
        self, ifs: IfsOperations, entities: IfsOrderEntities, lines: Sequence[Mapping[str, Any]], batch: bool
    ) -> None:
        self._ifs = ifs
        self._entities = entities
        self._lines = lines
        self.batch = batch

    def find_by(self, entity: Any, values: Mapping[str, Any], *, select: Any = ()) -> list[dict[str, Any]]:
        return self._ifs.find_by(
            entity, values, select=("OrderNo", REFERENCE_FIELD, "Objstate", "QuotationNo")
        )

    def create(self, entity: Any, body: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
        if self.batch:
            try:
                header, _ = self._ifs.create_with_children(
                    entity, body, self._entities.lines_navigation, self._lines
                )
            except Exception as exc:
                if getattr(exc, "status", None) != 501:
                    raise
                # The projection does not take the change set: header now, the lines are completed after.
                _log.info("IFS refused the order's change set (%s); sending header, then lines", exc)
                self.batch = False
            else:
                return header
        return self._ifs.create(entity, body)


class _QuotationConversion:
    """``create_once``'s creator that makes the order from an IFS quotation through its conversion action."""

    def __init__(
        self, ifs: IfsOperations, entities: IfsOrderEntities, quotation_no: str, action: str
    ) -> None:
        self._ifs = ifs
        self._entities = entities
        self._key = {"QuotationNo": quotation_no}
        self._action = action

    def find_by(self, entity: Any, values: Mapping[str, Any], *, select: Any = ()) -> list[dict[str, Any]]:
        return self._ifs.find_by(
            entity, values, select=("OrderNo", REFERENCE_FIELD, "Objstate", "QuotationNo")
        )

    def create(self, entity: Any, body: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
        _, etag = self._ifs.get(self._entities.quotations, self._key, select=("QuotationNo", "Objstate"))
        params = {REFERENCE_FIELD: body[REFERENCE_FIELD]}
        if body.get("WantedDeliveryDate"):
            params["WantedDeliveryDate"] = body["WantedDeliveryDate"]
        result = self._ifs.call_action(
            self._entities.quotations, self._key, self._action, params, etag=etag or "*"
        )
        order_no = result.get("OrderNo") if isinstance(result, Mapping) else result
        if not order_no:
            raise RecordError(
                "protocol", f"{self._action} answered without the new order's number: {result!r}"
            )
        return self._ifs.get(self._entities.orders, {"OrderNo": str(order_no)})


class _LineCreator:
    """``create_once``'s creator for one line of an existing order (found again by its CustomerPoLineNo)."""

    def __init__(self, ifs: IfsOperations, entities: IfsOrderEntities, order_no: str) -> None:
        self._ifs = ifs
        self._entities = entities
        self._order_key = {"OrderNo": order_no}

    def find_by(self, entity: Any, values: Mapping[str, Any], *, select: Any = ()) -> list[dict[str, Any]]:
        return self._ifs.find_by(entity, values)

    def create(self, entity: Any, body: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
        return self._ifs.create_child(
            self._entities.orders, self._order_key, self._entities.lines_navigation, body
        )


class OrderPush:
    """Makes sure a Dynamics order exists in IFS exactly once, with all its lines, linked and written back."""

    def __init__(
        self,
        *,
        ifs: IfsOperations,
        sales: DynamicsSales,
        leases: CreateLeases,
        idmap: IdMapping,
        entities: IfsOrderEntities,
        settings: OrderSettings,
        mapping: InboundMapping,
        clock: Callable[[], datetime],
    ) -> None:
        self._ifs = ifs
        self._sales = sales
        self._leases = leases
        self._idmap = idmap
        self._entities = entities
        self._settings = settings
        self._mapping = mapping
        self._clock = clock

    def created_here(self, order: DynamicsOrder) -> bool:
        """Whether this flow created (or began creating) the order in IFS: its lease exists."""
        if not order.number:
            return False
        reference = reference_of({REFERENCE_FIELD: order.number})
        return self._leases.get(self._entities.orders.name, reference) is not None

    def find(self, order: DynamicsOrder) -> str | None:
        """The number of the IFS order carrying this order's number in CustomerPoNo, if one exists."""
        if not order.number:
            return None
        rows = self._ifs.find_by(self._entities.orders, {REFERENCE_FIELD: order.number}, select=("OrderNo",))
        return str(rows[0]["OrderNo"]) if len(rows) == 1 else None

    def ensure(self, order: DynamicsOrder, *, holder: str) -> PushResult:
        """Create the order in IFS unless it exists, complete its lines, link it and write its number back.

        ``order`` must be mapped (``OrderReader.map``). Raises what ``create_once`` raises
        (``CreatePendingError`` while a create may still commit, ``DuplicateRowsError``) and IFS's refusals.
        """
        conversion = self._conversion_action(order)
        if conversion is not None and order.quotation_no:
            creator: Any = _QuotationConversion(self._ifs, self._entities, order.quotation_no, conversion)
        else:
            creator = _OrderCreator(self._ifs, self._entities, order.line_bodies, self._batch())
        header = dict(order.header)
        if order.quotation_no and conversion is None:
            header["QuotationNo"] = order.quotation_no
        outcome = create_once(
            creator,
            self._leases,
            self._entities.orders,
            header,
            unique_on=(REFERENCE_FIELD,),
            holder=holder,
            clock=self._clock,
            pending_seconds=self._settings.pending_seconds,
        )
        order_no = str(outcome.row["OrderNo"])
        # First, before anything can fail: the IFS → Dynamics flow must find this order by the id map.
        self._idmap.link(ORDERS_ENTITY, order_no, str(order.id))
        added = 0
        if conversion is None or not order.quotation_no:
            added = self.complete_lines(order, order_no, holder=holder)
            if order.quotation_no and outcome.created:
                self._close_quotation_won(order.quotation_no)
        written, note = self.write_back(order, order_no)
        return PushResult(order_no, outcome.created, added, written, note)

    def _conversion_action(self, order: DynamicsOrder) -> str | None:
        return self._settings.quotation_order_action if order.quotation_no else None

    def _batch(self) -> bool:
        return str(self._mapping.option("lines", "batch")) != "separately"

    def complete_lines(self, order: DynamicsOrder, order_no: str, *, holder: str) -> int:
        """Create every line of ``order`` the IFS order lacks (by CustomerPoLineNo); how many were added."""
        key = {"OrderNo": order_no}
        present = {
            str(line.get(LINE_REFERENCE_FIELD))
            for line in self._ifs.iter_children(self._entities.orders, key, self._entities.lines_navigation)
        }
        creator = _LineCreator(self._ifs, self._entities, order_no)
        added = 0
        for body in order.line_bodies:
            if str(body[LINE_REFERENCE_FIELD]) in present:
                continue
            result = create_once(
                creator,
                self._leases,
                self._entities.order_lines,
                {**body, "OrderNo": order_no},
                unique_on=("OrderNo", LINE_REFERENCE_FIELD),
                holder=holder,
                clock=self._clock,
                pending_seconds=self._settings.pending_seconds,
            )
            added += 1 if result.created else 0
        return added

    def write_back(self, order: DynamicsOrder, order_no: str) -> tuple[bool, str]:
        """Write the IFS number to the Dynamics order unless it holds it: (written, a note if refused)."""
        column = self._settings.number_column
        if order.row.get(column) == order_no:
            return False, ""
        try:
            self._sales.write("salesorders", order.id, {column: order_no})
        except Exception as exc:
            if getattr(exc, "transient", False):
                raise
            # A fulfilled or cancelled order is read-only in Dynamics; the id map still links it.
            _log.warning(
                "IFS order %s not written back to Dynamics order %s: %s", order_no, order.number, exc
            )
            return False, f"IFS number not written back ({exc}); the id map links it"
        order.row[column] = order_no
        return True, ""

    def _close_quotation_won(self, quotation_no: str) -> None:
        action = self._settings.quotation_won_action
        if action is None:
            return
        key = {"QuotationNo": quotation_no}
        row, etag = self._ifs.get(self._entities.quotations, key, select=("QuotationNo", "Objstate"))
        if row.get("Objstate") == "Won":
            return
        self._ifs.call_action(self._entities.quotations, key, action, {}, etag=etag or "*")
