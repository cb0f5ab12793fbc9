"""IFS sales quotations → Dataverse quotes with their lines, revisions included.

The source record is an ``OrderQuotation`` with its ``OrderQuotationLine`` rows, keyed by ``QuotationNo``
(names assumed: no public capture of ``SalesQuotationHandling``). The mapping file reads ``quotation``
(the header row) and ``status`` (its IFS state) for the ``quote`` target, and ``quotation``, ``line``,
``amounts`` and ``status`` for the ``line`` target (``quotedetail``), as ``shared.sync.orders`` does.

A quote is keyed by ``ifs_quotationno`` together with Dataverse's ``revisionnumber``: a revision is a new
quote row with the same number and the next revision. The id map links the IFS quotation to its newest
Dataverse row, and the sync writes that row. Lines are keyed within their quote (``quoteid``,
``ifs_linekey``); lines Dataverse holds that IFS no longer has are removed.

Dynamics lets only Draft quotes be edited; Active, Won and Closed ones are read-only. So when a quotation
changes in IFS while its Dynamics quote is Active or Closed (an IFS revision, a price change, a release
taken back), the quote is revised with ``ReviseQuote``: Dataverse closes the Active quote as Revised and
returns a Draft copy, which the id map then follows and the sync writes, all its rows again (ASSUMED:
whether Dataverse copies the connector's own columns onto the copy's lines is not documented; the copy's
lines are matched by key when it does and replaced when it does not). A Won quote is final: a change to it
is parked with that reason. The states come from the mapping (``quote_state``/``quote_status`` maps:
draft, active, won, closed as lost or canceled), reached after the lines are written: an Active quote by an
update from Draft, Won by ``WinQuote`` and Closed by ``CloseQuote``, each from Active (a Draft quote is
activated first).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.sync import documents
from shared.sync.addressing import Addressable, address
from shared.sync.flow import Link, RecordError, first
from shared.sync.mapping.evaluate import evaluate
from shared.sync.mapping.load import MappingSchema, TargetSchema, Within
from shared.sync.mapping.model import EntityMapping
from shared.sync.plan import RecordPlan, TargetRow
from shared.sync.ports import Aggregate, Request, RequestOutcome, Target
from shared.sync.references import References

ENTITY = "quotations"
ROOT, LINES = "quotation", "lines"
DRAFT, ACTIVE, WON, CLOSED = 0, 1, 2, 3
ACTIVE_STATUS = 2  # In Progress, the Active state's default
REVISED_STATUS = 7  # Closed as Revised: a newer revision of the quote exists
SCHEMA = MappingSchema(
    entity=ENTITY,
    targets={
        "quote": TargetSchema(
            parts=frozenset({"quotation", "status"}),
            table="quote",
            key_required=True,
            key_with=("revisionnumber",),
        ),
        "line": TargetSchema(
            parts=frozenset({"quotation", "line", "amounts", "status"}),
            table="quotedetail",
            key_required=True,
            key_with=("quoteid",),
            within=Within("quote", "quoteid"),
        ),
    },
    options=dict(documents.LINE_OPTIONS),
    choices=documents.LINE_CHOICES,
    entities=frozenset({"customers", "sales_parts"}),
)


@dataclass
class QuotesFlow:
    """Plans quotes and their lines from IFS sales quotations; revises, activates, wins and closes them."""

    addressable: Addressable
    references: References
    target: Target
    entity: str = ENTITY
    schema: MappingSchema = SCHEMA

    def plan(
        self, key: str, version: str | None, aggregate: Aggregate, mapping: EntityMapping, link: Link
    ) -> RecordPlan:
        """The quote header and its lines."""
        target = mapping.target("quote")
        quotation: Mapping[str, Any] = first(aggregate.get(ROOT, ())) or {}
        view = {"quotation": quotation, "status": {"state": quotation.get("Objstate")}}
        evaluated = evaluate(mapping, target, view)
        values = dict(evaluated.values)
        transition = documents.take_transition(values)
        record, key_values, known_id = address(target, self.entity, key, link.target_id, self.addressable)
        if isinstance(record, Mapping):
            record = {**record, "revisionnumber": 0}  # a new quote is the first revision
        header = TargetRow(target, record, {**key_values, **values}, evaluated.lookups, id=known_id)
        plan = RecordPlan(
            key,
            version,
            [header],
            transition=transition,
            context={"price_list": (quotation.get("Contract"), quotation.get("CurrencyCode"))},
        )
        documents.plan_lines(
            plan,
            aggregate.get(LINES, ()),
            {"quotation": quotation},
            mapping,
            target=mapping.target("line"),
            header_target="quote",
            parent_column="quoteid",
            parent_bind="quoteid",
            addressable=self.addressable,
        )
        return plan

    def plan_missing(self, key: str, mapping: EntityMapping, link: Link) -> RecordPlan | None:
        """A quotation gone from IFS closes its quote as Canceled (when there is one)."""
        if link.target_id is None:
            return None
        row = TargetRow(mapping.target("quote"), link.target_id, {}, id=link.target_id)
        return RecordPlan(
            key,
            None,
            [row],
            transition={"statecode": CLOSED, "statuscode": 6},
            note="not in IFS any more: quote closed as canceled",
            outcome="deactivated",
        )

    def prepare(
        self, plans: Sequence[RecordPlan], mapping: EntityMapping, *, dry_run: bool = False
    ) -> dict[str, Exception]:
        """Bind each quote's price list (site and currency) and each line's unit, creating them if missing."""
        return documents.bind_references(plans, self.references, dry_run=dry_run, what="quotation")

    # ---- states and revisions ------------------------------------------------------------------------

    def before_write(self, plans: Sequence[RecordPlan], mapping: EntityMapping) -> dict[str, Exception]:
        """Read the quotes' states; revise the Active or Closed ones that must change (Won ones are final)."""
        target = mapping.target("quote")
        states = documents.current_states(
            self.target, target.entity_set, target.table, plans, ("quotenumber", "revisionnumber")
        )
        self._follow_revisions(plans, states, target.entity_set, target.table)
        failures: dict[str, Exception] = {}
        revise: dict[str, list[Request]] = {}
        for plan in plans:
            row = states.get(plan.main.id) if plan.main.id is not None else None
            current = (row["statecode"], row["statuscode"]) if row else (DRAFT, 1)
            plan.context["current"] = current
            wanted = _wanted(plan)
            writes = any(not r.skip for r in plan.rows)
            if current[0] == WON and (writes or (wanted is not None and wanted != current)):
                failures[plan.key] = RecordError(
                    "quote_won",
                    f"quotation {plan.key} changed in IFS, but its quote is Won in Dynamics, which Dataverse "
                    "neither edits nor revises",
                )
            elif (current[0] == ACTIVE and (writes or (wanted is not None and wanted[0] == DRAFT))) or (
                current[0] == CLOSED and wanted is not None and wanted != current
            ):
                columns = {"AllColumns": False, "Columns": [f"{target.table}id", "revisionnumber"]}
                revise[plan.key] = [
                    ("POST", "ReviseQuote", {"QuoteId": str(plan.main.id), "ColumnSet": columns})
                ]
        by_key = {plan.key: plan for plan in plans}
        pk = f"{target.table}id"

        def revised(key: str, _round: int, outcome: RequestOutcome) -> None:
            plan = by_key[key]
            new_id = uuid.UUID(str((outcome.body or {})[pk]))
            plan.main.record, plan.main.id = new_id, new_id
            plan.context |= {"current": (DRAFT, 1), "reconcile": True}
            for row in plan.rows:
                row.skip = False  # the copy is written whole: what Dataverse copied is not known

        failures |= documents.run_rounds(self.target, revise, revised)
        return failures

    def _follow_revisions(
        self,
        plans: Sequence[RecordPlan],
        states: dict[uuid.UUID, dict[str, Any]],
        entity_set: str,
        table: str,
    ) -> None:
        """Point plans whose quote was revised (closed as Revised) at the newest revision of its number.

        The id map follows each revision the sync makes; this finds one it made but never heard back about
        (the answer to ReviseQuote was lost), so a retry writes that revision instead of revising again.
        """
        revised = {
            plan.key: plan
            for plan in plans
            if plan.main.id is not None
            and (states.get(plan.main.id) or {}).get("statuscode") == REVISED_STATUS
        }
        if not revised:
            return
        numbers = {str(states[p.main.id]["quotenumber"]): p for p in revised.values() if p.main.id}
        pk = f"{table}id"
        newest: dict[str, dict[str, Any]] = {}
        for row in self.target.rows_by(
            entity_set,
            "quotenumber",
            list(numbers),
            [pk, "quotenumber", "revisionnumber", *documents.STATE_COLUMNS],
        ):
            number = str(row["quotenumber"])
            if number not in newest or row["revisionnumber"] > newest[number]["revisionnumber"]:
                newest[number] = row
        for number, plan in numbers.items():
            found = newest.get(number)
            if found is None or found.get("statuscode") == REVISED_STATUS:
                continue
            row_id = uuid.UUID(str(found[pk]))
            plan.main.record, plan.main.id = row_id, row_id
            states[row_id] = found
            plan.context["reconcile"] = True
            for other in plan.rows:
                other.skip = False

    def after_write(self, plans: Sequence[RecordPlan], mapping: EntityMapping) -> dict[str, Exception]:
        """Move each written quote to its planned state: activate, then win or close (Dataverse's way)."""
        entity_set = mapping.target("quote").entity_set
        steps: dict[str, list[Request]] = {}
        for plan in plans:
            wanted = _wanted(plan)
            current = plan.context.get("current", (DRAFT, 1))
            if wanted is None or wanted == current or plan.main.id is None:
                continue
            steps[plan.key] = _steps(plan.key, entity_set, plan.main.id, current[0], wanted)
        return documents.run_rounds(self.target, steps)


def _steps(
    key: str, entity_set: str, quote_id: uuid.UUID, current: int, wanted: tuple[int, int]
) -> list[Request]:
    state, status = wanted
    path = f"{entity_set}({quote_id})"
    steps: list[Request] = []
    if state == DRAFT:
        return steps  # a revision made it a Draft already
    if current == DRAFT:
        activate_status = status if state == ACTIVE else ACTIVE_STATUS
        steps.append(("PATCH", path, {"statecode": ACTIVE, "statuscode": activate_status}))
    elif state == ACTIVE:
        steps.append(("PATCH", path, {"statecode": ACTIVE, "statuscode": status}))
    if state in (WON, CLOSED):
        close = {
            "@odata.type": "Microsoft.Dynamics.CRM.quoteclose",
            "subject": f"IFS quotation {key}",
            "quoteid@odata.bind": f"/{path}",
        }
        action = "WinQuote" if state == WON else "CloseQuote"
        steps.append(("POST", action, {"QuoteClose": close, "Status": status}))
    return steps


def _wanted(plan: RecordPlan) -> tuple[int, int] | None:
    wanted = plan.transition
    if not wanted:
        return None
    return int(wanted["statecode"]), int(wanted.get("statuscode") or -1)
