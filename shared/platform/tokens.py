"""Access-token value and the cache port that token providers use (implemented in ``shared.state``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and the instant it stops being valid (timezone-aware); its repr hides the token."""

    token: str = field(repr=False)
    expires_at: datetime

    def valid_at(self, instant: datetime, margin_seconds: float = 0.0) -> bool:
        """Whether the token is still valid at ``instant`` with ``margin_seconds`` to spare."""
        return (self.expires_at - instant).total_seconds() > margin_seconds


class TokenCache(Protocol):
    """Where tokens survive between function invocations (encrypted at rest by the Table Storage adapter)."""

    def get(self, name: str) -> AccessToken | None:
        """The cached token stored under ``name``, or None."""
        ...

    def put(self, name: str, token: AccessToken) -> None:
        """Store ``token`` under ``name``, replacing any previous one."""
        ...
