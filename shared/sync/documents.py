"""What IFS customer orders and sales quotations share on their way to Dynamics: lines, amounts, states.

Both are a header with lines. A line is written within its header: its alternate key is the header's
lookup and ``ifs_linekey`` (IFS's ``LineNo|RelNo|LineItemNo``), so one IFS line is always the same Dataverse
line, and a revision's copied lines stay distinguishable from the original's. The engine removes the lines
Dataverse holds under a header that IFS no longer has (``Within``). A line cancelled in IFS is left out
(removed in Dynamics) or, with the mapping option ``cancelled_lines = "mark"``, kept with quantity 0 and
its IFS state.

Amounts are IFS's: the price per unit as IFS priced it (sent with ``ispriceoverridden``, so Dataverse never
reprices), the quantity, the line's whole discount as the manual discount amount (the price times the
quantity, as Dataverse computes it, less IFS's net amount: line, group and order discounts IFS spreads over
its lines), and IFS's tax amount. Dataverse then computes each line's extended amount (= IFS's gross) and
the header's totals itself.

Each flow states the Dataverse state its header should be in (``RecordPlan.transition``, from the mapping's
``statecode``/``statuscode`` rules, which are never written as columns) and moves it there after the lines
are written, with the requests Dataverse requires. ``current_states`` reads the headers' states in bulk.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from shared.sync.addressing import Addressable
from shared.sync.flow import RecordError
from shared.sync.mapping.evaluate import evaluate
from shared.sync.mapping.model import EntityMapping, TargetMapping
from shared.sync.plan import RecordPlan, TargetRow, stable_id
from shared.sync.ports import Request, RequestOutcome, Target
from shared.sync.references import References

LINE_KEYS = ("LineNo", "RelNo", "LineItemNo")
STATE_COLUMNS = ("statecode", "statuscode")
CENT = Decimal("0.01")
# Mapping options both flows understand.
LINE_OPTIONS: dict[str, type] = {
    "cancelled_line_states": list,  # IFS line states that mean the line is cancelled
    "cancelled_lines": str,  # remove | mark
    "price_decimals": int,  # Dataverse's pricing decimal precision (Organization.PricingDecimalPrecision)
}
LINE_CHOICES = {"cancelled_lines": ("remove", "mark")}


def decimal(value: Any) -> Decimal:
    """An IFS number as a Decimal (None and non-numbers count as 0)."""
    if value is None or isinstance(value, bool):
        return Decimal(0)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


def money(value: Decimal) -> Decimal:
    """Rounded to cents, half up, as Dataverse rounds amounts in a currency of precision 2."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_amounts(line: Mapping[str, Any], *, price_decimals: int, cancelled: bool) -> dict[str, Any]:
    """A line's amounts as IFS priced it, in the form Dataverse computes from (see the module docstring)."""
    if cancelled:
        zero = Decimal(0)
        return {"Quantity": zero, "PricePerUnit": zero, "ManualDiscount": zero, "Tax": zero, "Net": zero}
    quantity = decimal(line.get("BuyQtyDue"))
    price = decimal(line.get("SaleUnitPrice")).quantize(
        Decimal(1).scaleb(-price_decimals), rounding=ROUND_HALF_UP
    )
    base = money(price * quantity)
    net = money(decimal(line["NetAmountCurr"])) if line.get("NetAmountCurr") is not None else base
    return {
        "Quantity": quantity,
        "PricePerUnit": price,
        "ManualDiscount": base - net,
        "Tax": money(decimal(line.get("TaxAmountCurr"))),
        "Net": net,
    }


def line_key(line: Mapping[str, Any]) -> str:
    """``LineNo|RelNo|LineItemNo``: the line within its header."""
    return "|".join(str(line.get(name)) for name in LINE_KEYS)


def _line_order(line: Mapping[str, Any]) -> tuple[Any, ...]:
    def part(value: Any) -> tuple[int, Any]:
        text = str(value)
        return (0, int(text)) if text.isdigit() else (1, text)

    return tuple(part(line.get(name)) for name in LINE_KEYS)


def plan_lines(
    plan: RecordPlan,
    lines: Sequence[Mapping[str, Any]],
    view: Mapping[str, Mapping[str, Any] | None],
    mapping: EntityMapping,
    *,
    target: TargetMapping,
    header_target: str,
    parent_column: str,
    parent_bind: str,
    addressable: Addressable,
) -> None:
    """Add one row per IFS line to ``plan`` (after its header row), in IFS's line order.

    A line is keyed by its header's lookup and its IFS line key; a key a URL cannot carry is written by a
    stable id instead (with the key column still set). ``plan.context["units"]`` collects each row's IFS
    sales unit for ``prepare``.
    """
    options = mapping.options
    cancelled_states = set(options.get("cancelled_line_states", ("Cancelled",)))
    mark = options.get("cancelled_lines", "remove") == "mark"
    decimals = int(options.get("price_decimals", 2))
    units: dict[str, str] = plan.context.setdefault("units", {})
    key_column = target.key
    assert key_column is not None  # required by both flows' schemas
    for position, line in enumerate(sorted(lines, key=_line_order), start=1):
        cancelled = line.get("Objstate") in cancelled_states
        if cancelled and not mark:
            continue
        amounts = line_amounts(line, price_decimals=decimals, cancelled=cancelled)
        number = str(line.get("LineNo"))
        amounts["Position"] = int(number) if number.isdigit() else position
        line_view = {
            **view,
            "line": line,
            "amounts": amounts,
            "status": {"state": line.get("Objstate"), "cancelled": cancelled},
        }
        evaluated = evaluate(mapping, target, line_view)
        key = line_key(line)
        fits = target.key_max_length is None or len(key) <= target.key_max_length
        if fits and addressable(key):
            row = TargetRow(
                target,
                {key_column: key},
                evaluated.values,
                evaluated.lookups,
                refs={parent_bind: header_target},
                key_refs={f"_{parent_column}_value": header_target},
            )
        else:
            fixed = stable_id(mapping.entity, plan.key, key)
            values = {**({key_column: key} if fits else {}), **evaluated.values}
            row = TargetRow(
                target, fixed, values, evaluated.lookups, refs={parent_bind: header_target}, id=fixed
            )
        plan.rows.append(row)
        unit = str(line.get("SalesUnitMeas") or "")
        if not unit:
            raise RecordError("missing_value", f"{mapping.entity} {plan.key} line {key} has no sales unit")
        units[row.identity] = unit


def take_transition(values: dict[str, Any]) -> dict[str, Any] | None:
    """Remove the state columns from a header's values: the state is reached by the flow, not written."""
    found = {column: values.pop(column) for column in STATE_COLUMNS if column in values}
    if not found or found.get("statecode") is None:
        return None
    return found


def bind_references(
    plans: Sequence[RecordPlan], references: References, *, dry_run: bool, what: str
) -> dict[str, Exception]:
    """Bind each header's price list (its IFS site and currency) and each line's unit, created if missing."""
    failures: dict[str, Exception] = {}
    for plan in plans:
        site, currency = plan.context.get("price_list", (None, None))
        if site is None:
            continue  # a plan for a record gone from IFS: nothing to bind
        try:
            if not currency:
                raise RecordError("missing_value", f"{what} {plan.key} has no currency: its prices cannot go")
            list_id = references.price_list(str(site), str(currency), create=not dry_run)
            plan.main.values["pricelevelid@odata.bind"] = f"/pricelevels({list_id})"
            units: Mapping[str, str] = plan.context.get("units", {})
            for row in plan.rows[1:]:
                unit = units.get(row.identity)
                if unit is not None:
                    _group, unit_id = references.unit(unit, create=not dry_run)
                    row.values["uomid@odata.bind"] = f"/uoms({unit_id})"
        except RecordError as exc:
            failures[plan.key] = exc
    return failures


def current_states(
    target: Target, entity_set: str, table: str, plans: Sequence[RecordPlan], extra: Sequence[str] = ()
) -> dict[uuid.UUID, dict[str, Any]]:
    """The current state columns (and ``extra``) of the plans' main rows that exist, in one bulk read."""
    ids = [plan.main.id for plan in plans if plan.main.id is not None]
    if not ids:
        return {}
    pk = f"{table}id"
    rows = target.rows_by(entity_set, pk, ids, [pk, *STATE_COLUMNS, *extra])
    return {uuid.UUID(str(row[pk])): row for row in rows}


def run_rounds(
    target: Target,
    steps: Mapping[str, Sequence[Request]],
    on_done: Callable[[str, int, RequestOutcome], None] | None = None,
) -> dict[str, Exception]:
    """Run each record's requests in order, in rounds: every record's first request in one bulk call.

    Then every second one, and so on. A record whose request fails stops there; its error is returned by
    key, and ``on_done`` hears of every request that succeeded.
    """
    failures: dict[str, Exception] = {}
    round_number = 0
    while True:
        batch = [
            (key, requests[round_number])
            for key, requests in steps.items()
            if round_number < len(requests) and key not in failures
        ]
        if not batch:
            return failures
        for (key, _), outcome in zip(batch, target.execute([r for _, r in batch]), strict=True):
            if not outcome.ok:
                failures[key] = outcome.error or RecordError("dataverse_refused", "request failed")
            elif on_done is not None:
                on_done(key, round_number, outcome)
        round_number += 1
