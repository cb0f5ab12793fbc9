"""The one error type of the OData query engine: a client's query that the service rejects."""

from __future__ import annotations


class ODataError(ValueError):
    """A query option the service would reject with 400 Bad Request.

    ``message`` reads like the real services' text (both IFS and Dataverse run OData stacks whose messages
    follow Microsoft's ODataLib, e.g. "The property 'X', used in a query expression, is not defined in type
    'Y'."). ``position`` is the 0-based offset of a syntax error inside the option's text, when known.
    ``unsupported`` marks constructs the grammar knows but the services do not implement (IFS answers those
    with its ``ODP_NOT_IMPLEMENTED`` code), so a simulator can choose its error code.
    """

    def __init__(self, message: str, *, position: int | None = None, unsupported: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.unsupported = unsupported
