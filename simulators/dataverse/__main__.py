"""Serve the Dataverse simulator: ``python -m simulators.dataverse --port N [--tls] [--app-id CLIENT_ID] …``.

Tokens must come from the Entra simulator for this simulator's URL (``https://127.0.0.1:<port>/.default``
with ``--tls``). ``--app-id`` (repeatable) creates the application users allowed in; without it the Entra
simulator's demo client is let in. ``--protection-scale`` shrinks the service-protection limits (e.g.
``0.01``: 60 requests per 5 minutes); ``--no-protection`` turns them off; ``--dop-hint`` sets the
``x-ms-dop-hint`` header (48 by default).
"""

from __future__ import annotations

from simulators.common.server import cli_arguments, serve_forever
from simulators.dataverse.app import DataverseSimulator, Settings
from simulators.dataverse.protection import Limits
from simulators.dataverse.request_limits import DEFAULT_DOP_HINT

DEMO_APP_ID = "00000000-0000-4000-8000-0000000c1e47"  # the Entra simulator's demo client


def main() -> None:
    """Parse the command line and serve until interrupted."""
    parser = cli_arguments("Dataverse Web API simulator")
    parser.add_argument("--app-id", action="append", default=[], metavar="CLIENT_ID")
    parser.add_argument("--tenant-id", default=None, help="accept tokens of this tenant only")
    parser.add_argument("--protection-scale", type=float, default=1.0, help="multiply the limits by this")
    parser.add_argument("--no-protection", action="store_true", help="no service-protection limits")
    parser.add_argument("--key-activation-seconds", type=float, default=1.0)
    parser.add_argument(
        "--dop-hint",
        type=int,
        default=DEFAULT_DOP_HINT,
        help="x-ms-dop-hint (recommended degree of parallelism) on every response",
    )
    args = parser.parse_args()
    limits = None if args.no_protection else Limits().scaled(args.protection_scale)
    settings = Settings(
        tenant_id=args.tenant_id,
        limits=limits,
        key_activation_seconds=args.key_activation_seconds,
        dop_hint=args.dop_hint,
    )
    app_ids = args.app_id or [DEMO_APP_ID]
    simulator = DataverseSimulator(app_ids, settings=settings)
    print(f"application users: {', '.join(app_ids)}; limits: {limits}", flush=True)
    serve_forever(simulator.app, port=args.port, tls=args.tls)


if __name__ == "__main__":
    main()
