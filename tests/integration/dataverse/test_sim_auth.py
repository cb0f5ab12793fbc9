"""The simulator lets in only tokens the Entra simulator issued for its own URL, to application users."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import AppSettings, EntraSettings
from shared.dataverse.client import DataverseClient
from shared.dataverse.errors import AccessDeniedError, AuthenticationError
from shared.platform.credentials import build_credential
from simulators.entra.certificates import generate_client_certificate
from simulators.entra.directory import ClientApp
from tests.integration.dataverse.conftest import DataverseStack

OTHER_CLIENT = "5d0c7a11-0000-4000-8000-0000000da7a0"


def test_no_token_is_401_with_a_bearer_challenge(dataverse: DataverseStack) -> None:
    """Without Authorization the answer is 401 naming where to get a token for this resource."""
    with dataverse.raw() as http:
        response = http.get(f"{dataverse.url}/api/data/v9.2/WhoAmI")
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer authorization_uri=")
    assert f"resource_id={dataverse.url}" in challenge


def test_a_token_for_another_resource_is_401(dataverse: DataverseStack) -> None:
    """A valid Entra token whose audience is not this simulator's URL is refused."""
    token = dataverse.credential().get_token("https://other.crm.dynamics.com/.default").token
    with dataverse.raw() as http:
        response = http.get(
            f"{dataverse.url}/api/data/v9.2/WhoAmI", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 401


def test_an_expired_token_is_an_authentication_error(dataverse: DataverseStack) -> None:
    """After the token's lifetime on the shared clock, the same cached token is refused."""
    client = dataverse.client()
    client.who_am_i()
    dataverse.clock.advance(3600)
    with pytest.raises(AuthenticationError) as caught:
        client.who_am_i()
    assert caught.value.status == 401


def test_an_app_without_an_application_user_is_403(dataverse: DataverseStack) -> None:
    """Entra knows the app, the organization does not: access denied, until its application user exists."""
    tenant = dataverse.identity.client.tenant_id
    dataverse.identity.entra.register(ClientApp(tenant, OTHER_CLIENT, secrets=("other-secret",)))
    values = {
        **dataverse.identity.app_settings(),
        "ENTRA_CLIENT_ID": OTHER_CLIENT,
        "ENTRA_CLIENT_SECRET": "other-secret",
    }
    credential = build_credential(AppSettings(values).get(EntraSettings))
    client = DataverseClient.from_settings(dataverse.settings(), credential, verify=dataverse.verify())
    with pytest.raises(AccessDeniedError, match="not a member of the organization"):
        client.who_am_i()
    user_id = dataverse.simulator.add_application_user(OTHER_CLIENT, "second app")
    assert client.who_am_i().user_id == user_id


def test_a_certificate_credential_works_too(dataverse: DataverseStack, tmp_path: Path) -> None:
    """ENTRA_CREDENTIAL=certificate gets a token the simulator accepts."""
    certificate = generate_client_certificate()
    tenant = dataverse.identity.client.tenant_id
    dataverse.identity.entra.register(
        ClientApp(tenant, OTHER_CLIENT, certificates=(certificate.certificate_pem,))
    )
    dataverse.simulator.add_application_user(OTHER_CLIENT)
    values = {
        **dataverse.identity.app_settings(),
        "ENTRA_CREDENTIAL": "certificate",
        "ENTRA_CLIENT_ID": OTHER_CLIENT,
        "ENTRA_CLIENT_CERTIFICATE_PATH": str(certificate.write(tmp_path / "client.pem")),
    }
    credential = build_credential(AppSettings(values).get(EntraSettings))
    client = DataverseClient.from_settings(dataverse.settings(), credential, verify=dataverse.verify())
    assert client.who_am_i().user_id is not None


def test_the_test_clients_ignore_proxy_settings(
    dataverse: DataverseStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """raw() and admin() reach the simulator directly even with every proxy variable pointing elsewhere."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    with dataverse.raw() as http:
        assert http.get(f"{dataverse.url}/api/data/v9.2/WhoAmI").status_code == 401
    with dataverse.admin() as admin:
        assert admin.action("protection", {})["refusals"] == 0
