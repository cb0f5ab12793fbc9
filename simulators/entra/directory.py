"""The Entra simulator's directory: which client applications exist in which tenant, and their credentials."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def service_principal_id(tenant_id: str, client_id: str) -> str:
    """The object id given to an app's service principal when none is configured (stable across runs)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"entra-sim:sp:{tenant_id}:{client_id}"))


@dataclass(frozen=True)
class ClientApp:
    """A registered confidential client: its client secrets and/or certificates (public PEM) in one tenant."""

    tenant_id: str
    client_id: str
    secrets: tuple[str, ...] = ()
    certificates: tuple[str, ...] = ()
    object_id: str = ""  # the service principal's object id (the ``oid`` of its tokens)
    display_name: str = ""
    roles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.tenant_id or not self.client_id:
            raise ValueError("a client app needs a tenant_id and a client_id")
        if not self.object_id:
            object.__setattr__(self, "object_id", service_principal_id(self.tenant_id, self.client_id))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClientApp:
        """Build from the ``register_client`` admin action's JSON; raises ValueError with the reason."""

        def text(key: str) -> str:
            value = data.get(key, "")
            if not isinstance(value, str):
                raise ValueError(f"{key} must be a string")
            return value

        def texts(key: str) -> tuple[str, ...]:
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{key} must be a list of strings")
            return tuple(value)

        secrets = texts("secrets") + ((text("client_secret"),) if data.get("client_secret") else ())
        certificates = texts("certificates") + (
            (text("certificate_pem"),) if data.get("certificate_pem") else ()
        )
        if not secrets and not certificates:
            raise ValueError("a client app needs client_secret/secrets or certificate_pem/certificates")
        return cls(
            tenant_id=text("tenant_id"),
            client_id=text("client_id"),
            secrets=secrets,
            certificates=certificates,
            object_id=text("object_id"),
            display_name=text("display_name"),
            roles=texts("roles"),
        )

    def to_json(self) -> dict[str, Any]:
        """Public view (secrets are counted, never shown)."""
        return {
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "object_id": self.object_id,
            "display_name": self.display_name,
            "roles": list(self.roles),
            "secret_count": len(self.secrets),
            "certificate_count": len(self.certificates),
        }


class Directory:
    """Client apps by (tenant, client id); ``reset`` returns to the apps it was created with."""

    def __init__(self, apps: Iterable[ClientApp] = ()) -> None:
        self._lock = threading.Lock()
        self._initial = tuple(apps)
        self._apps: dict[tuple[str, str], ClientApp] = {}
        self.reset()

    def reset(self) -> None:
        """Forget apps registered since creation; restore the initial ones."""
        with self._lock:
            self._apps = {(a.tenant_id, a.client_id.lower()): a for a in self._initial}

    def register(self, app: ClientApp) -> ClientApp:
        """Add an app, or replace the one with the same tenant and client id (e.g. to rotate its secret)."""
        with self._lock:
            self._apps[(app.tenant_id, app.client_id.lower())] = app
        return app

    def remove(self, tenant_id: str, client_id: str) -> bool:
        """Delete an app; False when it did not exist."""
        with self._lock:
            return self._apps.pop((tenant_id, client_id.lower()), None) is not None

    def find(self, tenant_id: str, client_id: str) -> ClientApp | None:
        """The app, or None (client ids compare case-insensitively, as GUIDs do)."""
        with self._lock:
            return self._apps.get((tenant_id, client_id.lower()))

    def has_tenant(self, tenant_id: str) -> bool:
        """Whether any app is registered in the tenant (the simulator knows only tenants with apps)."""
        with self._lock:
            return any(t == tenant_id for t, _ in self._apps)

    def apps(self) -> list[ClientApp]:
        """Every registered app."""
        with self._lock:
            return list(self._apps.values())
