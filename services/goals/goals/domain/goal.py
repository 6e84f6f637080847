"""A goal as the domain sees it: an OKR objective or a KPI, owned by a person or an org unit.

How a goal's colour is decided (``goal_status``):

- OKR: the schedule rule of status.py on the objective's progress (weighted key results).
- KPI: progress is the attainment (kpi_attainment). Complete (target met) -> GREEN; overdue and
  not met -> RED; no measurement yet -> the schedule rule with progress 0 (no data is no
  progress); a cumulative KPI -> the schedule rule with its attainment; otherwise the threshold
  band of the latest measured value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from goals.domain.decimals import ONE, ZERO, fits_places, to_decimal
from goals.domain.errors import InvalidInput
from goals.domain.progress import KeyResult, Kpi, objective_progress
from goals.domain.status import Colour, Schedule, kpi_colour, schedule_status
from goals.domain.tree import Owner


class GoalKind(StrEnum):
    OKR = "okr"
    KPI = "kpi"


@dataclass(frozen=True)
class Goal:
    id: str
    cycle_id: str
    owner: Owner
    title: str
    kind: GoalKind
    weight: Decimal
    schedule: Schedule
    parent_id: str | None = None
    key_results: tuple[KeyResult, ...] = ()
    kpi: Kpi | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", GoalKind(self.kind))
        object.__setattr__(self, "key_results", tuple(self.key_results))
        weight = to_decimal(self.weight, "weight")
        if not ZERO <= weight <= 100 or not fits_places(weight, 2):
            raise InvalidInput("weight", "must be between 0 and 100 with at most 2 decimals", ids=[self.id])
        object.__setattr__(self, "weight", weight)
        if not self.title.strip():
            raise InvalidInput("title", "must not be blank", ids=[self.id])
        if self.kind is GoalKind.OKR and self.kpi is not None:
            raise InvalidInput("kpi", "an OKR goal has key results, not a KPI", ids=[self.id])
        if self.kind is GoalKind.KPI and (self.kpi is None or self.key_results):
            raise InvalidInput("kpi", "a KPI goal has exactly one KPI and no key results", ids=[self.id])
        if len({kr.id for kr in self.key_results}) != len(self.key_results):
            raise InvalidInput("key_results", "key result ids must be unique", ids=[self.id])

    @property
    def progress(self) -> Decimal:
        if self.kpi is not None:
            return self.kpi.progress
        return objective_progress(self.key_results)


@dataclass(frozen=True)
class GoalStatus:
    colour: Colour
    progress: Decimal
    complete: bool
    overdue: bool


def goal_status(goal: Goal, on: date, red_after_weeks: int = 2) -> GoalStatus:
    """Colour of ``goal`` on ``on`` (rules in the module docstring)."""
    progress = goal.progress
    overdue = on > goal.schedule.due
    kpi = goal.kpi
    if kpi is None or kpi.actual is None or kpi.cumulative:
        report = schedule_status(goal.schedule, progress, on, red_after_weeks)
        return GoalStatus(report.colour, progress, report.complete, overdue)
    complete = progress >= ONE
    if complete:
        colour = Colour.GREEN
    elif overdue:
        colour = Colour.RED
    else:
        colour = kpi_colour(kpi.direction, kpi.target, kpi.thresholds, kpi.actual)
    return GoalStatus(colour, progress, complete, overdue)
