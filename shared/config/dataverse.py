"""Settings of the Dataverse Web API client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from shared.config.platform import call_budget
from shared.config.reader import SettingsReader
from shared.config.setting import Setting

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATAVERSE_URL",
        "dataverse",
        "Dataverse environment URL (https://<org>.crm.dynamics.com); tokens are asked for <url>/.default.",
        "https://org.crm.dynamics.com",
    ),
    Setting(
        "DATAVERSE_PAGE_SIZE",
        "dataverse",
        "Rows per page the Dataverse client asks for (Prefer: odata.maxpagesize), 1-5000.",
        "500",
        default="500",
    ),
    Setting(
        "DATAVERSE_TIMEOUT_SECONDS",
        "dataverse",
        "Timeout of one Dataverse Web API request in seconds (1-600); retries come on top.",
        "120",
        default="120",
    ),
)


@dataclass(frozen=True)
class DataverseSettings:
    """Where the Dataverse Web API is and how the client pages and times out."""

    FEATURE: ClassVar[str] = "dataverse"
    url: str
    page_size: int
    timeout_seconds: int
    call_budget_seconds: int

    @property
    def scope(self) -> str:
        """The token scope for this environment: ``<url>/.default``."""
        return f"{self.url}/.default"

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Read DATAVERSE_URL, DATAVERSE_PAGE_SIZE, DATAVERSE_TIMEOUT_SECONDS and CALL_BUDGET_SECONDS."""
        url = reader.url("DATAVERSE_URL", https=True)
        page_size = reader.integer("DATAVERSE_PAGE_SIZE", minimum=1, maximum=5000)
        known = len(reader.problems)
        settings = cls(
            url=url,
            page_size=page_size,
            timeout_seconds=reader.integer("DATAVERSE_TIMEOUT_SECONDS", minimum=1, maximum=600),
            call_budget_seconds=call_budget(reader),
        )
        both_valid = len(reader.problems) == known
        if both_valid and settings.call_budget_seconds < settings.timeout_seconds:
            reader.problems.append(
                f"CALL_BUDGET_SECONDS is invalid: {settings.call_budget_seconds} s is shorter than one "
                f"request may take (DATAVERSE_TIMEOUT_SECONDS, {settings.timeout_seconds} s)"
            )
        return settings
