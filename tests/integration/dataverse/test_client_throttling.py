"""Service protection and faults against the client's retry rules: every write applied exactly once.

The client never sleeps here: ``recording_waits(advance=clock.advance)`` turns each wait the retry policy
would sleep into simulated time on the clock the simulator's sliding windows run on.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.dataverse.errors import ServerError, ThrottledError
from shared.platform.retry import RetryPolicy, recording_waits
from simulators.common.faults import FaultPlan
from tests.integration.dataverse.conftest import DataverseStack
from tests.integration.dataverse.test_client import account_key


def applied_writes(dataverse: DataverseStack, table: str, since: int) -> int:
    """Writes the organization applied to ``table`` after journal position ``since``."""
    return sum(1 for change in dataverse.simulator.org.store.journal[since:] if change.logical_name == table)


def long_lived_tokens(dataverse: DataverseStack) -> None:
    """Tokens issued from now on outlive the hours of simulated time a throttled burst can take."""
    dataverse.identity.entra.token_lifetime = 86_400


def throttle_to(dataverse: DataverseStack, requests: int) -> None:
    """Scale service protection down to ``requests`` per 5-minute window."""
    dataverse.simulator.admin.run_action("set_limits", {"requests": requests, "charge_ms": 1})


def test_a_throttled_burst_of_upserts_applies_every_write_exactly_once(dataverse: DataverseStack) -> None:
    """40 concurrent upserts against 10 requests per window: all land, each once, after honoured 429s."""
    long_lived_tokens(dataverse)
    client = dataverse.client(retry=RetryPolicy(attempts=30, budget_seconds=None))
    account_key(dataverse, client)
    throttle_to(dataverse, 10)
    writes = {f"C{n:03d}": f"Account {n}" for n in range(40)}
    journal = len(dataverse.simulator.org.store.journal)

    def write(item: tuple[str, str]) -> None:
        client.upsert("accounts", {"accountnumber": item[0]}, {"name": item[1]})

    with recording_waits(advance=dataverse.clock.advance) as waits, ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, writes.items()))

    rows = dataverse.simulator.org.store.rows("account")
    assert {row["accountnumber"]: row["name"] for row in rows} == writes
    assert applied_writes(dataverse, "account", journal) == len(writes)
    refusals = dataverse.simulator.admin.run_action("protection", {})["refusals"]
    assert refusals > 0
    assert len(waits) == refusals  # every 429 was waited out, for its Retry-After
    assert all(wait >= 1 for wait in waits)


def test_a_throttled_burst_of_creates_creates_each_row_once(dataverse: DataverseStack) -> None:
    """A POST refused with 429 was not executed, so resending it cannot duplicate: 25 creates, 25 rows."""
    long_lived_tokens(dataverse)
    client = dataverse.client(retry=RetryPolicy(attempts=30, budget_seconds=None))
    throttle_to(dataverse, 10)
    names = [f"Lead {n}" for n in range(25)]

    def create(name: str) -> None:
        client.create("leads", {"subject": name, "lastname": name})

    with recording_waits(advance=dataverse.clock.advance), ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(create, names))

    assert sorted(row["subject"] for row in dataverse.simulator.org.store.rows("lead")) == sorted(names)


def test_throttling_that_outlasts_the_retries_surfaces_as_a_typed_error(dataverse: DataverseStack) -> None:
    """With too few attempts the last 429 comes back as ThrottledError with Retry-After and the limit hit."""
    client = dataverse.client(retry=RetryPolicy(attempts=1))
    throttle_to(dataverse, 1)
    client.who_am_i()
    with pytest.raises(ThrottledError) as caught:
        client.who_am_i()
    assert (caught.value.code, caught.value.limit, caught.value.retry_after) == (
        "0x80072322",
        "requests",
        300.0,
    )
    assert (
        caught.value.message == "Number of requests exceeded the limit of 1 over time window of 300 seconds."
    )


def test_server_errors_are_retried_for_upserts_but_not_for_creates(dataverse: DataverseStack) -> None:
    """503s before an upsert are retried; a 503 after a create ran is not resent, so nothing doubles."""
    client = dataverse.client()
    account_key(dataverse, client)
    faults = dataverse.simulator.admin.faults
    journal = len(dataverse.simulator.org.store.journal)
    faults.set_plan(FaultPlan.from_json({"script": [503, 503], "paths": ["/api/data/*"]}))
    with recording_waits():
        client.upsert("accounts", {"accountnumber": "C1"}, {"name": "A"})
    assert applied_writes(dataverse, "account", journal) == 1

    faults.set_plan(
        FaultPlan.from_json(
            {"script": [{"kind": "error", "status": 503, "after": True}], "paths": ["/api/data/*"]}
        )
    )
    with recording_waits(), pytest.raises(ServerError):
        client.create("accounts", {"name": "created, answer lost"})
    names = [row["name"] for row in dataverse.simulator.org.store.rows("account")]
    assert names.count("created, answer lost") == 1


def test_injected_throttling_has_dataverse_shape_and_is_waited_out(dataverse: DataverseStack) -> None:
    """A throttle fault answers the documented 429 body; the client waits its Retry-After and succeeds."""
    client = dataverse.client()
    plan = {"script": ["throttle", "throttle"], "retry_after_seconds": 2, "paths": ["/api/data/*"]}
    dataverse.simulator.admin.faults.set_plan(FaultPlan.from_json(plan))
    with dataverse.raw() as http:
        response = http.get(f"{dataverse.url}/api/data/v9.2/WhoAmI")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "2")
    assert response.json()["error"]["code"] == "0x80072322"
    with recording_waits() as waits:
        client.who_am_i()
    assert waits == [2.0]
