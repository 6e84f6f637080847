from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedback.domain import activity, checkins, coaching, reports, surveys
from feedback.domain.errors import InvalidInput, NotAllowed

# -- check-ins ---------------------------------------------------------------------------------------------------

def test_checkin_states_hold_then_both_sign():
    checkins.check_hold("scheduled", date(2026, 12, 1), date(2026, 12, 2), "m", "m")
    with pytest.raises(NotAllowed):
        checkins.check_hold("held", date(2026, 12, 1), date(2026, 12, 2), "m", "m")
    with pytest.raises(NotAllowed):
        checkins.sign("scheduled", "m", "m", "p", False, False)
    state = checkins.sign("held", "m", "m", "p", False, False)
    assert state == (True, False, "held")
    assert checkins.sign("held", "p", "m", "p", True, False) == (True, True, "signed_off")
    with pytest.raises(NotAllowed) as error:
        checkins.sign("held", "x", "m", "p", False, False)
    assert error.value.field == "actor"


@given(st.lists(st.sampled_from(["m", "p"]), max_size=6))
def test_signed_off_only_once_both_signed(signers):
    by_m = by_p = False
    state = "held"
    for who in signers:
        by_m, by_p, state = checkins.sign(state, who, "m", "p", by_m, by_p)
    assert (state == "signed_off") == ({"m", "p"} <= set(signers))


class P:
    def __init__(self, author, visibility):
        self.author_id, self.visibility = author, visibility


@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from(["shared", "private"]))), st.sampled_from("abc"))
def test_nobody_sees_another_persons_private_point(points, viewer):
    shown = checkins.visible_to([P(a, v) for a, v in points], viewer)
    assert all(p.visibility == "shared" or p.author_id == viewer for p in shown)
    assert len(shown) == sum(1 for a, v in points if v == "shared" or a == viewer)


# -- reports -----------------------------------------------------------------------------------------------------

def test_a_report_period_is_open_from_its_start_until_the_grace_ends():
    assert reports.check_open("weekly", "2026-W49", date(2026, 11, 30), 1) == (date(2026, 11, 30), date(2026, 12, 6))
    with pytest.raises(InvalidInput):
        reports.check_open("weekly", "2026-W49", date(2026, 12, 8), 1)
    with pytest.raises(InvalidInput):
        reports.check_open("weekly", "2026-W50", date(2026, 12, 2), 1)
    with pytest.raises(InvalidInput) as error:
        reports.check_open("daily", "2026-W49", date(2026, 12, 2), 1)
    assert error.value.field == "period"


def test_summary_lists_missing_people_and_repeated_blockers_first():
    s = reports.summarize(["a", "b", "c"], [reports.Report("a", "w", "x", ("VPN down",)),
                                             reports.Report("b", "w", "y", ("vpn down!", "no laptop"), ("g",))],
                          {"b": [{"vpndown"}, {"vpndown"}, set()]})
    assert s.missing == ["c"] and s.reported == 2
    assert s.blockers[0] == ("b", "vpn down!", ("g",), 3)


@given(st.integers(0, 1000), st.integers(0, 1000))
def test_rate_is_a_fraction(submitted, expected):
    r = reports.rate(submitted, expected)
    assert Decimal(0) <= r <= Decimal(1)
    if expected and submitted >= expected:
        assert r == 1


# -- sales activity ----------------------------------------------------------------------------------------------

AT = datetime(2026, 12, 1, 10, tzinfo=UTC)
SHANGHAI = (31.2304, 121.4737)


def _verify(check_in=(31.2310, 121.4740, 20.0), opp=AT):
    return activity.verify(check_in=check_in, customer=SHANGHAI, opportunity_at=opp, visited_at=AT, radius_m=500,
                           max_accuracy_m=200, window=timedelta(hours=72))


def test_valid_only_with_both_proofs():
    assert _verify().valid
    assert not _verify(check_in=None).valid
    assert not _verify(opp=None).valid
    assert not _verify(opp=AT + timedelta(days=4)).valid
    assert not _verify(check_in=(31.30, 121.4740, 20.0)).valid  # ~7.7 km away
    assert not _verify(check_in=(31.2310, 121.4740, 900.0)).valid  # too imprecise to prove anything


def test_a_visit_in_the_future_is_refused():
    with pytest.raises(InvalidInput) as error:
        activity.check_visit_time(AT + timedelta(hours=1), AT)
    assert error.value.field == "visited_at"
    activity.check_visit_time(AT + timedelta(minutes=2), AT)  # a phone clock slightly ahead


@given(st.floats(-89, 89), st.floats(-179, 179), st.floats(-89, 89), st.floats(-179, 179))
def test_distance_is_a_metric(a, b, c, d):
    assert activity.distance_m(a, b, a, b) == pytest.approx(0, abs=1e-6)
    assert activity.distance_m(a, b, c, d) == pytest.approx(activity.distance_m(c, d, a, b), rel=1e-9, abs=1e-6)
    assert 0 <= activity.distance_m(a, b, c, d) <= 20_016_000


@given(st.dictionaries(st.sampled_from("abcdef"), st.dates(date(2026, 1, 1), date(2026, 12, 31))),
       st.integers(1, 8))
def test_zero_activity_flags_exactly_the_people_silent_for_n_full_weeks(last, weeks):
    today = date(2026, 12, 2)
    flagged = {p for p, _ in activity.zero_activity("abcdef", last, today, weeks)}
    since = today - timedelta(days=today.weekday()) - timedelta(days=7 * weeks)
    assert flagged == {p for p in "abcdef" if p not in last or last[p] < since}


# -- coaching ----------------------------------------------------------------------------------------------------

def test_the_directors_1_2_is_below_the_standard_of_3():
    avg = coaching.average([1, 1, 2, 1, 1])
    assert avg == Decimal("1.20") and coaching.below_standard(avg, Decimal(3))
    assert not coaching.below_standard(coaching.average([3, 4, 2]), Decimal(3))


# -- 360 ---------------------------------------------------------------------------------------------------------

@given(st.one_of(st.none(), st.integers(-5, 50)), st.integers(-5, 50))
def test_the_threshold_is_never_below_three(requested, default):
    assert surveys.threshold(requested, default) >= 3


@given(st.integers(0, 10), st.integers(-3, 10))
def test_nothing_is_released_below_three_answers(answered, needed):
    if answered < 3:
        assert not surveys.released(answered, needed)


def test_pseudonyms_are_stable_per_request_and_unlinkable_across_requests():
    a = surveys.pseudonym("k" * 32, "r1", "alice")
    assert a == surveys.pseudonym("k" * 32, "r1", "alice")
    assert a != surveys.pseudonym("k" * 32, "r2", "alice") and a != surveys.pseudonym("j" * 32, "r1", "alice")
    assert "alice" not in a


def test_answers_are_checked():
    with pytest.raises(NotAllowed) as error:
        surveys.check_can_answer("open", False, False)
    assert error.value.field == "actor"
    with pytest.raises(InvalidInput):
        surveys.check_can_answer("open", True, True)
    with pytest.raises(InvalidInput) as bad:
        surveys.check_scores({"a": 6}, {"a": 5})
    assert bad.value.field == "scores.a"
