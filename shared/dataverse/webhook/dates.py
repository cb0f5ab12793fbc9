r"""The ``/Date(ms)/`` and ``/Date(ms±hhmm)/`` literals of .NET's DataContractJsonSerializer, both ways.

Semantics implemented (the documented ones): the number is milliseconds since 1970-01-01T00:00:00Z, i.e.
the UTC instant; the optional ``±hhmm`` only marks a ``DateTimeKind.Local``/``Unspecified`` value and, per
the docs, "the actual number and its sign are ignored" on deserialisation. Source: .NET docs, "Stand-Alone
JSON Serialization", section "DateTime Wire Format" (dotnet/docs
``docs/framework/wcf/feature-details/stand-alone-json-serialization.md``).
So ``/Date(1506409448000-0700)/`` is 2017-09-26T07:04:08Z, not 14:04:08Z.

Observed quirk (not corrected here): in the captures whose ``OperationCreatedOn`` carries a non-zero
offset, instant plus offset is the row's own ``modifiedon``/``createdon`` (MS docs sample, -0700: the
instant is 7 h 0 min 1 s after ``modifiedon``; SharePoint capture, +0200: 2 h before ``createdon``;
activity capture, +0300: 3 h before ``modifiedon``). That fits a UTC
time held with ``Kind=Unspecified`` and converted as if it were server-local. So do not compare
``OperationCreatedOn`` with row timestamps; a row's ``modifiedon`` is written without offset and agrees with
its FormattedValues.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# [0-9], not \d: \d also matches other scripts' digits ("/Date(٣)/"), which int() would then accept.
_LITERAL = re.compile(r"/Date\((-?[0-9]{1,18})([+-][0-9]{4})?\)/")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def is_date_literal(text: str) -> bool:
    r"""Whether ``text`` is a whole ``/Date(…)/`` literal (JSON-decoded: ``\/`` is ``/`` by now)."""
    return _LITERAL.fullmatch(text) is not None


def parse_date_literal(text: str) -> datetime:
    """The UTC instant of a ``/Date(ms)/`` or ``/Date(ms±hhmm)/`` literal.

    Raises ValueError when ``text`` is not such a literal or lies outside the range of ``datetime``.
    """
    match = _LITERAL.fullmatch(text)
    if match is None:
        raise ValueError(f"not a /Date(milliseconds)/ literal: {text[:40]!r}")
    try:
        return _EPOCH + int(match.group(1)) * _MILLISECOND
    except OverflowError:
        raise ValueError(f"date out of range: {text!r}") from None


def format_date_literal(moment: datetime) -> str:
    """The literal Dataverse writes for ``moment``: ``parse_date_literal`` reversed, to the millisecond.

    A datetime in ``datetime.UTC`` is written as a ``DateTimeKind.Utc`` value, ``/Date(ms)/``; any other
    zone as a Local/Unspecified value with its UTC offset as the display suffix, ``/Date(ms-0700)/``
    (use ``timezone(timedelta(0), "+0000")`` for the ``+0000`` form). Naive datetimes are refused.
    """
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("a naive datetime has no instant; give it a tzinfo")
    milliseconds = (moment - _EPOCH) // _MILLISECOND
    if moment.tzinfo is UTC:
        return f"/Date({milliseconds})/"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"/Date({milliseconds}{sign}{hours:02d}{minutes:02d})/"
