"""Validation of client assertions: the signed JWT a certificate credential sends instead of a secret.

MSAL (behind azure-identity's ``CertificateCredential``) signs the assertion with the certificate's private
key (RS256 with an ``x5t`` SHA-1 thumbprint header, or PS256 with ``x5t#S256``), with ``aud`` = the token
endpoint, ``iss`` = ``sub`` = the client id, and a short ``exp``. The simulator finds the registered
certificate by thumbprint and checks the signature and those claims. Assertion times are checked against
wall-clock time with Entra's 5-minute skew allowance, because the client stamps them with its own clock
(the simulator's clock governs only the tokens it issues).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from simulators.entra.directory import ClientApp

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_SKEW_SECONDS = 300
_ALGORITHMS = ("RS256", "PS256")


class AssertionRejected(Exception):  # noqa: N818 -- named after the outcome, like the AADSTS texts
    """The assertion is invalid; ``code`` and the message become an AADSTS error."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class _Thumbprints:
    sha1: str
    sha256: str


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _thumbprints(certificate: x509.Certificate) -> _Thumbprints:
    return _Thumbprints(
        sha1=_b64url(certificate.fingerprint(hashes.SHA1())),  # noqa: S303 -- x5t is defined as SHA-1
        sha256=_b64url(certificate.fingerprint(hashes.SHA256())),
    )


def _registered_key(app: ClientApp, header: dict[str, object]) -> RSAPublicKey:
    # MSAL keeps the base64 padding on thumbprints; RFC 7515 says base64url without it. Accept both.
    wanted_sha256 = str(header.get("x5t#S256") or "").rstrip("=")
    wanted_sha1 = str(header.get("x5t") or "").rstrip("=")
    if not wanted_sha256 and not wanted_sha1:
        raise AssertionRejected(
            700027, "Client assertion contains no certificate thumbprint (x5t or x5t#S256)."
        )
    for pem in app.certificates:
        certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
        prints = _thumbprints(certificate)
        if (wanted_sha256 and wanted_sha256 == prints.sha256) or (wanted_sha1 and wanted_sha1 == prints.sha1):
            key = certificate.public_key()
            if not isinstance(key, RSAPublicKey):
                raise AssertionRejected(700027, "The registered certificate does not hold an RSA key.")
            return key
    raise AssertionRejected(
        700027,
        "The certificate with identifier used to sign the client assertion is not registered on application. "
        "[Reason - The key was not found., Thumbprint of key used by client: "
        f"'{wanted_sha256 or wanted_sha1}']",
    )


def verify_client_assertion(assertion: str, app: ClientApp, token_endpoint: str) -> None:
    """Accept the assertion or raise ``AssertionRejected`` saying why."""
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise AssertionRejected(50027, f"JWT token is invalid or malformed. ({exc})") from exc
    algorithm = header.get("alg")
    if algorithm not in _ALGORITHMS:
        raise AssertionRejected(700027, f"Client assertion uses unsupported algorithm {algorithm!r}.")
    key = _registered_key(app, header)
    try:
        claims = jwt.decode(
            assertion,
            key,
            algorithms=[str(algorithm)],
            audience=token_endpoint,
            leeway=_SKEW_SECONDS,
            options={"require": ["aud", "iss", "sub", "exp"]},
        )
    except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as exc:
        raise AssertionRejected(700024, "Client assertion is not within its valid time range.") from exc
    except jwt.InvalidAudienceError as exc:
        raise AssertionRejected(
            700027, f"Client assertion audience claim does not match the token endpoint {token_endpoint}."
        ) from exc
    except jwt.InvalidSignatureError as exc:
        raise AssertionRejected(700027, "Client assertion failed signature validation.") from exc
    except jwt.PyJWTError as exc:
        raise AssertionRejected(50027, f"JWT token is invalid or malformed. ({exc})") from exc
    expected = app.client_id.lower()
    if str(claims.get("iss", "")).lower() != expected or str(claims.get("sub", "")).lower() != expected:
        raise AssertionRejected(
            700021, "Client assertion application identifier doesn't match 'client_id' parameter."
        )
