from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedback.domain.calendar import Calendar, month_bounds, previous_months, week_key, week_start, weeks_of_month
from feedback.domain.errors import InvalidInput

ZH = Calendar.build(preset="zh-CN")


def test_zh_cn_preset_knows_the_2026_holidays_and_make_up_days():
    assert not ZH.is_working_day(date(2026, 10, 1))  # National Day
    assert not ZH.is_working_day(date(2026, 2, 17))  # Spring Festival
    assert ZH.is_working_day(date(2026, 10, 10))  # a Saturday worked (调休)
    assert ZH.is_working_day(date(2026, 12, 2)) and not ZH.is_working_day(date(2026, 12, 5))


def test_the_checkin_window_is_the_months_last_five_working_days():
    assert ZH.checkin_window(2026, 12) == (date(2026, 12, 25), date(2026, 12, 31))
    # September 2026 ends in the Mid-Autumn holiday (25-27) with the 20th worked: the window skips the holiday
    assert ZH.checkin_window(2026, 9) == (date(2026, 9, 23), date(2026, 9, 30))
    assert Calendar.build(holidays=[date(2026, 12, 31)]).checkin_window(2026, 12) == (date(2026, 12, 24),
                                                                                        date(2026, 12, 30))


def test_bad_calendars_name_the_field():
    with pytest.raises(InvalidInput) as error:
        Calendar.build(working_weekdays=[0])
    assert error.value.field == "working_weekdays"
    with pytest.raises(InvalidInput) as error:
        Calendar.build(holidays=[date(2026, 1, 4)], extra_working_days=[date(2026, 1, 4)])
    assert error.value.field == "extra_working_days"


@given(st.integers(2000, 2100), st.integers(1, 12), st.sets(st.integers(1, 7), min_size=1),
       st.sets(st.integers(0, 30), max_size=10), st.integers(1, 10))
def test_the_window_is_inside_the_month_and_made_of_working_days(year, month, weekdays, off, days):
    first, last = month_bounds(year, month)
    holidays = [first + timedelta(days=d) for d in off if first + timedelta(days=d) <= last]
    cal = Calendar.build(weekdays, holidays)
    start, end = cal.checkin_window(year, month, days)
    assert first <= start <= end <= last
    worked = cal.working_days(start, end)
    if worked:
        assert worked[0] == start and worked[-1] == end and len(worked) <= days
        assert not cal.working_days(end + timedelta(days=1), last)  # nothing worked after the window


@given(st.dates(date(2001, 1, 1), date(2099, 12, 31)))
def test_iso_weeks_round_trip(day):
    key = week_key(day)
    assert week_start(key) <= day < week_start(key) + timedelta(days=7)


@given(st.integers(2001, 2099), st.integers(1, 12))
def test_every_week_belongs_to_exactly_one_month(year, month):
    key = f"{year:04d}-{month:02d}"
    for week in weeks_of_month(key):
        thursday = week_start(week) + timedelta(days=3)
        assert (thursday.year, thursday.month) == (year, month)
    assert previous_months(key, 13)[0] == f"{year - 1:04d}-{month:02d}"
