"""The Entra ID simulator with azure-identity's credentials, unchanged, over HTTPS."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CertificateCredential, ClientSecretCredential

from simulators.common.admin_client import AdminClient
from simulators.common.server import BackgroundServer
from simulators.common.tls import TlsFiles
from simulators.entra.app import EntraSimulator
from simulators.entra.certificates import ClientCertificate, generate_client_certificate
from simulators.entra.directory import ClientApp, service_principal_id
from simulators.entra.tokens import TokenError, TokenRejection, validate

TENANT = "3c7e1f2a-0000-4000-8000-0000000000aa"
CLIENT = "3c7e1f2a-0000-4000-8000-0000000000bb"
CERT_CLIENT = "3c7e1f2a-0000-4000-8000-0000000000cc"
SECRET = "correct horse battery staple"
RESOURCE = "http://127.0.0.1:9999"


@pytest.fixture(scope="module")
def client_certificate() -> ClientCertificate:
    return generate_client_certificate()


@pytest.fixture(scope="module")
def served(tls: TlsFiles, client_certificate: ClientCertificate) -> Iterator[tuple[EntraSimulator, str]]:
    sim = EntraSimulator(
        [
            ClientApp(TENANT, CLIENT, secrets=(SECRET,), roles=("Connector",)),
            ClientApp(TENANT, CERT_CLIENT, certificates=(client_certificate.certificate_pem,)),
        ]
    )
    with BackgroundServer(sim.app, tls=tls) as server:
        yield sim, server.url


@pytest.fixture
def entra(served: tuple[EntraSimulator, str]) -> EntraSimulator:
    served[0].admin.reset()
    return served[0]


@pytest.fixture
def authority(served: tuple[EntraSimulator, str]) -> str:
    return served[1]


@pytest.fixture
def http(authority: str, tls: TlsFiles) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=authority, verify=ssl.create_default_context(cafile=tls.cert_path)) as client:
        yield client


def secret_credential(
    authority: str, tls: TlsFiles, secret: str = SECRET, client: str = CLIENT
) -> ClientSecretCredential:
    return ClientSecretCredential(
        TENANT,
        client,
        secret,
        authority=authority,
        disable_instance_discovery=True,
        connection_verify=str(tls.cert_path),
    )


def test_client_secret_credential_gets_a_token(entra: EntraSimulator, authority: str, tls: TlsFiles) -> None:
    """ClientSecretCredential, unchanged, gets a token whose claims name the resource, tenant and app."""
    token = secret_credential(authority, tls).get_token(f"{RESOURCE}/.default")
    claims = validate(token.token, RESOURCE, now=entra.clock.now(), tenant_id=TENANT)
    assert (claims.app_id, claims.tenant_id, claims.roles) == (CLIENT, TENANT, ("Connector",))
    assert claims.object_id == service_principal_id(TENANT, CLIENT)
    assert claims.raw["appidacr"] == "1"
    assert claims.expires_at - claims.issued_at == 3599
    paths = [(r.method, r.path) for r in entra.admin.log.entries()]
    assert paths == [
        ("GET", f"/{TENANT}/v2.0/.well-known/openid-configuration"),
        ("POST", f"/{TENANT}/oauth2/v2.0/token"),
    ]


def test_wrong_secret_fails_with_the_aadsts_text(
    entra: EntraSimulator, authority: str, tls: TlsFiles
) -> None:
    """A wrong secret surfaces AADSTS7000215 in azure-identity's exception, after one request."""
    with pytest.raises(ClientAuthenticationError) as caught:
        secret_credential(authority, tls, secret="wrong").get_token(f"{RESOURCE}/.default")
    assert "AADSTS7000215: Invalid client secret provided." in caught.value.message
    assert f"for a secret added to app '{CLIENT}'" in caught.value.message
    assert [r.status for r in entra.admin.log.entries(method="POST")] == [401]


def test_unknown_client_fails_with_aadsts700016(entra: EntraSimulator, authority: str, tls: TlsFiles) -> None:
    """A client id not in the tenant is AADSTS700016."""
    stranger = "3c7e1f2a-0000-4000-8000-0000000000ff"
    with pytest.raises(
        ClientAuthenticationError, match=f"AADSTS700016: Application with identifier '{stranger}'"
    ):
        secret_credential(authority, tls, client=stranger).get_token(f"{RESOURCE}/.default")


@pytest.mark.parametrize(
    ("scope", "code"),
    [
        ("not-a-uri/.default", "AADSTS70011"),
        (f"{RESOURCE}/.default https://vault.azure.net/.default", "AADSTS70011"),
        (f"{RESOURCE}/user_impersonation", "AADSTS1002012"),
    ],
)
def test_bad_scopes_fail_with_invalid_scope(
    entra: EntraSimulator, http: httpx.Client, scope: str, code: str
) -> None:
    """Malformed, multi-resource and non-.default scopes are invalid_scope errors with Entra's body."""
    response = http.post(
        f"/{TENANT}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT,
            "client_secret": SECRET,
            "scope": scope,
        },
        headers={"client-request-id": "corr-1"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_scope"
    assert body["error_description"].startswith(f"{code}: ")
    assert "\r\nCorrelation ID: corr-1\r\n" in body["error_description"]
    assert body["error_codes"] == [int(code.removeprefix("AADSTS"))]
    assert body["correlation_id"] == "corr-1"
    assert set(body) >= {"timestamp", "trace_id", "error_uri"}


def test_bad_scope_reaches_the_credential_caller(
    entra: EntraSimulator, authority: str, tls: TlsFiles
) -> None:
    """Through azure-identity the scope error is a ClientAuthenticationError with its AADSTS code."""
    with pytest.raises(ClientAuthenticationError, match="AADSTS70011"):
        secret_credential(authority, tls).get_token("not-a-uri/.default")


def test_secret_in_basic_auth_header_is_accepted(entra: EntraSimulator, http: httpx.Client) -> None:
    """The client secret may come as HTTP Basic credentials instead of form fields."""
    response = http.post(
        f"/{TENANT}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": f"{RESOURCE}/.default"},
        auth=(CLIENT, SECRET),
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3599)


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"grant_type": "password"}, 70003),
        ({"grant_type": "client_credentials"}, 900144),
        ({"grant_type": "client_credentials", "client_id": CLIENT, "scope": f"{RESOURCE}/.default"}, 7000216),
        ({"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET}, 900144),
    ],
)
def test_incomplete_requests_get_aadsts_errors(
    entra: EntraSimulator, http: httpx.Client, form: dict[str, str], code: int
) -> None:
    """Missing parameters, wrong grant type and a missing credential each have their code."""
    response = http.post(f"/{TENANT}/oauth2/v2.0/token", data=form)
    assert response.json()["error_codes"] == [code]


def test_unknown_tenant_is_refused_at_discovery(entra: EntraSimulator, http: httpx.Client) -> None:
    """A tenant without apps has no discovery document (AADSTS90002)."""
    response = http.get("/no-such-tenant/v2.0/.well-known/openid-configuration")
    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]


def test_discovery_document_points_at_this_authority(
    entra: EntraSimulator, http: httpx.Client, authority: str
) -> None:
    """token_endpoint and authorization_endpoint are under the simulator's own URL."""
    document = http.get(f"/{TENANT}/v2.0/.well-known/openid-configuration").json()
    assert document["token_endpoint"] == f"{authority}/{TENANT}/oauth2/v2.0/token"
    assert document["authorization_endpoint"] == f"{authority}/{TENANT}/oauth2/v2.0/authorize"


def test_certificate_credential_gets_a_token(
    entra: EntraSimulator,
    authority: str,
    tls: TlsFiles,
    client_certificate: ClientCertificate,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """CertificateCredential's signed client assertion is verified against the registered certificate."""
    pem = client_certificate.write(tmp_path_factory.mktemp("cert") / "client.pem")
    credential = CertificateCredential(
        TENANT, CERT_CLIENT, certificate_path=str(pem), authority=authority,
        disable_instance_discovery=True, connection_verify=str(tls.cert_path),
    )  # fmt: skip
    claims = validate(credential.get_token(f"{RESOURCE}/.default").token, RESOURCE, now=entra.clock.now())
    assert (claims.app_id, claims.raw["appidacr"]) == (CERT_CLIENT, "2")


def test_unregistered_certificate_is_refused(
    entra: EntraSimulator, authority: str, tls: TlsFiles, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """An assertion signed by a certificate the app does not hold is AADSTS700027."""
    pem = generate_client_certificate("impostor").write(tmp_path_factory.mktemp("cert") / "impostor.pem")
    credential = CertificateCredential(
        TENANT, CERT_CLIENT, certificate_path=str(pem), authority=authority,
        disable_instance_discovery=True, connection_verify=str(tls.cert_path),
    )  # fmt: skip
    with pytest.raises(ClientAuthenticationError, match="AADSTS700027"):
        credential.get_token(f"{RESOURCE}/.default")


def test_tokens_expire_by_the_simulator_clock(
    entra: EntraSimulator, authority: str, tls: TlsFiles, http: httpx.Client
) -> None:
    """After the clock is advanced past the lifetime, validate rejects the token as expired."""
    token = secret_credential(authority, tls).get_token(f"{RESOURCE}/.default").token
    AdminClient(http).advance_clock(3599)
    with pytest.raises(TokenError) as caught:
        validate(token, RESOURCE, now=entra.clock.now())
    assert caught.value.code is TokenRejection.EXPIRED


def test_apps_and_lifetime_are_managed_over_admin_and_reset(
    entra: EntraSimulator, authority: str, tls: TlsFiles, http: httpx.Client
) -> None:
    """register_client and set_token_lifetime take effect; reset restores the initial directory."""
    admin = AdminClient(http)
    newcomer = "3c7e1f2a-0000-4000-8000-0000000000dd"
    registered = admin.action(
        "register_client", {"tenant_id": TENANT, "client_id": newcomer, "client_secret": "n"}
    )
    assert registered["secret_count"] == 1
    admin.action("set_token_lifetime", {"seconds": 600})
    response = http.post(
        f"/{TENANT}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": f"{RESOURCE}/.default"},
        auth=(newcomer, "n"),
    )
    assert response.json()["expires_in"] == 600
    admin.reset()
    with pytest.raises(ClientAuthenticationError, match="AADSTS700016"):
        secret_credential(authority, tls, secret="n", client=newcomer).get_token(f"{RESOURCE}/.default")
