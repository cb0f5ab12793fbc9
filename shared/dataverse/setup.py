"""``DataverseSetup``: the provisioning port of the Dynamics → IFS direction over ``Provisioner``.

Binds the webhook authentication (the secret never leaves this object except into ``authvalue``) and turns
the service layer's step descriptions into ``WebhookStep``s: asynchronous, post-operation, successful
system jobs deleted. ``auth_fingerprint`` is a SHA-256 of the authentication type and value, so the
record kept in Table Storage can tell a changed secret without holding it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from shared.dataverse.client import DataverseClient
from shared.dataverse.endpoint_auth import WebhookAuth
from shared.dataverse.provisioning import Provisioner, WebhookStep


class StepDescription(Protocol):
    """What the service layer says about a step."""

    @property
    def message(self) -> str:
        """The message, e.g. ``Update``."""
        ...

    @property
    def table(self) -> str:
        """The table's logical name."""
        ...

    @property
    def filtering_attributes(self) -> tuple[str, ...]:
        """Columns whose change fires an Update step (empty: any)."""
        ...


class DataverseSetup:
    """Provisioning operations with the webhook's authentication bound."""

    def __init__(self, client: DataverseClient, provisioner: Provisioner, auth: WebhookAuth) -> None:
        self._client = client
        self._provisioner = provisioner
        self._auth = auth

    @property
    def auth_fingerprint(self) -> str:
        """SHA-256 of ``authtype:authvalue``, hex."""
        return hashlib.sha256(f"{int(self._auth.authtype)}:{self._auth.authvalue}".encode()).hexdigest()

    def who_am_i(self) -> tuple[str, str]:
        """(application user id, organization id), lower case."""
        me = self._client.who_am_i()
        return str(me.user_id).lower(), str(me.organization_id).lower()

    def ensure_text_column(self, table: str, column: str, max_length: int, label: str) -> bool:
        """See ``Provisioner.ensure_text_column``."""
        return self._provisioner.ensure_text_column(table, column, max_length, label)

    def change_tracking_enabled(self, table: str) -> bool:
        """See ``Provisioner.change_tracking_enabled``."""
        return self._provisioner.change_tracking_enabled(table)

    def enable_change_tracking(self, table: str) -> None:
        """See ``Provisioner.enable_change_tracking``."""
        self._provisioner.enable_change_tracking(table)

    def step_allowed(self, message: str, table: str) -> bool:
        """See ``Provisioner.step_allowed``."""
        return self._provisioner.step_allowed(message, table)

    def register_webhook(
        self, name: str, url: str, steps: Sequence[StepDescription], *, write_endpoint: bool
    ) -> tuple[str, dict[str, str]]:
        """Register the endpoint and exactly these steps; (endpoint id, step name → id)."""
        wanted = [
            WebhookStep(s.message, s.table, filtering_attributes=tuple(s.filtering_attributes)) for s in steps
        ]
        registration = self._provisioner.register_webhook(
            name, url, self._auth, wanted, write_endpoint=write_endpoint
        )
        return registration.service_endpoint_id, registration.step_ids

    def step_ids(self, endpoint_id: str) -> list[str]:
        """See ``Provisioner.step_ids``."""
        return self._provisioner.step_ids(endpoint_id)

    def remove_steps(self, step_ids: Sequence[str]) -> int:
        """See ``Provisioner.remove_steps``."""
        return self._provisioner.remove_steps(step_ids)

    def remove_endpoint(self, endpoint_id: str) -> bool:
        """See ``Provisioner.remove_endpoint``."""
        return self._provisioner.remove_endpoint(endpoint_id)


def auth_from_settings(mode: str, header: str, secret: str) -> WebhookAuth:
    """The endpoint authentication for ``D365_WEBHOOK_AUTH``: a header, or ``?code=``."""
    if mode == "query_key":
        return WebhookAuth.webhook_key(secret)
    return WebhookAuth.http_headers({header: secret})
