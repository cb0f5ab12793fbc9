"""Provisioning what the connector needs in a Dataverse environment: alternate keys and webhooks.

Every helper is idempotent, so a deployment can run it on every release:

- ``ensure_text_column`` adds a custom text column (the connector's own, e.g. ``ifs_ordernumber``) to a
  table unless it is there (``POST EntityDefinitions(LogicalName='…')/Attributes`` with a
  StringAttributeMetadata, as "Create and update column definitions using the Web API" shows).

- ``ensure_alternate_key`` creates an alternate key through ``EntityDefinitions(LogicalName='…')/Keys``
  unless it exists, then waits until its index is ``Active`` (the index is built asynchronously: Pending,
  InProgress, Active, or Failed when existing rows break uniqueness; alternate-keys article). Waiting
  uses an injectable ``sleep`` and ``clock`` so tests move simulated time instead of waiting.
- ``register_webhook`` makes one webhook endpoint (``serviceendpoint``, contract 8) named ``name`` hold
  exactly the given steps: it creates what is missing, updates what changed (the endpoint's URL and
  authentication are always rewritten, because ``authvalue`` cannot be read back to compare), and deletes
  steps and images that are no longer wanted. Running it twice registers once.
- ``inspect_webhook`` reads a registration back; ``remove_webhook`` deletes the steps and the endpoint;
  ``remove_steps`` and ``remove_endpoint`` delete exactly the rows given, for a caller that recorded what
  it registered; ``step_allowed`` probes whether a message may carry custom steps on a table.
- ``enable_change_tracking`` switches a table's change tracking on (for good: it cannot be switched off
  again).

Step look-ups follow the register-web-hook and event-framework articles: ``sdkmessages?$filter=name eq
'Update'``, then the ``sdkmessagefilters`` row of that message for the table, which must allow custom steps
(``iscustomprocessingstepallowed``); navigation properties in binds are lower case
(``sdkmessageid@odata.bind``; PascalCase is a 400).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.dataverse.client import DataverseClient
from shared.dataverse.endpoint_auth import WebhookAuth
from shared.dataverse.errors import BadRequestError, NotFoundError

WEBHOOK_CONTRACT = 8
MESSAGE_FORMAT_JSON = 2
STAGE_PRE_VALIDATION = 10
STAGE_PRE_OPERATION = 20
STAGE_POST_OPERATION = 40
MODE_SYNCHRONOUS = 0
MODE_ASYNCHRONOUS = 1
ENTITY_KEY_NAME_EXISTS = "0x80060893"
ImageType = Literal["pre", "post", "both"]
_IMAGE_TYPES: Mapping[ImageType, int] = {"pre": 0, "post": 1, "both": 2}
_IMAGE_NAMES: Mapping[int, ImageType] = {value: name for name, value in _IMAGE_TYPES.items()}
# The request parameter an image is taken from, per message (sdkmessageprocessingstepimage docs).
_IMAGE_PROPERTY = {"Create": "Id", "SetState": "EntityMoniker", "SetStateDynamicEntity": "EntityMoniker"}


class ProvisioningError(Exception):
    """Dataverse holds something provisioning cannot reconcile, or refused what it asked for."""


class AlternateKeyFailedError(ProvisioningError):
    """The key's index build failed (existing rows break uniqueness); fix the data, then reactivate it."""


class ProvisioningTimeoutError(ProvisioningError):
    """The key did not become Active within the timeout."""


class StepNotAllowedError(ProvisioningError):
    """The message has no filter for the table, or the filter does not allow custom steps."""


# -- alternate keys -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlternateKey:
    """One alternate key as EntityDefinitions describes it."""

    entity: str
    schema_name: str
    key_attributes: tuple[str, ...]
    status: str
    metadata_id: uuid.UUID


# -- webhooks -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepImage:
    """An entity image a step's payload carries: ``alias`` → the row before (pre) and/or after (post).

    ``attributes`` limits the image to those columns; empty means every column.
    """

    alias: str
    image_type: ImageType = "post"
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebhookStep:
    """One step to register: fire on ``message`` of ``table`` (Update: only when a filtering column changes).

    Defaults are what the connector wants: asynchronous post-operation steps whose successful system jobs
    are deleted.
    """

    message: str
    table: str
    filtering_attributes: tuple[str, ...] = ()
    mode: int = MODE_ASYNCHRONOUS
    images: tuple[StepImage, ...] = ()
    stage: int = STAGE_POST_OPERATION
    rank: int = 1
    asyncautodelete: bool = True

    def __post_init__(self) -> None:
        if self.mode not in (MODE_SYNCHRONOUS, MODE_ASYNCHRONOUS):
            raise ValueError(f"mode must be 0 (synchronous) or 1 (asynchronous), not {self.mode}")
        if self.stage not in (STAGE_PRE_VALIDATION, STAGE_PRE_OPERATION, STAGE_POST_OPERATION):
            raise ValueError(f"stage must be 10, 20 or 40, not {self.stage}")
        if self.mode == MODE_ASYNCHRONOUS and self.stage != STAGE_POST_OPERATION:
            raise ValueError("asynchronous steps run only in the post-operation stage (40)")
        for image in self.images:
            if image.image_type != "pre" and self.stage != STAGE_POST_OPERATION:
                raise ValueError(f"image {image.alias}: a pre-operation step has no post image")
            if image.image_type != "post" and self.message == "Create":
                raise ValueError(f"image {image.alias}: a Create has no pre image")
            if image.image_type != "pre" and self.message == "Delete":
                raise ValueError(f"image {image.alias}: a Delete has no post image")

    def step_name(self, registration: str) -> str:
        """The step's name: ``<registration>: <message> of <table>``."""
        return f"{registration}: {self.message} of {self.table}"


@dataclass(frozen=True)
class RegisteredImage:
    """An image as registered: its id, alias, type and columns."""

    id: uuid.UUID
    alias: str
    image_type: ImageType
    attributes: tuple[str, ...]


@dataclass(frozen=True)
class RegisteredStep:
    """A step as registered in Dataverse."""

    id: uuid.UUID
    name: str
    message: str
    table: str
    stage: int
    mode: int
    rank: int
    filtering_attributes: tuple[str, ...]
    asyncautodelete: bool
    enabled: bool
    images: tuple[RegisteredImage, ...] = ()


@dataclass(frozen=True)
class Registration:
    """A webhook endpoint and its steps.

    ``name``, ``endpoint_url``, ``service_endpoint_id`` and ``step_ids`` are what
    ``shared.records.Subscription`` stores.
    """

    name: str
    endpoint_url: str
    service_endpoint_id: str
    steps: tuple[RegisteredStep, ...] = field(default_factory=tuple)

    @property
    def step_ids(self) -> dict[str, str]:
        """Step name → sdkmessageprocessingstep id."""
        return {step.name: str(step.id) for step in self.steps}


def _literal(text: str) -> str:
    """An OData string literal (quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


class Provisioner:
    """Idempotent provisioning of one Dataverse environment through a ``DataverseClient``."""

    def __init__(
        self,
        client: DataverseClient,
        *,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._sleep = sleep
        self._clock = clock

    # -- custom columns ---------------------------------------------------------------------------

    def ensure_text_column(self, entity: str, schema_name: str, max_length: int, label: str) -> bool:
        """Add a custom single-line text column unless it exists; True when it was created now."""
        path = f"EntityDefinitions(LogicalName={_literal(entity)})/Attributes"
        try:
            self._client.send(
                "GET",
                f"{path}(LogicalName={_literal(schema_name.lower())})",
                params={"$select": "LogicalName"},
                idempotent=True,
            )
        except NotFoundError:
            pass
        else:
            return False

        def text(value: str) -> dict[str, Any]:
            return {
                "@odata.type": "Microsoft.Dynamics.CRM.Label",
                "LocalizedLabels": [
                    {
                        "@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel",
                        "Label": value,
                        "LanguageCode": 1033,
                    }
                ],
            }

        body = {
            "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
            "SchemaName": schema_name,
            "AttributeType": "String",
            "AttributeTypeName": {"Value": "StringType"},
            "MaxLength": max_length,
            "FormatName": {"Value": "Text"},
            "RequiredLevel": {"Value": "None", "CanBeChanged": True},
            "DisplayName": text(label),
            "Description": text(f"{label}, kept by the IFS connector"),
        }
        try:
            self._client.create(path, body)
        except BadRequestError as exc:
            if "already exists" not in exc.message:
                raise
            return False  # created by someone else between our read and our write
        return True

    # -- alternate keys ---------------------------------------------------------------------------

    def alternate_keys(self, entity: str) -> list[AlternateKey]:
        """The table's alternate keys with their index status."""
        rows = self._client.query(
            f"EntityDefinitions(LogicalName={_literal(entity)})/Keys",
            select=["SchemaName", "KeyAttributes", "EntityKeyIndexStatus", "MetadataId"],
        )
        return [
            AlternateKey(
                entity=entity,
                schema_name=row["SchemaName"],
                key_attributes=tuple(row.get("KeyAttributes") or ()),
                status=str(row.get("EntityKeyIndexStatus")),
                metadata_id=uuid.UUID(row["MetadataId"]),
            )
            for row in rows
        ]

    def _key(self, entity: str, schema_name: str) -> AlternateKey | None:
        wanted = schema_name.lower()
        return next((k for k in self.alternate_keys(entity) if k.schema_name.lower() == wanted), None)

    def ensure_alternate_key(
        self,
        entity: str,
        schema_name: str,
        key_attributes: Iterable[str],
        *,
        display_name: str | None = None,
        timeout: float = 900.0,
        poll: float = 5.0,
    ) -> AlternateKey:
        """Create the key unless it exists, then wait until its index is Active; returns the Active key.

        ProvisioningError when a key of that name covers other columns; AlternateKeyFailedError when the
        index build failed; ProvisioningTimeoutError after ``timeout`` seconds (of ``clock``).
        """
        key = self.create_alternate_key(entity, schema_name, key_attributes, display_name=display_name)
        return self._await_key(entity, key, timeout=timeout, poll=poll)

    def create_alternate_key(
        self,
        entity: str,
        schema_name: str,
        key_attributes: Iterable[str],
        *,
        display_name: str | None = None,
    ) -> AlternateKey:
        """Create the key unless it exists, without waiting for its index; returns the key as listed.

        Dataverse builds each key's index in a system job of its own, so creating every key first and
        then waiting (``await_alternate_key``) costs the longest build, not the sum of them.
        ProvisioningError when a key of that name covers other columns.
        """
        attributes = tuple(key_attributes)
        key = self._key(entity, schema_name)
        if key is None:
            label = display_name or schema_name
            body = {
                "@odata.type": "Microsoft.Dynamics.CRM.EntityKeyMetadata",
                "SchemaName": schema_name,
                "DisplayName": {"LocalizedLabels": [{"Label": label, "LanguageCode": 1033}]},
                "KeyAttributes": list(attributes),
            }
            try:
                self._client.create(f"EntityDefinitions(LogicalName={_literal(entity)})/Keys", body)
            except BadRequestError as exc:
                if exc.code.lower() != ENTITY_KEY_NAME_EXISTS:
                    raise
                # Someone else created it between our read and our write: wait for theirs.
            key = self._key(entity, schema_name)
            if key is None:
                raise ProvisioningError(f"alternate key {schema_name} on {entity} was created but not listed")
        if set(key.key_attributes) != set(attributes):
            raise ProvisioningError(
                f"alternate key {key.schema_name} on {entity} covers {list(key.key_attributes)}, "
                f"not {list(attributes)}; remove it or choose another name"
            )
        return key

    def await_alternate_key(
        self, entity: str, schema_name: str, *, timeout: float = 900.0, poll: float = 5.0
    ) -> AlternateKey:
        """Wait until the existing key ``schema_name`` is Active; errors as ensure_alternate_key."""
        key = self._key(entity, schema_name)
        if key is None:
            raise ProvisioningError(f"alternate key {schema_name} on {entity} does not exist")
        return self._await_key(entity, key, timeout=timeout, poll=poll)

    def _await_key(self, entity: str, key: AlternateKey, *, timeout: float, poll: float) -> AlternateKey:
        deadline = self._clock() + timeout
        while key.status != "Active":
            if key.status == "Failed":
                raise AlternateKeyFailedError(
                    f"the index of alternate key {key.schema_name} on {entity} failed to build (rows share "
                    f"values of {list(key.key_attributes)}); fix the data, then call ReactivateEntityKey"
                )
            if self._clock() >= deadline:
                raise ProvisioningTimeoutError(
                    f"alternate key {key.schema_name} on {entity} is still {key.status} after {timeout} s"
                )
            self._sleep(poll)
            found = self._key(entity, key.schema_name)
            if found is None:
                raise ProvisioningError(
                    f"alternate key {key.schema_name} on {entity} disappeared while building"
                )
            key = found
        return key

    # -- webhooks -----------------------------------------------------------------------------------

    def _endpoint(self, name: str) -> dict[str, Any] | None:
        rows = list(
            self._client.query(
                "serviceendpoints",
                select=["serviceendpointid", "name", "url", "authtype", "contract"],
                filter=f"name eq {_literal(name)} and contract eq {WEBHOOK_CONTRACT}",
            )
        )
        if len(rows) > 1:
            raise ProvisioningError(f"{len(rows)} webhook endpoints are named {name!r}; remove all but one")
        return rows[0] if rows else None

    def inspect_webhook(self, name: str) -> Registration | None:
        """The endpoint named ``name`` with its steps and their images, or None when there is none."""
        endpoint = self._endpoint(name)
        if endpoint is None:
            return None
        return Registration(
            name=name,
            endpoint_url=str(endpoint.get("url") or ""),
            service_endpoint_id=str(endpoint["serviceendpointid"]),
            steps=tuple(self._steps(uuid.UUID(endpoint["serviceendpointid"]))),
        )

    def _steps(self, endpoint_id: uuid.UUID) -> list[RegisteredStep]:
        rows = self._client.query(
            "sdkmessageprocessingsteps",
            select=[
                "sdkmessageprocessingstepid", "name", "stage", "mode", "rank", "filteringattributes",
                "asyncautodelete", "statecode",
            ],
            filter=f"_eventhandler_value eq {endpoint_id}",
            expand="sdkmessageid($select=name),sdkmessagefilterid($select=primaryobjecttypecode)",
            orderby="name",
        )  # fmt: skip
        steps: list[RegisteredStep] = []
        for row in rows:
            step_id = uuid.UUID(row["sdkmessageprocessingstepid"])
            message = (row.get("sdkmessageid") or {}).get("name", "")
            table = (row.get("sdkmessagefilterid") or {}).get("primaryobjecttypecode", "")
            steps.append(
                RegisteredStep(
                    id=step_id,
                    name=row["name"],
                    message=message,
                    table=table,
                    stage=row["stage"],
                    mode=row["mode"],
                    rank=row["rank"],
                    filtering_attributes=_split(row.get("filteringattributes")),
                    asyncautodelete=bool(row.get("asyncautodelete")),
                    enabled=row.get("statecode") == 0,
                    images=tuple(self._images(step_id)),
                )
            )
        return steps

    def _images(self, step_id: uuid.UUID) -> list[RegisteredImage]:
        rows = self._client.query(
            "sdkmessageprocessingstepimages",
            select=["sdkmessageprocessingstepimageid", "entityalias", "imagetype", "attributes"],
            filter=f"_sdkmessageprocessingstepid_value eq {step_id}",
            orderby="entityalias",
        )
        return [
            RegisteredImage(
                id=uuid.UUID(row["sdkmessageprocessingstepimageid"]),
                alias=row["entityalias"],
                image_type=_IMAGE_NAMES[row["imagetype"]],
                attributes=_split(row.get("attributes")),
            )
            for row in rows
        ]

    def register_webhook(
        self,
        name: str,
        url: str,
        auth: WebhookAuth,
        steps: Iterable[WebhookStep],
        *,
        write_endpoint: bool = True,
    ) -> Registration:
        """Make the endpoint ``name`` deliver to ``url`` with ``auth`` and hold exactly ``steps``.

        An existing endpoint's URL and authentication are written again unless ``write_endpoint`` is False
        (the caller knows from its own record that neither changed: ``authvalue`` cannot be read back).
        """
        listed = list(steps)
        wanted = {step.step_name(name): step for step in listed}
        if len(wanted) != len(listed):
            raise ValueError("two steps register the same message on the same table")
        endpoint_body = {"url": url, "authtype": int(auth.authtype), "authvalue": auth.authvalue}
        endpoint = self._endpoint(name)
        if endpoint is None:
            written = self._client.create(
                "serviceendpoints",
                {
                    "name": name,
                    "contract": WEBHOOK_CONTRACT,
                    "messageformat": MESSAGE_FORMAT_JSON,
                    "description": "Registered by the IFS Cloud - Dynamics 365 Sales connector",
                    **endpoint_body,
                },
            )
            if written.id is None:
                raise ProvisioningError(f"Dataverse did not return the id of endpoint {name!r}")
            endpoint_id = written.id
        else:
            endpoint_id = uuid.UUID(endpoint["serviceendpointid"])
            # authvalue is write-only, so it cannot be compared here: written back unless the caller knows.
            if write_endpoint or str(endpoint.get("url") or "") != url:
                self._client.update("serviceendpoints", endpoint_id, endpoint_body)
        existing = {step.name: step for step in self._steps(endpoint_id)}
        for step_name, step in wanted.items():
            current = existing.get(step_name)
            if current is None:
                step_id = self._create_step(endpoint_id, step_name, step)
                images: tuple[RegisteredImage, ...] = ()
            else:
                step_id = current.id
                self._update_step(current, step)
                images = current.images
            self._reconcile_images(step_id, step, images)
        for step_name, current in existing.items():
            if step_name not in wanted:
                self._client.delete("sdkmessageprocessingsteps", current.id)
        registration = self.inspect_webhook(name)
        if registration is None:
            raise ProvisioningError(f"endpoint {name!r} disappeared while it was being registered")
        return registration

    def remove_webhook(self, name: str) -> bool:
        """Delete the endpoint ``name`` and its steps; False when there was nothing to remove."""
        endpoint = self._endpoint(name)
        if endpoint is None:
            return False
        endpoint_id = uuid.UUID(endpoint["serviceendpointid"])
        for step in self._steps(endpoint_id):
            self._client.delete("sdkmessageprocessingsteps", step.id)
        self._client.delete("serviceendpoints", endpoint_id)
        return True

    def step_allowed(self, message: str, table: str) -> bool:
        """Whether Dataverse allows custom steps on ``message`` of ``table`` (the sdkmessage probe)."""
        try:
            self._message_and_filter(message, table)
        except StepNotAllowedError:
            return False
        return True

    def step_ids(self, endpoint_id: str) -> list[str]:
        """The ids of the steps an endpoint holds now, whoever registered them."""
        return [str(step.id) for step in self._steps(uuid.UUID(endpoint_id))]

    def remove_steps(self, step_ids: Iterable[str]) -> int:
        """Delete these steps (ones already gone are skipped); how many were deleted."""
        removed = 0
        for step_id in step_ids:
            try:
                self._client.delete("sdkmessageprocessingsteps", uuid.UUID(step_id))
            except NotFoundError:
                continue
            removed += 1
        return removed

    def remove_endpoint(self, endpoint_id: str) -> bool:
        """Delete one endpoint by id (its remaining steps go with it); False when it was already gone."""
        try:
            self._client.delete("serviceendpoints", uuid.UUID(endpoint_id))
        except NotFoundError:
            return False
        return True

    # -- change tracking ------------------------------------------------------------------------------

    def change_tracking_enabled(self, table: str) -> bool:
        """Whether ``table`` tracks changes (``EntityMetadata.ChangeTrackingEnabled``)."""
        path = f"EntityDefinitions(LogicalName={_literal(table)})"
        row = self._client.send(
            "GET", path, params={"$select": "ChangeTrackingEnabled"}, idempotent=True
        ).json()
        return bool(row.get("ChangeTrackingEnabled"))

    def enable_change_tracking(self, table: str) -> None:
        """Turn change tracking on for ``table``. It cannot be turned off again: say so before calling this.

        The table's definition is read and written back whole with ``ChangeTrackingEnabled`` set, as the Web
        API updates table definitions (PUT, with ``MSCRM.MergeLabels`` so no label is lost).
        """
        path = f"EntityDefinitions(LogicalName={_literal(table)})"
        definition = self._client.send("GET", path, idempotent=True).json()
        definition = {k: v for k, v in definition.items() if not k.startswith("@odata.context")}
        definition["ChangeTrackingEnabled"] = True
        self._client.send(
            "PUT", path, json=definition, headers={"MSCRM.MergeLabels": "true"}, idempotent=True
        )

    # -- steps and images -----------------------------------------------------------------------------

    def _message_and_filter(self, message: str, table: str) -> tuple[str, str]:
        messages = list(
            self._client.query("sdkmessages", select=["sdkmessageid"], filter=f"name eq {_literal(message)}")
        )
        if not messages:
            raise StepNotAllowedError(f"Dataverse has no message named {message!r}")
        message_id = messages[0]["sdkmessageid"]
        filters = list(
            self._client.query(
                "sdkmessagefilters",
                select=["sdkmessagefilterid", "iscustomprocessingstepallowed"],
                filter=f"_sdkmessageid_value eq {message_id} and primaryobjecttypecode eq {_literal(table)}",
            )
        )
        if not filters:
            raise StepNotAllowedError(f"message {message} does not exist for table {table}")
        if not filters[0].get("iscustomprocessingstepallowed"):
            raise StepNotAllowedError(
                f"Dataverse does not allow custom steps on {message} of {table}; register another message"
            )
        return message_id, filters[0]["sdkmessagefilterid"]

    def _step_body(self, step: WebhookStep) -> dict[str, Any]:
        return {
            "stage": step.stage,
            "mode": step.mode,
            "rank": step.rank,
            "filteringattributes": ",".join(step.filtering_attributes) or None,
            "asyncautodelete": step.asyncautodelete if step.mode == MODE_ASYNCHRONOUS else False,
        }

    def _create_step(self, endpoint_id: uuid.UUID, step_name: str, step: WebhookStep) -> uuid.UUID:
        message_id, filter_id = self._message_and_filter(step.message, step.table)
        written = self._client.create(
            "sdkmessageprocessingsteps",
            {
                "name": step_name,
                "supporteddeployment": 0,
                "eventhandler_serviceendpoint@odata.bind": f"/serviceendpoints({endpoint_id})",
                "sdkmessageid@odata.bind": f"/sdkmessages({message_id})",
                "sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({filter_id})",
                **self._step_body(step),
            },
        )
        if written.id is None:
            raise ProvisioningError(f"Dataverse did not return the id of step {step_name!r}")
        return written.id

    def _update_step(self, current: RegisteredStep, step: WebhookStep) -> None:
        if (current.message, current.table) != (step.message, step.table):
            raise ProvisioningError(
                f"step {current.name!r} is on {current.message} of {current.table}; delete it first"
            )
        body = self._step_body(step)
        now = {
            "stage": current.stage,
            "mode": current.mode,
            "rank": current.rank,
            "filteringattributes": ",".join(current.filtering_attributes) or None,
            "asyncautodelete": current.asyncautodelete,
        }
        changes = {key: value for key, value in body.items() if now[key] != value}
        if not current.enabled:
            changes.update(statecode=0, statuscode=1)
        if changes:
            self._client.update("sdkmessageprocessingsteps", current.id, changes)

    def _reconcile_images(
        self, step_id: uuid.UUID, step: WebhookStep, existing: tuple[RegisteredImage, ...]
    ) -> None:
        current = {image.alias: image for image in existing}
        for image in step.images:
            body = {
                "imagetype": _IMAGE_TYPES[image.image_type],
                "attributes": ",".join(image.attributes) or None,
            }
            found = current.pop(image.alias, None)
            if found is None:
                self._client.create(
                    "sdkmessageprocessingstepimages",
                    {
                        "name": image.alias,
                        "entityalias": image.alias,
                        "messagepropertyname": _IMAGE_PROPERTY.get(step.message, "Target"),
                        "sdkmessageprocessingstepid@odata.bind": f"/sdkmessageprocessingsteps({step_id})",
                        **body,
                    },
                )
            elif (found.image_type, found.attributes) != (image.image_type, image.attributes):
                self._client.update("sdkmessageprocessingstepimages", found.id, body)
        for unwanted in current.values():
            self._client.delete("sdkmessageprocessingstepimages", unwanted.id)
