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
