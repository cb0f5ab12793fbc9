"""Limits of the Web API's front end: URL length, and the recommended degree of parallelism it announces.

"Compose HTTP requests and handle errors" (Maximum URL length): a URL may be up to 32 KB (32,768
characters); a request sent inside a ``$batch`` body may have a URL of up to 64 KB (65,536 characters).
Longer ones are refused with 414 URI Too Long; the status and the body are ASSUMED (the article names the
limits only). Every response carries ``x-ms-dop-hint``, the environment's recommended degree of parallelism
("Send parallel requests"); 48 is the value in the Microsoft Learn capture of a WhoAmI response
(powerapps-docs ``webapi/use-ps-and-vscode-web-api.md``); a trial environment was seen announcing 4, so the
value is a setting.
"""

from __future__ import annotations

from simulators.common.provenance import assumed, captured
from simulators.dataverse import errors

MAX_URL_LENGTH = 32_768
MAX_BATCH_URL_LENGTH = 65_536
DEFAULT_DOP_HINT = 48
DOP_HINT_HEADER = "x-ms-dop-hint"

captured(
    "dataverse",
    "URL length limits",
    "32 KB (32,768 characters) per request, 64 KB (65,536) inside a $batch body -- powerapps-docs "
    "webapi/compose-http-requests-handle-errors.md (Maximum URL length), "
    "execute-batch-operations-using-web-api.md",
)
assumed(
    "dataverse",
    "414 for a URL over the limit",
    "The articles give the limits, not the answer: the simulator answers 414 with the Web API's JSON error "
    "body naming the length and the limit.",
)
captured(
    "dataverse",
    "x-ms-dop-hint response header",
    "On every response; default 48 as in the WhoAmI exchange of powerapps-docs "
    "webapi/use-ps-and-vscode-web-api.md (send-parallel-requests.md: the value varies per environment, so "
    "--dop-hint / set_dop_hint change it)",
)


def url_too_long(length: int, limit: int) -> errors.WebApiError:
    """The refusal of a URL longer than ``limit`` characters."""
    return errors.WebApiError(
        414, "", f"The request URL of {length} characters exceeds the maximum length of {limit} characters."
    )
