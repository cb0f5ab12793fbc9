"""The Web API's error responses, ``{"error":{"code":…,"message":…}}``, with documented status, code and text.

Every refusal the simulator makes is a ``WebApiError`` built by one of the functions below, so the shapes
live in one place. Sources: the conditional-operations article's exchanges (404/412 bodies, reproduced
byte for byte, ``code`` empty as published), the Web API error table (hex codes and message templates),
the alternate-key article (invalid key message), the service-protection article (429 codes and messages)
and the $batch article's validation error. Where no document gives the status or the code, the choice is
marked ``ASSUMED`` next to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class WebApiError(Exception):
    """A refusal with its HTTP status, Dataverse error code (hex string, or "" as in the docs) and message."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, dict[str, str]]:
        """The JSON body Dataverse sends."""
        return {"error": {"code": self.code, "message": self.message}}

    def __str__(self) -> str:
        return f"{self.status} {self.code} {self.message}"


# Codes from the Web API error table (includes/data-service-errors.md).
OBJECT_DOES_NOT_EXIST = "0x80040217"
CONCURRENCY_VERSION_MISMATCH = "0x80060882"
DUPLICATE_RECORD = "0x80040237"
DUPLICATE_RECORD_ENTITY_KEY = "0x80060892"
ENTITY_KEY_NOT_DEFINED = "0x80060890"
ENTITY_KEY_NAME_EXISTS = "0x80060893"
ENTITY_KEY_WITH_SELECTED_ATTRIBUTES_EXISTS = "0x80060894"
VALIDATION_ERROR = "0x80044331"  # the $batch article's "A validation error occurred." example
NOT_SUPPORTED = "0x80040315"
# ASSUMED: the code Dataverse's OData layer gives to malformed requests (unknown property, bad literal).
ODATA_BAD_REQUEST = "0x80060888"
# ASSUMED: seen with this text in public client tests, not in a Microsoft document.
RECORD_WITH_KEY_NOT_FOUND = "0x80060891"


def not_found(logical_name: str, record_id: str) -> WebApiError:
    """No row with that id; message and empty code exactly as the conditional-operations article shows."""
    return WebApiError(404, "", f"{logical_name} With Id = {record_id} Does Not Exist")


def key_not_found(logical_name: str) -> WebApiError:
    """No row with those alternate-key values (ASSUMED text and code; see RECORD_WITH_KEY_NOT_FOUND)."""
    return WebApiError(
        404,
        RECORD_WITH_KEY_NOT_FOUND,
        f"A record with the specified key values does not exist in {logical_name} entity",
    )


def reference_not_found(logical_name: str, record_id: str) -> WebApiError:
    """An ``@odata.bind`` names a row that does not exist (ObjectDoesNotExist; status 404 ASSUMED)."""
    return WebApiError(404, OBJECT_DOES_NOT_EXIST, f"{logical_name} With Id = {record_id} Does Not Exist")


def version_mismatch() -> WebApiError:
    """If-Match with a stale ETag: the conditional-operations article's 412 body."""
    return WebApiError(
        412, "", "The version of the existing record doesn't match the RowVersion property provided."
    )


def already_exists() -> WebApiError:
    """If-None-Match: * on an existing row: the conditional-operations article's 412 body."""
    return WebApiError(412, "", "A record with matching key values already exists.")


def duplicate_key(key_name: str, columns: list[str]) -> WebApiError:
    """A create or update would give two rows the same alternate-key values (412 as seen in public mocks)."""
    return WebApiError(
        412,
        DUPLICATE_RECORD_ENTITY_KEY,
        f"Entity Key {key_name} violated. A record with the same value for {', '.join(columns)} "
        "already exists. A duplicate record cannot be created.",
    )


def invalid_key(logical_name: str) -> WebApiError:
    """Key properties in the URL that are not a declared or (active) alternate key: the AKREF article's text.

    Status 400 and the empty code are ASSUMED (the article gives only the message).
    """
    resource = f"Microsoft.Dynamics.CRM.{logical_name}"
    return WebApiError(
        400,
        "",
        f"The key in the request URI is not valid for resource '{resource}'. Ensure that the names and "
        f"number of key properties match the declared or alternate key properties for the resource "
        f"'{resource}'.",
    )


def unaddressable_key_value(character: str) -> WebApiError:
    r"""A key value with a character the alternate-keys article says breaks GET/PATCH by key.

    The article says only that such requests "don't work". ASSUMED: the refusal is ASP.NET's request
    validation (its default ``requestPathInvalidCharacters`` are exactly ``< > * % & : \ ?``), i.e. 400
    with this message, returned here as a Web API error body.
    """
    return WebApiError(
        400, "", f"A potentially dangerous Request.Path value was detected from the client ({character})."
    )


def key_not_defined(logical_name: str) -> WebApiError:
    """EntityKeyNotDefined from the error table (used for keys referenced in binds)."""
    return WebApiError(
        400,
        ENTITY_KEY_NOT_DEFINED,
        f"The specified key attributes are not a defined key for the {logical_name} entity",
    )


def too_long(logical_name: str, column: str, max_length: int) -> WebApiError:
    """A string over the column's MaxLength: the $batch article's validation error."""
    return WebApiError(
        400,
        VALIDATION_ERROR,
        f"A validation error occurred.  The length of the '{column}' attribute of the '{logical_name}' "
        f"entity exceeded the maximum allowed length of '{max_length}'.",
    )


def required_missing(logical_name: str, column: str) -> WebApiError:
    """A SystemRequired column left empty. ASSUMED text (no captured example); code from the error table."""
    return WebApiError(
        400,
        VALIDATION_ERROR,
        f"A validation error occurred.  The value of the '{column}' attribute of the '{logical_name}' "
        "entity is required.",
    )


def unknown_property(logical_name: str, name: str) -> WebApiError:
    """A body property the entity type does not declare (OData's wording; code ASSUMED)."""
    return WebApiError(
        400,
        ODATA_BAD_REQUEST,
        f"The property '{name}' does not exist on type 'Microsoft.Dynamics.CRM.{logical_name}'. Make sure "
        "to only use property names that are defined by the type.",
    )


def undeclared_navigation(name: str) -> WebApiError:
    """An ``@odata.bind`` on something that is not a navigation property (OData's wording; code ASSUMED)."""
    return WebApiError(
        400,
        ODATA_BAD_REQUEST,
        f"An undeclared property '{name}' which only has property annotations in the payload but no "
        "property value was found in the payload. In OData, only declared navigation properties and "
        "declared named streams can be represented as properties without values.",
    )


def bad_request(message: str, code: str = ODATA_BAD_REQUEST) -> WebApiError:
    """Any other malformed request (bad literal, bad JSON, bad URL); code ASSUMED."""
    return WebApiError(400, code, message)


def read_only(logical_name: str, column: str) -> WebApiError:
    """A write to a column that is not valid for create/update (ASSUMED text and code)."""
    return WebApiError(
        400,
        ODATA_BAD_REQUEST,
        f"The '{column}' attribute of the '{logical_name}' entity cannot be set: it is read-only.",
    )


def resource_not_found(path: str) -> WebApiError:
    """A URL that names no entity set, function or action (OData's wording; code ASSUMED)."""
    return WebApiError(404, "0x8006088a", f"Resource not found for the segment '{path}'.")


def method_not_allowed(method: str, path: str) -> WebApiError:
    """A method the resource does not support (405 per the Web API status list)."""
    return WebApiError(405, NOT_SUPPORTED, f"The HTTP method '{method}' is not supported on '{path}'.")


def out_of_range(logical_name: str, column: str, value: int, options: tuple[int, ...]) -> WebApiError:
    """A choice value the column does not define (ASSUMED wording; validation code from the error table)."""
    accepted = ",".join(str(option) for option in options)
    return WebApiError(
        400,
        VALIDATION_ERROR,
        f"A validation error occurred.  The value {value} of '{column}' on record of type '{logical_name}' "
        f"is outside the valid range. Accepted Values: {accepted}",
    )


# Codes attributed to the Web API error table for state changes and webhook steps. ASSUMED: that table is not
# reproduced in docs/dataverse-api.md or the vectors (see the shapes in actions.py and registration.py).
INVALID_STATE = "0x80040233"
INVALID_STATE_CODE_STATUS_CODE = "0x80048408"
SDK_CUSTOM_PROCESSING_STEP_IS_NOT_ALLOWED = "0x80044187"
SDK_MESSAGE_DOES_NOT_SUPPORT_POST_IMAGE = "0x8004416e"


def invalid_state_status() -> WebApiError:
    """A status reason not of the state (InvalidStateCodeStatusCode; code, text and status 400 ASSUMED)."""
    return WebApiError(
        400,
        INVALID_STATE_CODE_STATUS_CODE,
        "State code is invalid or state code is valid but status code is invalid for a specified state code.",
    )


def invalid_state() -> WebApiError:
    """An action on a row whose state does not allow it (InvalidState; code, text and status 400 ASSUMED)."""
    return WebApiError(400, INVALID_STATE, "The object is not in a valid state to perform this operation.")


def custom_step_not_allowed() -> WebApiError:
    """A step where custom steps are not allowed (SdkCustomProcessingStepIsNotAllowed; code, text ASSUMED)."""
    return WebApiError(
        400,
        SDK_CUSTOM_PROCESSING_STEP_IS_NOT_ALLOWED,
        "Custom SdkMessageProcessingStep is not allowed on the specified message and entity.",
    )
