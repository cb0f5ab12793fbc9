"""DataverseClient.get_many: many keys read with Microsoft.Dynamics.CRM.In, each URL within 32 KB."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from shared.dataverse.client import DEFAULT_MAX_URL_LENGTH
from shared.dataverse.errors import DataverseError
from simulators.dataverse.request_limits import MAX_URL_LENGTH
from tests.integration.dataverse.conftest import DataverseStack


def seed_accounts(dataverse: DataverseStack, count: int) -> list[str]:
    """``count`` accounts straight into the simulated organization; their account numbers."""
    org = dataverse.simulator.org
    table = org.table("account")
    assert table is not None
    numbers = [f"ACC-{n:06d}" for n in range(count)]
    for number in numbers:
        org.insert_system_row(table, {"name": f"Account {number}", "accountnumber": number})
    return numbers


def test_thousands_of_keys_in_url_sized_reads(dataverse: DataverseStack) -> None:
    """3000 account numbers (and some missing) come back complete; each URL is within 32 KB."""
    numbers = seed_accounts(dataverse, 3000)
    dataverse.simulator.admin.log.clear()
    wanted = [n.lower() for n in numbers] + ["ACC-MISSING-1", "O'Brian"]  # case-insensitive; quotes survive
    with dataverse.client() as client:
        rows = list(client.get_many("accounts", "accountnumber", wanted, select=["accountnumber"]))
    assert sorted(r["accountnumber"] for r in rows) == numbers
    reads = dataverse.simulator.admin.log.entries(method="GET")
    urls = [f"{dataverse.url}{e.path}?{e.query}" for e in reads]
    assert len(urls) > 1
    first_pages = [url for url in urls if "$skiptoken" not in url]
    assert all(len(url) <= DEFAULT_MAX_URL_LENGTH for url in first_pages)
    assert all(len(url) <= MAX_URL_LENGTH for url in urls)  # next pages' links too, under Dataverse's limit
    assert all("Microsoft.Dynamics.CRM.In(PropertyName='accountnumber'" in unquote(url) for url in urls)


def test_a_budget_beyond_the_limit_meets_dataverses_414(dataverse: DataverseStack) -> None:
    """A client allowed 60 KB URLs is refused by the simulator as Dataverse would refuse it."""
    numbers = seed_accounts(dataverse, 2500)
    with dataverse.client() as client, pytest.raises(DataverseError) as caught:
        list(client.get_many("accounts", "accountnumber", numbers, max_url_length=60_000))
    assert caught.value.status == 414


def test_bad_arguments_fail_before_any_request(dataverse: DataverseStack) -> None:
    """A column that is not a logical name, or one value longer than the budget, is a ValueError."""
    with dataverse.client() as client:
        with pytest.raises(ValueError, match="logical name"):
            list(client.get_many("accounts", "name) or (1 eq 1", ["x"]))
        with pytest.raises(ValueError, match="alone"):
            list(client.get_many("accounts", "accountnumber", ["x" * 40_000]))
