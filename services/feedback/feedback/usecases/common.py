"""What several use cases share: today, 404s, version checks, the calendar, the team of a manager."""
from __future__ import annotations

from datetime import date

from chassis.access.org import PersonStatus
from feedback import models as m
from feedback.domain.calendar import Calendar
from feedback.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from feedback.settings import FeedbackSettings


def today(uow) -> date:
    return uow.now().date()


def settings(uow) -> FeedbackSettings:
    return uow.settings or FeedbackSettings()


def load(uow, model, key, field: str, *, lock: bool = False):
    row = uow.repo.get(model, key, lock=lock)
    if row is None:
        raise NotFound(f"no such {model.__tablename__.rstrip('s').replace('_', ' ')}: {key}", field=field)
    return row


def check_version(row, expected: int | None) -> None:
    if expected is not None and row.version != expected:
        raise Conflict(f"version {expected} is stale; the current version is {row.version}",
                       field="expected_version")


def calendar(uow) -> Calendar:
    row = uow.repo.get(m.CompanyCalendar, 1)
    if row is None:
        return Calendar()
    return Calendar.build(row.working_weekdays, [date.fromisoformat(d) for d in row.holidays],
                          [date.fromisoformat(d) for d in row.extra_working_days])


def active(index, person_id: str) -> bool:
    person = index.person(person_id)
    return person is not None and person.status != PersonStatus.TERMINATED


def team_of(uow, manager_id: str) -> list[str]:
    """A manager's current direct reports, from the org read model."""
    index = uow.access.index
    return sorted(p for p in index.direct_reports(manager_id) if active(index, p))


def require_person(uow, person_id: str, field: str) -> None:
    if not active(uow.access.index, person_id):
        raise InvalidInput(field, f"{person_id} is not a current member of the directory")


def subject_of(actor) -> str:
    if actor is None:
        raise NotAllowed("no authenticated actor", field="actor")
    return actor.subject


def require(uow, actor, action: str, resource, field: str) -> None:
    """Allow, or record the denial (compliance audits it) and answer 403 naming the request field at fault."""
    from chassis.errors import Forbidden

    decision = uow.access.decide(actor, action, resource)
    if not decision.allowed:
        uow.record_denial(actor, action, resource, decision.reason)
        raise Forbidden(decision.reason, errors=[{"field": field, "message": decision.reason}])

