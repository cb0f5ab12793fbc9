"""Session fixtures shared by every test layer.

Azurite: ``make test`` starts it and exports ``AZURITE_CONNECTION_STRING``; a bare ``pytest`` run starts
one itself through the same launcher, so integration tests never skip for lack of storage.

Loopback only: every test runs with name resolution and socket connections restricted to this machine,
so a managed-identity probe (169.254.169.254), a telemetry exporter or a proxy setting cannot send
anything out; an attempt fails the call at once and the session at its end.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devhost.azurite import running_azurite
from shared.config import CATALOG

_LOOPBACK_NAMES = {None, "localhost", "127.0.0.1", "::1", b"localhost", b"127.0.0.1"}


def _is_loopback(host: Any) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else host).is_loopback
    except (ValueError, AttributeError):
        return False


class OutboundTrafficError(OSError):
    """A test tried to reach something other than this machine."""


@pytest.fixture(scope="session", autouse=True)
def loopback_only() -> Iterator[list[str]]:
    """Refuse DNS look-ups and connections beyond loopback for the whole session; fail it if any was tried."""
    attempts: list[str] = []
    real_connect, real_connect_ex, real_getaddrinfo = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.getaddrinfo,
    )

    def check(address: Any) -> None:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            attempts.append(repr(address))
            raise OutboundTrafficError(f"tests may only reach loopback, not {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        check((host,))
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo
    try:
        yield attempts
    finally:
        socket.socket.connect, socket.socket.connect_ex = real_connect, real_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = real_getaddrinfo
    assert not attempts, f"tests tried to reach beyond loopback: {attempts}"


# Variables that would point the code under test somewhere real if a developer's shell had them set.
_OUTSIDE_WORLD = (
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
    "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST",
    "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET",
)  # fmt: skip


@pytest.fixture(scope="session", autouse=True)
def clean_environment() -> Iterator[None]:
    """Start from an environment without the connector's settings, proxies or Azure identity variables."""
    keep = {"AzureWebJobsStorage"}
    names = [s.name for s in CATALOG if s.name not in keep] + list(_OUTSIDE_WORLD)
    with pytest.MonkeyPatch.context() as patch:
        for name in names:
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(scope="session")
def azurite_connection_string() -> Iterator[str]:
    """Connection string of a running Azurite (explicit endpoints, loopback only)."""
    existing = os.environ.get("AZURITE_CONNECTION_STRING")
    if existing:
        yield existing
        return
    with running_azurite() as endpoints:
        yield endpoints.connection_string


@pytest.fixture
def unique_name() -> str:
    """A fresh lowercase name for a table prefix or queue, so tests never see each other's data."""
    return "t" + uuid.uuid4().hex[:12]
