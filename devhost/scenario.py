"""A connector wired to the simulators, for the demo, the benchmarks and the end-to-end tests (dev/test only).

``SyncScenario`` holds app settings that point at a running ``SimulatorStack`` and a storage account, the
sync runtime built from them by the connector's own composition root, and the steps an administrator
takes before a first run: the organization's currencies (org set-up: Dataverse carries their exchange
rates, the connector never creates one) and the alternate keys (``provision``). ``run_once`` polls an
entity and works its queue in this process until it is empty, exactly as the timer and the queue worker
do under the Functions host.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from devhost.host import REPO_ROOT
from shared.config import AppSettings, read_local_settings
from shared.dataverse.client import DataverseClient
from shared.dataverse.provisioning import Provisioner
from shared.runtime import SyncRuntime, sync_runtime
from shared.sync.detection import PollResult
from shared.sync.engine import Report
from shared.sync.provision import KeyStatus, provision
from simulators.common.admin_client import AdminClient
from simulators.stack import SimulatorStack

# The currencies of the seeded IFS sites beside the org's base currency (USD), with rates to it.
CURRENCIES: dict[str, tuple[str, float]] = {
    "EUR": ("Euro", 0.92),
    "GBP": ("Pound Sterling", 0.79),
    "SEK": ("Swedish Krona", 10.5),
    "NOK": ("Norwegian Krone", 10.8),  # no seeded site uses it: tests add it late, to heal parked records
}
SITE_CURRENCIES = ("EUR", "GBP", "SEK")
# Settings the sample file has that a scenario leaves out: the secrets come from the Key Vault simulator.
_FROM_VAULT = ("IFS_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEY")
NEVER = "0 0 0 1 1 *"  # a timer schedule that fires once a year: tests and demos fire timers themselves


def scenario_settings(stack: SimulatorStack, storage: str, prefix: str, **overrides: str) -> dict[str, str]:
    """The sample app settings pointed at ``stack`` and ``storage`` (secrets from the vault simulator)."""
    return settings_for(stack.app_settings(), storage, prefix, **overrides)


def settings_for(
    simulators: Mapping[str, str], storage: str, prefix: str, **overrides: str
) -> dict[str, str]:
    """``scenario_settings`` from the simulators' app settings (a stack served by another process)."""
    values = read_local_settings(REPO_ROOT / "local.settings.sample.json")
    for name in _FROM_VAULT:
        values.pop(name, None)
    values |= simulators
    values |= {
        "AzureWebJobsStorage": storage,
        "STATE_TABLE_PREFIX": prefix,
        "HEARTBEAT_SCHEDULE": NEVER,
        "ECHO_QUEUE": f"{prefix}-echo",
        "SYNC_CUSTOMERS_SCHEDULE": NEVER,
        "SYNC_CUSTOMERS_QUEUE": f"{prefix}-customers",
        "SYNC_SALES_PARTS_SCHEDULE": NEVER,
        "SYNC_SALES_PARTS_QUEUE": f"{prefix}-sales-parts",
        "D365_RECONCILE_SCHEDULE": NEVER,
        "D365_OPPORTUNITIES_SCHEDULE": NEVER,
        "SYNC_ORDERS_SCHEDULE": NEVER,
        "SYNC_ORDERS_QUEUE": f"{prefix}-orders",
        "SYNC_QUOTATIONS_SCHEDULE": NEVER,
        "SYNC_QUOTATIONS_QUEUE": f"{prefix}-quotations",
    }
    return values | overrides


def add_currencies(dataverse: DataverseClient, codes: Iterable[str] = SITE_CURRENCIES) -> None:
    """Create the organization's currencies not there yet (an administrator's set-up before the first run)."""
    existing = {
        r["isocurrencycode"] for r in dataverse.query("transactioncurrencies", select=["isocurrencycode"])
    }
    for code in codes:
        if code in existing:
            continue
        name, rate = CURRENCIES[code]
        dataverse.create(
            "transactioncurrencies",
            {
                "isocurrencycode": code,
                "currencyname": name,
                "currencysymbol": code,
                "exchangerate": rate,
                "currencyprecision": 2,
            },
        )


@dataclass
class SyncScenario:
    """The connector's sync runtime against running simulators, driven in-process."""

    stack: SimulatorStack
    values: dict[str, str]
    reports: list[Report] = field(default_factory=list)
    failures: int = 0  # message tries that raised (the host would retry them)

    @property
    def settings(self) -> AppSettings:
        """The app settings."""
        return AppSettings(self.values)

    @property
    def runtime(self) -> SyncRuntime:
        """The connector's runtime for these settings (built once per process)."""
        return sync_runtime(self.settings)

    def verify(self) -> ssl.SSLContext:
        """Trust for the simulators' certificate."""
        return ssl.create_default_context(cafile=str(self.stack.identity.tls.cert_path))

    def admin(self, system: str) -> AdminClient:
        """The ``/_admin`` client of ``ifs`` or ``dataverse``."""
        url = self.stack.ifs_url if system == "ifs" else self.stack.dataverse_url
        return AdminClient(httpx.Client(base_url=url, verify=self.verify(), timeout=30, trust_env=False))

    # ---- an administrator's first steps ----------------------------------------------------------

    def add_currencies(self, codes: Iterable[str] = SITE_CURRENCIES) -> None:
        """Create the organization's currencies (what an administrator does before the first run)."""
        add_currencies(self.runtime.dataverse, codes)

    def provision(self) -> list[KeyStatus]:
        """The columns and alternate keys every mapping needs, created and awaited (``provision``'s path)."""
        runtime = self.runtime
        provisioner = Provisioner(runtime.dataverse, sleep=self.stack.identity.clock.advance)
        mappings = [runtime.engine.mapping(e) for e in runtime.engine.entities]
        _columns, keys = provision(mappings, provisioner, poll=0.5)
        return keys

    # ---- running ---------------------------------------------------------------------------------

    def run_once(self, entity: str) -> tuple[PollResult, Report]:
        """Poll ``entity`` and work its queue until empty; the poll and everything the workers did."""
        runtime = self.runtime
        polled = runtime.poll(entity)
        return polled, self.drain(entity)

    def drain(self, entity: str, *, timeout: float = 120.0, max_tries: int = 5) -> Report:
        """Work the entity's queue in this process until it is empty (the runtime's own queue runner)."""
        report = self.runtime.drain(entity, timeout=timeout, max_tries=max_tries)
        self.failures += report.failures
        self.reports.append(report)
        return report

    def rows(self, entity_set: str, select: list[str], **filters: Any) -> list[dict[str, Any]]:
        """Dataverse rows, read through the connector's client."""
        condition = " and ".join(f"{k} eq '{v}'" for k, v in filters.items()) or None
        return list(self.runtime.dataverse.query(entity_set, select=select, filter=condition))
