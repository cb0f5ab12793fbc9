"""NCRONTAB schedules as Azure Functions reads them: six fields, seconds first.

``{second} {minute} {hour} {day} {month} {day-of-week}``, each ``*``, a value, a range ``a-b``, a step
``*/n`` / ``a-b/n`` / ``a/n``, or a comma list of those; months and days of week also by name, as
NCrontab reads them: any prefix of at least three letters of the English name (``MON``, ``Monday``), and
days numbered 0-6 from Sunday. Like the NCrontab library the host uses, a day must match both the
day-of-month and the day-of-week fields (Vixie cron would accept either when both are restricted).
Times are UTC (``WEBSITE_TIME_ZONE`` is not read).

It lives in ``shared`` so that the settings check behind /api/health and devhost's timers accept exactly
the same schedules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

_MONTH_NAMES = ("JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST", "SEPTEMBER",
                "OCTOBER", "NOVEMBER", "DECEMBER")  # fmt: skip
_DAY_NAMES = ("SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_DAYS = {d: i for i, d in enumerate(_DAY_NAMES)}
_NO_NAMES: dict[str, int] = {}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (  # name, lowest, highest, names
    ("second", 0, 59, _NO_NAMES),
    ("minute", 0, 59, _NO_NAMES),
    ("hour", 0, 23, _NO_NAMES),
    ("day", 1, 31, _NO_NAMES),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 6, _DAYS),
)
# Longest days in each month (Feb 29 in leap years): a schedule naming no existing date never fires.
_LONGEST_MONTH = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}
# The Gregorian calendar repeats its dates and weekdays every 400 years, so any schedule that names an
# existing date finds its next firing within that span (Feb 29 on a given weekday can be 40 years away).
_SEARCH_DAYS = 146_097


class ScheduleError(ValueError):
    """An expression that is not a valid six-field NCRONTAB schedule."""


def _value(text: str, low: int, high: int, names: dict[str, int], field: str) -> int:
    upper = text.upper()
    if len(upper) >= 3:
        matches = [number for name, number in names.items() if name.startswith(upper)]
        if len(matches) == 1:
            return matches[0]
    if not text.isdigit():
        raise ScheduleError(f"{field}: {text!r} is not a number")
    value = int(text)
    if not low <= value <= high:
        raise ScheduleError(f"{field}: {value} is outside {low}-{high}")
    return value


def _parse_field(text: str, low: int, high: int, names: dict[str, int], field: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"{field}: bad step {step_text!r}")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _value(first, low, high, names, field), _value(last, low, high, names, field)
            if start > end:
                raise ScheduleError(f"{field}: range {base!r} runs backwards")
        else:
            start = _value(base, low, high, names, field)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Schedule:
    """A parsed NCRONTAB expression that can say when it next fires."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday

    @classmethod
    def parse(cls, expression: str) -> Schedule:
        """Parse ``expression``; raises ScheduleError naming the bad field."""
        fields = expression.split()
        if len(fields) != 6:
            raise ScheduleError(f"{expression!r}: NCRONTAB needs 6 fields (seconds first), got {len(fields)}")
        parsed = [
            _parse_field(text, *spec[1:3], spec[3], spec[0])
            for text, spec in zip(fields, _FIELDS, strict=True)
        ]
        seconds, minutes, hours, days, months, weekdays = parsed
        if not any(day <= _LONGEST_MONTH[month] for month in months for day in days):
            raise ScheduleError(f"{expression!r} never fires: no month in it has any of its days")
        return cls(expression, seconds, minutes, hours, days, months, weekdays)

    def next_after(self, instant: datetime) -> datetime:
        """The first firing time strictly after ``instant`` (same tzinfo)."""
        start = instant.replace(microsecond=0) + timedelta(seconds=1)
        day = start.replace(hour=0, minute=0, second=0)
        for _ in range(_SEARCH_DAYS):
            # Python's weekday() is Monday=0; NCRONTAB's is Sunday=0.
            if day.month in self.months and day.day in self.days and (day.weekday() + 1) % 7 in self.weekdays:
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        for second in sorted(self.seconds):
                            candidate = day.replace(hour=hour, minute=minute, second=second)
                            if candidate >= start:
                                return candidate
            day += timedelta(days=1)
        raise ScheduleError(f"{self.expression!r} never fires")
