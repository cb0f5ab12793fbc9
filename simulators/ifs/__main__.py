"""``python -m simulators.ifs --port N``: serve the IFS Cloud simulator in the foreground.

Seed and size choose the generated data; latency and fault options set the initial fault plan (the same
plan ``POST /_admin/faults`` takes; 429s are off unless asked for: IFS documents no rate limit).
"""

from __future__ import annotations

import argparse
from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from simulators.common.faults import FaultPlan
from simulators.common.server import cli_arguments, serve_forever
from simulators.ifs.app import DEFAULT_MAX_URL_LENGTH, DEFAULT_REALM, IfsSimulator
from simulators.ifs.tenant import TenantConfig


def time_zone(name: str) -> tzinfo:
    """An IANA time zone name (``Europe/Stockholm``) or ``UTC``."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"unknown time zone {name!r}") from exc


def main() -> None:
    """Parse the options and serve until interrupted."""
    parser = cli_arguments("IFS Cloud simulator: IAM token endpoint and OData projections with seed data.")
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the generated data (same seed, same rows)"
    )
    parser.add_argument("--size", type=int, default=1000, help="about how many customer orders to generate")
    parser.add_argument("--customers", type=int, default=None, help="exact number of customers")
    parser.add_argument("--sales-parts", type=int, default=None, help="exact number of catalog numbers")
    parser.add_argument(
        "--part-sites",
        type=lambda text: tuple(s.strip() for s in text.split(",") if s.strip()),
        default=None,
        help="comma-separated sites the sales parts are on (default: every seeded site)",
    )
    parser.add_argument("--page-size", type=int, default=100, help="server page size when no $top is sent")
    parser.add_argument("--token-lifetime", type=int, default=180, help="access token lifetime in seconds")
    parser.add_argument("--realm", default=DEFAULT_REALM, help="IAM realm name")
    parser.add_argument("--client-id", default="ifs-d365-sync", help="IAM client id accepted")
    parser.add_argument("--client-secret", default="change-me", help="secret of that client")
    parser.add_argument("--absolute-next-links", action="store_true", help="absolute @odata.nextLink URLs")
    parser.add_argument("--no-captures", action="store_true", help="do not load the real captured orders")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay every request by this much")
    parser.add_argument("--throttle-rate", type=float, default=0.0, help="share of requests answered 429")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 503")
    parser.add_argument("--drop-rate", type=float, default=0.0, help="share of connections dropped")
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the random fault choices")
    parser.add_argument(
        "--server-time-zone",
        type=time_zone,
        default=UTC,
        help="zone in which requests without X-Ifs-Time-Zone-Aware-Request read ...Z timestamps (IANA name)",
    )
    parser.add_argument(
        "--max-url-length",
        type=int,
        default=DEFAULT_MAX_URL_LENGTH,
        help="longest request URL accepted; longer ones get 414 (assumed: IFS documents no limit)",
    )
    args = parser.parse_args()
    config = TenantConfig(
        seed=args.seed,
        size=args.size,
        customers=args.customers,
        sales_parts=args.sales_parts,
        part_sites=args.part_sites,
    )
    if args.no_captures:
        config.captures = None
    simulator = IfsSimulator(
        tenant=config,
        realm=args.realm,
        clients={args.client_id: args.client_secret},
        token_lifetime=args.token_lifetime,
        page_size=args.page_size,
        absolute_next_links=args.absolute_next_links,
        server_time_zone=args.server_time_zone,
        max_url_length=args.max_url_length,
    )
    plan: dict[str, Any] = {
        "rates": {"throttle": args.throttle_rate, "error": args.error_rate, "drop": args.drop_rate},
        "seed": args.fault_seed,
    }
    if args.latency_ms:
        plan["rates"]["latency"] = 1.0
        plan["latency_ms"] = args.latency_ms
    simulator.admin.faults.set_plan(FaultPlan.from_json(plan))
    serve_forever(simulator.app, port=args.port, tls=args.tls)


if __name__ == "__main__":
    main()
