"""Settings of the Dynamics → IFS direction: the webhook, the order worker, reconciliation, opportunities.

Four features, so a problem in one leaves the others running: ``d365_webhook`` (what the HTTP function needs
to authenticate a call and enqueue it), ``d365_orders`` (orders won in Dynamics, fulfilment and cancellation
requests, the reconciliation poll), ``d365_opportunities`` (opportunities and leads read through change
tracking) and ``d365_provision`` (what provisioning registers in Dataverse).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Self

from shared.config.reader import SettingsReader
from shared.config.setting import Setting
from shared.config.sync import QUEUE_PATTERN

WEBHOOK_AUTH_MODES = ("header", "query_key")
# salesorder.statecode by name (the salesorder reference: 0 Active … 4 Invoiced)
ORDER_STATES: dict[str, int] = {"active": 0, "submitted": 1, "canceled": 2, "fulfilled": 3, "invoiced": 4}
_ACTION = r"[A-Za-z_][A-Za-z0-9_]*"
_COLUMN = r"[a-z][a-z0-9]{1,7}_[a-z0-9_]+"  # a custom column: publisher prefix, underscore, name

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "D365_WEBHOOK_AUTH",
        "d365_webhook",
        "How Dataverse authenticates its webhook calls: header (a secret header, serviceendpoint authtype "
        "HttpHeader) or query_key (?code=<secret>, authtype WebhookKey); compared in constant time.",
        "header",
        default="header",
        doc=(
            "How Dataverse authenticates webhook calls: `header` (the secret in "
            "`D365_WEBHOOK_HEADER`; serviceendpoint authtype HttpHeader) or `query_key` "
            "(`?code=<secret>`, authtype WebhookKey); compared in constant time by the function, "
            "which is anonymous at the host"
        ),
    ),
    Setting(
        "D365_WEBHOOK_HEADER",
        "d365_webhook",
        "Name of the header that carries the webhook secret when D365_WEBHOOK_AUTH is header.",
        "x-connector-webhook-secret",
        default="x-connector-webhook-secret",
        doc="Header that carries the secret in `header` mode",
    ),
    Setting(
        "D365_WEBHOOK_SECRET",
        "d365_webhook",
        "The secret Dataverse sends with every webhook call (at least 16 characters). With KEY_VAULT_URL "
        "and no value here, it is read from the vault's secret d365-webhook-secret.",
        "local-webhook-secret-change-me",
        secret=True,
        doc=(
            "The secret (at least 16 characters); in Azure the vault secret `d365-webhook-secret`. "
            "Provisioning registers it with the endpoint"
        ),
        required_when="unless `KEY_VAULT_URL` is set",
    ),
    Setting(
        "D365_WEBHOOK_SECRET_PREVIOUS",
        "d365_webhook",
        "While rotating the webhook secret: the old secret, still accepted until "
        "D365_WEBHOOK_SECRET_PREVIOUS_UNTIL (empty: only D365_WEBHOOK_SECRET is accepted).",
        "",
        default="",
        secret=True,
        doc=(
            "While rotating the webhook secret: the old one, still accepted until "
            "`D365_WEBHOOK_SECRET_PREVIOUS_UNTIL` (empty: only `D365_WEBHOOK_SECRET` is accepted)"
        ),
    ),
    Setting(
        "D365_WEBHOOK_SECRET_PREVIOUS_UNTIL",
        "d365_webhook",
        "End of the rotation's grace window (ISO 8601 with a time zone, e.g. 2026-12-09T12:00:00Z): after it "
        "the previous secret is refused. Required with D365_WEBHOOK_SECRET_PREVIOUS.",
        "",
        default="",
        doc=(
            "End of the rotation's grace window (ISO 8601 with a zone); after it the previous "
            "secret is refused. Required with `D365_WEBHOOK_SECRET_PREVIOUS`"
        ),
    ),
    Setting(
        "D365_WEBHOOK_NAME",
        "d365_webhook",
        "Name of the webhook endpoint (serviceendpoint) provisioning registers; the record of what was "
        "registered, and of the organization and application user it belongs to, is kept under it.",
        "ifs-connector",
        default="ifs-connector",
        doc=(
            "Name of the webhook endpoint provisioning registers; the record of what it registered "
            "(and the organization and application user it serves) is kept under it"
        ),
    ),
    Setting(
        "D365_DEDUPE_HOURS",
        "d365_webhook",
        "How long a delivered webhook event is remembered, so a redelivery is recognised (1-720 hours).",
        "48",
        default="48",
        doc="How long an accepted webhook event is remembered, so a redelivery is recognised (1-720)",
    ),
    Setting(
        "D365_ORDERS_QUEUE",
        "d365_orders",
        "Queue the webhook, the reconciliation poll and replays put Dynamics order events on, and the "
        "Dynamics → IFS order worker reads.",
        "d365-orders",
        doc=(
            "Queue of Dynamics order events (webhook, reconciliation, replays) that `d365_orders` "
            "works, e.g. `d365-orders`"
        ),
    ),
    Setting(
        "D365_ORDERS_SEND_STATES",
        "d365_orders",
        "Dynamics states in which an order entered directly in Dynamics is sent to IFS, comma-separated "
        "(active, submitted, fulfilled, invoiced); orders converted from a quote go at once.",
        "submitted",
        default="submitted",
        doc=(
            "Dynamics states in which an order entered directly goes to IFS (`active`, `submitted`, "
            "`fulfilled`, `invoiced`, comma-separated); converted orders go at once"
        ),
    ),
    Setting(
        "D365_ORDERS_IFS_NUMBER_COLUMN",
        "d365_orders",
        "Column of the Dynamics order that receives the IFS order number (a custom text column; provisioning "
        "creates it).",
        "ifs_ordernumber",
        default="ifs_ordernumber",
        doc=(
            "Custom column of the Dynamics order that receives the IFS order number (provisioning creates it)"
        ),
    ),
    Setting(
        "D365_FULFIL_ACTION",
        "d365_orders",
        "Bound action of the IFS customer order run when a person fulfils the order in Dynamics, or none.",
        "CustomerOrder_ReleaseOrder",
        default="CustomerOrder_ReleaseOrder",
        doc=(
            "Bound action of the IFS order run when a person fulfils the order in Dynamics; `none` "
            "to request nothing"
        ),
    ),
    Setting(
        "D365_FULFIL_STATES",
        "d365_orders",
        "IFS order states (Objstate) in which D365_FULFIL_ACTION is run, comma-separated; in any other "
        "state the request is audited as nothing to do.",
        "Planned",
        default="Planned",
        doc=(
            "IFS states (`Objstate`, comma-separated) in which the fulfil action runs (otherwise: "
            "audited as nothing to do)"
        ),
    ),
    Setting(
        "D365_CANCEL_ACTION",
        "d365_orders",
        "Bound action of the IFS customer order run when a person cancels the order in Dynamics.",
        "CustomerOrder_SetCancelled",
        default="CustomerOrder_SetCancelled",
        doc="Bound action of the IFS order run when a person cancels the order in Dynamics",
    ),
    Setting(
        "D365_RECONCILE_SCHEDULE",
        "d365_orders",
        "NCRONTAB schedule of the reconciliation poll that finds Dynamics orders which should be in IFS "
        "but are not (an undelivered webhook) and enqueues them.",
        "0 */10 * * * *",
        doc=(
            "NCRONTAB schedule of the reconciliation poll (orders a webhook never delivered), e.g. "
            "`0 */10 * * * *`"
        ),
    ),
    Setting(
        "D365_RECONCILE_LOOKBACK_HOURS",
        "d365_orders",
        "How far back (by modifiedon) the reconciliation poll looks for orders missing in IFS (1-8760 h).",
        "168",
        default="168",
        doc="How far back (by `modifiedon`) the reconciliation poll looks (1-8760)",
    ),
    Setting(
        "IFS_QUOTATION_ORDER_ACTION",
        "d365_orders",
        "Bound action of an IFS sales quotation that makes a customer order of it (ASSUMED name; none: a "
        "new order referencing the quotation is created and the quotation is closed as won).",
        "OrderQuotation_CreateOrder",
        default="OrderQuotation_CreateOrder",
        doc=(
            "Bound action making an IFS order of an IFS quotation (assumed name); `none`: a new "
            "order referencing the quotation, the quotation closed as won"
        ),
    ),
    Setting(
        "IFS_QUOTATION_WON_ACTION",
        "d365_orders",
        "Bound action that closes an IFS sales quotation as won, used when IFS_QUOTATION_ORDER_ACTION is "
        "none (ASSUMED name).",
        "OrderQuotation_SetWon",
        default="OrderQuotation_SetWon",
        doc=(
            "Bound action closing an IFS quotation as won when there is no conversion action (assumed name)"
        ),
    ),
    Setting(
        "D365_OPPORTUNITIES_SCHEDULE",
        "d365_opportunities",
        "NCRONTAB schedule of the poll reading changed Dynamics opportunities and leads (change tracking).",
        "15 */5 * * * *",
        doc=(
            "NCRONTAB schedule of the change-tracking poll of opportunities and leads, e.g. `15 */5 * * * *`"
        ),
    ),
    Setting(
        "D365_OPPORTUNITIES_QUEUE",
        "d365_opportunities",
        "Queue the opportunities poll writes changed opportunities and leads to and their worker reads.",
        "d365-opportunities",
        doc=(
            "Queue of changed opportunities and leads that `d365_opportunities` works, e.g. "
            "`d365-opportunities`"
        ),
    ),
    Setting(
        "D365_WEBHOOK_URL",
        "d365_provision",
        "Public URL of the webhook function that provisioning registers in Dataverse; empty: "
        "https://<WEBSITE_HOSTNAME>/api/webhooks/dataverse, which Azure sets for the app.",
        "http://127.0.0.1:7071/api/webhooks/dataverse",
        default="",
        doc=(
            "Public URL of the webhook that provisioning registers; empty: "
            "`https://<WEBSITE_HOSTNAME>/api/webhooks/dataverse` (Azure sets `WEBSITE_HOSTNAME`); "
            "outside Azure set it or pass `--webhook-url`"
        ),
    ),
)


def _moment(reader: SettingsReader, name: str, text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        reader.problems.append(f"{name} is invalid: expected an ISO 8601 time with a time zone, got {text!r}")
        return None
    return moment


def _names(reader: SettingsReader, name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in reader.text(name).split(",") if part.strip())


@dataclass(frozen=True)
class D365WebhookSettings:
    """What the webhook function needs: how calls authenticate, where events go, how long dedupe lasts."""

    FEATURE: ClassVar[str] = "d365_webhook"
    auth: str
    header: str
    secret: str | None = field(repr=False)  # None: read D365_WEBHOOK_SECRET from Key Vault
    previous: str | None = field(repr=False)  # the old secret while rotating, until previous_until
    previous_until: datetime | None
    name: str
    queue: str
    dedupe_hours: int

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read the D365_WEBHOOK_* settings and the orders queue."""
        auth = reader.pattern(
            "D365_WEBHOOK_AUTH", "|".join(WEBHOOK_AUTH_MODES), " or ".join(WEBHOOK_AUTH_MODES)
        )
        secret = reader.vaulted("D365_WEBHOOK_SECRET")
        if secret is not None and len(secret) < 16:
            reader.problems.append("D365_WEBHOOK_SECRET is invalid: use at least 16 characters")
        previous = reader.text("D365_WEBHOOK_SECRET_PREVIOUS") or None
        until_text = reader.text("D365_WEBHOOK_SECRET_PREVIOUS_UNTIL")
        until = _moment(reader, "D365_WEBHOOK_SECRET_PREVIOUS_UNTIL", until_text) if until_text else None
        if previous is not None and until_text == "":
            reader.problems.append(
                "D365_WEBHOOK_SECRET_PREVIOUS_UNTIL is missing (needed with D365_WEBHOOK_SECRET_PREVIOUS: "
                "the end of the rotation's grace window)"
            )
        return cls(
            auth=auth,
            header=reader.pattern("D365_WEBHOOK_HEADER", r"[A-Za-z0-9-]{1,100}", "an HTTP header name"),
            secret=secret,
            previous=previous,
            previous_until=until,
            name=reader.pattern(
                "D365_WEBHOOK_NAME", r"[A-Za-z0-9 _.-]{1,100}", "a name (letters, digits, - _ .)"
            ),
            queue=reader.pattern(
                "D365_ORDERS_QUEUE", QUEUE_PATTERN, "a queue name (3-63 lowercase, digits, -)"
            ),
            dedupe_hours=reader.integer("D365_DEDUPE_HOURS", minimum=1, maximum=720),
        )


@dataclass(frozen=True)
class D365OrdersSettings:
    """Orders won in Dynamics: which states send one, where the IFS number goes, the fulfil/cancel steps."""

    FEATURE: ClassVar[str] = "d365_orders"
    queue: str
    send_states: frozenset[int]
    ifs_number_column: str
    fulfil_action: str | None
    fulfil_states: frozenset[str]
    cancel_action: str
    reconcile_schedule: str
    reconcile_lookback_hours: int
    quotation_order_action: str | None
    quotation_won_action: str | None

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read the D365_ORDERS_*, D365_FULFIL_*, D365_CANCEL_*, D365_RECONCILE_* and quotation settings."""
        states = _names(reader, "D365_ORDERS_SEND_STATES")
        unknown = [s for s in states if s.lower() not in ORDER_STATES or s.lower() == "canceled"]
        if unknown or not states:
            allowed = ", ".join(s for s in ORDER_STATES if s != "canceled")
            reader.problems.append(
                f"D365_ORDERS_SEND_STATES is invalid: expected some of {allowed}, got {unknown or states}"
            )

        def action(name: str, *, optional: bool) -> str | None:
            text = reader.text(name)
            if optional and text.lower() in ("", "none"):
                return None
            if not re.fullmatch(_ACTION, text):
                reader.problems.append(f"{name} is invalid: expected a bound action name, got {text!r}")
            return text

        return cls(
            queue=reader.pattern(
                "D365_ORDERS_QUEUE", QUEUE_PATTERN, "a queue name (3-63 lowercase, digits, -)"
            ),
            send_states=frozenset(ORDER_STATES[s.lower()] for s in states if s.lower() in ORDER_STATES),
            ifs_number_column=reader.pattern(
                "D365_ORDERS_IFS_NUMBER_COLUMN",
                _COLUMN,
                "a custom column's logical name, e.g. ifs_ordernumber",
            ),
            fulfil_action=action("D365_FULFIL_ACTION", optional=True),
            fulfil_states=frozenset(_names(reader, "D365_FULFIL_STATES")),
            cancel_action=action("D365_CANCEL_ACTION", optional=False) or "",
            reconcile_schedule=reader.schedule("D365_RECONCILE_SCHEDULE"),
            reconcile_lookback_hours=reader.integer("D365_RECONCILE_LOOKBACK_HOURS", minimum=1, maximum=8760),
            quotation_order_action=action("IFS_QUOTATION_ORDER_ACTION", optional=True),
            quotation_won_action=action("IFS_QUOTATION_WON_ACTION", optional=True),
        )


@dataclass(frozen=True)
class D365OpportunitiesSettings:
    """Opportunities and leads: the change-tracking poll and its queue."""

    FEATURE: ClassVar[str] = "d365_opportunities"
    schedule: str
    queue: str

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read D365_OPPORTUNITIES_SCHEDULE and D365_OPPORTUNITIES_QUEUE."""
        return cls(
            schedule=reader.schedule("D365_OPPORTUNITIES_SCHEDULE"),
            queue=reader.pattern(
                "D365_OPPORTUNITIES_QUEUE", QUEUE_PATTERN, "a queue name (3-63 lowercase, digits, -)"
            ),
        )


@dataclass(frozen=True)
class D365ProvisionSettings:
    """What provisioning registers: the webhook's public URL (derived in Azure when left empty)."""

    FEATURE: ClassVar[str] = "d365_provision"
    webhook_url: str | None  # None: not configured and not in Azure; provisioning says so when it needs it

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read D365_WEBHOOK_URL, else derive it from the host's WEBSITE_HOSTNAME."""
        url = reader.url("D365_WEBHOOK_URL") if reader.text("D365_WEBHOOK_URL") else ""
        if not url:
            host = reader.host_variable("WEBSITE_HOSTNAME")
            url = f"https://{host}/api/webhooks/dataverse" if host else ""
        return cls(webhook_url=url or None)
