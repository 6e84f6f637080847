"""Monthly 1:1 check-ins: scheduled -> held -> signed off by both; overdue when not held by the window's end;
each point shared or private to its writer."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Protocol, TypeVar

from feedback.domain.errors import InvalidInput, NotAllowed

SCHEDULED, HELD, SIGNED_OFF = "scheduled", "held", "signed_off"


def check_hold(state: str, held_on: date, today: date, actor: str, manager: str) -> None:
    if actor != manager:
        raise NotAllowed("only the manager holds the check-in", field="actor")
    if state != SCHEDULED:
        raise NotAllowed(f"the check-in is already {state}", field="state")
    if held_on > today:
        raise InvalidInput("held_on", "a check-in cannot be held in the future")


def check_note(state: str, actor: str, manager: str, person: str) -> None:
    if actor not in (manager, person):
        raise NotAllowed("only the two parties write in a check-in", field="actor")
    if state == SIGNED_OFF:
        raise NotAllowed("the check-in is signed off", field="state")


def sign(state: str, actor: str, manager: str, person: str, by_manager: bool, by_person: bool
         ) -> tuple[bool, bool, str]:
    """(signed by manager, signed by person, new state) after `actor` signs."""
    if actor not in (manager, person):
        raise NotAllowed("only the two parties sign a check-in", field="actor")
    if state == SCHEDULED:
        raise NotAllowed("a check-in is signed after it is held", field="state")
    if actor == manager:
        by_manager = True
    else:
        by_person = True
    return by_manager, by_person, SIGNED_OFF if by_manager and by_person else state


def is_overdue(state: str, due_by: date, today: date) -> bool:
    return state == SCHEDULED and today > due_by


class Point(Protocol):
    """What visibility needs of a check-in point."""

    @property
    def visibility(self) -> str: ...

    @property
    def author_id(self) -> str: ...


P = TypeVar("P", bound=Point)


def visible_to(points: Iterable[P], viewer: str) -> list[P]:
    """Shared points, and the viewer's own private ones; nobody else's private points."""
    return [p for p in points if p.visibility == "shared" or p.author_id == viewer]
