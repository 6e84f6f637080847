"""Development plans (IDP) from results (绩效-发展联动): a finalized rating creates or updates the person's plan
from rules. High performance -> rotation, external training, a mentor (in that priority); low performance -> an
improvement plan with goals and a check-in cadence; the middle of the scale -> no plan is forced.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Track = Literal["growth", "improvement"]
HIGH = ("S", "A")
LOW = ("C", "D")


@dataclass(frozen=True)
class Action:
    code: str
    title: str
    owner: Literal["person", "manager"]
    due_in_days: int
    priority: int


GROWTH = (
    Action("rotation", "Rotation to a stretch assignment in another team", "manager", 90, 1),
    Action("external_training", "External training of the person's choice", "person", 120, 2),
    Action("mentor", "A senior mentor outside the reporting line", "manager", 30, 3),
)
IMPROVEMENT = (
    Action("improvement_goals", "Agree 2-3 improvement goals with measurable targets", "manager", 14, 1),
    Action("checkin_cadence", "Bi-weekly check-ins on the improvement goals", "manager", 14, 2),
    Action("skills_training", "Targeted training on the gaps found in the review", "person", 60, 3),
    Action("improvement_review", "Review of the improvement plan after 90 days", "manager", 90, 4),
)
CHECKIN_EVERY_DAYS = 14


@dataclass(frozen=True)
class PlannedAction:
    code: str
    title: str
    owner_id: str
    due_on: date
    priority: int


def track_for(label: str) -> Track | None:
    if label in HIGH:
        return "growth"
    if label in LOW:
        return "improvement"
    return None


def plan_for(label: str, person_id: str, manager_id: str | None, on: date) -> tuple[Track | None, list[PlannedAction]]:
    """The plan a rating calls for, its actions with owners and due dates (the manager's actions fall to the
    person when they have no manager)."""
    track = track_for(label)
    if track is None:
        return None, []
    actions = GROWTH if track == "growth" else IMPROVEMENT
    return track, [PlannedAction(a.code, a.title, manager_id if a.owner == "manager" and manager_id else person_id,
                                 on + timedelta(days=a.due_in_days), a.priority) for a in actions]


def progress(done: int, total: int) -> int:
    """Percent of actions completed (0 for an empty plan)."""
    return 0 if total == 0 else round(100 * done / total)
