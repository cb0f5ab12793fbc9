"""Serve the Key Vault simulator: ``python -m simulators.keyvault --port N --tenant T [--authority URL]``.

It always serves HTTPS (``SecretClient`` sends tokens only over TLS) with the self-signed loopback
certificate whose path it prints. ``--authority`` is the Entra simulator's URL named in the 401 challenge
(clients use their own configured authority in any case).
"""

from __future__ import annotations

from simulators.common.server import cli_arguments, serve_forever
from simulators.keyvault.app import PUBLIC_AUTHORITY, KeyVaultSimulator


def main() -> None:
    """Parse the command line and serve until interrupted."""
    parser = cli_arguments("Key Vault secrets simulator (HTTPS)")
    parser.add_argument("--tenant", required=True, help="tenant whose tokens the vault accepts")
    parser.add_argument("--authority", default=PUBLIC_AUTHORITY, help="authority named in the 401 challenge")
    parser.add_argument("--secret", action="append", default=[], metavar="NAME=VALUE", help="seed a secret")
    args = parser.parse_args()
    seeds = dict(spec.partition("=")[::2] for spec in args.secret)
    vault = KeyVaultSimulator(args.tenant, authority=args.authority, secrets=seeds)
    serve_forever(vault.app, port=args.port, tls=True)


if __name__ == "__main__":
    main()
