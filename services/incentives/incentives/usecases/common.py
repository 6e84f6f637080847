"""What several use cases share: ids, periods, people's cards, approval-chain plumbing."""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from chassis import errors as problems
from chassis.access import Resource
from chassis.access.approvals import Approval, ApprovalTable, Chain, approval_chain
from contracts import incentives as c
from contracts.actor import Actor
from contracts.base import Event
from contracts.envelope import Envelope
from incentives.domain.errors import InvalidInput, NotFound
from incentives.repositories import IncentivesUnitOfWork

Uow = IncentivesUnitOfWork  # the unit of work every incentives use case runs in
EventT = TypeVar("EventT", bound=Event)


def today(uow: Uow) -> date:
    now: datetime = uow.now()
    return now.date()


def payload_of(envelope: Envelope, model: type[EventT]) -> EventT:
    """The envelope's payload as the contract the handler subscribed to; anything else is refused (400 `type`)."""
    event = envelope.payload()
    if not isinstance(event, model):
        raise InvalidInput("type", f"{envelope.type} is not a {model.type}")
    return event


def subject(actor: Actor | None) -> str | None:
    return None if actor is None else actor.subject


def week_key(on: date) -> str:
    year, week, _ = on.isocalendar()
    return f"{year}-W{week:02d}"


def month_key(on: date) -> str:
    return f"{on.year}-{on.month:02d}"


def period_start(key: str) -> date:
    """The first day of an ISO week (2026-W48) or a month (2026-11)."""
    year, rest = key.split("-", 1)
    if rest.startswith("W"):
        try:
            return date.fromisocalendar(int(year), int(rest[1:]), 1)
        except ValueError:
            raise InvalidInput("period", f"{key} is not a week of {year}") from None
    return date(int(year), int(rest), 1)


def period_kind(key: str) -> str:
    return "week" if "-W" in key else "month"


def last_complete_periods(on: date) -> list[str]:
    """The week and the month that ended before `on`."""
    last_week = on - timedelta(days=on.isoweekday())
    last_month = on.replace(day=1) - timedelta(days=1)
    return [week_key(last_week), month_key(last_month)]


@contextmanager
def bulk_objects() -> Iterator[None]:
    """Around a use case that makes objects by the hundred thousand and frees none until it answers (a company's
    9-box, five cycles of ratings, a week's settlement): the cyclic garbage collector stays off meanwhile, since
    each of its passes would walk every object made so far and find nothing to free. Green threads that run while
    it waits for the database leave their cycles to the next pass, once it is on again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def require_or_hide(uow: Uow, actor: Actor | None, action: str, resource: Resource, missing: NotFound, *,
                    visible_with: str | None = None) -> None:
    """`action` on an existing record, or, to a caller who may not even see it (`visible_with`, or `action`
    itself when that is a read), exactly the error a missing record gives (`missing`): a 403 beside a 404 would
    confirm that the record exists. A caller who may see it but not do this gets the honest 403."""
    try:
        uow.access.require(actor, action, resource, missing=missing.message, visible_with=visible_with)
    except problems.NotFound:
        raise missing from None


def members_of(uow: Uow, org_unit_id: str) -> set[str]:
    """The people now in the unit or a unit below it, from the org index (erased people are not in it): whole
    populations are filtered in memory rather than by a join with the directory in every query."""
    units = set(units_of(uow, org_unit_id))
    return {person_id for person_id, person in uow.access.index.people.items() if person.org_unit_id in units}


def units_of(uow: Uow, org_unit_id: str) -> list[str]:
    """The unit and the units below it, from the org index (404 naming org_unit_id when it is not there)."""
    index = uow.access.index
    if index.unit(org_unit_id) is None:
        raise NotFound(f"org unit {org_unit_id} is not in the directory", field="org_unit_id")
    return list(index.units_within(org_unit_id))


def card(uow: Uow, person_id: str, field: str = "person_id") -> Any:
    found = uow.people.card(person_id)
    if found is None:
        raise NotFound(f"person {person_id} is not in the directory", field=field, ids=[person_id])
    return found


def chain(uow: Uow, person_id: str, grade: str | None, table: dict[str, list[str]],
          requested_by: str | None) -> Chain:
    return approval_chain(uow.access.index, person_id, grade, ApprovalTable.parse(table), requested_by=requested_by)


def approval_views(approval: Approval | None) -> dict[str, Any]:
    if approval is None:
        return {"approvers": [], "waiting_for": None, "decisions": []}
    current = approval.current
    return {
        "approvers": [c.ApproverView(step=a.step.value, person_id=a.person_id) for a in approval.approvers],
        "waiting_for": None if current is None else c.ApproverView(step=current.step.value,
                                                                   person_id=current.person_id),
        "decisions": [c.ApprovalDecisionView(step=d.step.value, person_id=d.person_id, outcome=d.outcome,
                                             reason=d.reason) for d in approval.decisions],
    }
