"""NCRONTAB: six fields, seconds first, as the Functions host reads them; the settings check agrees."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devhost.hostjson import timespan_seconds
from shared.config import AppSettings
from shared.platform.ncrontab import Schedule, ScheduleError

T0 = datetime(2026, 11, 29, 23, 59, 58, tzinfo=UTC)  # a Sunday


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("*/5 * * * * *", T0, datetime(2026, 11, 30, 0, 0, 0, tzinfo=UTC)),
        (
            "0 */5 * * * *",
            datetime(2026, 11, 29, 12, 3, 0, tzinfo=UTC),
            datetime(2026, 11, 29, 12, 5, tzinfo=UTC),
        ),
        (
            "0 0 * * * *",
            datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC),
            datetime(2026, 11, 29, 13, 0, tzinfo=UTC),
        ),
        ("0 30 9 * * 1-5", T0, datetime(2026, 11, 30, 9, 30, tzinfo=UTC)),  # Monday
        ("0 30 9 * * MON-FRI", T0, datetime(2026, 11, 30, 9, 30, tzinfo=UTC)),
        ("0 30 9 * * Monday-Friday", T0, datetime(2026, 11, 30, 9, 30, tzinfo=UTC)),
        ("0 0 0 1 January *", T0, datetime(2027, 1, 1, tzinfo=UTC)),
        ("0 0 0 1 JAN *", T0, datetime(2027, 1, 1, tzinfo=UTC)),
        (
            "0 0 12 * * SUN",
            datetime(2026, 11, 29, 11, 0, tzinfo=UTC),
            datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
        ),
        ("0 0 12 * * 0", datetime(2026, 11, 29, 13, 0, tzinfo=UTC), datetime(2026, 12, 6, 12, 0, tzinfo=UTC)),
        (
            "15,45 * * * * *",
            datetime(2026, 1, 1, 0, 0, 20, tzinfo=UTC),
            datetime(2026, 1, 1, 0, 0, 45, tzinfo=UTC),
        ),
        ("0 0 0 29 2 *", T0, datetime(2028, 2, 29, tzinfo=UTC)),
        ("0 0 0 29 2 MON", T0, datetime(2044, 2, 29, tzinfo=UTC)),  # 18 years on: Feb 29 is rarely a Monday
        (
            "10/20 * * * * *",
            datetime(2026, 1, 1, 0, 0, 31, tzinfo=UTC),
            datetime(2026, 1, 1, 0, 0, 50, tzinfo=UTC),
        ),
    ],
)
def test_next_occurrence(expression: str, after: datetime, expected: datetime) -> None:
    """The next firing is the first matching second strictly after the instant."""
    assert Schedule.parse(expression).next_after(after) == expected


def test_day_of_month_and_day_of_week_must_both_match() -> None:
    """The 13th that is a Friday, as NCrontab reads it (not every 13th or every Friday)."""
    assert Schedule.parse("0 0 0 13 * FRI").next_after(T0) == datetime(2027, 8, 13, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("*/5 * * * *", "6 fields"),  # Unix cron: five fields, the classic trap
        ("60 * * * * *", "second: 60 is outside 0-59"),
        ("0 0 12 * * 7", "day-of-week: 7 is outside 0-6"),  # NCrontab numbers days 0-6 (0 = Sunday)
        ("0 0 25 * * *", "hour: 25 is outside 0-23"),
        ("0 0 0 * * */0", "bad step"),
        ("0 0 0 5-1 * *", "runs backwards"),
        ("0 0 0 * FOO *", "not a number"),
        ("0 0 0 31 2 *", "never fires"),
        ("0 0 0 30,31 2 *", "never fires"),
    ],
)
def test_bad_expressions_name_the_problem(expression: str, reason: str) -> None:
    """Invalid schedules raise ScheduleError saying which field is wrong, as soon as they are parsed."""
    with pytest.raises(ScheduleError, match=reason):
        Schedule.parse(expression)


def heartbeat_problems(schedule: str) -> list[str]:
    """What /api/health reports for the heartbeat feature with this schedule."""
    return AppSettings({"HEARTBEAT_SCHEDULE": schedule, "ECHO_QUEUE": "echo"}).problems().get("heartbeat", [])


@pytest.mark.parametrize(
    "expression", ["99 * * * * *", "0 0 25 * * *", "0 0 0 31 2 *", "0 0 0 * * MON-FOO", "*/5 * * * *"]
)
def test_health_rejects_what_the_timers_reject(expression: str) -> None:
    """A schedule the timer cannot parse is a health problem carrying the parser's reason."""
    with pytest.raises(ScheduleError) as caught:
        Schedule.parse(expression)
    assert heartbeat_problems(expression) == [
        f"HEARTBEAT_SCHEDULE is invalid: {caught.value} "
        "(expected six NCRONTAB fields, seconds first, e.g. '0 */5 * * * *')"
    ]


@pytest.mark.parametrize("expression", ["0 */5 * * * *", "*/10 * 9-17 * * MON-FRI", "0 0 0 29 2 MON"])
def test_health_accepts_what_the_timers_accept(expression: str) -> None:
    """A schedule the timer can run raises no health problem."""
    Schedule.parse(expression)
    assert heartbeat_problems(expression) == []


@pytest.mark.parametrize(
    ("text", "seconds"), [("00:00:30", 30), ("00:01:00", 60), ("1.02:00:00", 93600), ("00:00:00.5", 0.5)]
)
def test_timespans(text: str, seconds: float) -> None:
    """host.json TimeSpan values convert to seconds."""
    assert timespan_seconds(text) == seconds
