"""Opportunities and leads → IFS business opportunities, through devhost's timer and queue worker.

Dataverse change tracking (the simulator's delta links and tokens) feeds the poll; the worker writes the
IFS simulator's BusinessOpportunitySet. The tests fire the timer themselves.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.state.idmap import IdMap
from tests.e2e.d365_world import World, world

pytestmark = pytest.mark.azurite
__all__ = ["world"]  # the fixture


def poll(world: World) -> None:
    """One change-tracking poll and its work."""
    assert world.host.fire_timer("poll_d365_opportunities")
    assert world.host.drain(timeout=120)


def ifs_opportunity(world: World, dynamics_id: uuid.UUID) -> dict[str, Any]:
    """The IFS business opportunity that carries a Dynamics id in ExternalRef (exactly one)."""
    table = world.scenario.stack.ifs.tenant.of_table("BusinessOpportunity")
    [found] = [r.values for r in table.table.rows.values() if r.values.get("ExternalRef") == str(dynamics_id)]
    return dict(found)


def opportunity(world: World, name: str, value: float) -> uuid.UUID:
    created = world.sam.client.create(
        "opportunities",
        {
            "name": name,
            "customerid_account@odata.bind": f"/accounts(accountnumber='{world.scenario.account()}')",
            "estimatedvalue": value,
        },
    )
    assert created.id is not None
    return created.id


def test_an_opportunity_created_changed_and_won_is_mirrored(world: World) -> None:
    """Created once, then updated by its Dynamics id, then Won through the state action."""
    opportunity_id = opportunity(world, "Pumps for plant 2", 5000.0)
    poll(world)
    mirrored = ifs_opportunity(world, opportunity_id)
    assert (mirrored["Description"], mirrored["EstimatedValue"], mirrored["Objstate"]) == (
        "Pumps for plant 2",
        5000.0,
        "Active",
    )
    assert mirrored["CustomerId"] == world.scenario.account()
    world.sam.client.update(
        "opportunities", opportunity_id, {"estimatedvalue": 7500.0, "closeprobability": 80}
    )
    poll(world)
    updated = ifs_opportunity(world, opportunity_id)
    assert (updated["OpportunityNo"], updated["EstimatedValue"], updated["Probability"]) == (
        mirrored["OpportunityNo"],
        7500.0,
        80,
    )
    world.sam.client.update("opportunities", opportunity_id, {"statecode": 1, "statuscode": 3})
    poll(world)
    assert ifs_opportunity(world, opportunity_id)["Objstate"] == "Won"
    poll(world)  # nothing changed: nothing is written
    assert ifs_opportunity(world, opportunity_id)["Objstate"] == "Won"


def test_a_lead_disqualified_is_lost_and_a_qualified_one_hands_over(world: World) -> None:
    """Disqualified: Lost. Qualified into an opportunity: that opportunity carries the same IFS record on."""
    lost = world.sam.client.create(
        "leads", {"subject": "Spare parts", "lastname": "Berg", "companyname": "Berg AB"}
    )
    kept = world.sam.client.create("leads", {"subject": "New line", "lastname": "Ek", "companyname": "Ek AB"})
    assert lost.id is not None
    assert kept.id is not None
    poll(world)
    number = ifs_opportunity(world, kept.id)["OpportunityNo"]
    world.sam.client.update("leads", lost.id, {"statecode": 2, "statuscode": 4})
    world.sam.client.update("leads", kept.id, {"statecode": 1, "statuscode": 3})
    successor = world.sam.client.create(
        "opportunities",
        {
            "name": "New line (qualified)",
            "customerid_account@odata.bind": f"/accounts(accountnumber='{world.scenario.account()}')",
            "originatingleadid@odata.bind": f"/leads({kept.id})",
        },
    )
    assert successor.id is not None
    poll(world)
    assert ifs_opportunity(world, lost.id)["Objstate"] == "Lost"
    handed = ifs_opportunity(world, successor.id)
    assert (handed["OpportunityNo"], handed["Description"]) == (number, "New line (qualified)")
    idmap = IdMap(world.scenario.d365.storage.tables)
    assert idmap.target_id("d365_opportunities", f"opportunity:{successor.id}") == number


def test_a_deleted_opportunity_is_closed_never_deleted(world: World) -> None:
    """The documented policy (on_delete = close): the IFS record is cancelled and stays."""
    opportunity_id = opportunity(world, "Short-lived", 100.0)
    poll(world)
    world.sam.client.delete("opportunities", opportunity_id)
    poll(world)
    table = world.scenario.stack.ifs.tenant.of_table("BusinessOpportunity")
    [row] = [
        r.values for r in table.table.rows.values() if r.values.get("ExternalRef") == str(opportunity_id)
    ]
    assert row["Objstate"] == "Cancelled"


def test_an_expired_delta_token_falls_back_to_a_full_compare(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Changes and deletions made while the token expired still arrive; unchanged records are not resent."""
    still, changed, gone = (opportunity(world, f"Deal {n}", 1000.0 * n) for n in (1, 2, 3))
    poll(world)
    numbers = {i: ifs_opportunity(world, i)["OpportunityNo"] for i in (still, changed, gone)}
    org = world.scenario.stack.dataverse.org
    org.expire_change_tracking_days = 1 / 86400  # tokens older than a second are refused
    world.sam.client.update("opportunities", changed, {"estimatedvalue": 2222.0})
    world.sam.client.delete("opportunities", gone)
    world.scenario.stack.identity.clock.advance(60)
    mark = max(int(r["seq"]) for r in world.scenario.admin("ifs").requests())
    with caplog.at_level("WARNING"):
        poll(world)
    assert any("expired" in r.getMessage() for r in caplog.records)
    assert ifs_opportunity(world, changed)["EstimatedValue"] == 2222.0
    table = world.scenario.stack.ifs.tenant.of_table("BusinessOpportunity")
    assert table.table.rows[(numbers[gone],)].values["Objstate"] == "Cancelled"
    writes = [r for r in world.scenario.admin("ifs").requests(since=mark) if r["method"] in ("PATCH", "POST")]
    assert all(numbers[still] not in r["path"] for r in writes)  # the unchanged one is not written
