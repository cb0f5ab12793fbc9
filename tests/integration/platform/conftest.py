"""Fixtures for shared/platform against the identity simulators (Entra + Key Vault over HTTPS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulators.common.tls import loopback_certificate
from simulators.identity_stack import IdentityStack, running_identity_stack


@pytest.fixture(scope="module")
def served_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityStack]:
    """Entra and Key Vault simulators with this session's own loopback certificate."""
    with running_identity_stack(loopback_certificate(tmp_path_factory.mktemp("tls"))) as stack:
        yield stack


@pytest.fixture
def stack(served_stack: IdentityStack) -> IdentityStack:
    """The stack, reset for this test."""
    served_stack.reset()
    return served_stack
