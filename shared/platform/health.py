"""What the health endpoints report: per feature, the problems of its settings and of telemetry's set-up.

``/api/health`` is anonymous, so it shows the status and only the *names* of the problems (the settings
concerned): the messages quote non-secret but private values, such as a Key Vault host or a file path.
``/api/health/details`` needs a function key and shows the messages (never secret values: the settings
reader does not echo them).
"""

from __future__ import annotations

import re
from typing import Any

from shared.config import SETTINGS_BY_NAME, AppSettings
from shared.platform import telemetry

_LEADING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
UNNAMED = "unnamed problem"


def problems(settings: AppSettings) -> dict[str, list[str]]:
    """Problem messages per feature: settings that are missing or invalid, and a failed telemetry set-up."""
    found = settings.problems()
    for problem in telemetry.problems():
        found.setdefault("telemetry", []).append(problem)
    return found


def problem_name(problem: str) -> str:
    """The setting a problem message is about (every message starts with its setting's name)."""
    match = _LEADING_NAME.match(problem)
    return match.group() if match and match.group() in SETTINGS_BY_NAME else UNNAMED


def report(settings: AppSettings, *, detailed: bool) -> dict[str, Any]:
    """The health body: ``status`` (ok or degraded) and ``configuration`` (problems per feature).

    Without ``detailed`` each feature lists the names of its problem settings, once each.
    """
    found = problems(settings)
    if detailed:
        return {"status": "degraded" if found else "ok", "configuration": found}
    names = {feature: list(dict.fromkeys(map(problem_name, messages))) for feature, messages in found.items()}
    return {"status": "degraded" if found else "ok", "configuration": names}
