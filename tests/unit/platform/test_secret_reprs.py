"""No repr of the connector's objects shows a secret they hold: tokens, client secrets, cached secrets."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from shared.config import CATALOG, DORMANT_FEATURES, FEATURES, AppSettings
from shared.ifs.auth import IfsTokenProvider
from shared.ifs.client import IfsClient
from shared.platform.encryption import Cipher
from shared.platform.secrets import AppSettingsSource, SecretProvider
from shared.platform.tokens import AccessToken

TOKEN = "marker-bearer-token"
SECRET = "marker-client-secret"
MARKERS = (TOKEN, SECRET)


def reachable(root: object, depth: int = 8) -> Iterator[object]:
    """Every object reachable from ``root`` through containers and the attributes of ``shared`` objects."""
    seen: set[int] = set()
    stack: list[tuple[object, int]] = [(root, 0)]
    while stack:
        item, level = stack.pop()
        if id(item) in seen or level > depth:
            continue
        seen.add(id(item))
        yield item
        children: list[Any] = []
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list | tuple | set | frozenset):
            children = list(item)
        elif ours(item):
            if dataclasses.is_dataclass(item):
                children = [getattr(item, f.name) for f in dataclasses.fields(item)]
            children += list(getattr(item, "__dict__", {}).values())
        stack += [(child, level + 1) for child in children]


def ours(item: object) -> bool:
    return type(item).__module__.startswith("shared.")


def shown_secrets(root: object) -> list[str]:
    """The repr of every ``shared`` object reachable from ``root`` that shows a marker."""
    return [
        f"{type(item).__name__}: {marker}"
        for item in reachable(root)
        if ours(item)
        for marker in MARKERS
        if marker in repr(item)
    ]


def held(root: object) -> set[str]:
    """The markers that really are reachable from ``root`` (so the scan could have found them)."""
    return {item for item in reachable(root) if isinstance(item, str) and item in MARKERS}


def iam(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"access_token": TOKEN, "expires_in": 180})


def token_provider() -> IfsTokenProvider:
    http = httpx.Client(transport=httpx.MockTransport(iam))
    provider = IfsTokenProvider(
        http,
        token_url="https://acme.ifs.cloud/auth/realms/acme1/protocol/openid-connect/token",
        client_id="c",
        client_secret=SECRET,
        scope="openid",
        cache=None,
    )
    provider.token()
    return provider


def secret_provider() -> SecretProvider:
    provider = SecretProvider(AppSettingsSource({"IFS_CLIENT_SECRET": SECRET}))
    provider.get("IFS_CLIENT_SECRET")
    return provider


def ifs_client() -> IfsClient:
    http = httpx.Client(transport=httpx.MockTransport(iam))
    return IfsClient(http, api_root="https://acme.ifs.cloud/main/", tokens=token_provider())


ROOTS = {
    "access token": lambda: AccessToken(TOKEN, datetime(2031, 1, 1, tzinfo=UTC)),
    "IFS token provider": token_provider,
    "IFS client": ifs_client,
    "secret provider": secret_provider,
    "cipher": lambda: Cipher(SECRET.encode().ljust(32, b"!")),
}


@pytest.mark.parametrize("build", ROOTS.values(), ids=ROOTS.keys())
def test_no_repr_shows_a_secret_the_object_holds(build: Any) -> None:
    """Walk everything the object holds; no repr along the way shows the token or the secret."""
    root = build()
    assert shown_secrets(root) == []


def test_the_scan_reaches_the_secrets_it_looks_for() -> None:
    """The walk does reach the held token and secret, so the scan above can fail."""
    assert held(token_provider()) == {TOKEN, SECRET}
    assert held(secret_provider()) == {SECRET}


def test_no_settings_repr_shows_a_secret_setting() -> None:
    """Every feature's settings, built with a marker in each secret setting, hide all of them."""
    values = {s.name: s.sample for s in CATALOG} | {s.name: SECRET for s in CATALOG if s.secret}
    values["TOKEN_ENCRYPTION_KEY"] = "bWFya2VyLWNsaWVudC1zZWNyZXQhISEhISEhISEhISE="
    # A marked previous webhook secret needs the end of its grace window.
    values["D365_WEBHOOK_SECRET_PREVIOUS_UNTIL"] = "2030-01-01T00:00:00Z"
    values["APPLICATIONINSIGHTS_CONNECTION_STRING"] = (
        f"InstrumentationKey=00000000-0000-4000-8000-000000000000;{SECRET}=x"
    )
    settings = AppSettings(values)
    for feature in FEATURES + DORMANT_FEATURES:
        assert shown_secrets(settings.get(feature)) == [], feature.FEATURE
