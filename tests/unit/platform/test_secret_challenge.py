"""Key Vault's challenge-resource check is relaxed for the loopback simulator only."""

from __future__ import annotations

import pytest

from shared.platform.secrets import verifies_challenge_resource


@pytest.mark.parametrize(
    ("vault_url", "verified"),
    [
        ("https://contoso-kv.vault.azure.net", True),
        ("https://contoso-kv.vault.usgovcloudapi.net/", True),
        ("https://127.0.0.1.evil.example", True),
        ("https://127.0.0.1:8444", False),
        ("https://localhost:8444", False),
    ],
)
def test_only_loopback_vaults_skip_the_check(vault_url: str, verified: bool) -> None:
    """A real vault host keeps azure-keyvault's protection against a challenge naming another resource."""
    assert verifies_challenge_resource(vault_url) is verified
