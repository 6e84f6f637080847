"""The manager's "my team" board: check-ins due, missing reports, zero activity, coaching cadence."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from contracts import feedback as c
from contracts.actor import Actor
from feedback import access
from feedback import models as m
from feedback.domain.calendar import month_key, week_key
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
        reported = {r.person_id for r in uow.reports.for_people(team, "weekly", [last_week])}
        flagged = list(uow.session.scalars(select(m.ZeroActivity).where(m.ZeroActivity.person_id.in_(team))))
        due = uow.checkins.due_for(manager, on)
        cadence = coaching.compute(uow, manager, month_key(on))
        return c.TeamBoardView(
            manager_id=manager,
            checkins_due=[c.BoardCheckinDue(checkin_id=r.id, person_id=r.person_id, due_by=r.due_by,
                                            overdue=on > r.due_by) for r in due],
            missing_reports=c.BoardMissingReports(period=last_week, people=[p for p in team if p not in reported]),
            zero_activity=[c.BoardZeroActivity(person_id=z.person_id, weeks=z.weeks, detected_on=z.detected_on,
                                               last_valid_on=z.last_valid_on) for z in flagged],
            coaching_cadence=cadence,
        )
