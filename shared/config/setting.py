"""One declared app setting, and the error that names every bad setting of a feature."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    """One app setting: its name, the feature that needs it, what it means and a sample value."""

    name: str
    feature: str
    description: str
    sample: str
    default: str | None = None  # None: required by its feature
    secret: bool = False


class ConfigError(Exception):
    """Settings of a feature are missing or invalid; the message names every offending key."""

    def __init__(self, feature: str, problems: list[str]) -> None:
        self.feature = feature
        self.problems = problems
        super().__init__(f"configuration for '{feature}' is incomplete: " + "; ".join(problems))
