"""Reads declared settings from app settings, collecting every problem of a feature at once."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar, Protocol, Self, TypeVar
from urllib.parse import urlsplit

from shared.config.setting import Setting
from shared.platform.ncrontab import Schedule, ScheduleError

_KEY_VAULT_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\(", re.IGNORECASE)
T = TypeVar("T")


class SettingsReader:
    """Reads declared settings from a mapping, collecting every problem instead of stopping at the first."""

    def __init__(self, values: Mapping[str, str], catalog: Mapping[str, Setting] | None = None) -> None:
        if catalog is None:
            # Imported here: the catalog gathers the feature modules, which import this one.
            from shared.config.catalog import SETTINGS_BY_NAME  # noqa: PLC0415

            catalog = SETTINGS_BY_NAME
        self._values = values
        self._catalog = catalog
        self.problems: list[str] = []

    def _raw(self, name: str) -> str | None:
        spec = self._catalog.get(name)
        if spec is None:  # a programming error, not a configuration error
            raise KeyError(f"setting {name} is not declared in shared.config.catalog")
        value = self._values.get(name)
        if value is None or value.strip() == "":
            if spec.default is None:
                self.problems.append(f"{name} is missing ({spec.description})")
            return spec.default
        if _KEY_VAULT_REFERENCE.match(value):
            # App Service leaves the literal reference in place when it cannot resolve it.
            self.problems.append(
                f"{name} is an unresolved Key Vault reference; check the app's identity and access"
            )
            return None
        return value.strip()

    def _checked(self, name: str, parse: Callable[[str], T], fallback: T, expected: str) -> T:
        raw = self._raw(name)
        if raw is None:
            return fallback
        try:
            return parse(raw)
        except ValueError:
            shown = "<hidden>" if self._catalog[name].secret else repr(raw)
            self.problems.append(f"{name} is invalid: expected {expected}, got {shown}")
            return fallback

    def host_variable(self, name: str) -> str | None:
        """A variable the Functions host sets itself (``WEBSITE_INSTANCE_ID``): read, never declared."""
        value = self._values.get(name)
        return value.strip() or None if value is not None else None

    def describe(self, name: str) -> str:
        """The declared description of setting ``name``."""
        return self._catalog[name].description

    def text(self, name: str) -> str:
        """A non-empty string."""
        return self._raw(name) or ""

    def vaulted(self, name: str) -> str | None:
        """A secret setting that may live in Key Vault instead: its value, or None to read it from the vault.

        Missing is a problem only when KEY_VAULT_URL is not set either.
        """
        value = self.text(name)
        if value:
            return value
        if not self.text("KEY_VAULT_URL"):
            self.problems.append(
                f"{name} is missing (set it, or set KEY_VAULT_URL to read it from Key Vault)"
            )
        return None

    def integer(self, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
        """An integer within optional bounds."""

        def parse(raw: str) -> int:
            value = int(raw)
            if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
                raise ValueError(raw)
            return value

        return self._checked(name, parse, minimum or 0, f"an integer in [{minimum}, {maximum}]")

    def flag(self, name: str) -> bool:
        """A boolean written true/false (also 1/0, yes/no)."""

        def parse(raw: str) -> bool:
            lowered = raw.lower()
            if lowered in {"true", "1", "yes"}:
                return True
            if lowered in {"false", "0", "no"}:
                return False
            raise ValueError(raw)

        return self._checked(name, parse, False, "true or false")

    def url(self, name: str, *, https: bool = False) -> str:
        """An absolute http(s) URL without a trailing slash."""

        def parse(raw: str) -> str:
            parts = urlsplit(raw)
            if parts.scheme not in ({"https"} if https else {"http", "https"}) or not parts.netloc:
                raise ValueError(raw)
            return raw.rstrip("/")

        return self._checked(name, parse, "", "an absolute https URL" if https else "an absolute URL")

    def pattern(self, name: str, regex: str, expected: str) -> str:
        """A string that fully matches ``regex``."""

        def parse(raw: str) -> str:
            if not re.fullmatch(regex, raw):
                raise ValueError(raw)
            return raw

        return self._checked(name, parse, "", expected)

    def schedule(self, name: str) -> str:
        """An NCRONTAB expression (six fields, seconds first), parsed exactly as devhost's timers parse it."""
        raw = self._raw(name)
        if raw is None:
            return ""
        try:
            Schedule.parse(raw)
        except ScheduleError as exc:
            expected = "expected six NCRONTAB fields, seconds first, e.g. '0 */5 * * * *'"
            self.problems.append(f"{name} is invalid: {exc} ({expected})")
            return ""
        return raw

    def key_bytes(self, name: str, length: int) -> bytes:
        """Base64 of exactly ``length`` bytes."""
        return self._checked(name, lambda raw: parse_key_bytes(raw, length), b"", f"base64 of {length} bytes")


def parse_key_bytes(raw: str, length: int) -> bytes:
    """Decode base64 of exactly ``length`` bytes; ValueError otherwise (the value is not echoed)."""
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not base64 of {length} bytes") from exc
    if len(key) != length:
        raise ValueError(f"not base64 of {length} bytes")
    return key


class FeatureSettings(Protocol):
    """A frozen dataclass of one feature's settings, built by ``read``."""

    FEATURE: ClassVar[str]

    @classmethod
    def read(cls, reader: SettingsReader) -> Self:
        """Build the settings from the reader (problems are collected on the reader)."""
        ...


def optional_file(reader: SettingsReader, name: str) -> str | None:
    """A path that must name an existing file when the setting is not empty."""
    path = reader.text(name)
    if not path:
        return None
    if not Path(path).is_file():
        reader.problems.append(f"{name} is invalid: expected an existing file, got {path!r}")
    return path


def needed(reader: SettingsReader, name: str, value: str, why: str) -> None:
    """Report ``name`` as missing when ``value`` is empty, saying why it is needed."""
    if not value:
        reader.problems.append(f"{name} is missing (needed {why}: {reader.describe(name)})")
