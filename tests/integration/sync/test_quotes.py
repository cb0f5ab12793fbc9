"""IFS sales quotations → Dataverse quotes with their lines, states and revisions, against the simulators."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from devhost.scenario import SyncScenario
from shared.state.idmap import IdMap
from shared.sync.messages import ChangedKey
from tests.integration.sync.documents_oracle import QUOTE_COLUMNS, assert_quotes_in_step, quote_lines, quotes
from tests.integration.sync.oracle import ifs, ifs_rows
from tests.integration.sync.test_orders import load_all

pytestmark = pytest.mark.azurite


def released(scenario: SyncScenario) -> dict[str, Any]:
    """A Released quotation with lines."""
    counts = Counter(line["QuotationNo"] for line in ifs_rows(scenario, "OrderQuotationLineSet"))
    return next(
        q
        for q in sorted(ifs_rows(scenario, "OrderQuotationSet"), key=lambda q: q["QuotationNo"])
        if q["Objstate"] == "Released" and counts[q["QuotationNo"]] >= 1
    )


def set_quantity(scenario: SyncScenario, line: dict[str, Any], quantity: float) -> None:
    """A quotation line's quantity changed in IFS, with the amounts IFS derives from it."""
    rate = line["TaxAmountCurr"] / line["NetAmountCurr"] if line["NetAmountCurr"] else 0
    net = round(line["SaleUnitPrice"] * quantity * (1 - line["Discount"] / 100), 2)
    tax = round(net * rate, 2)
    discount = round(line["SaleUnitPrice"] * quantity * line["Discount"] / 100, 2)
    changes = {"BuyQtyDue": quantity, "NetAmountCurr": net, "TaxAmountCurr": tax,
               "GrossAmountCurr": net + tax, "DiscountAmountCurr": discount}  # fmt: skip
    key = {k: line[k] for k in ("QuotationNo", "LineNo", "RelNo", "LineItemNo")}
    ifs(scenario, "touch", "OrderQuotationLineSet", key=key, changes=changes)


def test_initial_load_of_every_quotation_in_its_state(scenario: SyncScenario) -> None:
    """Draft, active, won and closed quotes with every line and IFS's totals."""
    load_all(scenario, "quotations")
    assert list(scenario.runtime.storage.parked.list()) == []
    assert_quotes_in_step(scenario)
    states = Counter(row["statecode"] for row in quotes(scenario).values())
    assert set(states) == {0, 1, 2, 3}


def test_a_quotation_won_in_ifs_is_won_in_dynamics(scenario: SyncScenario) -> None:
    """Won in IFS: the Active quote is won with WinQuote, no revision is made."""
    load_all(scenario, "quotations")
    quotation = released(scenario)
    number = quotation["QuotationNo"]
    before = quotes(scenario)[number]
    ifs(scenario, "touch", "OrderQuotationSet", key={"QuotationNo": number}, changes={"Objstate": "Won"})
    scenario.run_once("quotations")
    after = quotes(scenario)[number]
    assert (after["statecode"], after["statuscode"]) == (2, 4)
    assert after["quoteid"] == before["quoteid"]
    closes = scenario.rows("quotecloses", ["_quoteid_value", "subject"])
    assert [c["subject"] for c in closes if c["_quoteid_value"] == after["quoteid"]] == [
        f"IFS quotation {number}"
    ]
    assert_quotes_in_step(scenario)


def test_an_ifs_revision_becomes_a_dynamics_revision(scenario: SyncScenario) -> None:
    """Revised in IFS: ReviseQuote makes a Draft copy, the id map follows it; released again: it is Active."""
    load_all(scenario, "quotations")
    quotation = released(scenario)
    number = quotation["QuotationNo"]
    first = quotes(scenario)[number]
    assert (first["statecode"], first["revisionnumber"]) == (1, 0)
    line = ifs_rows(scenario, "OrderQuotationLineSet", QuotationNo=number)[0]
    ifs(scenario, "touch", "OrderQuotationSet", key={"QuotationNo": number},
        changes={"Objstate": "Revised", "RevisionNo": quotation["RevisionNo"] + 1})  # fmt: skip
    set_quantity(scenario, line, line["BuyQtyDue"] + 4)
    scenario.run_once("quotations")
    revision = quotes(scenario)[number]
    assert revision["quoteid"] != first["quoteid"]
    assert (revision["revisionnumber"], revision["statecode"]) == (1, 0)
    assert revision["quotenumber"] == first["quotenumber"]
    [old] = scenario.rows("quotes", QUOTE_COLUMNS, quoteid=first["quoteid"])
    assert (old["statecode"], old["statuscode"]) == (3, 7)  # closed as Revised
    linked = IdMap(scenario.runtime.storage.tables).target_ids("quotations", [number])
    assert linked == {number: revision["quoteid"]}
    assert len(quote_lines(scenario, revision["quoteid"])) == len(
        ifs_rows(scenario, "OrderQuotationLineSet", QuotationNo=number)
    )
    assert_quotes_in_step(scenario)

    ifs(scenario, "touch", "OrderQuotationSet", key={"QuotationNo": number}, changes={"Objstate": "Released"})
    scenario.run_once("quotations")
    again = quotes(scenario)[number]
    assert (again["quoteid"], again["statecode"], again["statuscode"]) == (revision["quoteid"], 1, 2)
    assert_quotes_in_step(scenario)


def test_a_change_to_an_active_quote_makes_a_revision(scenario: SyncScenario) -> None:
    """Dynamics keeps Active quotes read-only: a line added in IFS lands on a new revision, Active again."""
    load_all(scenario, "quotations")
    quotation = released(scenario)
    number = quotation["QuotationNo"]
    line = ifs_rows(scenario, "OrderQuotationLineSet", QuotationNo=number)[0]
    copied = {k: v for k, v in line.items() if k not in ("luname", "keyref", "Objstate", "Objgrants")}
    ifs(scenario, "create", "OrderQuotationLineSet", values={**copied, "LineNo": "99"})
    scenario.run_once("quotations")
    revision = quotes(scenario)[number]
    assert (revision["revisionnumber"], revision["statecode"]) == (1, 1)
    assert "99|1|0" in quote_lines(scenario, revision["quoteid"])
    assert_quotes_in_step(scenario)


def test_a_won_quote_is_final(scenario: SyncScenario) -> None:
    """A change to a quotation whose quote is Won in Dynamics is parked with that reason."""
    load_all(scenario, "quotations")
    number = next(q["QuotationNo"] for q in ifs_rows(scenario, "OrderQuotationSet") if q["Objstate"] == "Won")
    line = ifs_rows(scenario, "OrderQuotationLineSet", QuotationNo=number)[0]
    set_quantity(scenario, line, line["BuyQtyDue"] + 1)
    report = scenario.runtime.engine.process("quotations", [ChangedKey(number)], correlation_id="late")
    assert report.outcomes == {"parked": 1}
    [parked] = [p for p in scenario.runtime.storage.parked.list() if p.source_key == number]
    assert parked.error_class == "quote_won"


def test_a_revision_whose_answer_was_lost_is_followed_not_repeated(scenario: SyncScenario) -> None:
    """A revision the sync never heard back about is found by its number and written, not revised again."""
    load_all(scenario, "quotations")
    quotation = released(scenario)
    number = quotation["QuotationNo"]
    first = quotes(scenario)[number]
    revised = scenario.runtime.dataverse.send(
        "POST", "ReviseQuote", json={"QuoteId": first["quoteid"]}, idempotent=False
    ).json()  # made, but the id map still names the first revision
    ifs(scenario, "touch", "OrderQuotationSet", key={"QuotationNo": number},
        changes={"Objstate": "Revised", "RevisionNo": quotation["RevisionNo"] + 1})  # fmt: skip
    report = scenario.runtime.engine.process("quotations", [ChangedKey(number)], correlation_id="retry")
    assert report.outcomes == {"updated": 1}
    newest = quotes(scenario)[number]
    assert (newest["quoteid"], newest["revisionnumber"], newest["statecode"]) == (revised["quoteid"], 1, 0)
    linked = IdMap(scenario.runtime.storage.tables).target_ids("quotations", [number])
    assert linked == {number: revised["quoteid"]}
    assert_quotes_in_step(scenario)
