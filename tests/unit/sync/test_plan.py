"""Plans: row digests that ignore where a row is written, and identities that stay the same across runs."""

from __future__ import annotations

import uuid

from shared.sync.mapping.model import Location, TargetMapping
from shared.sync.plan import RecordPlan, TargetRow

LINE = TargetMapping(
    "line",
    Location("orders.toml", 1, "line"),
    "salesorderdetail",
    "salesorderdetails",
    "ifs_linekey",
    100,
    (),
)
ORDER = TargetMapping(
    "order", Location("orders.toml", 1, "order"), "salesorder", "salesorders", "ifs_ordernumber", 50, ()
)


def test_a_rows_digest_ignores_its_address() -> None:
    """By key now, by linked id later, with its parent's id bound or not: the same values, the same digest."""
    by_key = TargetRow(ORDER, {"ifs_ordernumber": "C1"}, {"name": "C1"})
    linked = uuid.uuid4()
    by_id = TargetRow(ORDER, linked, {"ifs_ordernumber": "C1", "name": "C1"}, id=linked)
    assert by_key.digest() == by_id.digest()
    assert by_key.identity == by_id.identity == "order|C1"
    line = TargetRow(
        LINE, {"ifs_linekey": "1|1|0"}, {"quantity": 2}, key_refs={"_salesorderid_value": "order"}
    )
    before = line.digest()
    assert isinstance(line.record, dict)
    line.record = {"_salesorderid_value": linked, **line.record}
    assert line.digest() == before
    assert line.identity == "line|1|1|0"


def test_the_plan_hash_covers_rows_and_the_transition() -> None:
    """A changed row or a changed target state changes the plan's hash; the same plan hashes the same."""

    def plan(quantity: int, state: int) -> RecordPlan:
        header = TargetRow(ORDER, {"ifs_ordernumber": "C1"}, {"name": "C1"})
        line = TargetRow(LINE, {"ifs_linekey": "1|1|0"}, {"quantity": quantity})
        return RecordPlan("C1", None, [header, line], transition={"statecode": state})

    assert plan(1, 0).values_hash() == plan(1, 0).values_hash()
    assert plan(2, 0).values_hash() != plan(1, 0).values_hash()
    assert plan(1, 1).values_hash() != plan(1, 0).values_hash()
    assert plan(2, 0).row_digests()["order|C1"] == plan(1, 0).row_digests()["order|C1"]
