"""The Key Vault simulator with azure-keyvault-secrets' SecretClient, unchanged, over HTTPS."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from simulators.common.admin_client import AdminClient
from simulators.common.tls import TlsFiles
from simulators.identity_stack import IdentityStack, running_identity_stack


@pytest.fixture(scope="module")
def served(tls: TlsFiles) -> Iterator[IdentityStack]:
    with running_identity_stack(tls) as stack:
        yield stack


@pytest.fixture
def stack(served: IdentityStack) -> IdentityStack:
    served.reset()
    return served


@pytest.fixture
def credential(stack: IdentityStack) -> Iterator[ClientSecretCredential]:
    with ClientSecretCredential(
        stack.client.tenant_id,
        stack.client.client_id,
        stack.client_secret,
        authority=stack.entra_url,
        disable_instance_discovery=True,
        connection_verify=str(stack.tls.cert_path),
    ) as credential:
        yield credential


@pytest.fixture
def secrets(stack: IdentityStack, credential: ClientSecretCredential) -> Iterator[SecretClient]:
    with SecretClient(
        stack.vault_url,
        credential,
        verify_challenge_resource=False,
        connection_verify=str(stack.tls.cert_path),
    ) as client:
        yield client


@pytest.fixture
def vault_http(stack: IdentityStack) -> Iterator[httpx.Client]:
    verify = ssl.create_default_context(cafile=stack.tls.cert_path)
    with httpx.Client(base_url=stack.vault_url, verify=verify) as client:
        yield client


def test_secret_client_sets_and_gets_secrets(stack: IdentityStack, secrets: SecretClient) -> None:
    """set_secret then get_secret round-trips through the 401 challenge and an Entra token."""
    stored = secrets.set_secret("ifs-client-secret", "s3cret", content_type="text/plain")
    fetched = secrets.get_secret("ifs-client-secret")
    assert fetched.value == "s3cret"
    assert fetched.properties.version == stored.properties.version
    assert fetched.properties.content_type == "text/plain"
    assert fetched.id == f"{stack.vault_url}/secrets/ifs-client-secret/{stored.properties.version}"
    vault_calls = [(r.method, r.path, r.status) for r in stack.vault.admin.log.entries()]
    assert vault_calls == [
        ("PUT", "/secrets/ifs-client-secret", 401),
        ("PUT", "/secrets/ifs-client-secret", 200),
        ("GET", "/secrets/ifs-client-secret/", 200),
    ]
    token_requests = stack.entra.admin.log.entries(method="POST")
    assert [r.status for r in token_requests] == [200]


def test_versions_are_kept(stack: IdentityStack, secrets: SecretClient) -> None:
    """A second set makes a new latest version; the old one stays readable by version."""
    first = secrets.set_secret("rotating", "one")
    secrets.set_secret("rotating", "two")
    assert secrets.get_secret("rotating").value == "two"
    assert secrets.get_secret("rotating", first.properties.version).value == "one"


def test_missing_secret_is_secret_not_found(stack: IdentityStack, secrets: SecretClient) -> None:
    """An absent secret is a 404 SecretNotFound, which the SDK raises as ResourceNotFoundError."""
    with pytest.raises(ResourceNotFoundError) as caught:
        secrets.get_secret("nothing-here")
    assert caught.value.error is not None
    assert caught.value.error.code == "SecretNotFound"
    assert "A secret with (name/id) nothing-here was not found in this key vault" in str(caught.value)


def test_disabled_secret_is_forbidden(stack: IdentityStack, secrets: SecretClient) -> None:
    """Reading a disabled secret is a 403."""
    secrets.set_secret("off", "v", enabled=False)
    with pytest.raises(HttpResponseError) as caught:
        secrets.get_secret("off")
    assert caught.value.status_code == 403


def test_request_without_token_gets_the_bearer_challenge(
    stack: IdentityStack, vault_http: httpx.Client
) -> None:
    """No Authorization header: 401 with Key Vault's WWW-Authenticate challenge naming the authority."""
    response = vault_http.get("/secrets/anything", params={"api-version": "7.5"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer authorization="{stack.entra_url}/{stack.client.tenant_id}", resource="https://vault.azure.net"'
    )
    assert response.json() == {
        "error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}
    }


def test_token_for_another_resource_is_refused(
    stack: IdentityStack, credential: ClientSecretCredential, vault_http: httpx.Client
) -> None:
    """Only tokens for https://vault.azure.net are accepted."""
    other = credential.get_token("http://127.0.0.1:9999/.default").token
    response = vault_http.get("/secrets/x", headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 401
    assert "is for 'http://127.0.0.1:9999'" in response.json()["error"]["message"]


def test_expired_token_is_refused(
    stack: IdentityStack, credential: ClientSecretCredential, vault_http: httpx.Client
) -> None:
    """A vault token stops working once the shared simulator clock passes its expiry."""
    token = credential.get_token("https://vault.azure.net/.default").token
    headers = {"Authorization": f"Bearer {token}"}
    stack.vault.set_secret("x", "v")
    assert vault_http.get("/secrets/x", headers=headers).status_code == 200
    AdminClient(vault_http).advance_clock(3600)
    refused = vault_http.get("/secrets/x", headers=headers)
    assert refused.status_code == 401
    assert "expired" in refused.json()["error"]["message"]


def test_invalid_names_are_bad_parameters(
    stack: IdentityStack, credential: ClientSecretCredential, vault_http: httpx.Client
) -> None:
    """Names with characters Key Vault forbids are refused with BadParameter."""
    token = credential.get_token("https://vault.azure.net/.default").token
    response = vault_http.put(
        "/secrets/bad_name", json={"value": "v"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "BadParameter")


def test_admin_seeds_secrets_and_reset_empties_the_vault(
    stack: IdentityStack, secrets: SecretClient, vault_http: httpx.Client
) -> None:
    """set_secret over /_admin needs no token; reset returns to the initial (empty) vault."""
    admin = AdminClient(vault_http)
    admin.action("set_secret", {"name": "seeded", "value": "from-admin"})
    assert secrets.get_secret("seeded").value == "from-admin"
    admin.reset()
    with pytest.raises(ResourceNotFoundError):
        secrets.get_secret("seeded")


def test_disabled_secret_says_so_in_the_inner_error(stack: IdentityStack, secrets: SecretClient) -> None:
    """403 Forbidden with inner error SecretDisabled, as Key Vault answers for a disabled version."""
    secrets.set_secret("off", "v", enabled=False)
    with pytest.raises(HttpResponseError) as caught:
        secrets.get_secret("off")
    assert caught.value.error is not None
    error = caught.value.error
    assert (error.code, error.innererror) == ("Forbidden", {"code": "SecretDisabled"})


def test_without_a_role_assignment_every_request_is_forbidden_by_rbac(
    stack: IdentityStack, secrets: SecretClient
) -> None:
    """revoke_role: 403 ForbiddenByRbac for a valid token; grant_role (and reset) give the role back."""
    secrets.set_secret("there", "v")
    verify = ssl.create_default_context(cafile=stack.tls.cert_path)
    admin = AdminClient(httpx.Client(base_url=stack.vault_url, verify=verify))
    admin.action("revoke_role")
    with pytest.raises(HttpResponseError) as caught:
        secrets.get_secret("there")
    assert caught.value.status_code == 403
    assert caught.value.error is not None
    assert caught.value.error.innererror == {"code": "ForbiddenByRbac"}
    assert "Caller is not authorized to perform action on resource" in str(caught.value)
    admin.action("grant_role")
    assert secrets.get_secret("there").value == "v"
    admin.action("revoke_role")
    stack.reset()
    secrets.set_secret("again", "w")
    assert secrets.get_secret("again").value == "w"
