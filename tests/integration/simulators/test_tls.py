"""The loopback certificate is shared safely between processes using the same directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from simulators.common.tls import loopback_certificate

REPO = Path(__file__).resolve().parents[3]
PRINT_CERT = (
    "import sys; from pathlib import Path; from simulators.common.tls import loopback_certificate; "
    "sys.stdout.write(loopback_certificate(Path(sys.argv[1])).cert_path.read_text())"
)


def certificate_from_another_process(directory: Path) -> str:
    return subprocess.run(
        [sys.executable, "-c", PRINT_CERT, str(directory)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_other_processes_reuse_the_certificate(tmp_path: Path) -> None:
    """A second process finds the first one's certificate instead of overwriting it."""
    first = certificate_from_another_process(tmp_path)
    assert first.startswith("-----BEGIN CERTIFICATE-----")
    assert certificate_from_another_process(tmp_path) == first
    assert loopback_certificate(tmp_path).cert_path.read_text() == first


def test_a_damaged_certificate_is_replaced(tmp_path: Path) -> None:
    """Files that do not hold a usable certificate and key are regenerated."""
    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "key.pem").write_text("not a key")
    assert certificate_from_another_process(tmp_path).startswith("-----BEGIN CERTIFICATE-----")
