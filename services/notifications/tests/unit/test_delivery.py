"""When and how: channels by priority, quiet hours, the digest, the hourly limit."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.domain import delivery
from notifications.domain.errors import InvalidInput

NIGHT = delivery.Preferences(email="a@example.com", phone="+8613800138000", channels=("email", "sms"),
                             quiet_start=time(22, 0), quiet_end=time(7, 30), timezone="Asia/Shanghai")
LIMITS = {"email": 20, "sms": 5}
ALL = {"email": True, "sms": True}


def at_shanghai(hour, minute=0, day=2):
    return datetime(2026, 12, day, hour, minute, tzinfo=delivery.zone("Asia/Shanghai")).astimezone(UTC)


def test_high_priority_goes_by_email_and_sms_at_once_in_the_daytime():
    now = at_shanghai(10)
    planned = delivery.plan("high", NIGHT, now, {}, LIMITS, ALL)
    assert [(p.channel, p.mode, p.due_at) for p in planned] == [("email", "now", now), ("sms", "now", now)]


def test_quiet_hours_move_email_and_sms_to_their_end_across_midnight():
    now = at_shanghai(23, 15)
    planned = delivery.plan("high", NIGHT, now, {}, LIMITS, ALL)
    assert {p.due_at for p in planned} == {at_shanghai(7, 30, day=3)}
    assert delivery.after_quiet_hours(at_shanghai(6, 0), NIGHT) == at_shanghai(7, 30)


def test_normal_priority_sends_no_sms_and_low_priority_waits_for_the_digest():
    now = at_shanghai(10)
    assert [p.channel for p in delivery.plan("normal", NIGHT, now, {}, LIMITS, ALL)] == ["email"]
    [digest] = delivery.plan("low", NIGHT, now, {}, LIMITS, ALL)
    assert digest.mode == "digest" and digest.due_at == at_shanghai(9, 0, day=3)


def test_over_the_hourly_limit_email_joins_the_digest_and_sms_is_skipped():
    planned = delivery.plan("high", NIGHT, at_shanghai(10), {"email": 20, "sms": 5}, LIMITS, ALL)
    assert [(p.channel, p.mode, p.reason) for p in planned] == [("email", "digest", "rate limit"),
                                                                ("sms", "skip", "rate limit")]


def test_no_address_or_channel_off_means_inbox_only_and_a_missing_provider_is_recorded():
    assert delivery.plan("high", delivery.Preferences(), at_shanghai(10), {}, LIMITS, ALL) == []
    planned = delivery.plan("high", NIGHT, at_shanghai(10), {}, LIMITS, {"email": True, "sms": False})
    assert [(p.channel, p.mode) for p in planned] == [("email", "now"), ("sms", "skip")]


def test_an_unknown_time_zone_is_refused_naming_the_field():
    with pytest.raises(InvalidInput) as refused:
        delivery.zone("Mars/Olympus")
    assert refused.value.field == "timezone"


MOMENTS = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
TIMES = st.times().map(lambda t: t.replace(second=0, microsecond=0))


@given(MOMENTS, TIMES, TIMES, st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC"]))
def test_after_quiet_hours_is_never_in_them_never_earlier_and_less_than_a_day_away(now, start, end, tz):
    prefs = delivery.Preferences(quiet_start=start, quiet_end=end, timezone=tz)
    moved = delivery.after_quiet_hours(now, prefs)
    assert now <= moved <= now + timedelta(hours=25)
    assert not delivery.in_quiet_hours(moved, prefs)


@given(MOMENTS, st.integers(0, 23))
def test_the_next_digest_is_within_a_day_at_the_chosen_local_hour(now, hour):
    prefs = delivery.Preferences(digest_hour=hour)
    slot = delivery.next_digest(now, prefs)
    assert now < slot <= now + timedelta(hours=25)
    assert slot.astimezone(delivery.zone(prefs.timezone)).hour == hour
