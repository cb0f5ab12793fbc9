"""A self-signed loopback certificate, so HTTPS simulators can be trusted by real clients.

The certificate carries SAN ``IP:127.0.0.1`` and ``DNS:localhost`` (without the IP SAN, Python's ssl
rejects it for ``https://127.0.0.1``) and is its own CA, so the same ``cert.pem`` serves as the server
certificate and as the client's trust file (``connection_verify=`` for azure-identity/Key Vault,
``verify=`` for httpx).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_lock = threading.Lock()
_cache: dict[Path, TlsFiles] = {}


@dataclass(frozen=True)
class TlsFiles:
    """Paths of a PEM certificate and its private key."""

    cert_path: Path
    key_path: Path


def _build(directory: Path) -> TlsFiles:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1 loopback simulator")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "cert.pem", directory / "key.pem")
    files.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    files.key_path.chmod(0o600)
    return files


def _still_usable(files: TlsFiles) -> bool:
    """Whether the files hold a matching certificate and key valid for at least another day."""
    try:
        cert = x509.load_pem_x509_certificate(files.cert_path.read_bytes())
        key = serialization.load_pem_private_key(files.key_path.read_bytes(), password=None)
    except (OSError, ValueError):
        return False
    matching = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return matching and cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=1)


def _load_or_build(directory: Path) -> TlsFiles:
    directory.mkdir(parents=True, exist_ok=True)
    # Several processes (simulators started with ``python -m``, parallel test runs) share the default
    # directory: under an exclusive lock, the first one creates the certificate and the others reuse it,
    # so no server ever serves a certificate other than the one in cert.pem.
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        files = TlsFiles(directory / "cert.pem", directory / "key.pem")
        return files if _still_usable(files) else _build(directory)


def loopback_certificate(directory: Path | None = None) -> TlsFiles:
    """Return the loopback certificate kept in ``directory``: reused while valid, else created."""
    directory = (directory or Path(tempfile.gettempdir()) / "ifs-dv-sim-tls").resolve()
    with _lock:
        if directory not in _cache:
            _cache[directory] = _load_or_build(directory)
        return _cache[directory]
