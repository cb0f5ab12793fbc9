"""The one error a malformed webhook request raises."""

from __future__ import annotations


class WebhookPayloadError(ValueError):
    """A webhook body or header set that is not a valid Dataverse RemoteExecutionContext request.

    ``path`` locates the problem (``InputParameters[Target].Attributes[modifiedby].Id``, a header name, or
    ``""`` for the document as a whole); ``reason`` says what is wrong. The message combines both.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)
