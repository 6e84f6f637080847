"""The company calendar: working weekdays, holidays and make-up working days (调休), and the periods built on
it (ISO weeks, months, the check-in window at the end of each month)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from feedback.domain.errors import InvalidInput

# The State Council's 2026 holiday schedule (国务院办公厅 2026 年部分节假日安排): days off, and the weekend days
# that are worked instead. Companies adjust it in their calendar; later years are added as they are published.
ZH_CN_HOLIDAYS_2026 = (
    [date(2026, 1, d) for d in (1, 2, 3)]
    + [date(2026, 2, d) for d in range(15, 24)]
    + [date(2026, 4, d) for d in (4, 5, 6)]
    + [date(2026, 5, d) for d in range(1, 6)]
    + [date(2026, 6, d) for d in (19, 20, 21)]
    + [date(2026, 9, d) for d in (25, 26, 27)]
    + [date(2026, 10, d) for d in range(1, 8)]
)
ZH_CN_WORKDAYS_2026 = [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
                       date(2026, 9, 20), date(2026, 10, 10)]
PRESETS = {"zh-CN": (ZH_CN_HOLIDAYS_2026, ZH_CN_WORKDAYS_2026), "none": ([], [])}


@dataclass(frozen=True)
class Calendar:
    working_weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    holidays: frozenset[date] = field(default_factory=frozenset)
    extra_working_days: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def build(cls, working_weekdays: Iterable[int] = (1, 2, 3, 4, 5), holidays: Iterable[date] = (),
              extra_working_days: Iterable[date] = (), preset: str | None = None) -> Calendar:
        weekdays = frozenset(working_weekdays)
        if not weekdays or not weekdays <= set(range(1, 8)):
            raise InvalidInput("working_weekdays", "ISO weekdays 1..7, at least one")
        off, on = set(holidays), set(extra_working_days)
        if preset is not None:
            if preset not in PRESETS:
                raise InvalidInput("preset", f"unknown preset {preset!r}")
            off |= set(PRESETS[preset][0])
            on |= set(PRESETS[preset][1])
        both = off & on
        if both:
            raise InvalidInput("extra_working_days", f"{min(both)} is also a holiday")
        return cls(weekdays, frozenset(off), frozenset(on))

    def is_working_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return day in self.extra_working_days or day.isoweekday() in self.working_weekdays

    def working_days(self, start: date, end: date) -> list[date]:
        """Working days in [start, end]."""
        return [start + timedelta(days=i) for i in range((end - start).days + 1)
                if self.is_working_day(start + timedelta(days=i))]

    def checkin_window(self, year: int, month: int, days: int = 5) -> tuple[date, date]:
        """The month's last working week: its last `days` working days (first, last). A month without a working
        day (a calendar that works no weekday of it) falls back to its last day."""
        first, last = month_bounds(year, month)
        worked = self.working_days(first, last)
        if not worked:
            return last, last
        tail = worked[-days:]
        return tail[0], tail[-1]


def month_bounds(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def parse_month(text: str, field_name: str = "month") -> tuple[int, int]:
    try:
        year, month = (int(part) for part in text.split("-"))
        month_bounds(year, month)
    except (ValueError, TypeError):
        raise InvalidInput(field_name, f"{text!r} is not YYYY-MM") from None
    return year, month


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_months(month: str, count: int) -> list[str]:
    """`count` months ending with `month`, oldest first."""
    year, m = parse_month(month)
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{m:02d}")
        year, m = (year - 1, 12) if m == 1 else (year, m - 1)
    return out[::-1]


def week_key(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def week_start(key: str, field_name: str = "week") -> date:
    try:
        year, week = key.split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except (ValueError, TypeError):
        raise InvalidInput(field_name, f"{key!r} is not an ISO week YYYY-Www") from None


def weeks_of_month(month: str) -> list[str]:
    """The ISO weeks that belong to a month: those whose Thursday falls in it (the ISO rule for years)."""
    year, m = parse_month(month)
    first, last = month_bounds(year, m)
    day = first + timedelta(days=(3 - first.weekday()) % 7)  # the first Thursday
    out = []
    while day <= last:
        out.append(week_key(day))
        day += timedelta(days=7)
    return out
