"""Use-case tests without a broker: the incentives unit of work on a freshly migrated database (the chassis'
`use_cases` fixture: each test runs on SQLite and on PostgreSQL), the org read model fed with compliance's events
directly, and actors built by hand. Events other services publish are handed to the use cases as envelopes, as the
handlers do. The clock is fixed at today, 2026-12-02 (Q4 2026 is running)."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chassis.access import apply_org_event
from chassis.errors import ServiceError, to_service_error
from contracts import Actor, Envelope
from contracts.feedback import RatingAmended, RatingComponent, RatingFinalized, WeeklyLeadsCounted
from contracts.org import OrgUnitChanged, PersonChanged, RoleGrant, RoleGrantsChanged
from incentives import access, errors
from incentives.repositories import IncentivesUnitOfWork
from incentives.settings import IncentivesSettings

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # today, as the preamble says: Q4 2026 is running
errors.register()
access.register()


class World:
    def __init__(self, harness):
        self.harness = harness
        self.store = harness.store
        self.settings = IncentivesSettings()
        self._versions = itertools.count(1)
        self.clock = lambda: NOW

    @staticmethod
    def failure(call, *args) -> ServiceError:
        """The problem document `call(*args)` fails with (the test fails if it does not, or if the error is not
        mapped to one)."""
        try:
            call(*args)
        except Exception as exc:
            error = to_service_error(exc)
            assert error is not None, f"{exc!r} is not mapped to a problem document"
            return error
        pytest.fail("expected an error")

    def uow(self) -> IncentivesUnitOfWork:
        return IncentivesUnitOfWork(self.store, clock=self.clock)

    @staticmethod
    def actor(subject: str | None, kind: str = "person") -> Actor | None:
        return None if subject is None else Actor(subject=subject, kind=kind)

    def apply(self, *events) -> None:
        with self.uow() as uow:
            for event in events:
                apply_org_event(uow.session, Envelope.wrap(event))

    def org(self, units=(), people=(), grants=None) -> None:
        """units: (id, parent); people: (id, unit, manager[, grade[, hired_on]]); grants: {subject: [(role, unit)]}"""
        events = [OrgUnitChanged(org_unit_id=u, version=next(self._versions), name=u, parent_id=parent)
                  for u, parent in units]
        for person in people:
            pid, unit, manager, *rest = person
            events.append(PersonChanged(person_id=pid, version=next(self._versions), name=pid, org_unit_id=unit,
                                        manager_id=manager, grade=rest[0] if rest else None,
                                        hired_on=rest[1] if len(rest) > 1 else None))
        events += [RoleGrantsChanged(subject_id=s, version=next(self._versions),
                                     grants=[RoleGrant(role=role, org_unit_id=unit) for role, unit in found])
                   for s, found in (grants or {}).items()]
        self.apply(*events)

    def rating(self, person: str, label: str, *, cycle: str = "rc-2026", version: int = 1, rating_id: str | None = None,
               manager: str | None = None, score: str = "80", goals: str | None = None, reason: str = "",
               envelope_id: str | None = None) -> Envelope:
        components = [RatingComponent(name="goals", score=Decimal(goals), weight=Decimal("0.6"))] if goals else []
        common = {"rating_id": rating_id or f"r-{person}-{cycle}", "person_id": person, "review_cycle_id": cycle,
                  "goals_cycle_id": "gc-2026", "label": label, "score": Decimal(score), "components": components,
                  "version": version, "manager_id": manager}
        if version == 1:
            event = RatingFinalized(**common, reason=reason, finalized_at=NOW)
        else:
            event = RatingAmended(**common, previous_label="B", previous_score=Decimal(70),
                                  reason=reason or "appeal amended", amended_at=NOW)
        return Envelope.wrap(event, event_id=envelope_id)

    @staticmethod
    def leads(person: str, week: str, monday, valid: int, opportunities: int, demos: int) -> Envelope:
        return Envelope.wrap(WeeklyLeadsCounted(person_id=person, manager_id=None, week=week, week_start=monday,
                                                visits=valid + 1, valid_leads=valid, opportunities=opportunities,
                                                demo_conversions=demos))

    def outbox(self, suffix: str = "") -> list[tuple[str, dict]]:
        """What the use cases published (type, data), oldest first; `suffix` filters by event type."""
        import json

        from sqlalchemy import text

        with self.store.engine.connect() as conn:
            rows = conn.execute(text("select event_type, body from chassis_outbox where event_type like :t "
                                     "order by seq"), {"t": f"%{suffix}"}).all()
        return [(row.event_type, json.loads(row.body)["data"]) for row in rows]


@pytest.fixture
def world(use_cases):
    return World(use_cases(IncentivesUnitOfWork, "incentives"))

