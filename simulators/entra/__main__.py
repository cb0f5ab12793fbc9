"""Serve the Entra ID simulator: ``python -m simulators.entra --port N [--client TENANT:CLIENT_ID:SECRET]``.

It always serves HTTPS (MSAL refuses plain-http authorities), with the self-signed loopback certificate
whose path it prints; pass that file as ``connection_verify`` / ``TLS_CA_BUNDLE``. Without ``--client`` a
demo app is registered and printed.
"""

from __future__ import annotations

from simulators.common.server import cli_arguments, serve_forever
from simulators.entra.app import EntraSimulator
from simulators.entra.directory import ClientApp

DEMO_CLIENT = ClientApp(
    tenant_id="00000000-0000-4000-8000-00000000e1a0",
    client_id="00000000-0000-4000-8000-0000000c1e47",
    secrets=("demo-client-secret",),
    display_name="connector (demo)",
)


def _client(spec: str) -> ClientApp:
    tenant_id, client_id, secret = [*spec.split(":", 2), "", ""][:3]
    if not (tenant_id and client_id and secret):
        raise SystemExit(f"--client expects TENANT:CLIENT_ID:SECRET, got {spec!r}")
    return ClientApp(tenant_id=tenant_id, client_id=client_id, secrets=(secret,))


def main() -> None:
    """Parse the command line and serve until interrupted."""
    parser = cli_arguments("Entra ID simulator (client credentials over HTTPS)")
    parser.add_argument("--client", action="append", default=[], metavar="TENANT:CLIENT_ID:SECRET")
    args = parser.parse_args()
    clients = [_client(spec) for spec in args.client] or [DEMO_CLIENT]
    for app in clients:
        print(
            f"client app: tenant {app.tenant_id} client {app.client_id} object id {app.object_id}", flush=True
        )
    serve_forever(EntraSimulator(clients).app, port=args.port, tls=True)


if __name__ == "__main__":
    main()
