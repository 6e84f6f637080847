"""Feedback under test.

`uc` (use-case tests, no broker): a unit of work on a freshly migrated SQLite database (the embedded default),
the org directory fed straight into the read model, a settable clock (today is 2026-12-02), and `uc.as_(who)`
to get an actor. The RPC tests use `feedback_service` (RabbitMQ + PostgreSQL)."""
from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from chassis.access import apply_org_event
from chassis.migrations import upgrade
from chassis.uow import Store
from contracts import Actor, Envelope
from contracts.org import OrgUnitChanged, PersonChanged, RoleGrant, RoleGrantsChanged
from feedback import access, errors
from feedback.repositories import FeedbackUnitOfWork
from feedback.settings import FeedbackSettings

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


class UseCases:
    def __init__(self, url: str):
        upgrade("feedback", url)
        errors.register()
        access.register()
        self.store = Store.from_url(url, "feedback")
        self.now = NOW
        self.settings = FeedbackSettings()
        self._versions = itertools.count(1)

    def uow(self, actor: Actor | None = None) -> FeedbackUnitOfWork:
        uow = FeedbackUnitOfWork(self.store, actor=actor, clock=lambda: self.now)
        uow.settings = self.settings
        return uow

    @staticmethod
    def as_(subject: str, kind: str = "person") -> Actor:
        return Actor(subject=subject, kind=kind)

    def org(self, units=(), people=(), grants=None) -> None:
        """units: (id, parent); people: (id, unit, manager); grants: {subject: [(role, unit)]}."""
        events = [OrgUnitChanged(org_unit_id=u, version=next(self._versions), name=u, parent_id=p) for u, p in units]
        events += [PersonChanged(person_id=p, version=next(self._versions), name=p, org_unit_id=u, manager_id=mg)
                   for p, u, mg in people]
        events += [RoleGrantsChanged(subject_id=s, version=next(self._versions),
                                     grants=[RoleGrant(role=r, org_unit_id=u) for r, u in found])
                   for s, found in (grants or {}).items()]
        with self.store.engine.begin() as conn:
            from sqlalchemy.orm import Session

            session = Session(conn)
            for event in events:
                apply_org_event(session, Envelope.wrap(event))
            session.flush()

    def scalar(self, sql: str, **params):
        with self.store.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def events(self, type_suffix: str = "") -> list[tuple[str, dict]]:
        with self.store.engine.connect() as conn:
            rows = conn.execute(text("select event_type, body from chassis_outbox where event_type like :t "
                                     "order by seq"), {"t": f"%{type_suffix}"}).all()
        return [(r.event_type, json.loads(r.body)) for r in rows]


@pytest.fixture
def uc(sqlite_url):
    cases = UseCases(sqlite_url)
    # a small company: sales unit with a director, a manager and reps; HR for the company
    cases.org(units=[("co", None), ("sales", "co")],
              people=[("dir", "sales", None), ("mgr", "sales", "dir"), ("rep1", "sales", "mgr"),
                      ("rep2", "sales", "mgr"), ("rep3", "sales", "mgr"), ("peer", "sales", "dir"),
                      ("hr", "co", None), ("outsider", "co", None)],
              grants={"hr": [("hr", "co")]})
    yield cases
    cases.store.engine.dispose()


@pytest.fixture
def uid():
    return uuid.uuid4().hex[:6]
