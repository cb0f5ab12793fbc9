"""Tell what a failure means for the work: throttled (wait and retry), transient (retry), or permanent (park).

The service layer does not import the adapters, so it reads what their errors say about themselves: every
error of the IFS and Dataverse clients carries ``transient`` (worth trying again) and a throttling error
``retry_after`` (seconds the service asked for). Errors of the sync itself (``MappingValueError``,
``RecordError``) and anything else are permanent unless they say otherwise. The error class recorded with a
parked record is the class the error names itself (``error_class``), else its type's name in snake case
(``bad_request_error``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["throttled", "transient", "permanent"]
_MIN_DELAY_SECONDS = 1
_MAX_DELAY_SECONDS = 7 * 24 * 3600 - 1  # a queue message can be hidden for at most 7 days


@dataclass(frozen=True)
class Failure:
    """What one failure means for the record or message it hit."""

    kind: Kind
    error_class: str
    message: str
    retry_after: float | None = None

    @property
    def delay_seconds(self) -> int:
        """How long to hide re-enqueued work: the service's Retry-After, at least a second."""
        wait = self.retry_after if self.retry_after is not None else 0.0
        return int(min(max(math.ceil(wait), _MIN_DELAY_SECONDS), _MAX_DELAY_SECONDS))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def classify(error: BaseException) -> Failure:
    """The failure ``error`` stands for."""
    error_class = getattr(error, "error_class", None)
    if not isinstance(error_class, str) or not error_class:
        error_class = _snake(type(error).__name__)
    message = str(error) or type(error).__name__
    retry_after = getattr(error, "retry_after", None)
    transient = getattr(error, "transient", False) is True
    if retry_after is not None and not isinstance(retry_after, int | float):
        retry_after = None
    if transient and (retry_after is not None or "throttl" in error_class):
        return Failure("throttled", error_class, message, float(retry_after or 0.0))
    if transient:
        return Failure("transient", error_class, message)
    return Failure("permanent", error_class, message)
