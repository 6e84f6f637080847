"""What several use cases share: today, 404s, version checks, the calendar, the team of a manager."""
from __future__ import annotations

from datetime import date

from chassis import errors as chassis_errors
from chassis.access.org import OrgIndex, PersonStatus
from chassis.access.policy import Resource
from contracts.actor import Actor
from feedback import models as m
from feedback.domain.calendar import Calendar
from feedback.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from feedback.repositories import FeedbackUnitOfWork as Uow
from feedback.repositories import Row
from feedback.settings import FeedbackSettings


def today(uow: Uow) -> date:
    return uow.now().date()


def settings(uow: Uow) -> FeedbackSettings:
    return uow.settings or FeedbackSettings()


def missing(model: type[m.Base], key: object) -> str:
    """What a 404 says for a record that does not exist, and for one the caller may not know exists."""
    return f"no such {model.__tablename__.rstrip('s').replace('_', ' ')}: {key}"


def load(uow: Uow, model: type[Row], key: object, field: str, *, lock: bool = False) -> Row:
    row = uow.repo.get(model, key, lock=lock)
    if row is None:
        raise NotFound(missing(model, key), field=field)
    return row


def check_version(row: m.Checkin | m.Rating | m.ReviewCycle, expected: int | None) -> None:
    if expected is not None and row.version != expected:
        raise Conflict(f"version {expected} is stale; the current version is {row.version}",
                       field="expected_version")


def calendar(uow: Uow) -> Calendar:
    row = uow.repo.get(m.CompanyCalendar, 1)
    if row is None:
        return Calendar()
    return Calendar.build(row.working_weekdays, [date.fromisoformat(d) for d in row.holidays],
                          [date.fromisoformat(d) for d in row.extra_working_days])


def active(index: OrgIndex, person_id: str) -> bool:
    person = index.person(person_id)
    return person is not None and person.status != PersonStatus.TERMINATED


def team_of(uow: Uow, manager_id: str) -> list[str]:
    """A manager's current direct reports, from the org read model."""
    index = uow.access.index
    return sorted(p for p in index.direct_reports(manager_id) if active(index, p))


def require_person(uow: Uow, person_id: str, field: str) -> None:
    if not active(uow.access.index, person_id):
        raise InvalidInput(field, f"{person_id} is not a current member of the directory")


def subject_of(actor: Actor | None) -> str:
    if actor is None:
        raise NotAllowed("no authenticated actor", field="actor")
    return actor.subject


def require(uow: Uow, actor: Actor | None, action: str, resource: Resource, field: str, *, hidden: str | None = None,
            visible_with: str | None = None) -> None:
    """Allow, or record the denial (compliance audits it) and answer 403 naming the request field at fault.

    `hidden`: the 404 message of the record acted on by id (`missing(model, key)`, as `load` gives it). A caller
    who may not know the record exists gets exactly that 404 — a 403 beside a 404 for a missing id would confirm
    it exists; with `visible_with` (a read action), one who may read the record still gets the honest 403."""
    try:
        uow.access.require(actor, action, resource, missing=hidden, visible_with=visible_with)
    except chassis_errors.NotFound:
        raise NotFound(hidden or "not found", field=field) from None
    except chassis_errors.Forbidden as denied:
        raise chassis_errors.Forbidden(denied.detail, errors=[{"field": field, "message": denied.detail}]) from None

