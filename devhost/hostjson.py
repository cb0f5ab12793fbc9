"""The parts of host.json the local host honours: queue trigger settings and the HTTP route prefix."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$")


def timespan_seconds(text: str) -> float:
    """Seconds in a .NET TimeSpan string such as ``00:00:30`` or ``1.00:00:00``."""
    match = _TIMESPAN.match(text.strip())
    if match is None:
        raise ValueError(f"not a TimeSpan (hh:mm:ss): {text!r}")
    days, hours, minutes, seconds, fraction = match.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (float(f"0.{fraction}") if fraction else 0.0)


@dataclass(frozen=True)
class QueueSettings:
    """``extensions.queues`` with the Functions host's defaults."""

    batch_size: int = 16  # newBatchThreshold is not read: one local instance, one batch at a time
    max_dequeue_count: int = 5
    visibility_timeout: float = 0.0  # the delay before a failed message is visible again
    max_polling_interval: float = 60.0
    message_encoding: str = "base64"


@dataclass(frozen=True)
class HostSettings:
    """What devhost reads from host.json."""

    queues: QueueSettings = QueueSettings()
    route_prefix: str = "api"

    @classmethod
    def load(cls, path: Path) -> HostSettings:
        """Read ``path`` (defaults for anything it leaves out)."""
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        extensions = document.get("extensions", {})
        queues = extensions.get("queues", {})
        encoding = str(queues.get("messageEncoding", "base64")).lower()
        if encoding not in {"base64", "none"}:
            raise ValueError(f"host.json: messageEncoding must be base64 or none, not {encoding!r}")
        defaults = QueueSettings()
        settings = QueueSettings(
            batch_size=int(queues.get("batchSize", defaults.batch_size)),
            max_dequeue_count=int(queues.get("maxDequeueCount", defaults.max_dequeue_count)),
            visibility_timeout=timespan_seconds(queues.get("visibilityTimeout", "00:00:00")),
            max_polling_interval=timespan_seconds(queues.get("maxPollingInterval", "00:01:00")),
            message_encoding=encoding,
        )
        if not 1 <= settings.batch_size <= 32:
            raise ValueError("host.json: queues.batchSize must be between 1 and 32")
        prefix = str(extensions.get("http", {}).get("routePrefix", "api")).strip("/")
        return cls(queues=settings, route_prefix=prefix)
