"""The organization's event hook: which pipeline events each write raises, and all-or-nothing requests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest

from simulators.dataverse.errors import WebApiError
from simulators.dataverse.events import Operation, RowEvent
from simulators.dataverse.store import Ref
from tests.unit.dataverse.simulated_org import SimulatedOrg, fresh_org


@dataclass
class Recorder:
    """A pipeline that records what it is told, and can refuse one message after the write."""

    seen: list[tuple[str, str, RowEvent, Operation]] = field(default_factory=list)
    outcomes: list[tuple[str, Operation]] = field(default_factory=list)
    refuse_after: str | None = None

    def before(self, operation: Operation, event: RowEvent) -> None:
        self.seen.append(("before", event.message, event, operation))

    def after(self, operation: Operation, event: RowEvent) -> None:
        self.seen.append(("after", event.message, event, operation))
        if event.message == self.refuse_after:
            raise WebApiError(400, "0x80050201", "refused by a synchronous step")

    def committed(self, operation: Operation) -> None:
        self.outcomes.append(("committed", operation))

    def rolled_back(self, operation: Operation) -> None:
        self.outcomes.append(("rolled_back", operation))

    def after_events(self) -> list[RowEvent]:
        return [event for stage, _, event, _ in self.seen if stage == "after"]


def recorded() -> tuple[SimulatedOrg, Recorder]:
    sim = fresh_org()
    recorder = Recorder()
    sim.org.pipeline = recorder
    return sim, recorder


def test_a_create_raises_create_before_and_after_with_the_stored_row() -> None:
    """Target after the write holds every column with a value; submitted only what the caller sent."""
    sim, recorder = recorded()
    row = sim.create("account", {"name": "Contoso"})
    assert [(stage, message) for stage, message, _, _ in recorder.seen] == [
        ("before", "Create"),
        ("after", "Create"),
    ]
    event = recorder.after_events()[0]
    assert event.row_id == row["accountid"]
    assert event.target["name"] == "Contoso"
    assert event.target["ownerid"] == Ref("systemuser", sim.caller.user_id)
    assert "versionnumber" not in event.target
    assert set(event.submitted) == {"name", "accountid"}
    assert event.after == row
    assert [outcome for outcome, _ in recorder.outcomes] == ["committed"]


def test_writes_outside_an_operation_raise_nothing() -> None:
    """Seeding rows as the platform does is not a user request."""
    sim, recorder = recorded()
    sim.org.insert_system_row(sim.table("account"), {"name": "Seeded"})
    assert recorder.seen == []
    assert recorder.outcomes == []


def test_an_update_of_state_and_other_columns_raises_two_updates() -> None:
    """Other columns first, then the state columns, each with its own before and after row."""
    sim, recorder = recorded()
    order = sim.create("salesorder", {"name": "SO-1"})
    recorder.seen.clear()
    sim.upsert("salesorder", str(order["salesorderid"]), {"name": "SO-1b", "statecode": 1}, if_match="*")
    first, second = recorder.after_events()
    assert (first.message, second.message) == ("Update", "Update")
    assert "name" in first.target
    assert "statecode" not in first.target
    assert (second.target["statecode"], second.target["statuscode"]) == (1, 3)
    assert "name" not in second.target
    assert first.before is not None
    assert first.before["name"] == "SO-1"
    assert first.after is not None
    assert (first.after["name"], first.after["statecode"]) == ("SO-1b", 0)
    assert second.before == first.after
    assert second.after is not None
    assert second.after["statecode"] == 1


def test_an_update_target_carries_what_the_platform_derived() -> None:
    """A new last name rewrites fullname, and modifiedon/modifiedby are always there."""
    sim, recorder = recorded()
    contact = sim.create("contact", {"firstname": "Ada", "lastname": "King"})
    recorder.seen.clear()
    sim.upsert("contact", str(contact["contactid"]), {"lastname": "Lovelace"}, if_match="*")
    (event,) = recorder.after_events()
    assert event.target["fullname"] == "Ada Lovelace"
    assert {"contactid", "modifiedon", "modifiedby", "lastname"} <= set(event.target)
    assert "firstname" not in event.target
    assert set(event.submitted) == {"lastname", "contactid"}


def test_a_status_reason_must_belong_to_its_state() -> None:
    """An Active (0) order cannot have status Complete (100001): InvalidStateCodeStatusCode."""
    sim, _ = recorded()
    order = sim.create("salesorder", {"name": "SO-1"})
    with pytest.raises(WebApiError) as caught:
        sim.upsert("salesorder", str(order["salesorderid"]), {"statuscode": 100001}, if_match="*")
    assert (caught.value.status, caught.value.code) == (400, "0x80048408")


def test_a_new_state_without_status_takes_the_default_status() -> None:
    """An order submitted without a status reason is In Progress (3), the state's default in the reference."""
    sim, _ = recorded()
    order = sim.create("salesorder", {"name": "SO-1"})
    submitted, _ = sim.upsert("salesorder", str(order["salesorderid"]), {"statecode": 1}, if_match="*")
    assert submitted["statuscode"] == 3


def test_deleting_an_order_raises_deletes_for_it_and_its_lines() -> None:
    """Cascaded rows raise their own Delete events, inside the same request."""
    sim, recorder = recorded()
    order = sim.create("salesorder", {"name": "SO-1"})
    line = sim.create(
        "salesorderdetail",
        {
            "salesorderid@odata.bind": f"/salesorders({order['salesorderid']})",
            "isproductoverridden": True,
            "productdescription": "Bolt",
            "quantity": 2,
            "priceperunit": 3,
        },
    )
    recorder.seen.clear()
    sim.delete("salesorder", str(order["salesorderid"]))
    deletes = [(e.table.logical_name, e.row_id) for e in recorder.after_events()]
    assert ("salesorder", order["salesorderid"]) in deletes
    assert ("salesorderdetail", line["salesorderdetailid"]) in deletes
    operations = {id(op) for _, _, _, op in recorder.seen}
    assert len(operations) == 1


def test_a_line_write_raises_an_update_of_its_header_totals() -> None:
    """The pricing engine's re-total is an Update of the order carrying the changed totals."""
    sim, recorder = recorded()
    order = sim.create("salesorder", {"name": "SO-1"})
    recorder.seen.clear()
    sim.create(
        "salesorderdetail",
        {
            "salesorderid@odata.bind": f"/salesorders({order['salesorderid']})",
            "isproductoverridden": True,
            "productdescription": "Bolt",
            "quantity": 2,
            "priceperunit": 3,
        },
    )
    updates = [e for e in recorder.after_events() if e.message == "Update"]
    assert [e.table.logical_name for e in updates] == ["salesorder"]
    assert str(updates[0].target["totalamount"]) == "6.00"
    correlation = {op.correlation_id for _, _, _, op in recorder.seen}
    assert len(correlation) == 1


def test_a_failing_post_operation_step_rolls_the_request_back() -> None:
    """Nothing the request wrote survives, and the pipeline hears it was rolled back."""
    sim, recorder = recorded()
    recorder.refuse_after = "Create"
    with pytest.raises(WebApiError):
        sim.create("account", {"name": "Never"})
    assert [row["name"] for row in sim.org.store.rows("account")] == []
    assert [outcome for outcome, _ in recorder.outcomes] == ["rolled_back"]


def test_nested_operations_join_the_outer_request() -> None:
    """Writes inside an open operation share its correlation id and commit once."""
    sim, recorder = recorded()
    with sim.org.operation(sim.caller, "CreateMultiple") as outer:
        sim.create("account", {"name": "A"})
        sim.create("account", {"name": "B"})
    assert {op.correlation_id for _, _, _, op in recorder.seen} == {outer.correlation_id}
    assert [outcome for outcome, _ in recorder.outcomes] == ["committed"]
    assert outer.message == "CreateMultiple"


def test_a_failure_inside_a_request_undoes_its_earlier_writes() -> None:
    """The second create fails: the first one is undone, and the journal forgets it."""
    sim, _ = recorded()
    journal = len(sim.org.store.journal)

    def create_two() -> None:
        with sim.org.operation(sim.caller, "CreateMultiple"):
            sim.create("account", {"name": "A"})
            sim.create("account", {"name": 42})

    with pytest.raises(WebApiError):
        create_two()
    assert sim.org.store.rows("account") == []
    assert len(sim.org.store.journal) == journal


def test_each_request_gets_its_own_ids() -> None:
    """Two requests have different correlation and request ids."""
    sim, recorder = recorded()
    sim.create("account", {"name": "A"})
    sim.create("account", {"name": "B"})
    first, second = (op for _, op in recorder.outcomes)
    assert first.correlation_id != second.correlation_id
    assert first.request_id != second.request_id
    assert isinstance(first.request_id, uuid.UUID)
