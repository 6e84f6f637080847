"""Goal cycles: a year, quarter or month whose state gates what may change.

States move strictly forward, draft -> open -> locked -> closed; there is no reopening, because
results of a closed cycle feed reviews and bonuses elsewhere and must not move afterwards.

What each state allows (``check_change``):

=========  ==========================  ==================  =======================
state      DEFINE (goals, targets,     PROGRESS (updates,  PROPOSE (negotiation)
           weights, deadlines, tree)   commitments)
=========  ==========================  ==================  =======================
draft      yes                         no (not started)    yes
open       yes                         yes                 yes
locked     only via accepted proposal  yes                 yes
closed     no                          no                  no
=========  ==========================  ==================  =======================
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from goals.domain.errors import InvalidInput, NotAllowed


class Period(StrEnum):
    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"


class CycleState(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    LOCKED = "locked"
    CLOSED = "closed"


class Change(StrEnum):
    DEFINE = "define"
    PROGRESS = "progress"
    PROPOSE = "propose"


NEXT_STATE: dict[CycleState, CycleState] = {
    CycleState.DRAFT: CycleState.OPEN,
    CycleState.OPEN: CycleState.LOCKED,
    CycleState.LOCKED: CycleState.CLOSED,
}

_ALLOWED: dict[CycleState, frozenset[Change]] = {
    CycleState.DRAFT: frozenset({Change.DEFINE, Change.PROPOSE}),
    CycleState.OPEN: frozenset({Change.DEFINE, Change.PROGRESS, Change.PROPOSE}),
    CycleState.LOCKED: frozenset({Change.PROGRESS, Change.PROPOSE}),
    CycleState.CLOSED: frozenset(),
}

MAX_RED_AFTER_WEEKS = 52


def period_bounds(period: Period, year: int, index: int = 1) -> tuple[date, date]:
    """First and last day (inclusive) of the ``index``-th quarter/month of ``year`` (1-based)."""
    if period is Period.YEAR:
        if index != 1:
            raise InvalidInput("index", "a yearly cycle has index 1")
        return date(year, 1, 1), date(year, 12, 31)
    if period is Period.QUARTER:
        if not 1 <= index <= 4:
            raise InvalidInput("index", "quarter must be 1..4")
        first_month = 3 * index - 2
        last_month = first_month + 2
        return date(year, first_month, 1), date(year, last_month, calendar.monthrange(year, last_month)[1])
    if not 1 <= index <= 12:
        raise InvalidInput("index", "month must be 1..12")
    return date(year, index, 1), date(year, index, calendar.monthrange(year, index)[1])


def _require_aware(value: datetime, field: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, "must be a timezone-aware datetime")


@dataclass(frozen=True)
class Cycle:
    """A cycle; ``opened_at`` is set when it opens and pins formula versions (see formula.py)."""

    id: str
    period: Period
    starts_on: date
    ends_on: date
    state: CycleState = CycleState.DRAFT
    red_after_weeks: int = 2
    opened_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.ends_on < self.starts_on:
            raise InvalidInput("ends_on", "must not be before starts_on")
        if isinstance(self.red_after_weeks, bool) or not isinstance(self.red_after_weeks, int):
            raise InvalidInput("red_after_weeks", "must be an integer")
        if not 1 <= self.red_after_weeks <= MAX_RED_AFTER_WEEKS:
            raise InvalidInput("red_after_weeks", f"must be 1..{MAX_RED_AFTER_WEEKS}")
        if (self.opened_at is None) != (self.state is CycleState.DRAFT):
            raise InvalidInput("opened_at", "is set exactly when the cycle has left draft")
        if self.opened_at is not None:
            _require_aware(self.opened_at, "opened_at")

    @classmethod
    def for_period(cls, id: str, period: Period, year: int, index: int = 1, *, red_after_weeks: int = 2) -> Cycle:
        starts_on, ends_on = period_bounds(period, year, index)
        return cls(id, period, starts_on, ends_on, red_after_weeks=red_after_weeks)


def check_transition(cycle: Cycle, to: CycleState) -> None:
    expected = NEXT_STATE.get(cycle.state)
    if to is not expected:
        allowed = f"only to {expected.value}" if expected else "no further"
        raise NotAllowed(
            f"cycle {cycle.id} cannot go from {cycle.state.value} to {to.value} ({allowed})",
            field="state",
            ids=[cycle.id],
        )


def transition(cycle: Cycle, to: CycleState, at: datetime) -> Cycle:
    """The cycle in state ``to``; opening records ``at`` as ``opened_at``."""
    check_transition(cycle, to)
    _require_aware(at, "at")
    opened_at = at if to is CycleState.OPEN else cycle.opened_at
    return replace(cycle, state=to, opened_at=opened_at)


def allowed_changes(state: CycleState) -> frozenset[Change]:
    """Kinds of change allowed directly (without an accepted proposal) in ``state``."""
    return _ALLOWED[state]


def check_change(state: CycleState, change: Change, *, via_accepted_proposal: bool = False) -> None:
    """Raise NotAllowed unless ``change`` may happen in a cycle in ``state``.

    In a locked cycle, goal definitions change only by applying an accepted proposal.
    """
    if change in _ALLOWED[state]:
        return
    if state is CycleState.LOCKED and change is Change.DEFINE and via_accepted_proposal:
        return
    if state is CycleState.LOCKED and change is Change.DEFINE:
        raise NotAllowed("the cycle is locked: goals change only through an accepted proposal", field="state")
    if state is CycleState.CLOSED:
        raise NotAllowed("the cycle is closed and read-only", field="state")
    raise NotAllowed(f"{change.value} is not allowed while the cycle is {state.value}", field="state")
