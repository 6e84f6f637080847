"""The company calendar and monthly 1:1 check-ins."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from chassis.ids import new_id
from contracts import feedback as c
from contracts.actor import Actor
from feedback import access, views
from feedback import models as m
from feedback.domain import checkins as rules
from feedback.domain.calendar import Calendar, parse_month
from feedback.domain.errors import InvalidInput
from feedback.repositories import FeedbackUnitOfWork as Uow
from feedback.usecases.common import (
    calendar,
    check_version,
    load,
    missing,
    require,
    settings,
    subject_of,
    team_of,
    today,
)


def set_calendar(uow: Uow, actor: Actor | None, command: c.SetCalendar) -> c.CalendarView:
    with uow:
        uow.access.require(actor, "feedback.company.manage", access.company())
        built = Calendar.build(command.working_weekdays, command.holidays, command.extra_working_days,
                               None if command.preset == "none" else command.preset)
        row = uow.repo.get(m.CompanyCalendar, 1, lock=True)
        if row is None:
            row = m.CompanyCalendar(id=1, version=0)
            uow.repo.add(row)
        row.working_weekdays = sorted(built.working_weekdays)
        row.holidays = sorted(d.isoformat() for d in built.holidays)
        row.extra_working_days = sorted(d.isoformat() for d in built.extra_working_days)
        row.version += 1
        return _calendar_view(built, row.version)


def get_calendar(uow: Uow, actor: Actor | None) -> c.CalendarView:
    with uow:
        uow.access.require(actor, "feedback.company.read", access.company())
        row = uow.repo.get(m.CompanyCalendar, 1)
        return _calendar_view(calendar(uow), 0 if row is None else row.version)


def _calendar_view(cal: Calendar, version: int) -> c.CalendarView:
    return c.CalendarView(working_weekdays=sorted(cal.working_weekdays), holidays=sorted(cal.holidays),
                          extra_working_days=sorted(cal.extra_working_days), version=version)


def schedule(uow: Uow, actor: Actor | None, command: c.ScheduleCheckins) -> c.CheckinList:
    """One check-in per manager-report pair for the month, in its last working week; existing pairs stay."""
    year, month = parse_month(command.month)
    with uow:
        index = uow.access.index
        if command.manager_id is None:
            uow.access.require(actor, "feedback.company.manage", access.company())
            managers = sorted({p.manager_id for p in index.people.values() if p.manager_id})
        else:
            managers = [command.manager_id]
        due_from, due_by = calendar(uow).checkin_window(year, month, settings(uow).checkin_window_days)
        existing = uow.checkins.existing_pairs(command.month)
        created = []
        for manager in managers:
            for person in team_of(uow, manager):
                if (manager, person) in existing:
                    continue
                if command.manager_id is not None:
                    require(uow, actor, "feedback.checkin.schedule", access.of(access.CHECKIN, person), "manager_id")
                now = uow.now()
                created.append(m.Checkin(id=new_id(), month=command.month, manager_id=manager, person_id=person,
                                         due_from=due_from, due_by=due_by, state=rules.SCHEDULED, held_on=None,
                                         signed_by_manager=False, signed_by_person=False, goals=[],
                                         overdue_flagged_on=None, created_at=now, updated_at=now, version=1))
        uow.repo.add(*created)
        on = today(uow)
        return c.CheckinList(items=[views.checkin(row, [], None, on) for row in created])


def _load(uow: Uow, actor: Actor | None, checkin_id: str, action: str, *, lock: bool = False) -> m.Checkin:
    row = load(uow, m.Checkin, checkin_id, "checkin_id", lock=lock)
    read = "feedback.checkin.read"
    require(uow, actor, action, access.of(access.CHECKIN, row.person_id), "checkin_id",
            hidden=missing(m.Checkin, checkin_id), visible_with=None if action == read else read)
    return row


def _add_points(uow: Uow, row: m.Checkin, author: str, points: Iterable[c.CheckinPoint]) -> None:
    now = uow.now()
    uow.repo.add(*(m.CheckinPoint(checkin_id=row.id, author_id=author, section=p.section, text=p.text,
                                  visibility=p.visibility, goal_id=p.goal_id, support_needed=p.support_needed,
                                  created_at=now) for p in points))


def hold(uow: Uow, actor: Actor | None, command: c.HoldCheckin) -> c.CheckinView:
    with uow:
        row = _load(uow, actor, command.checkin_id, "feedback.checkin.write", lock=True)
        check_version(row, command.expected_version)
        on = today(uow)
        rules.check_hold(row.state, command.held_on, on, subject_of(actor), row.manager_id)
        for i, snapshot in enumerate(command.goals):
            if snapshot.colour is None:
                raise InvalidInput(f"goals.{i}.colour", "the goal's colour at the time of the check-in")
        row.state, row.held_on = rules.HELD, command.held_on
        row.goals = [g.model_dump(mode="json") for g in command.goals]
        row.version += 1
        row.updated_at = uow.now()
        _add_points(uow, row, subject_of(actor), command.points)
        uow.session.flush()
        _publish_held(uow, row, command.points)
        return views.checkin(row, uow.checkins.points(row.id), subject_of(actor), on)


def _publish_held(uow: Uow, row: m.Checkin, points: Sequence[c.CheckinPoint] = ()) -> None:
    support = [p for p in points if p.support_needed and p.visibility == "shared"]  # never a private point
    uow.publish(c.CheckinHeld(checkin_id=row.id, month=row.month, manager_id=row.manager_id, person_id=row.person_id,
                              held_on=row.held_on, due_by=row.due_by,
                              on_time=row.held_on is not None and row.held_on <= row.due_by,
                              signed_off=row.state == rules.SIGNED_OFF, goal_ids=[g["goal_id"] for g in row.goals],
                              support_needed=len(support),
                              support_requests=[c.SupportRequest(goal_id=p.goal_id, text=p.text) for p in support]))


def add_notes(uow: Uow, actor: Actor | None, command: c.AddCheckinNotes) -> c.CheckinView:
    with uow:
        row = _load(uow, actor, command.checkin_id, "feedback.checkin.write", lock=True)
        rules.check_note(row.state, subject_of(actor), row.manager_id, row.person_id)
        _add_points(uow, row, subject_of(actor), command.points)
        row.version += 1
        row.updated_at = uow.now()
        uow.session.flush()
        return views.checkin(row, uow.checkins.points(row.id), subject_of(actor), today(uow))


def sign_off(uow: Uow, actor: Actor | None, command: c.SignOffCheckin) -> c.CheckinView:
    with uow:
        row = _load(uow, actor, command.checkin_id, "feedback.checkin.write", lock=True)
        check_version(row, command.expected_version)
        before = row.state
        row.signed_by_manager, row.signed_by_person, row.state = rules.sign(
            row.state, subject_of(actor), row.manager_id, row.person_id, row.signed_by_manager,
            row.signed_by_person)
        row.version += 1
        row.updated_at = uow.now()
        if before != row.state:
            _publish_held(uow, row)
        return views.checkin(row, uow.checkins.points(row.id), subject_of(actor), today(uow))


def get(uow: Uow, actor: Actor | None, command: c.GetCheckin) -> c.CheckinView:
    with uow:
        row = _load(uow, actor, command.checkin_id, "feedback.checkin.read")
        return views.checkin(row, uow.checkins.points(row.id), subject_of(actor), today(uow))


def list_checkins(uow: Uow, actor: Actor | None, command: c.ListCheckins) -> c.CheckinList:
    with uow:
        who = subject_of(actor)
        if command.person_id is None and command.manager_id is None:
            raise InvalidInput("person_id", "name a person or a manager")
        if command.manager_id is not None:
            uow.access.require(actor, "feedback.team.read", access.of(access.TEAM, command.manager_id))
        else:
            uow.access.require(actor, "feedback.checkin.read", access.of(access.CHECKIN, command.person_id))
        rows = uow.checkins.page(month=command.month, person_id=command.person_id, manager_id=command.manager_id,
                                 state=command.state, after=command.cursor, limit=command.limit + 1)
        more = len(rows) > command.limit
        rows = rows[:command.limit]
        on = today(uow)
        items = [views.checkin(r, uow.checkins.points(r.id), who, on) for r in rows]
        return c.CheckinList(items=items, next_cursor=rows[-1].id if more else None)


def flag_overdue(uow: Uow) -> int:
    """The sweep: check-ins past their window, flagged once (to the manager and HR, by the event)."""
    with uow:
        on = today(uow)
        rows = uow.checkins.newly_overdue(on)
        for row in rows:
            if not rules.is_overdue(row.state, row.due_by, on):
                continue
            row.overdue_flagged_on = on
            uow.publish(c.CheckinOverdue(checkin_id=row.id, month=row.month, manager_id=row.manager_id,
                                         person_id=row.person_id, due_by=row.due_by, detected_on=on))
        return len(rows)

