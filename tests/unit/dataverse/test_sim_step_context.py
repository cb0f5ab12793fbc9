"""The context a step receives for an organization event has the shape of Microsoft's published payload."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.dataverse.webhook import EntityReference, Money, OptionSetValue, parse_remote_execution_context
from simulators.dataverse.events import Operation, RowEvent
from simulators.dataverse.remote_context import encode_context
from simulators.dataverse.step_context import Image, Organization, build_context, typed_value
from simulators.dataverse.store import Ref
from tests.unit.dataverse.simulated_org import SimulatedOrg, fresh_org

MS_SAMPLE = Path(__file__).resolve().parents[2] / "vectors" / "dataverse" / "webhook-ms-docs-sample.json"
STEP = uuid.UUID("75417616-4ea2-e711-8122-000d3aa2331c")


class LastEvent:
    """A pipeline keeping the last post-operation event and its request."""

    def __init__(self) -> None:
        self.seen: list[tuple[Operation, RowEvent]] = []

    def before(self, operation: Operation, event: RowEvent) -> None:
        del operation, event

    def after(self, operation: Operation, event: RowEvent) -> None:
        self.seen.append((operation, event))

    def committed(self, operation: Operation) -> None:
        del operation

    def rolled_back(self, operation: Operation) -> None:
        del operation


def contact_update(sim: SimulatedOrg) -> tuple[Operation, RowEvent]:
    """The sample's scenario: firstname of a contact updated; the event the organization raises for it."""
    contact = sim.create("contact", {"firstname": "Jim", "lastname": "Glynn (sample)"})
    listener = LastEvent()
    sim.org.pipeline = listener
    sim.upsert("contact", str(contact["contactid"]), {"firstname": "James"}, if_match="*")
    (found,) = listener.seen
    return found


def shape(value: Any) -> Any:
    """Keys (recursively, for objects) and element shapes, without the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__ if value is not None else None


def test_an_async_update_context_has_the_published_members() -> None:
    """The published members in the published order; images and OwningExtension without __type."""
    sim = fresh_org()
    operation, event = contact_update(sim)
    context = build_context(
        organization=Organization(sim.org.organization_id, "OrgName"),
        operation=operation,
        event=event,
        step_id=STEP,
        stage=40,
        mode=1,
        operation_id=uuid.uuid4(),
    )
    produced = json.loads(encode_context(context))
    sample = json.loads(MS_SAMPLE.read_text())
    assert list(produced) == list(sample)
    assert list(produced["ParentContext"]) == list(sample["ParentContext"])
    assert shape(produced["OwningExtension"]) == shape(sample["OwningExtension"])
    image = produced["PostEntityImages"][0]
    assert image["key"] == "AsynchronousStepPrimaryName"
    assert shape(image) == shape(sample["PostEntityImages"][0])
    assert [a["key"] for a in image["value"]["Attributes"]] == ["fullname", "contactid"]
    target = produced["InputParameters"][0]["value"]
    assert list(target) == list(sample["InputParameters"][0]["value"])
    modified_by = next(a["value"] for a in target["Attributes"] if a["key"] == "modifiedby")
    assert list(modified_by) == list(sample["InputParameters"][0]["value"]["Attributes"][5]["value"])
    assert produced["ParentContext"]["InputParameters"][1] == {
        "key": "SuppressDuplicateDetection",
        "value": False,
    }
    assert (produced["Stage"], produced["ParentContext"]["Stage"], produced["Mode"]) == (40, 30, 1)


def test_the_target_of_an_update_holds_what_changed() -> None:
    """The written firstname, what the platform derived from it (fullname, modified*), and the id."""
    sim = fresh_org()
    operation, event = contact_update(sim)
    context = parse_remote_execution_context(
        encode_context(
            build_context(
                organization=Organization(sim.org.organization_id, "OrgName"),
                operation=operation,
                event=event,
                step_id=STEP,
                stage=40,
                mode=1,
                images=[Image("pre", pre=True, post=False, attributes=("firstname",))],
            )
        )
    )
    assert context.target is not None
    assert set(context.target.attributes) == {
        "firstname",
        "fullname",
        "contactid",
        "modifiedon",
        "modifiedby",
    }
    assert context.target.attributes["modifiedby"] == EntityReference("systemuser", sim.caller.user_id)
    before = context.pre_image("pre")
    assert before is not None
    assert dict(before.attributes) == {"firstname": "Jim"}
    assert context.parent_context is not None
    submitted = context.parent_context.target
    assert submitted is not None
    assert set(submitted.attributes) == {"firstname", "contactid"}


def test_values_are_typed_as_the_sdk_types_them() -> None:
    """Money, choices, lookups and GUID columns take the forms the captures show."""
    sim = fresh_org()
    order = sim.table("salesorder")
    line = sim.table("salesorderdetail")
    assert typed_value(order.columns["totalamount"], Decimal(5)) == Money(Decimal(5))
    assert typed_value(order.columns["statecode"], 3) == OptionSetValue(3)
    reference = Ref("quote", uuid.uuid4())
    assert typed_value(order.columns["quoteid"], reference) == EntityReference("quote", reference.id)
    row_id = uuid.uuid4()
    assert typed_value(line.columns["salesorderdetailid"], row_id) == str(row_id)
    assert typed_value(line.columns["quantity"], 2) == 2
