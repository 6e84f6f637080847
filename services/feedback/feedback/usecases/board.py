"""The manager's "my team" board: check-ins due, missing reports, zero activity, coaching cadence.

Read in one round trip (`BoardRepository.rows`: indexed lookups, plain columns) and assembled here; the coaching
cadence is computed by the same `coaching.view` as `get_cadence`, so the two always agree."""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from contracts import feedback as c
from contracts.actor import Actor
from feedback import access
from feedback.domain.calendar import month_key, week_key, weeks_of_month
from feedback.repositories import (
    BOARD_DUE,
    BOARD_HELD,
    BOARD_NOTES,
    BOARD_OVERDUE,
    BOARD_REPORTED,
    BOARD_TOUCH,
    BOARD_ZERO,
)
from feedback.repositories import FeedbackUnitOfWork as Uow
from feedback.usecases import coaching
from feedback.usecases.common import require, subject_of, team_of, today


def team_board(uow: Uow, actor: Actor | None, manager_id: str | None = None) -> c.TeamBoardView:
    with uow:
        manager = manager_id or subject_of(actor)
        require(uow, actor, "feedback.team.read", access.of(access.TEAM, manager), "manager_id")
        on = today(uow)
        team = team_of(uow, manager)
        last_week = week_key(on - timedelta(days=7))
        month = month_key(on)
        months, first, last = coaching.window(uow, month)
        rows = uow.board.rows(manager, team, on, last_week, (first, last), month, weeks_of_month(month))
        return assemble(uow, manager, on, team, last_week, month, months, rows)


def assemble(uow: Uow, manager: str, on: date, team: list[str], last_week: str, month: str, months: list[str],
             rows: list[tuple[Any, ...]]) -> c.TeamBoardView:
    """The board from `BoardRepository.rows`' tagged rows: (tag, person, ref, day, day2, n)."""
    due: list[tuple[date, str, str]] = []
    reported: set[str] = set()
    zero: list[c.BoardZeroActivity] = []
    touches: Counter[str] = Counter()
    held: Counter[str] = Counter()
    overdue = notes = 0
    for tag, person, ref, day, day2, n in rows:
        if tag == BOARD_DUE:
            due.append((day, person, ref))
        elif tag == BOARD_REPORTED:
            reported.add(person)
        elif tag == BOARD_ZERO:
            zero.append(c.BoardZeroActivity(person_id=person, weeks=n, detected_on=day, last_valid_on=day2))
        elif tag == BOARD_TOUCH:
            touches[month_key(day)] += 1
        elif tag == BOARD_HELD:
            held[month_key(day)] += 1  # a held 1:1 is a coaching conversation
        elif tag == BOARD_OVERDUE:
            overdue = n or 0
        elif tag == BOARD_NOTES:
            notes = n or 0
    due.sort()  # by due date, then person (as the check-in list is ordered)
    zero.sort(key=lambda z: z.person_id)
    return c.TeamBoardView(
        manager_id=manager,
        checkins_due=[c.BoardCheckinDue(checkin_id=ref, person_id=person, due_by=by, overdue=on > by)
                      for by, person, ref in due],
        missing_reports=c.BoardMissingReports(period=last_week, people=[p for p in team if p not in reported]),
        zero_activity=zero,
        coaching_cadence=coaching.view(uow, manager, month, months, touches, held, overdue, notes),
    )
