"""``reconcile`` of the document entities (orders, quotations: headers with lines) against the simulators."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from devhost.scenario import SyncScenario
from shared.cli.app import main
from tests.integration.sync.documents_oracle import orders, quotes
from tests.integration.sync.oracle import ifs, ifs_rows
from tests.integration.sync.test_orders import load_all
from tests.integration.sync.test_quotes import released

pytestmark = pytest.mark.azurite


@pytest.fixture
def reconcile(
    scenario: SyncScenario, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    """``python -m shared.cli reconcile --entity E --json [--fix]`` in this process: (exit code, document)."""
    for name, value in scenario.values.items():
        monkeypatch.setenv(name, value)

    def run(entity: str, *flags: str) -> tuple[int, dict[str, Any]]:
        code = main(["reconcile", "--entity", entity, "--json", *flags])
        return code, json.loads(capsys.readouterr().out)

    return run


def assert_clean(result: tuple[int, dict[str, Any]], count: int) -> None:
    code, report = result
    assert report["findings"] == []
    summary = report["summary"]
    assert (summary["ifs"], summary["dataverse"], summary["in_step"]) == (count, count, count)
    assert code == 0


def test_every_order_and_quotation_loaded_reconciles_clean(scenario: SyncScenario, reconcile: Any) -> None:
    """After the first load (closed history included), each document and each of its lines is in step."""
    load_all(scenario, "orders")
    load_all(scenario, "quotations")
    assert_clean(reconcile("orders"), len(ifs_rows(scenario, "CustomerOrderSet")))
    assert_clean(reconcile("quotations"), len(ifs_rows(scenario, "OrderQuotationSet")))


def test_hand_edits_to_order_lines_are_found_per_line_and_fixed(
    scenario: SyncScenario, reconcile: Any
) -> None:
    """A quantity changed, a line deleted, a line added by hand, an order canceled: found, then repaired."""
    load_all(scenario, "orders")
    dataverse = scenario.runtime.dataverse
    synced = orders(scenario)
    open_orders = sorted(n for n, o in synced.items() if o["statecode"] in (0, 1))  # not closed
    edited, deleted, added, canceled = open_orders[:4]

    def lines(number: str) -> list[dict[str, Any]]:
        return scenario.rows(
            "salesorderdetails",
            ["salesorderdetailid", "ifs_linekey", "quantity"],
            _salesorderid_value=synced[number]["salesorderid"],
        )

    first = min(lines(edited), key=lambda r: r["ifs_linekey"])
    dataverse.update("salesorderdetails", uuid.UUID(first["salesorderdetailid"]), {"quantity": 999})
    gone = min(lines(deleted), key=lambda r: r["ifs_linekey"])
    dataverse.delete("salesorderdetails", uuid.UUID(gone["salesorderdetailid"]))
    order_id = synced[added]["salesorderid"]
    dataverse.create("salesorderdetails", {"salesorderid@odata.bind": f"/salesorders({order_id})",
        "isproductoverridden": True, "productdescription": "by hand", "quantity": 1,
        "priceperunit": 5})  # fmt: skip
    dataverse.send("POST", "CancelSalesOrder", json={
        "OrderClose": {"salesorderid@odata.bind": f"/salesorders({synced[canceled]['salesorderid']})",
                       "subject": "by hand"}, "Status": 4}, idempotent=False)  # fmt: skip
    code, report = reconcile("orders")
    assert code == 1
    assert sorted(report["differs"]) == sorted([edited, deleted, added, canceled])
    found = {(f["key"], f["target"], f["column"]): (f["ifs"], f["dataverse"]) for f in report["findings"]}
    assert found[(edited, "line", "quantity")][1] == 999
    assert found[(deleted, "line", "(row)")] == ("present", "absent")
    assert found[(added, "line", "(row)")] == ("absent", "present")
    assert found[(canceled, "order", "statecode")] == (synced[canceled]["statecode"], 2)
    assert report["missing_in_dataverse"] == report["missing_in_ifs"] == []
    code, fixed = reconcile("orders", "--fix")
    assert sorted(fixed["enqueued"]) == sorted([edited, deleted, added, canceled])
    scenario.drain("orders")
    assert_clean(reconcile("orders"), len(ifs_rows(scenario, "CustomerOrderSet")))


def test_a_revised_quotation_counts_once_and_compares_its_newest_revision(
    scenario: SyncScenario, reconcile: Any
) -> None:
    """Two Dataverse quotes of one IFS quotation (a revision) are one record, in step with IFS."""
    load_all(scenario, "quotations")
    quotation = released(scenario)
    number = quotation["QuotationNo"]
    ifs(scenario, "touch", "OrderQuotationSet", key={"QuotationNo": number},
        changes={"Objstate": "Revised", "RevisionNo": quotation["RevisionNo"] + 1})  # fmt: skip
    line = ifs_rows(scenario, "OrderQuotationLineSet", QuotationNo=number)[0]
    key = {k: line[k] for k in ("QuotationNo", "LineNo", "RelNo", "LineItemNo")}
    ifs(scenario, "touch", "OrderQuotationLineSet", key=key, changes={"NoteText": "revised"})
    scenario.run_once("quotations")
    assert quotes(scenario)[number]["revisionnumber"] == 1
    assert_clean(reconcile("quotations"), len(ifs_rows(scenario, "OrderQuotationSet")))
