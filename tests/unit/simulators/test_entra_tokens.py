"""Entra simulator tokens: what validate accepts and why it rejects the rest."""

from __future__ import annotations

import jwt
import pytest

from simulators.entra.tokens import SIMULATOR_SIGNING_KEY, TokenError, TokenRejection, issue, validate

TENANT = "8f5a2c4e-0000-4000-8000-000000000001"
APP = "8f5a2c4e-0000-4000-8000-000000000002"
OID = "8f5a2c4e-0000-4000-8000-000000000003"
NOW = 1_800_000_000.0


def token(audience: str = "http://127.0.0.1:9999", lifetime: int = 3599) -> str:
    return issue(tenant_id=TENANT, app_id=APP, object_id=OID, audience=audience, now=NOW, lifetime=lifetime)


def rejection(
    raw: str, *, now: float, tenant_id: str | None = None, key: bytes = SIMULATOR_SIGNING_KEY
) -> TokenRejection:
    with pytest.raises(TokenError) as caught:
        validate(raw, "http://127.0.0.1:9999", now=now, tenant_id=tenant_id, key=key)
    return caught.value.code


def test_valid_token_yields_its_claims() -> None:
    """A token within its lifetime, for the right audience and tenant, validates to its claims."""
    claims = validate(token(), "HTTP://127.0.0.1:9999/", now=NOW + 10, tenant_id=TENANT)
    assert (claims.app_id, claims.object_id, claims.tenant_id) == (APP, OID, TENANT)
    assert claims.expires_at == int(NOW) + 3599
    assert claims.raw["iss"] == f"https://sts.windows.net/{TENANT}/"
    assert claims.raw["ver"] == "1.0"


def test_roles_are_carried() -> None:
    """An app's roles appear in the token and in the claims."""
    raw = issue(
        tenant_id=TENANT, app_id=APP, object_id=OID, audience="r", now=NOW, lifetime=60, roles=("Writer",)
    )
    assert validate(raw, "r", now=NOW).roles == ("Writer",)


def test_expired_token_is_rejected_by_the_given_clock() -> None:
    """At or after exp (by the simulator's clock, not wall time) the token is expired."""
    assert rejection(token(lifetime=60), now=NOW + 60) is TokenRejection.EXPIRED


def test_token_for_another_resource_is_rejected() -> None:
    """The audience must be the resource asking."""
    assert rejection(token(audience="https://vault.azure.net"), now=NOW) is TokenRejection.AUDIENCE


def test_token_from_another_tenant_is_rejected() -> None:
    """A resource bound to a tenant refuses tokens of another."""
    assert rejection(token(), now=NOW, tenant_id="someone-else") is TokenRejection.TENANT


def test_forged_signature_is_rejected() -> None:
    """A token signed with another key fails the signature check."""
    assert (
        rejection(token(), now=NOW, key=b"another key entirely, long enough for hs256")
        is TokenRejection.SIGNATURE
    )


def test_garbage_and_incomplete_tokens_are_malformed() -> None:
    """Not a JWT, or a JWT without the Entra claims, is malformed."""
    assert rejection("not-a-jwt", now=NOW) is TokenRejection.MALFORMED
    bare = jwt.encode({"aud": "http://127.0.0.1:9999"}, b"k" * 32, algorithm="HS256")
    assert rejection(bare, now=NOW, key=b"k" * 32) is TokenRejection.MALFORMED
