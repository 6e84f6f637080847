"""The rules applied to stored goals (goals/rules.py) agree with the domain; the domain refinements the service
needed (cumulative KPIs, weights while goals are being set, schedule corners)."""
from datetime import date, timedelta
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goals.domain.errors import InvalidInput, WeightTotalError
from goals.domain.goal import Goal, GoalKind, goal_status
from goals.domain.progress import Direction, KeyResult, Kpi, Thresholds
from goals.domain.status import Colour, Milestone, Schedule
from goals.domain.tree import Owner, OwnerKind
from goals.domain.weights import check_weights_so_far
from goals.rules import colour_of, kpi_band, own_progress, scaled_thresholds, segments_of, stored_progress

START = date(2027, 1, 1)


def stored(kind, start, due, progress, **kpi):
    """A goal row as the service stores it (attributes only)."""
    row = SimpleNamespace(kind=kind, start_on=start, due_on=due, schedule="linear", progress=progress,
                          own_progress=progress, direction=None, target=None, green=None, yellow=None, actual=None,
                          cumulative=False, kpi_band=None)
    row.__dict__.update(kpi)
    row.kpi_band = kpi_band(row)
    return row


@given(st.integers(1, 400), st.integers(-30, 450), st.integers(0, 1000), st.integers(1, 6),
       st.sampled_from([">=", "<=", "="]), st.booleans(), st.one_of(st.none(), st.integers(0, 150)))
def test_a_stored_kpi_has_the_domains_colour(span, day, permille, weeks, direction, cumulative, actual):
    due = START + timedelta(days=span)
    target, green, yellow = {">=": (D(100), D(90), D(75)), "<=": (D(4), D(4), D(6)), "=": (D(100), D(1), D(3))}[
        direction]
    cumulative = cumulative and direction == ">="
    kpi = Kpi("k", Direction(direction), target, "", Thresholds(green, yellow),
              None if actual is None else D(actual), cumulative=cumulative)
    goal = Goal("g", "c", Owner(OwnerKind.PERSON, "p"), "t", GoalKind.KPI, D(0), Schedule(START, due), kpi=kpi)
    row = stored("kpi", START, due, stored_progress(kpi.progress), direction=direction, target=target, green=green,
                 yellow=yellow, actual=kpi.actual, cumulative=cumulative)
    on = START + timedelta(days=day)
    assert colour_of(row, (), on, weeks) == goal_status(goal, on, weeks).colour


@given(st.integers(0, 1000), st.integers(-10, 400), st.integers(1, 4),
       st.lists(st.tuples(st.integers(1, 199), st.integers(0, 1000)), max_size=4, unique_by=lambda x: x[0]))
def test_a_stored_milestone_schedule_has_the_domains_colour(permille, day, weeks, corners):
    due = START + timedelta(days=200)
    fractions = sorted(D(f) / 1000 for _, f in corners)
    milestones = tuple(Milestone(START + timedelta(days=d), f)
                       for d, f in zip(sorted(d for d, _ in corners), fractions, strict=True))
    schedule = Schedule(START, due, milestones)
    pieces = [SimpleNamespace(from_on=a, to_on=b, from_fraction=fa, to_fraction=fb)
              for a, b, fa, fb in segments_of(schedule)]
    progress = D(permille) / 1000
    row = stored("okr", START, due, progress)
    row.schedule = "milestones" if milestones else "linear"
    on = START + timedelta(days=day)
    okr = Goal("g", "c", Owner(OwnerKind.PERSON, "p"), "t", GoalKind.OKR, D(0), schedule,
               key_results=(KeyResult("k", D(0), D(1000), D(permille)),))
    assert colour_of(row, pieces if milestones else (), on, weeks) == goal_status(okr, on, weeks).colour


def test_a_cumulative_kpi_is_judged_by_its_schedule_not_its_band():
    due = START + timedelta(days=100)
    kpi = Kpi("k", Direction.AT_LEAST, D(100), "units", Thresholds(D(100), D(90)), D(30), cumulative=True)
    goal = Goal("g", "c", Owner(OwnerKind.PERSON, "p"), "t", GoalKind.KPI, D(0), Schedule(START, due), kpi=kpi)
    assert goal_status(goal, START + timedelta(days=20), 2).colour is Colour.GREEN  # 30 % done, 20 % expected
    level = Kpi("k", Direction.AT_LEAST, D(100), "units", Thresholds(D(100), D(90)), D(30))
    levelled = Goal("g", "c", Owner(OwnerKind.PERSON, "p"), "t", GoalKind.KPI, D(0), Schedule(START, due),
                    kpi=level)
    assert goal_status(levelled, START + timedelta(days=20), 2).colour is Colour.RED  # a level: its band


def test_stored_progress_never_rounds_up_to_done():
    row = stored("okr", START, START + timedelta(days=10), D(0))
    assert own_progress(row, [SimpleNamespace(id="k", start_value=D(0), target=D(3), current=D("2.9999999999"),
                                              unit="", weight=D(1))]) == D("0.999999999")


def test_thresholds_follow_a_new_target_for_levels_but_not_for_tolerances():
    row = SimpleNamespace(direction=">=", target=D(90), green=D(90), yellow=D(80))
    assert scaled_thresholds(row, D(45)) == (D(45), D(40))
    row = SimpleNamespace(direction="=", target=D(100), green=D(1), yellow=D(3))
    assert scaled_thresholds(row, D(50)) == (D(1), D(3))


def test_weights_so_far_allow_unweighed_goals_and_refuse_more_than_100():
    check_weights_so_far({"a": D(0), "b": D("60.5")}, adding=D("39.5"))
    with pytest.raises(WeightTotalError) as error:
        check_weights_so_far({"a": D(70), "b": D(20)}, adding=D(11))
    assert error.value.ids == ("a", "b") and "101.00" in error.value.message
    with pytest.raises(InvalidInput) as error:
        check_weights_so_far({"a": D("10.001")})
    assert error.value.field == "weights.a"


def test_schedule_corners_are_the_curve():
    schedule = Schedule(START, START + timedelta(days=100), (Milestone(START + timedelta(days=40), D("0.6")),))
    points = schedule.points()
    assert points == [(START, 0), (START + timedelta(days=40), D("0.6")), (START + timedelta(days=100), 1)]
    assert all(schedule.expected(on) == fraction for on, fraction in points)
