"""IFS sales parts → Dataverse products, units and price lists.

A sales part is keyed ``(Contract, CatalogNo)``: the same catalog number on several sites. The synced
record is the catalog number (``productnumber``, the product's alternate key), read with its rows on every
configured site. The mapping file reads these view parts:

- ``product`` target: ``part`` — the row of the master site (the first of the configured sites that has
  the part, in the configured order) — and ``status`` (``state``: ``active`` when the part is active on at
  least one site, else ``retired``: a part inactive everywhere becomes a retired product);
- ``price`` target (a ``productpricelevel`` per site): ``site`` — that site's row — and ``part``. A site
  row that is not active has no item: one the connector wrote earlier is removed from that price list
  once the part is linked (a part never synced has none to remove, so nothing is deleted for it; an item
  left by a first attempt that failed after writing it goes at the part's next sync once it is linked).

The flow adds what the mapping does not describe: the product's unit group and default unit (the master
row's sales unit, as a unit created on demand, see ``shared.sync.references``), its default price list
(the master site's), and for every active site row a price-list item in the list of that site and its
currency, for the part's sales unit. Price-list items are written by a stable id (no alternate key), so
writing one twice is one row. A currency missing in Dataverse parks the part with that reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.sync.addressing import Addressable, address
from shared.sync.flow import Link, RecordError
from shared.sync.mapping.evaluate import evaluate
from shared.sync.mapping.load import MappingSchema, TargetSchema
from shared.sync.mapping.model import EntityMapping
from shared.sync.plan import RecordPlan, TargetRow, stable_id
from shared.sync.ports import Aggregate
from shared.sync.references import References

ENTITY = "sales_parts"
ROOT = "part"
SCHEMA = MappingSchema(
    entity=ENTITY,
    targets={
        "product": TargetSchema(parts=frozenset({"part", "status"}), table="product", key_required=True),
        "price": TargetSchema(parts=frozenset({"part", "site"}), table="productpricelevel"),
    },
    options={"active_values": list},
)


@dataclass
class ProductsFlow:
    """Plans products and their prices from IFS sales parts."""

    sites: tuple[str, ...]  # configured sites in priority order (the first is the master site); () = all
    addressable: Addressable
    references: References
    entity: str = ENTITY
    schema: MappingSchema = SCHEMA

    def _rows(self, aggregate: Aggregate) -> list[Mapping[str, Any]]:
        rows = list(aggregate.get(ROOT, ()))
        if self.sites:
            order = {site: n for n, site in enumerate(self.sites)}
            rows = [r for r in rows if r.get("Contract") in order]
            rows.sort(key=lambda r: order[str(r.get("Contract"))])
        else:
            rows.sort(key=lambda r: str(r.get("Contract")))
        return rows

    @staticmethod
    def _active(row: Mapping[str, Any], mapping: EntityMapping) -> bool:
        return row.get("Activeind") in mapping.options.get("active_values", ("ActivePart",))

    def plan(
        self, key: str, version: str | None, aggregate: Aggregate, mapping: EntityMapping, link: Link
    ) -> RecordPlan:
        """The product and its price-list items for one catalog number."""
        rows = self._rows(aggregate)
        if not rows:
            raise RecordError("out_of_scope", f"sales part {key!r} exists on none of the configured sites")
        master = rows[0]
        active = any(self._active(r, mapping) for r in rows)
        product_target = mapping.target("product")
        view = {"part": master, "status": {"state": "active" if active else "retired"}}
        evaluated = evaluate(mapping, product_target, view)
        record, key_values, known_id = address(
            product_target, self.entity, key, link.target_id, self.addressable
        )
        unit = str(master.get("SalesUnitMeas") or "")
        if not unit:
            raise RecordError(
                "missing_value", f"sales part {key!r} on {master.get('Contract')} has no sales unit"
            )
        product = TargetRow(
            product_target, record, {**key_values, **evaluated.values}, evaluated.lookups, id=known_id
        )
        master_list = (str(master.get("Contract")), str(master.get("CurrencyCode") or ""))
        plan = RecordPlan(key, version, [product], context={"unit": unit, "lists": [], "master": master_list})
        price_target = mapping.target("price")
        for row in rows:
            currency = str(row.get("CurrencyCode") or "")
            item_id = stable_id(self.entity, key, str(row.get("Contract")), currency, unit)
            if not self._active(row, mapping):
                # No longer sold on that site: its item leaves the site's price list (written by us, by id).
                # A part never synced (no link yet) has no item of ours to remove: an initial load sends no
                # DELETE per inactive site row.
                if link.target_id is not None:
                    plan.rows.append(TargetRow(price_target, item_id, {}, id=item_id, delete=True))
                continue
            plan.context["lists"].append((str(row.get("Contract")), currency))
            price = evaluate(mapping, price_target, {"part": master, "site": row})
            plan.rows.append(
                TargetRow(
                    price_target,
                    item_id,
                    price.values,
                    price.lookups,
                    refs={"productid": "product"},
                    id=item_id,
                )
            )
        return plan

    def plan_missing(self, key: str, mapping: EntityMapping, link: Link) -> RecordPlan | None:
        """A part gone from every site retires its product (nothing is deleted)."""
        if link.target_id is None:
            return None
        target = mapping.target("product")
        row = TargetRow(target, link.target_id, {"statecode": 1, "statuscode": 2}, id=link.target_id)
        return RecordPlan(key, None, [row], note="not in IFS any more: product retired", outcome="retired")

    def before_write(self, plans: Sequence[RecordPlan], mapping: EntityMapping) -> dict[str, Exception]:
        """Nothing Dataverse locks here."""
        return {}

    def after_write(self, plans: Sequence[RecordPlan], mapping: EntityMapping) -> dict[str, Exception]:
        """No transitions: states are plain columns."""
        return {}

    def prepare(
        self, plans: Sequence[RecordPlan], mapping: EntityMapping, *, dry_run: bool = False
    ) -> dict[str, Exception]:
        """Bind each plan's unit group, unit and price lists, creating them when missing."""
        failures: dict[str, Exception] = {}
        for plan in plans:
            if "unit" not in plan.context:
                continue  # a retirement: nothing to bind
            unit, lists = plan.context["unit"], plan.context["lists"]
            master_site, master_currency = plan.context["master"]
            try:
                group_id, unit_id = self.references.unit(unit, create=not dry_run)
                product = plan.main
                product.values["defaultuomscheduleid@odata.bind"] = f"/uomschedules({group_id})"
                product.values["defaultuomid@odata.bind"] = f"/uoms({unit_id})"
                if master_currency:
                    default_list = self.references.price_list(
                        master_site, master_currency, create=not dry_run
                    )
                    product.values["pricelevelid@odata.bind"] = f"/pricelevels({default_list})"
                items = [row for row in plan.rows[1:] if not row.delete]
                for row, (site, currency) in zip(items, lists, strict=True):
                    list_id = self.references.price_list(site, currency, create=not dry_run)
                    row.values["pricelevelid@odata.bind"] = f"/pricelevels({list_id})"
                    row.values["uomid@odata.bind"] = f"/uoms({unit_id})"
            except RecordError as exc:
                failures[plan.key] = exc
        return failures
