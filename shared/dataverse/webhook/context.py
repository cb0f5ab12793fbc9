"""The decoded RemoteExecutionContext a Dataverse webhook delivers, with the accessors the handler needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any
from uuid import UUID

from shared.dataverse.webhook.values import Entity, EntityReference, Value

STAGE_PRE_VALIDATION = 10
STAGE_PRE_OPERATION = 20
STAGE_MAIN_OPERATION = 30
"""Internal stage of the core operation: what a ParentContext usually shows."""
STAGE_POST_OPERATION = 40
MODE_SYNCHRONOUS = 0
MODE_ASYNCHRONOUS = 1


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class RemoteExecutionContext:
    """What Dataverse tells a webhook about one pipeline step: message, row, images and caller.

    Fields follow the JSON document's keys (``MessageName`` → ``message_name``). ``None`` means the key was
    absent (or null). When the payload exceeded 256 KB Dataverse removes ParentContext, InputParameters and
    both image collections: they are then empty here, ``trimmed`` is True, and the handler must read the row
    (``primary_entity_name``, ``primary_entity_id``) itself.
    """

    message_name: str
    primary_entity_name: str
    primary_entity_id: UUID
    stage: int
    mode: int
    depth: int
    correlation_id: UUID
    operation_id: UUID
    user_id: UUID
    initiating_user_id: UUID
    business_unit_id: UUID
    organization_id: UUID
    request_id: UUID | None = None
    organization_name: str | None = None
    secondary_entity_name: str | None = None
    operation_created_on: datetime | None = None
    owning_extension: EntityReference | None = None
    is_in_transaction: bool | None = None
    is_executing_offline: bool | None = None
    is_offline_playback: bool | None = None
    isolation_mode: int | None = None
    initiating_user_aad_object_id: UUID | None = None
    user_aad_object_id: UUID | None = None
    initiating_user_agent: str | None = None
    input_parameters: Mapping[str, Value] = field(default_factory=_empty)
    output_parameters: Mapping[str, Value] = field(default_factory=_empty)
    shared_variables: Mapping[str, Value] = field(default_factory=_empty)
    pre_entity_images: Mapping[str, Entity] = field(default_factory=_empty)
    post_entity_images: Mapping[str, Entity] = field(default_factory=_empty)
    parent_context: RemoteExecutionContext | None = None
    trimmed: bool = False
    """True when the request says Dataverse trimmed this body for size: the header
    ``x-ms-dynamics-msg-size-exceeded`` is present and not ``false`` (``WebhookHeaders.size_exceeded``).
    Not part of the JSON body: set only by ``parse_remote_execution_context(body, headers=…)``; False
    without headers and on a ParentContext."""

    @property
    def target(self) -> Entity | None:
        """The ``Target`` input parameter when it is a row (Create, Update); else None (also when trimmed)."""
        target = self.input_parameters.get("Target")
        return target if isinstance(target, Entity) else None

    def pre_image(self, alias: str) -> Entity | None:
        """The pre-entity image registered under ``alias``, if the payload has it."""
        return self.pre_entity_images.get(alias)

    def post_image(self, alias: str) -> Entity | None:
        """The post-entity image registered under ``alias``, if the payload has it."""
        return self.post_entity_images.get(alias)

    def attribute(self, name: str) -> Value:
        """A column's value from the Target, else from the post images (in payload order); None when absent.

        The Target wins even when it holds null: that is the value the operation wrote. Use
        ``target.attributes`` to tell "absent" from "null".
        """
        target = self.target
        if target is not None and name in target.attributes:
            return target.attributes[name]
        for image in self.post_entity_images.values():
            if name in image.attributes:
                return image.attributes[name]
        return None

    @property
    def dedupe_key(self) -> str:
        """Identity of this delivery for deduplication: OperationId, MessageName, PrimaryEntityId, RequestId.

        Format ``<operationid>:<messagename>:<primaryentityid>[:<requestid>]`` with lower-case GUIDs; the
        RequestId part only when it is not null. Not the CorrelationId: every step of one user operation (a
        quote conversion's order and lines) shares it.
        """
        parts = [str(self.operation_id), self.message_name, str(self.primary_entity_id)]
        if self.request_id is not None:
            parts.append(str(self.request_id))
        return ":".join(parts)
