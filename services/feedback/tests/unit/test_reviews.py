"""Review cycle rules: the state tables (properties: no path skips a required stage; nothing changes after
finalize except an amendment), scales, the pinned formula with missing components, the distribution."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedback.domain import reviews as r
from feedback.domain.errors import InvalidInput, NotAllowed

SCALE = r.Scale.build(Decimal(1), Decimal(5), [("S", Decimal("4.5")), ("A", Decimal("3.75")), ("B", Decimal("2.75")),
                                               ("C", Decimal("2")), ("D", Decimal(1))])
FORMULA = r.RatingFormula("manager * 0.6 + self * 0.2 + peer * 0.2",
                          {"manager": Decimal("0.6"), "self": Decimal("0.2"), "peer": Decimal("0.2")},
                          frozenset({"manager"}))
ROLES = ("self", "manager", "peer", "calibrator", "hr", "appeal")
EDITS = {"submit_self", "submit_manager", "submit_peer", "calibrate"}


def test_the_cycle_goes_one_stage_at_a_time_to_published():
    stage, seen = "draft", ["draft"]
    while stage != "published":
        stage = r.next_stage(stage)
        seen.append(stage)
    assert tuple(seen) == r.CYCLE_FLOW
    with pytest.raises(NotAllowed) as found:
        r.next_stage("published")
    assert found.value.field == "stage"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(r.PERSON_ACTIONS)), st.sampled_from(ROLES),
                          st.booleans(), st.booleans()), max_size=40))
def test_no_path_skips_a_required_stage_and_nothing_but_an_amendment_acts_after_finalize(steps):
    """Random actions by random roles while the cycle advances: whatever is accepted keeps the invariants."""
    stage_index, state, history = 0, "not_started", ["not_started"]
    for name, role, advance, waits in steps:
        if advance and stage_index < len(r.CYCLE_FLOW) - 1:
            stage_index += 1
        stage = r.CYCLE_FLOW[stage_index]
        before = state
        try:
            state = r.transition(name, stage, state, role, manager_waits_for_self=waits)
        except NotAllowed as error:
            assert error.field in {"actor", "stage", "state"}
            continue
        if before in r.CLOSED:
            assert name in {"amend", "acknowledge"}, f"{name} changed a {before} review"
            assert name not in EDITS
        if state != history[-1]:
            history.append(state)
    if "finalized" in history:
        done = history.index("finalized")
        for required in r.REQUIRED_BEFORE_FINAL:
            assert required in history[:done], f"reached finalized without {required}: {history}"
        assert history.index("manager_submitted") < history.index("calibrated") < done


def test_a_manager_review_waits_for_the_self_review_window_when_the_company_says_so():
    with pytest.raises(NotAllowed) as found:
        r.transition("submit_manager", "self_review", "self_submitted", "manager")
    assert found.value.field == "stage"
    assert r.transition("submit_manager", "self_review", "self_submitted", "manager",
                        manager_waits_for_self=False) == "manager_submitted"
    with pytest.raises(NotAllowed) as found:
        r.transition("submit_self", "self_review", "not_started", "manager")
    assert found.value.field == "actor"


def test_deadlines_are_in_stage_order_and_a_late_submission_is_seen():
    deadlines = {"self_review": date(2026, 12, 10), "manager_review": date(2026, 12, 18)}
    r.check_deadlines(deadlines)
    with pytest.raises(InvalidInput) as found:
        r.check_deadlines({"self_review": date(2026, 12, 10), "manager_review": date(2026, 12, 9)})
    assert found.value.field == "deadlines.manager_review"
    assert r.is_late("self_review", deadlines, date(2026, 12, 11))
    assert not r.is_late("self_review", deadlines, date(2026, 12, 10))
    assert not r.is_late("calibration", deadlines, date(2027, 1, 30))


def test_a_score_outside_the_scale_names_the_field():
    with pytest.raises(InvalidInput) as found:
        r.check_items(SCALE, [("g1", Decimal(4)), ("g2", Decimal(6))])
    assert found.value.field == "items[1].score"
    with pytest.raises(InvalidInput):
        r.check_items(SCALE, [("g1", Decimal(4)), ("g1", Decimal(3))])


def test_bands_give_labels_and_a_bad_scale_is_refused():
    assert [SCALE.label_for(Decimal(x)) for x in ("5", "4.5", "4.49", "3", "2", "1")] == ["S", "S", "A", "B", "C",
                                                                                        "D"]
    with pytest.raises(InvalidInput) as found:
        r.Scale.build(Decimal(1), Decimal(5), [("S", Decimal(4)), ("A", Decimal(2))])
    assert found.value.field == "scale.bands"


def test_the_rating_lists_its_components_and_peers_count_only_with_enough_answers():
    peer = r.peer_component([Decimal(5), Decimal(5)], minimum=3)
    assert peer is None
    rating = r.rate(FORMULA, SCALE, {"manager": Decimal(4), "self": Decimal(4), "peer": peer})
    assert rating.missing == ["peer"] and rating.score == Decimal("4.00") and rating.label == "A"
    assert [(n, w) for n, _, w in rating.components] == [("manager", Decimal("0.6")), ("self", Decimal("0.2")),
                                                         ("peer", Decimal("0.2"))]
    with pytest.raises(NotAllowed) as found:
        r.rate(FORMULA, SCALE, {"self": Decimal(5)})
    assert found.value.field == "manager"


score = st.decimals(min_value=1, max_value=5, places=2)


@settings(max_examples=200, deadline=None)
@given(score, score, st.one_of(st.none(), score))
def test_a_missing_self_review_never_drags_the_score_down(manager, self_, peer):
    """Frappe HRMS #2023: a missing self review counted as zero. Here it is neutral: the score without it equals
    the weighted mean of what is present, so it is never below the present components' minimum."""
    without = r.rate(FORMULA, SCALE, {"manager": manager, "self": None, "peer": peer})
    present = [manager] + ([peer] if peer is not None else [])
    assert without.score >= min(present).quantize(r.QUANTUM) - Decimal("0.01")
    weights = Decimal("0.6") + (Decimal("0.2") if peer is not None else 0)
    expected = (manager * Decimal("0.6") + (peer or 0) * Decimal("0.2")) / weights
    assert abs(without.score - expected) <= Decimal("0.005")
    assert "self" in without.missing


def test_a_formula_is_checked_when_pinned():
    bad = r.RatingFormula("manager * 0.6 + bonus", {"manager": Decimal(1)}, frozenset())
    with pytest.raises(InvalidInput) as found:
        bad.check()
    assert found.value.field == "formula.expression"
    FORMULA.check()
    # has_<name> lets a formula say more about a missing part, explicitly
    strict = r.RatingFormula("if(has_self == 1, manager * 0.8 + self * 0.2, manager - 0.25)",
                             {"manager": Decimal("0.8"), "self": Decimal("0.2")}, frozenset({"manager"}))
    strict.check()
    assert r.rate(strict, SCALE, {"manager": Decimal(4)}).score == Decimal("3.75")


def test_the_distribution_against_a_target():
    groups = {"top": ["S", "A"], "middle": ["B"], "bottom": ["C", "D"]}
    target = {"top": Decimal("0.2"), "middle": Decimal("0.7"), "bottom": Decimal("0.1")}
    r.check_target(groups, target, [b.label for b in SCALE.bands])
    labels = ["S", "A"] + ["B"] * 7 + ["D"]
    assert r.deviations(labels, groups, target, Decimal("0.05")) == []
    skewed = ["S", "A", "A", "A"] + ["B"] * 6
    off = {d.group: d.actual for d in r.deviations(skewed, groups, target, Decimal("0.05"))}
    assert off == {"top": Decimal("0.4"), "middle": Decimal("0.6"), "bottom": Decimal(0)}
    with pytest.raises(InvalidInput) as found:
        r.check_target(groups, {**target, "top": Decimal("0.3")}, [b.label for b in SCALE.bands])
    assert found.value.field == "distribution.target"
    with pytest.raises(InvalidInput):
        r.check_reason("  ")


@settings(max_examples=200, deadline=None)
@given(st.lists(score, max_size=12), st.integers(min_value=3, max_value=8))
def test_peers_count_only_from_the_minimum_and_then_as_their_average(answers, minimum):
    found = r.peer_component(answers, minimum)
    if len(answers) < minimum:
        assert found is None  # too few to hide who answered: not counted, not shown
    else:
        assert found == sum(answers, Decimal(0)) / len(answers)
