"""Key events (关键事件): a manager or peer records a positive or negative critical incident with evidence; the
employee sees it and may respond; reviews (part 2) list them as evidence."""
from __future__ import annotations

from chassis.ids import new_id
from contracts import feedback as c
from contracts.actor import Actor
from feedback import access, views
from feedback import models as m
from feedback.domain.errors import InvalidInput, NotAllowed
from feedback.repositories import FeedbackUnitOfWork as Uow
from feedback.usecases.common import load, missing, require, require_person, subject_of, today


def record(uow: Uow, actor: Actor | None, command: c.RecordKeyEvent) -> c.KeyEventView:
    with uow:
        require_person(uow, command.person_id, "person_id")
        require(uow, actor, "feedback.key_event.record", access.of(access.KEY_EVENT, command.person_id),
                "person_id")
        if command.occurred_on > today(uow):
            raise InvalidInput("occurred_on", "a key event cannot be in the future")
        row = m.KeyEvent(id=new_id(), person_id=command.person_id, recorded_by=subject_of(actor),
                         polarity=command.polarity, title=command.title, occurred_on=command.occurred_on,
                         evidence_text=command.evidence_text, evidence_url=command.evidence_url,
                         goal_id=command.goal_id, response=None, recorded_at=uow.now())
        uow.repo.add(row)
        uow.publish(c.KeyEventRecorded(key_event_id=row.id, person_id=row.person_id, recorded_by=row.recorded_by,
                                       polarity=row.polarity, title=row.title, occurred_on=row.occurred_on,
                                       goal_id=row.goal_id))
        return views.key_event(row)


def respond(uow: Uow, actor: Actor | None, command: c.RespondKeyEvent) -> c.KeyEventView:
    with uow:
        row = load(uow, m.KeyEvent, command.key_event_id, "key_event_id", lock=True)
        require(uow, actor, "feedback.key_event.respond", access.of(access.KEY_EVENT, row.person_id),
                "key_event_id", hidden=missing(m.KeyEvent, command.key_event_id),
                visible_with="feedback.key_event.read")
        if row.response:
            raise NotAllowed("the response was already given", field="key_event_id")
        row.response = command.response
        return views.key_event(row)


def list_events(uow: Uow, actor: Actor | None, command: c.ListKeyEvents) -> c.KeyEventList:
    from sqlalchemy import select

    with uow:
        require(uow, actor, "feedback.key_event.read", access.of(access.KEY_EVENT, command.person_id), "person_id")
        stmt = select(m.KeyEvent).where(m.KeyEvent.person_id == command.person_id)
        if command.since is not None:
            stmt = stmt.where(m.KeyEvent.occurred_on >= command.since)
        if command.until is not None:
            stmt = stmt.where(m.KeyEvent.occurred_on <= command.until)
        if command.cursor is not None:
            stmt = stmt.where(m.KeyEvent.id > command.cursor)
        rows = list(uow.session.scalars(stmt.order_by(m.KeyEvent.id).limit(command.limit + 1)))
        more = len(rows) > command.limit
        rows = rows[:command.limit]
        return c.KeyEventList(items=[views.key_event(r) for r in rows], next_cursor=rows[-1].id if more else None)
