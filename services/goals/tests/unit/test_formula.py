"""goals' side of formula indicators: the language (libs/formula, tested there) answers with goals' domain errors,
and an indicator's formula versions (a running cycle keeps the version it started with)."""
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest

from goals.domain.cycles import Cycle, CycleState, Period, transition
from goals.domain.errors import FormulaError, FormulaEvaluationError, InvalidInput, NotFound
from goals.domain.formula import (
    MAX_LENGTH,
    FormulaVersion,
    ValueType,
    check,
    evaluate,
    next_version,
    parse,
    pinned_version,
    tokenize,
)

# --- the language's errors as goals' domain errors ------------------------------------------------


@pytest.mark.parametrize("text,position,message", [("1 +", 3, "expected a number"), ("a = 1", 2, "use ==")])
def test_syntax_errors_are_goals_formula_errors_with_the_position(text, position, message):
    with pytest.raises(FormulaError) as error:
        parse(text)
    assert isinstance(error.value, InvalidInput)
    assert error.value.position == position
    assert message in error.value.message
    assert error.value.field == "formula"
    assert f"at position {position}" in str(error.value)


def test_checker_and_tokenizer_errors_are_goals_formula_errors():
    with pytest.raises(FormulaError, match="unknown variable 'bonus'") as error:
        check(parse("base + bonus"), {"base"})
    assert error.value.position == 7 and error.value.field == "formula"
    with pytest.raises(FormulaError, match="must produce a number"):
        check(parse("base > 1"), {"base"})
    assert check(parse("base > 1"), {"base"}, expect=None) is ValueType.BOOLEAN
    with pytest.raises(FormulaError, match="longer than"):
        tokenize("1" * (MAX_LENGTH + 1))


def test_evaluation_errors_are_goals_formula_evaluation_errors():
    with pytest.raises(FormulaEvaluationError) as error:
        evaluate(parse("1 / (x - x)"), {"x": D(1)})
    assert error.value.position == 2 and "division by zero" in error.value.message
    with pytest.raises(FormulaError, match="unknown variable 'y'"):
        evaluate(parse("x + y"), {"x": D(1)})
    assert evaluate(parse("x * 2 > 1"), {"x": D(1)}) is True


def test_evaluate_rejects_floats_and_dates_naming_the_variable():
    with pytest.raises(InvalidInput) as error:
        evaluate(parse("x"), {"x": 0.5})
    assert error.value.field == "variables.x"
    with pytest.raises(InvalidInput) as error:
        evaluate(parse("x"), {"x": date(2026, 12, 3)})
    assert error.value.field == "variables.x" and not isinstance(error.value, FormulaError)


# --- versions ---------------------------------------------------------------------------------

T0 = datetime(2026, 10, 1, tzinfo=UTC)  # the quarter running now (Q4 2026)


def test_versions_increase_and_must_parse():
    v1 = next_version([], "f1", "a + b", T0)
    assert (v1.version, v1.formula_id) == (1, "f1")
    v2 = next_version([v1], "f1", "a * b", T0 + timedelta(days=1))
    assert v2.version == 2
    with pytest.raises(FormulaError):
        next_version([v1, v2], "f1", "a +", T0 + timedelta(days=2))
    with pytest.raises(InvalidInput):
        next_version([v1, v2], "f1", "a", T0)
    with pytest.raises(InvalidInput):
        next_version([v1], "f2", "a", T0 + timedelta(days=2))
    with pytest.raises(InvalidInput):
        next_version([], "f1", "a", datetime(2026, 12, 3))
    with pytest.raises(InvalidInput):
        next_version([v1, FormulaVersion("f2", 1, "a", T0)], "f1", "a", T0 + timedelta(days=3))


def test_a_running_cycle_keeps_the_version_it_started_with():
    history = [
        FormulaVersion("f1", 1, "a", T0),
        FormulaVersion("f1", 3, "a * 3", T0 + timedelta(days=60)),
        FormulaVersion("f1", 2, "a * 2", T0 + timedelta(days=10)),
    ]
    draft = Cycle.for_period("q4", Period.QUARTER, 2026, 4)
    assert pinned_version(history, draft).version == 3  # not started: follows the latest
    running = transition(draft, CycleState.OPEN, T0 + timedelta(days=20))
    assert pinned_version(history, running).version == 2
    locked = transition(running, CycleState.LOCKED, T0 + timedelta(days=90))
    assert pinned_version(history, locked).version == 2
    early = transition(draft, CycleState.OPEN, T0 - timedelta(days=5))
    assert pinned_version(history, early).version == 1  # formula born after the cycle opened
    with pytest.raises(NotFound):
        pinned_version([], running)
