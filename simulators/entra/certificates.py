"""Client certificates for the certificate-credential path: generate one, register its public half.

``CertificateCredential`` needs a PEM file holding an RSA private key and its certificate; the Entra
simulator needs only the certificate (``ClientApp(certificates=(cert.certificate_pem,))``), exactly as an
app registration holds only the public certificate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class ClientCertificate:
    """A self-signed client certificate: the public PEM and the private key + certificate PEM."""

    certificate_pem: str
    key_and_certificate_pem: bytes

    def write(self, path: Path) -> Path:
        """Write the key + certificate PEM (for ``ENTRA_CLIENT_CERTIFICATE_PATH``); returns the path."""
        path.write_bytes(self.key_and_certificate_pem)
        path.chmod(0o600)
        return path


def generate_client_certificate(common_name: str = "connector client") -> ClientCertificate:
    """A fresh 2048-bit RSA key and a self-signed certificate valid for 30 days."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ClientCertificate(certificate_pem.decode("ascii"), key_pem + certificate_pem)
