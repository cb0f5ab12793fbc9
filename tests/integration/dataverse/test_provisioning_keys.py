"""ensure_alternate_key over HTTPS: create once, wait on simulated time, fail clearly."""

from __future__ import annotations

import httpx
import pytest

from shared.dataverse.client import DataverseClient
from shared.dataverse.provisioning import (
    AlternateKeyFailedError,
    Provisioner,
    ProvisioningError,
    ProvisioningTimeoutError,
)
from simulators.common.clock import SimClock
from tests.integration.dataverse.conftest import DataverseStack
from tests.integration.dataverse.test_client import ACCOUNT_KEY


def provisioner(dataverse: DataverseStack, waits: list[float]) -> Provisioner:
    """Waiting advances the simulator's clock, so its index build (10 s here) moves on without sleeping."""

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        dataverse.clock.advance(seconds)

    return Provisioner(dataverse.client(), sleep=sleep, clock=dataverse.clock.now)


def test_a_new_key_is_created_and_awaited_until_active(dataverse: DataverseStack) -> None:
    """Created through EntityDefinitions/Keys, polled every 2 s until Active; the key then addresses rows."""
    waits: list[float] = []
    key = provisioner(dataverse, waits).ensure_alternate_key(
        "account", "sync_AccountNumber", ["accountnumber"], poll=2
    )
    assert (key.schema_name, key.key_attributes, key.status) == (
        "sync_AccountNumber",
        ("accountnumber",),
        "Active",
    )
    assert sum(waits) >= 10
    assert set(waits) == {2}
    client = dataverse.client()
    client.upsert("accounts", {"accountnumber": "C-1"}, {"name": "Contoso"})
    assert client.get("accounts", {"accountnumber": "C-1"}) is not None


def test_running_it_again_creates_nothing(dataverse: DataverseStack) -> None:
    """An Active key is returned at once, without waiting or a second key."""
    waits: list[float] = []
    keys = provisioner(dataverse, waits)
    first = keys.ensure_alternate_key("account", "sync_AccountNumber", ["accountnumber"], poll=5)
    waits.clear()
    again = keys.ensure_alternate_key("account", "sync_accountnumber", ["accountnumber"])
    assert again == first
    assert waits == []
    assert len(keys.alternate_keys("account")) == 1


def test_a_key_of_that_name_on_other_columns_is_an_error(dataverse: DataverseStack) -> None:
    """Provisioning does not silently accept a key that covers different columns."""
    keys = provisioner(dataverse, [])
    keys.ensure_alternate_key("account", "sync_AccountNumber", ["accountnumber"])
    with pytest.raises(ProvisioningError, match="covers"):
        keys.ensure_alternate_key("account", "sync_AccountNumber", ["name"])


def test_a_failed_index_build_is_reported(dataverse: DataverseStack) -> None:
    """Two rows sharing a value make the build fail; the error says how to recover."""
    client = dataverse.client()
    client.create("accounts", {"name": "A", "accountnumber": "SAME"})
    client.create("accounts", {"name": "B", "accountnumber": "SAME"})
    with pytest.raises(AlternateKeyFailedError, match="ReactivateEntityKey"):
        provisioner(dataverse, []).ensure_alternate_key("account", "sync_AccountNumber", ["accountnumber"])


def test_a_key_that_stays_pending_times_out(dataverse: DataverseStack) -> None:
    """When time passes only for the provisioner (not for Dataverse), the key never activates."""
    elsewhere = SimClock(0, frozen=True)
    keys = Provisioner(dataverse.client(), sleep=elsewhere.advance, clock=elsewhere.now)
    with pytest.raises(ProvisioningTimeoutError, match="Pending"):
        keys.ensure_alternate_key("account", "sync_AccountNumber", ["accountnumber"], timeout=30, poll=5)
    assert elsewhere.now() >= 30


def test_a_key_created_concurrently_between_the_check_and_the_create_is_awaited(
    dataverse: DataverseStack,
) -> None:
    """Another deployment creates the key just before ours: the name clash is theirs, and it is awaited."""
    other = dataverse.client()

    def create_it_first(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path.endswith("/Keys"):
            other.create("EntityDefinitions(LogicalName='account')/Keys", ACCOUNT_KEY)

    http = httpx.Client(verify=dataverse.verify(), timeout=30, event_hooks={"request": [create_it_first]})
    client = DataverseClient(http, dataverse.url, dataverse.credential())
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        dataverse.clock.advance(seconds)

    keys = Provisioner(client, sleep=sleep, clock=dataverse.clock.now)
    key = keys.ensure_alternate_key("account", "sync_AccountNumber", ["accountnumber"], poll=5)
    assert (key.schema_name, key.status) == ("sync_AccountNumber", "Active")
    assert len(keys.alternate_keys("account")) == 1
    assert sum(waits) >= 10
