from datetime import date, timedelta
from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goals.domain.errors import InvalidInput
from goals.domain.progress import Direction, Thresholds
from goals.domain.status import (
    Colour,
    Milestone,
    Schedule,
    colour_for,
    kpi_colour,
    linear_sweep_colour,
    linear_sweep_terms,
    schedule_status,
    status_terms,
)

START = date(2025, 1, 1)
DUE = START + timedelta(days=100)
LINEAR = Schedule(START, DUE)


def on(day: int) -> date:
    return START + timedelta(days=day)


def test_linear_expected():
    assert LINEAR.expected(on(-5)) == 0
    assert LINEAR.expected(on(0)) == 0
    assert LINEAR.expected(on(25)) == Fraction(1, 4)
    assert LINEAR.expected(on(100)) == 1
    assert LINEAR.expected(on(150)) == 1


def test_milestones_interpolate_piecewise():
    schedule = Schedule(START, DUE, (Milestone(on(50), D("0.2")), Milestone(on(80), D("0.8"))))
    assert schedule.expected(on(25)) == Fraction(1, 10)
    assert schedule.expected(on(50)) == Fraction(1, 5)
    assert schedule.expected(on(65)) == Fraction(1, 2)
    assert schedule.expected(on(90)) == Fraction(9, 10)


def test_milestone_on_start_date_sets_the_first_point():
    schedule = Schedule(START, DUE, (Milestone(START, D("0.5")), Milestone(DUE, D(1))))
    assert schedule.expected(on(-1)) == 0
    assert schedule.expected(on(0)) == Fraction(1, 2)
    assert schedule.expected(on(50)) == Fraction(3, 4)


@pytest.mark.parametrize(
    "milestones,field",
    [
        ((Milestone(on(-1), D("0.1")),), "milestones[0].on"),
        ((Milestone(on(101), D("0.1")),), "milestones[0].on"),
        ((Milestone(on(10), D("0.5")), Milestone(on(10), D("0.6"))), "milestones[1].on"),
        ((Milestone(on(10), D("0.5")), Milestone(on(20), D("0.4"))), "milestones[1].fraction"),
        ((Milestone(on(10), D("1.5")),), "milestones[0].fraction"),
        ((Milestone(DUE, D("0.9")),), "milestones[0].fraction"),
        ((Milestone(on(10), 0.5),), "milestones[0].fraction"),
    ],
)
def test_schedule_validation(milestones, field):
    with pytest.raises(InvalidInput) as error:
        Schedule(START, DUE, milestones)
    assert error.value.field == field


def test_due_must_follow_start():
    with pytest.raises(InvalidInput) as error:
        Schedule(START, START)
    assert error.value.field == "due"


def test_green_when_on_or_ahead_of_schedule():
    assert schedule_status(LINEAR, D("0.5"), on(50)).colour is Colour.GREEN
    assert schedule_status(LINEAR, D("0.6"), on(50)).colour is Colour.GREEN
    assert schedule_status(LINEAR, D(0), on(-10)).colour is Colour.GREEN  # not started yet


def test_yellow_when_behind_by_less_than_two_weeks():
    # 100-day schedule: two weeks are 0.14 of progress
    report = schedule_status(LINEAR, D("0.37"), on(50))
    assert report.colour is Colour.YELLOW
    assert report.deficit == D("0.13")
    assert report.red_floor == D("0.36")


def test_red_when_behind_by_two_weeks_or_more():
    assert schedule_status(LINEAR, D("0.36"), on(50)).colour is Colour.RED
    assert schedule_status(LINEAR, D("0.1"), on(50)).colour is Colour.RED


def test_red_after_weeks_is_configurable():
    assert schedule_status(LINEAR, D("0.36"), on(50), red_after_weeks=3).colour is Colour.YELLOW
    assert schedule_status(LINEAR, D("0.29"), on(50), red_after_weeks=3).colour is Colour.RED
    with pytest.raises(InvalidInput):
        schedule_status(LINEAR, D("0.5"), on(50), red_after_weeks=0)


def test_not_red_in_the_first_weeks_without_progress():
    assert schedule_status(LINEAR, D(0), on(1)).colour is Colour.YELLOW
    assert schedule_status(LINEAR, D(0), on(13)).colour is Colour.YELLOW
    assert schedule_status(LINEAR, D(0), on(14)).colour is Colour.RED


def test_overdue_and_incomplete_is_red_complete_is_green():
    report = schedule_status(LINEAR, D("0.99"), on(101))
    assert report.colour is Colour.RED and report.overdue and not report.complete
    done = schedule_status(LINEAR, D(1), on(101))
    assert done.colour is Colour.GREEN and done.complete
    # on the due date itself it is not overdue yet
    assert schedule_status(LINEAR, D("0.95"), on(100)).colour is Colour.YELLOW


def test_flat_milestone_segment_goes_red_when_below_the_level_of_two_weeks_ago():
    schedule = Schedule(START, DUE, (Milestone(on(30), D("0.5")), Milestone(on(70), D("0.5"))))
    assert schedule_status(schedule, D("0.49"), on(60)).colour is Colour.RED
    assert schedule_status(schedule, D("0.5"), on(60)).colour is Colour.GREEN


def test_actual_must_be_a_fraction():
    with pytest.raises(InvalidInput) as error:
        schedule_status(LINEAR, D("1.2"), on(3))
    assert error.value.field == "actual"


def test_linear_sweep_terms_are_whole_days():
    terms = linear_sweep_terms(START, DUE, on(50), red_after_weeks=2)
    assert (terms.elapsed_days, terms.span_days, terms.red_lag_days, terms.overdue) == (50, 100, 14, False)
    assert terms.expected == Fraction(1, 2) and terms.red_margin == Fraction(14, 100)
    assert linear_sweep_terms(START, DUE, on(-3)).elapsed_days == 0
    late = linear_sweep_terms(START, DUE, on(130))
    assert late.elapsed_days == 100 and late.overdue
    with pytest.raises(InvalidInput):
        linear_sweep_terms(START, START, on(1))
    with pytest.raises(InvalidInput):
        linear_sweep_terms(START, DUE, on(1), red_after_weeks=0)


def test_kpi_colour_bands():
    at_least = Thresholds(D(90), D(80))
    assert kpi_colour(Direction.AT_LEAST, D(90), at_least, D(92)) is Colour.GREEN
    assert kpi_colour(Direction.AT_LEAST, D(90), at_least, D(80)) is Colour.YELLOW
    assert kpi_colour(Direction.AT_LEAST, D(90), at_least, D("79.9")) is Colour.RED
    at_most = Thresholds(D(2), D(4))  # first response <= 2 h
    assert kpi_colour(Direction.AT_MOST, D(2), at_most, D(2)) is Colour.GREEN
    assert kpi_colour(Direction.AT_MOST, D(2), at_most, D(3)) is Colour.YELLOW
    assert kpi_colour(Direction.AT_MOST, D(2), at_most, D(5)) is Colour.RED
    equal = Thresholds(D(0), D(1))  # reimbursement accuracy = 100 %
    assert kpi_colour(Direction.EQUAL, D(100), equal, D(100)) is Colour.GREEN
    assert kpi_colour(Direction.EQUAL, D(100), equal, D("99.2")) is Colour.YELLOW
    assert kpi_colour(Direction.EQUAL, D(100), equal, D(98)) is Colour.RED


actual_values = st.decimals(min_value=0, max_value=1, places=4)
days = st.integers(-60, 400)


@st.composite
def schedules(draw):
    span = draw(st.integers(1, 366))
    due = START + timedelta(days=span)
    offsets = sorted(draw(st.sets(st.integers(0, span), max_size=5)))
    fractions = sorted(draw(st.lists(st.decimals(0, 1, places=3), min_size=len(offsets), max_size=len(offsets))))
    milestones = tuple(
        Milestone(START + timedelta(days=d), D(1) if d == span else f) for d, f in zip(offsets, fractions)
    )
    if draw(st.booleans()):
        milestones = ()
    return Schedule(START, due, milestones)


@given(schedules(), actual_values, days, st.integers(1, 8))
def test_never_green_when_overdue_and_incomplete(schedule, actual, day, weeks):
    report = schedule_status(schedule, actual, on(day), weeks)
    if report.overdue and actual < 1:
        assert report.colour is Colour.RED
    if actual == 1:
        assert report.colour is Colour.GREEN


@given(schedules(), actual_values, days, st.integers(1, 8))
def test_rule_matches_its_definition(schedule, actual, day, weeks):
    d = on(day)
    expected = schedule.expected(d)
    report = schedule_status(schedule, actual, d, weeks)
    a = Fraction(actual)
    if a >= 1:
        want = Colour.GREEN
    elif d > schedule.due:
        want = Colour.RED
    elif a >= expected:
        want = Colour.GREEN
    elif expected - a >= expected - schedule.curve(day - 7 * weeks, extend_back=True):
        want = Colour.RED
    else:
        want = Colour.YELLOW
    assert report.colour is want


@given(schedules(), days, st.integers(1, 8), actual_values, actual_values)
def test_more_progress_never_worsens_the_colour(schedule, day, weeks, a, b):
    rank = {Colour.RED: 0, Colour.YELLOW: 1, Colour.GREEN: 2}
    low, high = sorted((a, b))
    terms = status_terms(schedule, on(day), weeks)
    assert rank[colour_for(terms, low)] <= rank[colour_for(terms, high)]


@given(st.integers(1, 400), days, st.integers(1, 8), actual_values)
def test_sql_sweep_terms_agree_with_the_reference_for_linear_schedules(span, day, weeks, actual):
    schedule = Schedule(START, START + timedelta(days=span))
    terms = linear_sweep_terms(schedule.start, schedule.due, on(day), weeks)
    assert linear_sweep_colour(terms, actual) is schedule_status(schedule, actual, on(day), weeks).colour
    if 0 <= day <= span:
        # within the schedule the red margin is exactly N weeks' worth of linear progress
        reference = status_terms(schedule, on(day), weeks)
        assert reference.expected - reference.red_floor == terms.red_margin
