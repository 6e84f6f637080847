from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from goals.domain.errors import InvalidInput
from goals.domain.goal import Goal, GoalKind, goal_status
from goals.domain.progress import KeyResult, Kpi, Thresholds
from goals.domain.status import Colour, Schedule
from goals.domain.tree import Owner, OwnerKind

START = date(2025, 1, 1)
SCHEDULE = Schedule(START, START + timedelta(days=100))
ALICE = Owner(OwnerKind.PERSON, "alice")


def day(n: int) -> date:
    return START + timedelta(days=n)


def okr(*krs: KeyResult, **kwargs) -> Goal:
    return Goal("g1", "c1", ALICE, "Grow revenue", GoalKind.OKR, D(40), SCHEDULE, key_results=krs, **kwargs)


def kpi_goal(actual=None) -> Goal:
    kpi = Kpi("g2", ">=", D(90), "%", Thresholds(D(90), D(80)), actual=actual)
    return Goal("g2", "c1", ALICE, "Closure rate", "kpi", D(60), SCHEDULE, kpi=kpi)


def test_okr_progress_and_status_follow_the_schedule():
    goal = okr(KeyResult("kr1", 0, 10, 5), KeyResult("kr2", 0, 10, 3))
    assert goal.progress == D("0.4")
    status = goal_status(goal, day(50))
    assert status.colour is Colour.YELLOW and not status.complete and not status.overdue
    assert goal_status(goal, day(40)).colour is Colour.GREEN
    assert goal_status(goal, day(101)).colour is Colour.RED


def test_kpi_without_measurement_is_judged_as_no_progress():
    assert goal_status(kpi_goal(), day(5)).colour is Colour.YELLOW
    assert goal_status(kpi_goal(), day(30)).colour is Colour.RED


def test_kpi_with_measurement_uses_bands():
    assert goal_status(kpi_goal(D(95)), day(50)).colour is Colour.GREEN
    assert goal_status(kpi_goal(D(85)), day(50)).colour is Colour.YELLOW
    assert goal_status(kpi_goal(D(70)), day(50)).colour is Colour.RED


def test_kpi_overdue_below_target_is_red_even_inside_the_green_band():
    kpi = Kpi("g3", ">=", D(95), "%", Thresholds(D(90), D(80)), actual=D(92))
    goal = Goal("g3", "c1", ALICE, "Yield", GoalKind.KPI, D(10), SCHEDULE, kpi=kpi)
    assert goal_status(goal, day(50)).colour is Colour.GREEN
    late = goal_status(goal, day(120))
    assert late.colour is Colour.RED and late.overdue and not late.complete


def test_kpi_meeting_target_is_complete_and_green():
    status = goal_status(kpi_goal(D(90)), day(120))
    assert status.colour is Colour.GREEN and status.complete


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"weight": D("100.01")}, "weight"),
        ({"weight": D("10.001")}, "weight"),
        ({"title": "  "}, "title"),
        ({"kpi": Kpi("k", ">=", D(1), "", Thresholds(D(1), D(0)))}, "kpi"),
        ({"key_results": (KeyResult("a", 0, 1, 0), KeyResult("a", 0, 1, 0))}, "key_results"),
    ],
)
def test_goal_validation(kwargs, field):
    base = {
        "id": "g",
        "cycle_id": "c",
        "owner": ALICE,
        "title": "t",
        "kind": GoalKind.OKR,
        "weight": D(10),
        "schedule": SCHEDULE,
    }
    with pytest.raises(InvalidInput) as error:
        Goal(**{**base, **kwargs})
    assert error.value.field == field


def test_kpi_goal_needs_its_kpi():
    with pytest.raises(InvalidInput):
        Goal("g", "c", ALICE, "t", GoalKind.KPI, D(10), SCHEDULE)
