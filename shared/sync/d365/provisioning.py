"""Provisioning of what the Dynamics → IFS direction needs in Dataverse, and its exact removal.

``provision`` (the ``provision`` command and the admin HTTP function both call it) makes sure of:

- the alternate keys the IFS → Dynamics mappings need (``shared.sync.provision``), created and awaited;
- the custom column that receives the IFS order number on the Dynamics order;
- change tracking on the opportunity and lead tables. It cannot be turned off again once on, so ``notify``
  is told so before it is switched on;
- the webhook endpoint (``serviceendpoint``) and its asynchronous post-operation steps: Create of
  salesorder (an order converted from a quote carries ``quoteid``), Update of salesorder filtered on
  ``statecode,statuscode``, and, where the org allows custom steps on them (the sdkmessage probe),
  ConvertQuoteToSalesOrder of quote, FulfillSalesOrder and CancelSalesOrder of salesorder;
- the record of what was registered (endpoint and step ids, and ``WhoAmI``'s organization and user, which
  the webhook checks calls against) in Table Storage.

Running it twice changes nothing: every step finds what it would create. The endpoint's authentication
cannot be read back from Dataverse, so a hash of it is kept with the record and the endpoint is written
only when URL or secret changed. ``deprovision`` removes exactly the steps recorded, and the endpoint when
none other is left on it; keys, the column and change tracking stay (data depends on them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from shared.records import Subscription
from shared.sync.ports import RegisteredWebhooks

ORDER_NUMBER_LABEL = "IFS order number"
ORDER_NUMBER_LENGTH = 100
TRACKED_TABLES = ("opportunity", "lead")
STATE_COLUMNS = ("statecode", "statuscode")


@dataclass(frozen=True)
class StepSpec:
    """One step the connector wants: on ``message`` of ``table`` (Update: when a listed column changes)."""

    message: str
    table: str
    filtering_attributes: tuple[str, ...] = ()
    optional: bool = False  # registered only where the org allows custom steps on it


STEPS: tuple[StepSpec, ...] = (
    StepSpec("Create", "salesorder"),
    StepSpec("Update", "salesorder", STATE_COLUMNS),
    StepSpec("ConvertQuoteToSalesOrder", "quote", optional=True),
    StepSpec("FulfillSalesOrder", "salesorder", optional=True),
    StepSpec("CancelSalesOrder", "salesorder", optional=True),
)


class DataverseSetup(Protocol):
    """What provisioning does in Dataverse (``shared.dataverse.setup.DataverseSetup``)."""

    @property
    def auth_fingerprint(self) -> str:
        """A hash of the webhook authentication that will be registered (never the secret)."""
        ...

    def who_am_i(self) -> tuple[str, str]:
        """(application user id, organization id) of the connector's identity."""
        ...

    def ensure_text_column(self, table: str, column: str, max_length: int, label: str) -> bool:
        """Create a custom text column unless it exists; True when created now."""
        ...

    def change_tracking_enabled(self, table: str) -> bool:
        """Whether the table tracks changes."""
        ...

    def enable_change_tracking(self, table: str) -> None:
        """Switch change tracking on, for good."""
        ...

    def step_allowed(self, message: str, table: str) -> bool:
        """Whether custom steps may be registered on ``message`` of ``table``."""
        ...

    def register_webhook(
        self, name: str, url: str, steps: Sequence[StepSpec], *, write_endpoint: bool
    ) -> tuple[str, dict[str, str]]:
        """Make the endpoint hold exactly ``steps``: (endpoint id, step name → step id)."""
        ...

    def step_ids(self, endpoint_id: str) -> list[str]:
        """The steps the endpoint holds now."""
        ...

    def remove_steps(self, step_ids: Sequence[str]) -> int:
        """Delete these steps; how many were there."""
        ...

    def remove_endpoint(self, endpoint_id: str) -> bool:
        """Delete the endpoint; False when it was gone."""
        ...


@dataclass
class ProvisionReport:
    """What provisioning found and did (``changed`` lists only what it changed)."""

    endpoint_id: str = ""
    steps: dict[str, str] = field(default_factory=dict)
    skipped_steps: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    organization_id: str = ""
    application_user_id: str = ""


def provision(
    setup: DataverseSetup,
    registrations: RegisteredWebhooks,
    *,
    name: str,
    url: str,
    number_column: str,
    notify: Callable[[str], None],
) -> ProvisionReport:
    """Make Dataverse deliver what the Dynamics → IFS flows need; see the module docstring."""
    report = ProvisionReport()
    if setup.ensure_text_column("salesorder", number_column, ORDER_NUMBER_LENGTH, ORDER_NUMBER_LABEL):
        report.changed.append(f"column salesorder.{number_column} created")
    for table in TRACKED_TABLES:
        if not setup.change_tracking_enabled(table):
            notice = (
                f"enabling change tracking on {table}: Dataverse cannot turn it off again once it is on "
                "(it keeps a record of changes for the org's ExpireChangeTrackingInDays)"
            )
            notify(notice)
            report.notices.append(notice)
            setup.enable_change_tracking(table)
            report.changed.append(f"change tracking on {table} enabled")
    user_id, organization_id = setup.who_am_i()
    report.application_user_id, report.organization_id = user_id, organization_id
    steps = [s for s in STEPS if not s.optional or setup.step_allowed(s.message, s.table)]
    report.skipped_steps = [f"{s.message} of {s.table}" for s in STEPS if s not in steps]
    previous = registrations.get(name)
    fingerprint = setup.auth_fingerprint
    write = previous is None or previous.endpoint_url != url or previous.auth_fingerprint != fingerprint
    endpoint_id, step_ids = setup.register_webhook(name, url, steps, write_endpoint=write)
    report.endpoint_id, report.steps = endpoint_id, step_ids
    record = Subscription(
        name=name,
        endpoint_url=url,
        service_endpoint_id=endpoint_id,
        step_ids=step_ids,
        organization_id=organization_id,
        application_user_id=user_id,
        auth_fingerprint=fingerprint,
    )
    if previous is None or _differs(previous, record):
        registrations.save(record)
        report.changed.append(
            f"webhook {name!r} registered at {url}" if write else f"webhook {name!r} recorded"
        )
    return report


def _differs(old: Subscription, new: Subscription) -> bool:
    fields = ("endpoint_url", "service_endpoint_id", "step_ids", "organization_id", "application_user_id")
    return (
        any(getattr(old, f) != getattr(new, f) for f in fields)
        or old.auth_fingerprint != new.auth_fingerprint
    )


@dataclass
class DeprovisionReport:
    """What ``deprovision`` removed and what it left, with why."""

    removed_steps: int = 0
    endpoint_removed: bool = False
    kept: list[str] = field(default_factory=list)


def deprovision(setup: DataverseSetup, registrations: RegisteredWebhooks, *, name: str) -> DeprovisionReport:
    """Remove exactly what ``provision`` registered under ``name``, and nothing else."""
    report = DeprovisionReport()
    record = registrations.get(name)
    if record is None:
        report.kept.append(f"nothing is recorded as registered under {name!r}")
        return report
    ours = list(record.step_ids.values())
    report.removed_steps = setup.remove_steps(ours)
    others = [s for s in setup.step_ids(record.service_endpoint_id) if s not in ours] if ours else []
    if others:
        report.kept.append(
            f"endpoint {record.service_endpoint_id}: it holds {len(others)} step(s) not registered here"
        )
    else:
        report.endpoint_removed = setup.remove_endpoint(record.service_endpoint_id)
    registrations.delete(name)
    report.kept.append(
        "alternate keys, the IFS order number column and change tracking (data depends on them)"
    )
    return report
