"""Coaching touches, managers' weekly coaching notes (辅导纪要) and the monthly cadence against the standard."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from chassis.ids import new_id
from contracts import feedback as c
from contracts.actor import Actor
from feedback import access, views
from feedback import models as m
from feedback.domain import coaching as rules
from feedback.domain.calendar import month_bounds, parse_month, previous_months, week_start, weeks_of_month
from feedback.domain.errors import InvalidInput
from feedback.repositories import FeedbackUnitOfWork as Uow
from feedback.usecases.common import require, require_person, settings, subject_of, today


def record(uow: Uow, actor: Actor | None, command: c.RecordCoaching) -> c.CoachingView:
    with uow:
        manager = subject_of(actor)
        require_person(uow, command.person_id, "person_id")
        require(uow, actor, "feedback.coaching.write", access.of(access.COACHING, command.person_id), "person_id")
        rules.check_touch(command.on, today(uow), manager, command.person_id)
        row = m.CoachingTouch(id=new_id(), manager_id=manager, person_id=command.person_id, on=command.on,
                              minutes=command.minutes, topic=command.topic, notes=command.notes,
                              goal_id=command.goal_id, created_at=uow.now())
        uow.repo.add(row)
        return views.coaching(row)


def submit_notes(uow: Uow, actor: Actor | None, command: c.SubmitCoachingNotes) -> c.SubmitCoachingNotes:
    with uow:
        manager = subject_of(actor)
        require(uow, actor, "feedback.coaching.read", access.of(access.COACHING, manager), "actor")
        if week_start(command.week) > today(uow):
            raise InvalidInput("week", "notes for a week that has not started")
        row = uow.session.scalars(select(m.CoachingNote).where(m.CoachingNote.manager_id == manager,
                                                               m.CoachingNote.week == command.week)).first()
        if row is None:
            row = m.CoachingNote(id=new_id(), manager_id=manager, week=command.week)
            uow.repo.add(row)
        row.notes, row.submitted_at = command.notes, uow.now()
        return command


def window(uow: Uow, month: str) -> tuple[list[str], date, date]:
    """The months the cadence of `month` averages over (oldest first), and their first and last day."""
    months = previous_months(month, settings(uow).coaching_window_months)
    first, _ = month_bounds(*parse_month(months[0]))
    _, last = month_bounds(*parse_month(month))
    return months, first, last


def view(uow: Uow, manager: str, month: str, months: list[str], by_month: dict[str, int], held: dict[str, int],
         overdue: int, notes: int) -> c.CadenceView:
    """The cadence from its counts: touches and 1:1s held per month of the window, overdue 1:1s, weekly notes."""
    s = settings(uow)
    avg = rules.average([by_month.get(k, 0) + held.get(k, 0) for k in months])
    return c.CadenceView(manager_id=manager, month=month, touches=by_month.get(month, 0) + held.get(month, 0),
                         weekly_notes=notes, average=avg, window_months=len(months), standard=s.coaching_standard,
                         below_standard=rules.below_standard(avg, s.coaching_standard) or overdue > 0,
                         checkins_held=held.get(month, 0), checkins_overdue=overdue)


def compute(uow: Uow, manager: str, month: str) -> c.CadenceView:
    months, first, last = window(uow, month)
    by_month = uow.coaching.touches_by_month(manager, first, last)
    held = uow.coaching.checkins_held_by_month(manager, first, last)  # a held 1:1 is a coaching conversation
    return view(uow, manager, month, months, by_month, held, uow.coaching.checkins_overdue(manager, month),
                uow.coaching.notes_in(manager, weeks_of_month(month)))


def cadence(uow: Uow, actor: Actor | None, command: c.GetCadence) -> c.CadenceView:
    with uow:
        manager = command.manager_id or subject_of(actor)
        require(uow, actor, "feedback.coaching.read", access.of(access.COACHING, manager), "manager_id")
        return compute(uow, manager, command.month)


def publish_cadence(uow: Uow, month: str) -> int:
    """The monthly sweep: every manager's cadence for `month` as an event (a KPI value for the manager), once."""
    with uow:
        if not uow.sweeps.claim("cadence", month, uow.now()):
            return 0
        index = uow.access.index
        managers = sorted({p.manager_id for p in index.people.values() if p.manager_id})
        views_ = [compute(uow, manager, month) for manager in managers]
        uow.publish(*(c.CoachingCadenceComputed(**v.model_dump()) for v in views_))
        return len(views_)
