"""Serve an ASGI app on a real loopback socket: in a background thread (tests) or in the foreground (CLI).

A real socket matters: the connector's clients are synchronous httpx/requests clients, and timeouts,
dropped connections and TLS must behave as they do against the real services.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn

from simulators.common.tls import TlsFiles, loopback_certificate

ASGIApp = Callable[..., Any]
_START_TIMEOUT_S = 10.0


def _bind(port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it
    # Nagle's algorithm plus delayed ACKs stall every response for ~40 ms.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


# The longest request head (request line and headers) the HTTP parser buffers. h11's default, 16 KB, would
# drop a longer URL before the app sees it; the simulators enforce the services' own URL limits (Dataverse:
# 32 KB) and must get the request to answer as the service does.
MAX_REQUEST_HEAD = 1024 * 1024


def _config(app: ASGIApp, tls: TlsFiles | None) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ssl_certfile=str(tls.cert_path) if tls else None,
        ssl_keyfile=str(tls.key_path) if tls else None,
        timeout_keep_alive=30,
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
    )


class _AbortingServer(uvicorn.Server):
    """A uvicorn server that drops open connections when stopping instead of closing them gracefully.

    Closing an idle keep-alive TLS connection waits for the client's close_notify, which a pooled client
    that is not reading never sends; asyncio then waits its 30 s SSL shutdown timeout. A test server has
    nothing left to say at stop time, so it aborts.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        await super().shutdown(sockets)


class BackgroundServer:
    """An ASGI app served on 127.0.0.1 from a daemon thread; use as a context manager or start()/stop()."""

    def __init__(self, app: ASGIApp, *, port: int = 0, tls: TlsFiles | None = None) -> None:
        self.app = app
        self.tls = tls
        self._socket = _bind(port)
        self.port: int = self._socket.getsockname()[1]
        self._server = _AbortingServer(_config(app, tls))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True, name=f"sim-{self.port}"
        )

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:<port>`` or ``https://…`` when serving TLS."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> BackgroundServer:
        """Start serving; returns once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"simulator on port {self.port} failed to start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def cli_arguments(description: str) -> argparse.ArgumentParser:
    """The options every simulator's ``python -m simulators.<name>`` accepts; add your own to the parser."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0, help="loopback port (0 = any free port)")
    parser.add_argument(
        "--tls", action="store_true", help="serve HTTPS with a self-signed loopback certificate"
    )
    return parser


def serve_forever(app: ASGIApp, *, port: int, tls: bool = False) -> None:
    """Serve in the foreground until interrupted, printing the base URL (and the CA file for TLS)."""
    files = loopback_certificate() if tls else None
    sock = _bind(port)
    scheme = "https" if files else "http"
    print(f"serving on {scheme}://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    if files:
        print(f"trust this certificate: {files.cert_path}", flush=True)
    uvicorn.Server(_config(app, files)).run(sockets=[sock])
