"""Rotating TOKEN_ENCRYPTION_KEY: cached tokens sealed under the old key are fetched again, nothing fails.

The procedure the README's Operating section gives: put a new key in the vault's ``token-encryption-key`` and
restart. Instances that restarted read rows sealed under the old key as a cache miss and fetch a new token;
instances not yet restarted do the same with the new rows. Either way every call succeeds, and the only cost
is one token fetch per instance.
"""

from __future__ import annotations

import base64
import logging
import os

import httpx
import pytest

from devhost.scenario import SyncScenario
from shared import bootstrap
from shared.config import IfsSettings
from shared.ifs.auth import IfsTokenProvider
from shared.ifs.client import IfsClient
from shared.ifs.query import Query

pytestmark = pytest.mark.azurite


def instance(scenario: SyncScenario) -> tuple[IfsTokenProvider, IfsClient]:
    """A function instance starting now: the key as the vault holds it, the shared encrypted cache."""
    settings = scenario.settings
    bootstrap.secret_provider(settings).invalidate()  # a restart reads the vault again
    http = httpx.Client(verify=scenario.verify(), timeout=30, trust_env=False)
    ifs = settings.get(IfsSettings)
    tokens = IfsTokenProvider.from_settings(
        http,
        ifs,
        bootstrap.token_cache(settings),
        secret=lambda: bootstrap.secret_provider(settings).get("IFS_CLIENT_SECRET"),
    )
    return tokens, IfsClient.from_settings(http, ifs, tokens)


def read_a_customer(client: IfsClient, scenario: SyncScenario) -> None:
    entity = scenario.settings.get(IfsSettings).entities.customers
    assert next(iter(client.iter_rows(entity, Query(top=1))), None) is not None


def test_rotating_the_key_costs_one_fetch_per_instance_and_fails_nothing(
    scenario: SyncScenario, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows under another key are a miss: each instance fetches once after the rotation; nothing fails."""
    vault = scenario.stack.identity.vault
    old_tokens, old_client = instance(scenario)
    read_a_customer(old_client, scenario)
    assert old_tokens.fetch_count == 1
    shared_tokens, shared_client = instance(scenario)  # another instance under the same key: cache hit
    read_a_customer(shared_client, scenario)
    assert shared_tokens.fetch_count == 0

    new_key = base64.b64encode(os.urandom(32)).decode()
    vault.set_secret("token-encryption-key", new_key)
    with caplog.at_level(logging.WARNING):
        new_tokens, new_client = instance(scenario)
        read_a_customer(new_client, scenario)
    assert new_tokens.fetch_count == 1  # the old row did not decrypt: a miss, fetched again
    unreadable = [r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()]
    assert unreadable
    assert unreadable[0].endswith("is unreadable (DecryptionError); ignoring it")
    assert new_key not in caplog.text
    again_tokens, again_client = instance(scenario)  # restarted after the rotation: the new row is shared
    read_a_customer(again_client, scenario)
    assert again_tokens.fetch_count == 0

    vault.set_secret("token-encryption-key", base64.b64encode(os.urandom(32)).decode())
    stale_tokens, stale_client = instance(scenario)  # a key that cannot read the row: a miss, not a failure
    read_a_customer(stale_client, scenario)
    assert stale_tokens.fetch_count == 1
