"""/Date(ms)/ literals: the documented DataContractJsonSerializer semantics, both directions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.dataverse.webhook import format_date_literal, parse_date_literal
from shared.dataverse.webhook.dates import is_date_literal

PACIFIC = timezone(timedelta(hours=-7))


@pytest.mark.parametrize(
    "literal",
    [
        "/Date(1506409448000)/",
        "/Date(1506409448000-0700)/",
        "/Date(1506409448000+0200)/",
        "/Date(1506409448000+0000)/",
    ],
)
def test_the_offset_does_not_move_the_instant(literal: str) -> None:
    """The number is the UTC instant; the ±hhmm suffix is ignored, as the .NET docs specify."""
    assert parse_date_literal(literal) == datetime(2017, 9, 26, 7, 4, 8, tzinfo=UTC)
    assert parse_date_literal(literal).tzinfo is UTC


def test_milliseconds_and_dates_before_1970() -> None:
    """Milliseconds are kept and negative numbers are dates before the epoch."""
    assert parse_date_literal("/Date(1697398446012)/") == datetime(2023, 10, 15, 19, 34, 6, 12000, tzinfo=UTC)
    assert parse_date_literal("/Date(-1000)/") == datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "/Date()/",
        "/Date(12)",
        "Date(12)/",
        "/Date(12+02)/",
        "/Date(1.5)/",
        " /Date(12)/",
        "/date(12)/",
        "/Date(\u0663)/",
        "/Date(12+\u0660\u0663\u0660\u0660)/",
    ],
)
def test_other_strings_are_not_literals(text: str) -> None:
    """Only the whole, exact literal counts; anything else stays a string and is refused by the parser."""
    assert not is_date_literal(text)
    with pytest.raises(ValueError, match="not a /Date"):
        parse_date_literal(text)


def test_format_utc_has_no_suffix_and_other_zones_have_their_offset() -> None:
    """UTC datetimes are written like DateTimeKind.Utc; other zones carry their offset as display suffix."""
    instant = datetime(2017, 9, 26, 7, 4, 8, tzinfo=UTC)
    assert format_date_literal(instant) == "/Date(1506409448000)/"
    assert format_date_literal(instant.astimezone(PACIFIC)) == "/Date(1506409448000-0700)/"
    india = timezone(timedelta(hours=5, minutes=30))
    assert format_date_literal(instant.astimezone(india)) == "/Date(1506409448000+0530)/"
    assert (
        format_date_literal(instant.astimezone(timezone(timedelta(0), "+0000")))
        == "/Date(1506409448000+0000)/"
    )


def test_format_truncates_to_milliseconds_and_round_trips() -> None:
    """Sub-millisecond digits are dropped, as .NET does; the rest survives a round trip."""
    moment = datetime(2023, 10, 15, 19, 34, 6, 12345, tzinfo=UTC)
    literal = format_date_literal(moment)
    assert literal == "/Date(1697398446012)/"
    assert parse_date_literal(literal) == moment.replace(microsecond=12000)


def test_naive_datetimes_are_refused() -> None:
    """A naive datetime has no instant to write."""
    with pytest.raises(ValueError, match="naive"):
        format_date_literal(datetime(2017, 9, 26, 7, 4, 8))
