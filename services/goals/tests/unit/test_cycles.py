from datetime import UTC, date, datetime

import pytest

from goals.domain.cycles import (
    Change,
    Cycle,
    CycleState,
    Period,
    allowed_changes,
    check_change,
    check_transition,
    period_bounds,
    transition,
)
from goals.domain.errors import InvalidInput, NotAllowed

AT = datetime(2025, 1, 2, 9, tzinfo=UTC)


def test_period_bounds():
    assert period_bounds(Period.YEAR, 2025) == (date(2025, 1, 1), date(2025, 12, 31))
    assert period_bounds(Period.QUARTER, 2025, 1) == (date(2025, 1, 1), date(2025, 3, 31))
    assert period_bounds(Period.QUARTER, 2025, 4) == (date(2025, 10, 1), date(2025, 12, 31))
    assert period_bounds(Period.MONTH, 2024, 2) == (date(2024, 2, 1), date(2024, 2, 29))
    assert period_bounds(Period.MONTH, 2025, 2) == (date(2025, 2, 1), date(2025, 2, 28))


@pytest.mark.parametrize(
    "period,index", [(Period.YEAR, 2), (Period.QUARTER, 0), (Period.QUARTER, 5), (Period.MONTH, 13)]
)
def test_period_bounds_rejects_bad_index(period, index):
    with pytest.raises(InvalidInput) as error:
        period_bounds(period, 2025, index)
    assert error.value.field == "index"


def test_for_period_builds_a_draft_cycle():
    cycle = Cycle.for_period("c1", Period.QUARTER, 2025, 2, red_after_weeks=3)
    assert (cycle.starts_on, cycle.ends_on) == (date(2025, 4, 1), date(2025, 6, 30))
    assert cycle.state is CycleState.DRAFT and cycle.opened_at is None and cycle.red_after_weeks == 3


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"ends_on": date(2024, 12, 31)}, "ends_on"),
        ({"red_after_weeks": 0}, "red_after_weeks"),
        ({"red_after_weeks": 53}, "red_after_weeks"),
        ({"red_after_weeks": True}, "red_after_weeks"),
        ({"state": CycleState.OPEN}, "opened_at"),
        ({"opened_at": AT}, "opened_at"),
        ({"state": CycleState.OPEN, "opened_at": datetime(2025, 1, 2)}, "opened_at"),
    ],
)
def test_cycle_validation(kwargs, field):
    base = {"id": "c", "period": Period.YEAR, "starts_on": date(2025, 1, 1), "ends_on": date(2025, 12, 31)}
    with pytest.raises(InvalidInput) as error:
        Cycle(**{**base, **kwargs})
    assert error.value.field == field


def test_states_move_strictly_forward_and_opening_records_the_time():
    cycle = Cycle.for_period("c1", Period.YEAR, 2025)
    opened = transition(cycle, CycleState.OPEN, AT)
    assert opened.state is CycleState.OPEN and opened.opened_at == AT
    locked = transition(opened, CycleState.LOCKED, datetime(2025, 2, 1, tzinfo=UTC))
    closed = transition(locked, CycleState.CLOSED, datetime(2026, 1, 5, tzinfo=UTC))
    assert closed.state is CycleState.CLOSED and closed.opened_at == AT


@pytest.mark.parametrize(
    "state,to",
    [
        (CycleState.DRAFT, CycleState.LOCKED),
        (CycleState.DRAFT, CycleState.CLOSED),
        (CycleState.OPEN, CycleState.DRAFT),
        (CycleState.OPEN, CycleState.CLOSED),
        (CycleState.LOCKED, CycleState.OPEN),
        (CycleState.CLOSED, CycleState.OPEN),
        (CycleState.CLOSED, CycleState.CLOSED),
    ],
)
def test_forbidden_transitions(state, to):
    opened_at = None if state is CycleState.DRAFT else AT
    cycle = Cycle("c", Period.YEAR, date(2025, 1, 1), date(2025, 12, 31), state, opened_at=opened_at)
    with pytest.raises(NotAllowed) as error:
        check_transition(cycle, to)
    assert error.value.field == "state" and error.value.ids == ("c",)


def test_transition_needs_an_aware_time():
    with pytest.raises(InvalidInput):
        transition(Cycle.for_period("c", Period.YEAR, 2025), CycleState.OPEN, datetime(2025, 1, 1))


ALLOWED = {
    CycleState.DRAFT: {Change.DEFINE, Change.PROPOSE},
    CycleState.OPEN: {Change.DEFINE, Change.PROGRESS, Change.PROPOSE},
    CycleState.LOCKED: {Change.PROGRESS, Change.PROPOSE},
    CycleState.CLOSED: set(),
}


@pytest.mark.parametrize("state", list(CycleState))
@pytest.mark.parametrize("change", list(Change))
def test_change_matrix(state, change):
    assert allowed_changes(state) == ALLOWED[state]
    if change in ALLOWED[state]:
        check_change(state, change)
    else:
        with pytest.raises(NotAllowed):
            check_change(state, change)


def test_locked_cycle_accepts_definition_changes_only_through_a_proposal():
    with pytest.raises(NotAllowed, match="accepted proposal"):
        check_change(CycleState.LOCKED, Change.DEFINE)
    check_change(CycleState.LOCKED, Change.DEFINE, via_accepted_proposal=True)


def test_closed_cycle_is_read_only_even_through_a_proposal():
    with pytest.raises(NotAllowed, match="read-only"):
        check_change(CycleState.CLOSED, Change.DEFINE, via_accepted_proposal=True)
    with pytest.raises(NotAllowed, match="read-only"):
        check_change(CycleState.CLOSED, Change.PROGRESS)


def test_draft_cycle_takes_no_progress():
    with pytest.raises(NotAllowed, match="progress is not allowed while the cycle is draft"):
        check_change(CycleState.DRAFT, Change.PROGRESS)
