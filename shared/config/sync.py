"""Settings of the IFS → Dynamics sync: per entity (schedule, queue, change detection) and shared options."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

from shared.config.reader import SettingsReader
from shared.config.setting import Setting

QUEUE_PATTERN = r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}"
DETECTIONS = ("etag-ledger", "watermark")
SHIPPED_MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"


def _entity_settings(prefix: str, what: str, queue: str, schedule: str) -> tuple[Setting, ...]:
    feature = f"sync_{prefix.lower()}"
    return (
        Setting(
            f"SYNC_{prefix}_SCHEDULE",
            feature,
            f"NCRONTAB schedule (six fields, seconds first) of the poll that detects changed {what} in IFS.",
            schedule,
            doc="NCRONTAB schedule of the entity's poll (change detection in IFS), e.g. `0 */5 * * * *`",
        ),
        Setting(
            f"SYNC_{prefix}_QUEUE",
            feature,
            f"Queue the {what} poll writes changed keys to and the {what} worker reads.",
            queue,
            doc="Queue the poll writes changed keys to and the entity's worker reads, e.g. `sync-customers`",
        ),
        Setting(
            f"SYNC_{prefix}_DETECTION",
            feature,
            "How changes are detected: etag-ledger (scan keys and ETags in scope, compare with the "
            "ledger) or watermark (a timestamp column at or after the stored watermark minus the overlap).",
            "etag-ledger",
            default="etag-ledger",
            doc=(
                "`etag-ledger` (scan keys and ETags in scope, compare with the ledger; sees deletions and "
                "records leaving the scope) or `watermark` (a timestamp column at or after the stored "
                "watermark minus the overlap; new and changed rows only)"
            ),
        ),
        Setting(
            f"SYNC_{prefix}_SCOPE",
            feature,
            f"OData $filter limiting the {what} polled in IFS (empty: all); records leaving it are read "
            "once more.",
            "",
            default="",
            doc=(
                "OData `$filter` limiting what is polled (e.g. "
                "`CustomerCategory eq IfsApp.CustomerHandling.CustomerCategory'Customer'`); a record leaving "
                "it is read by key once more"
            ),
        ),
        Setting(
            f"SYNC_{prefix}_WATERMARK_COLUMN",
            feature,
            "Timestamp column of the root entity set, for the watermark strategy.",
            "",
            default="",
            doc="Timestamp (or date) column of the entity set, for the watermark strategy",
        ),
        Setting(
            f"SYNC_{prefix}_OVERLAP_SECONDS",
            feature,
            "Watermark strategy: how far before the watermark each poll starts reading (ties, clock skew).",
            "300",
            default="300",
            doc=(
                "Watermark strategy: how far before the watermark each poll starts (ties, clock skew; a date "
                "column goes back a whole day)"
            ),
        ),
    )


def _document_settings(prefix: str, what: str, closed: str) -> tuple[Setting, ...]:
    feature = f"sync_{prefix.lower()}"
    return (
        Setting(
            f"SYNC_{prefix}_CLOSED_STATES",
            feature,
            f"IFS states (comma-separated) of {what} that are done: the poll leaves such {what} out once "
            f"they are older than SYNC_{prefix}_RECENT_DAYS (one that reaches such a state is read once "
            "more); 'none' polls every state.",
            closed,
            default=closed,
            doc=(
                "IFS states (enum identifiers, or qualified `IfsApp.<Projection>.<Type>'<Id>'`) of documents "
                "that are done: a poll leaves them out once they are older than the recent days (one that "
                "reaches such a state is read once more); `none` polls every state"
            ),
        ),
        Setting(
            f"SYNC_{prefix}_RECENT_DAYS",
            feature,
            f"{what.capitalize()} entered in IFS in the last this many days are polled whatever their state "
            "(0-3650), so one closed before any poll saw it still arrives.",
            "30",
            default="30",
            doc=(
                "Documents entered in IFS in the last this many days are polled whatever their state "
                "(0-3650), so one closed before any poll saw it still arrives"
            ),
        ),
    )


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "IFS_COMPANY",
        "sync",
        "IFS company whose credit limit, payment terms and currency a customer's account gets (empty: any).",
        "10",
        default="",
        doc=(
            "IFS company whose credit limit, payment terms and currency a customer's account gets "
            "(empty: any). Credit and terms are per company in IFS"
        ),
    ),
    Setting(
        "SALES_PARTS_SITES",
        "sync",
        "IFS sites (Contract) whose sales parts are synced, in priority order, comma-separated; the first is "
        "the master site for a product's description (empty: every site, alphabetically).",
        "MFG10,MFG11,DIS20,UK30,SE40,FR020",
        default="",
        doc=(
            "IFS sites (`Contract`) whose sales parts are synced, in priority order, "
            "comma-separated; the first is the master site for a product's description (empty: "
            "every site, alphabetically)"
        ),
    ),
    Setting(
        "SYNC_MAPPINGS_DIR",
        "sync",
        "Folder of the mapping files (customers.toml, sales_parts.toml …); empty: the ones shipped in "
        "shared/mappings.",
        "",
        default="",
        doc=(
            "Folder of the mapping files (`customers.toml`, `sales_parts.toml` …); empty: the ones "
            "shipped in `shared/mappings`"
        ),
    ),
    *_entity_settings("CUSTOMERS", "customers", "sync-customers", "0 */5 * * * *"),
    *_entity_settings("SALES_PARTS", "sales parts", "sync-sales-parts", "30 */15 * * * *"),
    *_entity_settings("ORDERS", "customer orders", "sync-orders", "15 */5 * * * *"),
    *_document_settings("ORDERS", "orders", "Invoiced,Cancelled"),
    *_entity_settings("QUOTATIONS", "sales quotations", "sync-quotations", "45 */5 * * * *"),
    *_document_settings("QUOTATIONS", "quotations", "Won,Lost,Cancelled"),
)


@dataclass(frozen=True)
class SyncSettings:
    """Options every IFS → Dynamics flow shares."""

    FEATURE: ClassVar[str] = "sync"
    company: str | None
    sales_part_sites: tuple[str, ...]
    mappings_dir: Path

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read IFS_COMPANY, SALES_PARTS_SITES and SYNC_MAPPINGS_DIR."""
        sites = tuple(s.strip() for s in reader.text("SALES_PARTS_SITES").split(",") if s.strip())
        bad = [s for s in sites if not re.fullmatch(r"[A-Za-z0-9_-]{1,20}", s)]
        if bad:
            reader.problems.append(f"SALES_PARTS_SITES is invalid: {bad} are not site codes")
        folder = reader.text("SYNC_MAPPINGS_DIR")
        mappings = Path(folder) if folder else SHIPPED_MAPPINGS
        if not mappings.is_dir():
            reader.problems.append(f"SYNC_MAPPINGS_DIR is invalid: {str(mappings)!r} is not a folder")
        return cls(company=reader.text("IFS_COMPANY") or None, sales_part_sites=sites, mappings_dir=mappings)


@dataclass(frozen=True)
class EntitySyncSettings:
    """How one entity is polled and processed."""

    entity: str
    schedule: str
    queue: str
    detection: str
    scope: str
    watermark_column: str
    overlap_seconds: int

    FEATURE: ClassVar[str] = ""
    PREFIX: ClassVar[str] = ""
    ENTITY: ClassVar[str] = ""

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read the SYNC_<ENTITY>_* settings."""
        return cls(**cls.fields(reader))

    @classmethod
    def fields(cls, reader: SettingsReader) -> dict[str, Any]:
        """The settings' values by field name (subclasses add their own)."""
        p = f"SYNC_{cls.PREFIX}_"
        detection = reader.pattern(f"{p}DETECTION", "|".join(DETECTIONS), " or ".join(DETECTIONS))
        column = reader.text(f"{p}WATERMARK_COLUMN")
        if column and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", column):
            reader.problems.append(f"{p}WATERMARK_COLUMN is invalid: {column!r} is not a property name")
        if detection == "watermark" and not column:
            reader.problems.append(f"{p}WATERMARK_COLUMN is missing (needed for {p}DETECTION=watermark)")
        return dict(
            entity=cls.ENTITY,
            schedule=reader.schedule(f"{p}SCHEDULE"),
            queue=reader.pattern(f"{p}QUEUE", QUEUE_PATTERN, "a queue name (3-63 lowercase, digits, -)"),
            detection=detection,
            scope=reader.text(f"{p}SCOPE"),
            watermark_column=column,
            overlap_seconds=reader.integer(f"{p}OVERLAP_SECONDS", minimum=0, maximum=86_400),
        )


@dataclass(frozen=True)
class CustomersSyncSettings(EntitySyncSettings):
    """IFS customers → accounts."""

    FEATURE: ClassVar[str] = "sync_customers"
    PREFIX: ClassVar[str] = "CUSTOMERS"
    ENTITY: ClassVar[str] = "customers"


@dataclass(frozen=True)
class SalesPartsSyncSettings(EntitySyncSettings):
    """IFS sales parts → products and price lists."""

    FEATURE: ClassVar[str] = "sync_sales_parts"
    PREFIX: ClassVar[str] = "SALES_PARTS"
    ENTITY: ClassVar[str] = "sales_parts"


@dataclass(frozen=True)
class DocumentSyncSettings(EntitySyncSettings):
    """An entity of documents with a life cycle (orders, quotations): the default poll scope by state."""

    closed_states: tuple[str, ...] = ()
    recent_days: int = 0

    @classmethod
    def fields(cls, reader: SettingsReader) -> dict[str, Any]:
        """The entity's settings, with the closed states and recent days."""
        found = super().fields(reader)
        p = f"SYNC_{cls.PREFIX}_"
        raw = reader.text(f"{p}CLOSED_STATES")
        listed = tuple(s.strip() for s in raw.split(",") if s.strip())
        states = () if raw.strip().lower() == "none" else listed
        bad = [s for s in states if not re.fullmatch(r"(IfsApp(\.[A-Za-z_]\w*)+')?[A-Za-z_]\w*'?", s)]
        if bad:
            reader.problems.append(f"{p}CLOSED_STATES is invalid: {bad} are not IFS state identifiers")
        days = reader.integer(f"{p}RECENT_DAYS", minimum=0, maximum=3650)
        return found | {"closed_states": states, "recent_days": days}


@dataclass(frozen=True)
class OrdersSyncSettings(DocumentSyncSettings):
    """IFS customer orders → sales orders and their lines."""

    FEATURE: ClassVar[str] = "sync_orders"
    PREFIX: ClassVar[str] = "ORDERS"
    ENTITY: ClassVar[str] = "orders"


@dataclass(frozen=True)
class QuotationsSyncSettings(DocumentSyncSettings):
    """IFS sales quotations → quotes and their lines."""

    FEATURE: ClassVar[str] = "sync_quotations"
    PREFIX: ClassVar[str] = "QUOTATIONS"
    ENTITY: ClassVar[str] = "quotations"


ENTITY_SETTINGS: tuple[type[EntitySyncSettings], ...] = (
    CustomersSyncSettings,
    SalesPartsSyncSettings,
    OrdersSyncSettings,
    QuotationsSyncSettings,
)
