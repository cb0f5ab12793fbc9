"""Start Azurite (the Azure Storage emulator) in memory on free loopback ports, run a command, stop it.

Usage: ``python -m devhost.azurite -- <command> [args...]``. The command sees the connection string in
``AZURITE_CONNECTION_STRING`` and ``AzureWebJobsStorage``; Azurite is stopped when the command ends,
whatever its exit status, and on SIGINT/SIGTERM. Free ports mean two runs never collide.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BINARY = REPO_ROOT / "tools" / "azurite" / "node_modules" / ".bin" / "azurite"
# The well-known development account: Azurite's documented fixed credentials, not a secret.
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CONNECTION_ENV_VARS = ("AZURITE_CONNECTION_STRING", "AzureWebJobsStorage")
STARTUP_TIMEOUT_S = 30.0


class AzuriteError(RuntimeError):
    """Azurite could not be found or did not start."""


@dataclass(frozen=True)
class AzuriteEndpoints:
    """The loopback ports one Azurite instance listens on."""

    blob_port: int
    queue_port: int
    table_port: int

    @property
    def connection_string(self) -> str:
        """An explicit connection string (``UseDevelopmentStorage=true`` only knows the default ports)."""
        base = f"http://127.0.0.1:{{port}}/{ACCOUNT_NAME}"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={base.format(port=self.blob_port)};"
            f"QueueEndpoint={base.format(port=self.queue_port)};"
            f"TableEndpoint={base.format(port=self.table_port)};"
        )


def free_port() -> int:
    """Ask the kernel for a free loopback port (there is a small window before the caller binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def _start_once(binary: Path, endpoints: AzuriteEndpoints, log_path: Path) -> subprocess.Popen[bytes]:
    args = [
        str(binary),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(endpoints.blob_port),
        "--queueHost",
        "127.0.0.1",
        "--queuePort",
        str(endpoints.queue_port),
        "--tableHost",
        "127.0.0.1",
        "--tablePort",
        str(endpoints.table_port),
        "--inMemoryPersistence",
        "--skipApiVersionCheck",
        "--loose",
        "--silent",
        "--disableTelemetry",
    ]
    with log_path.open("ab") as log:
        # A session of its own, so stopping it also stops anything it spawned.
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603


@contextlib.contextmanager
def running_azurite(binary: Path | None = None, attempts: int = 3) -> Iterator[AzuriteEndpoints]:
    """Run one Azurite instance for the duration of the block."""
    binary = binary or Path(os.environ.get("AZURITE_BIN", str(DEFAULT_BINARY)))
    if not binary.exists():
        raise AzuriteError(f"Azurite not found at {binary}; run `make install` (npm ci in tools/azurite)")
    log_path = Path(tempfile.gettempdir()) / f"azurite-{os.getpid()}.log"
    for _ in range(attempts):
        endpoints = AzuriteEndpoints(free_port(), free_port(), free_port())
        proc = _start_once(binary, endpoints, log_path)
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            ports = (endpoints.blob_port, endpoints.queue_port, endpoints.table_port)
            while proc.poll() is None and time.monotonic() < deadline:
                if all(_accepts(port) for port in ports):
                    break
                time.sleep(0.05)
            if proc.poll() is not None:  # most likely a port taken in the meantime: try fresh ports
                continue
            if not all(_accepts(port) for port in ports):
                raise AzuriteError(
                    f"Azurite did not open its ports within {STARTUP_TIMEOUT_S} s; log: {log_path}"
                )
            yield endpoints
            return
        finally:
            _stop(proc)
    raise AzuriteError(f"Azurite exited during start-up {attempts} times; log: {log_path}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    """Run ``argv`` (after an optional ``--``) with Azurite up; return the command's exit status."""
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    # SIGTERM (CI cancelling, `timeout`) unwinds like Ctrl-C so the finally blocks stop Azurite.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with running_azurite() as endpoints:
            env = dict(os.environ)
            for name in CONNECTION_ENV_VARS:
                env[name] = endpoints.connection_string
            child = subprocess.Popen(command, env=env)  # noqa: S603
            try:
                return child.wait()
            finally:
                if child.poll() is None:
                    child.terminate()
                    child.wait(timeout=30)
    except KeyboardInterrupt:
        return 130
    except AzuriteError as exc:
        print(f"devhost.azurite: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
