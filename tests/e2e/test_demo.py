"""``make demo``'s adapter part runs in CI too, so the README's second command cannot rot unnoticed."""

from __future__ import annotations

from pathlib import Path

from devhost import demo_adapters
from simulators.common.tls import loopback_certificate
from simulators.stack import running_simulators


def test_demo_adapters_part_succeeds(
    azurite_connection_string: str, unique_name: str, tmp_path: Path
) -> None:
    """Every step of the adapters demo reports success and narrates what it did."""
    lines: list[str] = []
    with running_simulators(loopback_certificate(tmp_path), ifs_size=20) as stack:
        storage = {"AzureWebJobsStorage": azurite_connection_string, "STATE_TABLE_PREFIX": unique_name}
        assert demo_adapters.run(stack, storage, lines.append)
    assert any(line.startswith("  webhook received: Create of salesorder") for line in lines)
    assert any("idempotent by key" in line for line in lines)
