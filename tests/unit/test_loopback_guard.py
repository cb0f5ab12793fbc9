"""The session's loopback guard refuses traffic beyond this machine."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.conftest import OutboundTrafficError


def test_managed_identity_endpoint_is_unreachable(loopback_only: list[str]) -> None:
    """A connection to the instance metadata service is refused before any packet leaves."""
    with socket.socket() as sock, pytest.raises(OutboundTrafficError):
        sock.connect(("169.254.169.254", 80))
    loopback_only.remove("('169.254.169.254', 80)")  # expected here; anything else fails the session


def test_public_names_are_not_resolved(loopback_only: list[str]) -> None:
    """Httpx cannot even look up a public host name."""
    with pytest.raises(httpx.ConnectError, match="loopback"):
        httpx.get("https://login.microsoftonline.com/common/discovery/instance", timeout=2)
    loopback_only.remove("('login.microsoftonline.com',)")
