"""Bonus rules: multiplier tables, process rewards on thresholds (the article's case), proposals explaining
every line, budgets."""
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incentives.domain.bonus import (
    DEFAULT_FORMULA,
    EarnedReward,
    ProcessRule,
    budget_warning,
    check_bonus_formula,
    check_budget_at_approval,
    evaluate_process_rule,
    multiplier_table,
    propose,
    weekly_lead_values,
)
from incentives.domain.errors import InvalidInput, NotAllowed, RuleError

CASE = ProcessRule("leads", "Weekly leads and demos", "week", "valid_leads >= 5 and demo_conversion >= 0.3", "200")
TABLE = multiplier_table({"S": "1.5", "A": "1.2", "B": "1", "C": "0.5", "D": "0"})


def test_the_articles_case_pays_those_who_met_both_thresholds():
    paid = evaluate_process_rule(CASE, weekly_lead_values(valid_leads=6, visits=9, opportunities=10,
                                                          demo_conversions=3))
    assert paid.earned and paid.amount == D("200.00")
    assert paid.inputs == {"valid_leads": D(6), "demo_conversion": D("0.3000")}
    for leads, opportunities, demos in ((4, 10, 5), (6, 10, 2), (0, 0, 0)):
        outcome = evaluate_process_rule(CASE, weekly_lead_values(leads, leads, opportunities, demos))
        assert not outcome.earned and outcome.amount == 0


def test_a_missing_input_means_not_earned_and_says_which():
    outcome = evaluate_process_rule(CASE, {"valid_leads": D(9)})
    assert not outcome.earned and outcome.missing == ("demo_conversion",)


def test_rules_that_do_not_parse_or_type_check_name_the_field_and_position():
    with pytest.raises(RuleError) as bad:
        ProcessRule("x", "x", "week", "valid_leads >= ", "200").check()
    assert bad.value.field == "condition" and bad.value.position == 15
    with pytest.raises(RuleError) as bad:
        ProcessRule("x", "x", "week", "valid_leads + 1", "200").check()  # a number, not a condition
    assert bad.value.field == "condition"
    with pytest.raises(RuleError) as bad:
        ProcessRule("x", "x", "week", "valid_leads > 1", "valid_leads > 2").check()
    assert bad.value.field == "amount"
    with pytest.raises(RuleError):
        check_bonus_formula("base * bonus_factor")  # unknown input
    check_bonus_formula(DEFAULT_FORMULA)
    check_bonus_formula("base * multiplier * clamp(score / 100, 0.5, 1.5)")


def test_multiplier_tables_are_validated():
    for bad in ({}, {"S": "11"}, {"S": "-1"}, {"S": "x"}):
        with pytest.raises(InvalidInput):
            multiplier_table(bad)


def test_the_proposal_explains_every_line():
    reward = EarnedReward("leads", "Weekly leads and demos", "2026-W48", CASE.condition, CASE.amount,
                          {"valid_leads": D(6), "demo_conversion": D("0.3")}, D(200))
    proposal = propose(grade="P5", label="A", score=D("88"), base_amounts={"P5": D(10000)}, default_base=None,
                       multipliers=TABLE, formula=DEFAULT_FORMULA, rewards=[reward])
    rated, process = proposal.lines
    assert rated.rule == "base * multiplier" and rated.result == D("12000.00")
    assert rated.inputs["base"] == "10000" and rated.inputs["multiplier"] == "1.2" and rated.inputs["rating"] == "A"
    assert process.result == 200 and process.inputs == {"period": "2026-W48", "valid_leads": "6",
                                                         "demo_conversion": "0.3"}
    assert proposal.total == D("12200.00")
    with pytest.raises(InvalidInput) as missing:
        propose(grade="P9", label="A", score=D(1), base_amounts={"P5": D(1)}, default_base=None,
                multipliers=TABLE, formula=DEFAULT_FORMULA)
    assert missing.value.field == "person_id"
    with pytest.raises(InvalidInput) as unknown:
        propose(grade="P5", label="E", score=D(1), base_amounts={}, default_base=D(1), multipliers=TABLE,
                formula=DEFAULT_FORMULA)
    assert unknown.value.field == "multipliers.E"


@given(st.integers(0, 10**7), st.sampled_from(list(TABLE)), st.lists(st.integers(0, 10**4), max_size=5))
def test_the_total_is_the_sum_of_the_lines(base, label, amounts):
    rewards = [EarnedReward(f"r{i}", "r", "2026-W49", "x > 0", str(a), {"x": D(1)}, D(a))
               for i, a in enumerate(amounts)]
    proposal = propose(grade="G1", label=label, score=D(50), base_amounts={"G1": D(base)}, default_base=None,
                       multipliers=TABLE, formula=DEFAULT_FORMULA, rewards=rewards)
    assert proposal.total == sum(line.result for line in proposal.lines)
    assert proposal.lines[0].result == (D(base) * TABLE[label]).quantize(D("0.01"))


def test_budget_is_warned_before_approval_and_refused_after_per_setting():
    assert budget_warning(D(1000), D(800), D(200)) is None
    assert "by 1.00" in budget_warning(D(1000), D(800), D(201))
    with pytest.raises(NotAllowed) as refused:
        check_budget_at_approval(D(1000), D(900), D(101), "refuse")
    assert refused.value.field == "budget"
    assert check_budget_at_approval(D(1000), D(900), D(101), "warn").startswith("over budget")
    assert check_budget_at_approval(D(1000), D(900), D(100), "refuse") is None
