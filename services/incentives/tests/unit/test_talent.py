"""The 9-box, development plans from ratings."""
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incentives.domain.errors import InvalidInput
from incentives.domain.idp import plan_for, progress
from incentives.domain.ninebox import (
    BOXES,
    LEVELS,
    movement,
    performance_level,
    place,
    place_many,
    potential_from_rubric,
)


def test_the_nine_boxes_and_their_names():
    assert place("high", "high").zh == "明星" and place("low", "high").zh == "待观察"
    assert place("low", "low").zh == "需淘汰" and "exit_plan" in place("low", "low").decisions
    assert "promotion_nomination" in place("high", "high").decisions
    assert len({box.code for box in BOXES.values()}) == 9 and len({box.zh for box in BOXES.values()}) == 9
    assert performance_level("S") == "high" and performance_level("B") == "medium" and performance_level("D") == "low"
    with pytest.raises(InvalidInput):
        performance_level("Z")


def test_potential_from_the_rubric():
    assert potential_from_rubric({"learning_agility": 5, "drive": 4, "leadership": 4, "scope": 4}) == "high"
    assert potential_from_rubric({"learning_agility": 3, "drive": 3, "leadership": 2, "scope": 3}) == "medium"
    assert potential_from_rubric({"learning_agility": 1, "drive": 2, "leadership": 2, "scope": 2}) == "low"
    for bad in ({"drive": 5}, {"learning_agility": 6, "drive": 4, "leadership": 4, "scope": 4},
                {"learning_agility": 5, "drive": 4, "leadership": 4, "scope": 4, "charm": 5}):
        with pytest.raises(InvalidInput):
            potential_from_rubric(bad)


@given(st.sampled_from(LEVELS), st.sampled_from(LEVELS), st.sampled_from(LEVELS), st.sampled_from(LEVELS))
def test_movement_is_antisymmetric(p1, q1, p2, q2):
    a, b = place(p1, q1), place(p2, q2)
    there, back = movement(a, b), movement(b, a)
    assert {there, back} in ({"same"}, {"up", "down"})
    assert movement(None, a) == "new"


def test_place_many_matches_place():
    rows = [("a", "S", "high"), ("b", "C", "low"), ("c", "B", "medium")]
    assert [box.code for _, box in place_many(rows)] == ["star", "needs_exit", "core_player"]


def test_plans_follow_the_rating():
    track, actions = plan_for("S", "e", "m", date(2026, 12, 2))
    assert track == "growth" and [a.code for a in actions] == ["rotation", "external_training", "mentor"]
    assert actions[0].owner_id == "m" and actions[1].owner_id == "e" and actions[0].due_on == date(2027, 3, 2)
    track, actions = plan_for("D", "e", None, date(2026, 12, 2))
    assert track == "improvement" and actions[0].code == "improvement_goals" and actions[0].owner_id == "e"
    assert plan_for("B", "e", "m", date(2026, 12, 2)) == (None, [])
    assert progress(1, 4) == 25 and progress(0, 0) == 0


def test_promotion_criteria_and_panels():
    import pytest

    from incentives.domain.errors import InvalidInput, NotAllowed
    from incentives.domain.promotion import DEFAULT_CRITERIA, RatedCycle, check_level, criteria_met, may_decide

    history = [RatedCycle("2025", "A", 86.0), RatedCycle("2026", "S", 92.0)]
    assert all(met for _, met, _ in criteria_met(DEFAULT_CRITERIA["technical"], history))
    unmet = criteria_met(DEFAULT_CRITERIA["management"], [RatedCycle("2026", "B", 70.0)])
    assert [met for _, met, _ in unmet] == [False, False, False]
    check_level("technical", "T4")
    with pytest.raises(InvalidInput):
        check_level("technical", "M3")
    panel = {"technical": ["t1", "t2"], "management": ["m1"]}
    may_decide(panel, "technical", "t1", "e", "mgr")
    for reviewer, nominee, by in (("m1", "e", "mgr"), ("t1", "t1", "mgr"), ("t1", "e", "t1")):
        with pytest.raises(NotAllowed):
            may_decide(panel, "technical", reviewer, nominee, by)


def test_stars_need_approval_and_consent_before_publication():
    import pytest

    from incentives.domain.errors import InvalidInput, NotAllowed
    from incentives.domain.stars import StarState, check_quarter, may_approve, may_publish, quarter_of

    assert quarter_of(date(2026, 12, 2)) == "2026-Q4"
    check_quarter("2026-Q4", date(2026, 12, 2))
    for bad in ("2027-Q1", "2026Q4", "2026-Q5"):
        with pytest.raises(InvalidInput):
            check_quarter(bad, date(2026, 12, 2))
    may_approve(StarState.NOMINATED)
    may_publish(StarState.APPROVED, consent=True)
    with pytest.raises(NotAllowed):
        may_publish(StarState.APPROVED, consent=False)
    with pytest.raises(NotAllowed):
        may_publish(StarState.NOMINATED, consent=True)
