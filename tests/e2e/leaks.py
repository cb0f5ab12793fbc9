"""What must never reach a log line or an audit row: secrets, tokens and personal data (names, addresses).

``captured_logs`` records every log line of the process (every logger, DEBUG and up, with the attributes a
record carries beyond its message, as the Application Insights exporter would send them); ``sensitive``
lists the values of a scenario that must not appear: the secrets the stack seeded (IFS client secret, Entra
client secret, the token-encryption key) and the personal values of the IFS customers (names, address
lines); ``leaks`` finds them, and any bearer token, in lines of text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from devhost.scenario import SyncScenario
from shared.config import CATALOG
from tests.integration.sync.oracle import ifs_rows

_STANDARD = set(vars(logging.makeLogRecord({})))
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name} {record.levelname} {text} {extra}")


@contextmanager
def captured_logs() -> Iterator[list[str]]:
    """Every log line of the block, of every logger at DEBUG and up."""
    handler = _Lines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    quiet = {
        name: logging.getLogger(name).level for name in ("azure", "httpx", "httpcore", "urllib3", "msal")
    }
    for name in quiet:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for name, was in quiet.items():
            logging.getLogger(name).setLevel(was)


def sensitive(scenario: SyncScenario) -> dict[str, str]:
    """Value → what it is, for every secret and personal value of the scenario."""
    found: dict[str, str] = {}
    secret_names = {s.name for s in CATALOG if s.secret and s.name != "AzureWebJobsStorage"}
    for name in secret_names:
        value = scenario.values.get(name, "")
        if len(value) >= 6:
            found[value] = name
    vault = scenario.stack.identity.vault
    for name in ("ifs-client-secret", "token-encryption-key"):
        secret = vault.get_secret(name)
        if secret is not None:
            found[secret.value] = f"Key Vault secret {name}"
    for customer in ifs_rows(scenario, "CustomerInfoSet"):
        if len(str(customer.get("Name") or "")) >= 4:
            found[str(customer["Name"])] = "a customer's name"
    for address in ifs_rows(scenario, "CustomerInfoAddressSet"):
        for field in ("Name", "Address1", "Address2"):
            if len(str(address.get(field) or "")) >= 6:
                found[str(address[field])] = f"a customer's address ({field})"
    return found


def leaks(lines: Iterable[str], values: dict[str, str]) -> list[tuple[str, str]]:
    """(what leaked, the line) for every sensitive value or bearer token in ``lines``."""
    found = []
    for line in lines:
        found += [(what, line[:300]) for value, what in values.items() if value in line]
        if _JWT.search(line):
            found.append(("a bearer token", line[:300]))
    return found


def audit_lines(scenario: SyncScenario) -> list[str]:
    """Every audit row of the last two days as text (every column)."""
    rows: list[Any] = list(scenario.runtime.storage.audit.recent(days=2))
    return [repr(row) for row in rows]
