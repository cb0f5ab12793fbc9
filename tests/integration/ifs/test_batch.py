"""$batch over real HTTP: change sets all-or-nothing, Content-ID references, reads and errors per part."""

from __future__ import annotations

import pytest

from shared.config import IfsSettings
from shared.ifs import batch
from shared.ifs.batch import Atomic, OperationResult
from shared.ifs.client import IfsClient
from shared.ifs.errors import IfsBadRequestError
from simulators.ifs.app import IfsSimulator

HEADER = {"CustomerNo": "FR018", "Contract": "FR020", "CustomerPoNo": "D365-SO-BATCH"}
LINE = {"CatalogNo": "D0579K", "BuyQtyDue": 1}


def order_count(simulator: IfsSimulator) -> int:
    return len(simulator.tenant.of_table("CustomerOrder").table)


def test_order_and_lines_in_one_change_set(client: IfsClient, settings: IfsSettings) -> None:
    """Header at $1, lines posted to $1/OrderLinesArray: all created, lines numbered under the new order."""
    entities = settings.entities
    header, lines = client.create_with_children(
        entities.orders, HEADER, entities.order_lines_navigation, [LINE, {**LINE, "BuyQtyDue": 3}, LINE]
    )
    order_no = header.row["OrderNo"]
    assert order_no.startswith("C")
    assert header.etag
    numbers = [(line.row["OrderNo"], line.row["LineNo"]) for line in lines]
    assert numbers == [(order_no, "1"), (order_no, "2"), (order_no, "3")]
    assert all(line.etag for line in lines)
    stored = list(
        client.iter_children(entities.orders, {"OrderNo": order_no}, entities.order_lines_navigation)
    )
    assert [line["BuyQtyDue"] for line in stored] == [1, 3, 1]


def test_a_failing_line_rolls_back_the_whole_change_set(
    client: IfsClient, settings: IfsSettings, simulator: IfsSimulator
) -> None:
    """The third operation fails: IFS's error is raised and neither the header nor any line is stored."""
    entities = settings.entities
    before = order_count(simulator)
    lines_before = len(simulator.tenant.of_table("CustomerOrderLine").table)
    with pytest.raises(IfsBadRequestError, match="Sales part NOPE does not exist"):
        client.create_with_children(
            entities.orders,
            HEADER,
            entities.order_lines_navigation,
            [LINE, {"CatalogNo": "NOPE", "BuyQtyDue": 1}],
        )
    assert order_count(simulator) == before
    assert len(simulator.tenant.of_table("CustomerOrderLine").table) == lines_before
    assert client.find_by(entities.orders, {"CustomerPoNo": HEADER["CustomerPoNo"]}) == []


def test_reads_and_change_sets_side_by_side(client: IfsClient, settings: IfsSettings) -> None:
    """Each item gets its own outcome; a stale ETag inside a change set fails only that change set."""
    orders = settings.entities.orders
    _, etag = client.get(orders, {"OrderNo": "C1000000933"})
    outcomes = client.batch(
        [
            batch.read(orders, {"OrderNo": "C1000000933"}),
            Atomic((batch.update(orders, {"OrderNo": "C1000000933"}, {"NoteText": "one"}, etag or ""),)),
            Atomic((batch.update(orders, {"OrderNo": "C1000000933"}, {"NoteText": "two"}, etag or ""),)),
            batch.read(orders, {"OrderNo": "C0"}),
        ],
        continue_on_error=True,
    )
    first, updated, stale, missing = outcomes
    assert isinstance(first, OperationResult)
    assert first.status == 200
    assert first.etag == etag
    assert isinstance(updated, list)
    assert updated[0].status == 200
    assert updated[0].body is not None
    assert updated[0].body["NoteText"] == "one"
    assert isinstance(stale, OperationResult)
    assert stale.status == 412
    assert isinstance(missing, OperationResult)
    assert missing.status == 404
    assert client.get(orders, {"OrderNo": "C1000000933"}).row["NoteText"] == "one"


def test_lines_and_an_action_on_an_existing_order_in_one_change_set(
    client: IfsClient, settings: IfsSettings
) -> None:
    """create_child adds lines under an existing order, then action releases it: all in one transaction."""
    entities = settings.entities
    order, etag = client.create(entities.orders, HEADER)
    key = {"OrderNo": order["OrderNo"]}
    nav = entities.order_lines_navigation
    [outcome] = client.batch(
        [
            Atomic(
                (
                    batch.create_child(entities.orders, key, nav, LINE),
                    batch.create_child(entities.orders, key, nav, {**LINE, "BuyQtyDue": 2}),
                    batch.action(entities.orders, key, "CustomerOrder_ReleaseOrder", etag=etag or ""),
                )
            )
        ]
    )
    assert isinstance(outcome, list)
    assert [result.status for result in outcome] == [201, 201, 204]
    assert [result.body["LineNo"] for result in outcome[:2] if result.body] == ["1", "2"]
    assert client.get(entities.orders, key).row["Objstate"] == "Released"
    lines = list(client.iter_children(entities.orders, key, nav))
    assert [(line["BuyQtyDue"], line["Objstate"]) for line in lines] == [(1, "Released"), (2, "Released")]


def test_a_stale_action_rolls_back_the_lines_before_it(client: IfsClient, settings: IfsSettings) -> None:
    """The action's ETag is stale (412): the lines created earlier in the change set are undone."""
    entities = settings.entities
    order, stale = client.create(entities.orders, HEADER)
    key = {"OrderNo": order["OrderNo"]}
    client.update(entities.orders, key, {"NoteText": "changed"}, stale or "")
    nav = entities.order_lines_navigation
    [outcome] = client.batch(
        [
            Atomic(
                (
                    batch.create_child(entities.orders, key, nav, LINE),
                    batch.action(entities.orders, key, "CustomerOrder_ReleaseOrder", etag=stale or ""),
                )
            )
        ]
    )
    assert isinstance(outcome, OperationResult)
    assert outcome.status == 412
    assert list(client.iter_children(entities.orders, key, nav)) == []


def test_processing_stops_at_the_first_failure_by_default(client: IfsClient, settings: IfsSettings) -> None:
    """Without continue-on-error, items after a failure get no outcome."""
    orders = settings.entities.orders
    outcomes = client.batch(
        [batch.read(orders, {"OrderNo": "C0"}), batch.read(orders, {"OrderNo": "C1000000933"})]
    )
    assert [o.status for o in outcomes if isinstance(o, OperationResult)] == [404]


def test_get_is_refused_inside_a_change_set(client: IfsClient, settings: IfsSettings) -> None:
    """A read inside a change set fails that change set."""
    orders = settings.entities.orders
    [outcome] = client.batch([Atomic((batch.read(orders, {"OrderNo": "C1000000933"}),))])
    assert isinstance(outcome, OperationResult)
    assert outcome.status == 400
    assert "GET is not allowed" in str(outcome.error())


def test_one_projection_per_batch(client: IfsClient, settings: IfsSettings) -> None:
    """Mixing projections in one batch is a programming error, caught before sending."""
    entities = settings.entities
    with pytest.raises(ValueError, match="exactly one projection"):
        client.batch(
            [
                batch.read(entities.orders, {"OrderNo": "X"}),
                batch.read(entities.customers, {"CustomerId": "Y"}),
            ]
        )
