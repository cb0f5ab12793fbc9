"""IFS ETags: ``W/"<base64 of W/"<Objid>:<Objversion>">"``, decoded and built.

The connector treats an ETag as opaque when it sends it back in ``If-Match``; decoding is for change detection
and diagnostics (Objversion of CustomerOrder is the last-modification timestamp: docs/ifs-api.md,
"Updates and ETags") and for the simulator, which builds ETags the same way IFS does. The codec lives in
``shared`` so the client and the simulator cannot disagree about it.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime

_OUTER = re.compile(r'^W/"(?P<payload>[A-Za-z0-9+/]+={0,2})"$')
_INNER = re.compile(r'^W/"(?P<objid>[^":]+):(?P<objversion>[^"]+)"$')
_TIMESTAMP_VERSION = re.compile(r"^\d{14}$")


class MalformedEtagError(ValueError):
    """A value that is not an IFS ETag; the message says which part is wrong."""


@dataclass(frozen=True)
class IfsEtag:
    """The two parts IFS packs into an ETag: the row's Oracle ROWID and its Objversion."""

    objid: str
    objversion: str

    def encode(self) -> str:
        """The ETag as IFS sends it in ``@odata.etag`` and expects in ``If-Match``."""
        if ":" in self.objid or '"' in self.objid or '"' in self.objversion:
            raise MalformedEtagError(f"cannot encode objid {self.objid!r} / objversion {self.objversion!r}")
        inner = f'W/"{self.objid}:{self.objversion}"'
        return 'W/"' + base64.b64encode(inner.encode("ascii")).decode("ascii") + '"'

    def version_timestamp(self) -> datetime | None:
        """Objversion read as a ``YYYYMMDDHHMMSS`` timestamp (as for CustomerOrder), or None if it is not one.

        IFS stores it in the server's time zone; it is returned as UTC-labelled for ordering only.
        """
        if not _TIMESTAMP_VERSION.fullmatch(self.objversion):
            return None
        try:
            return datetime.strptime(self.objversion, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            return None


def decode_etag(etag: str) -> IfsEtag:
    """Split an IFS ETag into Objid and Objversion; raises MalformedEtagError with the reason."""
    outer = _OUTER.fullmatch(etag.strip())
    if outer is None:
        raise MalformedEtagError(f'not a weak ETag of base64 (W/"…"): {etag!r}')
    try:
        inner_text = base64.b64decode(outer["payload"], validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise MalformedEtagError(f"ETag payload is not base64 of ASCII: {etag!r}") from exc
    inner = _INNER.fullmatch(inner_text)
    if inner is None:
        raise MalformedEtagError(f'ETag payload is not W/"<objid>:<objversion>": {inner_text!r}')
    return IfsEtag(objid=inner["objid"], objversion=inner["objversion"])
