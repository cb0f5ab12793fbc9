"""One declared app setting, and the error that names every bad setting of a feature."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    """One app setting: its name, the feature that needs it, what it means and a sample value.

    ``description`` is plain text, quoted by the messages that name a missing setting. ``doc`` and
    ``required_when`` are for the README's configuration reference only (``shared.config.reference``
    writes it): ``doc`` is the reference's Markdown text when it says more than the description (settings
    with the same ``doc`` share one row), ``required_when`` the condition of a setting that is required
    only sometimes (``"unless `KEY_VAULT_URL` is set"``).
    """

    name: str
    feature: str
    description: str
    sample: str
    default: str | None = None  # None: required by its feature
    secret: bool = False
    doc: str = ""  # Markdown for the configuration reference; empty: the description
    required_when: str = ""  # a conditional requirement, for the configuration reference


class ConfigError(Exception):
    """Settings of a feature are missing or invalid; the message names every offending key."""

    def __init__(self, feature: str, problems: list[str]) -> None:
        self.feature = feature
        self.problems = problems
        super().__init__(f"configuration for '{feature}' is incomplete: " + "; ".join(problems))
