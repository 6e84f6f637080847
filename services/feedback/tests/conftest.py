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


@pytest.fixture(params=["sqlite", "postgresql"])
def uc(request):
    """The same use-case tests on SQLite (the embedded default) and PostgreSQL (production)."""
    url = (request.getfixturevalue("sqlite_url") if request.param == "sqlite"
           else request.getfixturevalue("pg_database")("feedback"))
    cases = UseCases(url)
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


# -- the running service on RabbitMQ + PostgreSQL ------------------------------------------------------------------

CONFIG = {"OUTBOX_POLL_INTERVAL": 0.2, "EVENT_RETRY_DELAYS": [0.05, 0.1], "FEEDBACK_SWEEP_SECONDS": 3600}


class Harness:
    def __init__(self, amqp_uri: str, db_url: str):
        from chassis.amqp import ConfirmingPublisher, events_exchange
        from chassis.db import create_db_engine

        self.amqp_uri, self.db_url = amqp_uri, db_url
        self.engine = create_db_engine(db_url)
        self._clients = {}
        self._versions = itertools.count(1)
        self._publisher = ConfirmingPublisher(amqp_uri, declare=[events_exchange("compliance")])

    def as_(self, subject: str | None, kind: str = "person"):
        from chassis.remote import StandaloneRpc

        key = (subject, kind)
        if key not in self._clients:
            actor = None if subject is None else Actor(subject=subject, kind=kind)
            self._clients[key] = StandaloneRpc(self.amqp_uri, timeout=20, actor=actor).start()
        return self._clients[key].caller().feedback

    def fails(self, call, *args):
        from chassis.errors import ServiceError

        try:
            result = call(*args)
        except ServiceError as error:
            return error
        pytest.fail(f"expected an error, got {result!r}")

    def publish(self, *events) -> None:
        from chassis.amqp import OutgoingMessage

        for event in events:
            envelope = Envelope.wrap(event)
            self._publisher.publish(OutgoingMessage("compliance.events", envelope.type, envelope.model_dump_json()))

    def org(self, units=(), people=(), grants=None) -> None:
        from chassis.testing.plugin import wait_for

        events = [OrgUnitChanged(org_unit_id=u, version=next(self._versions), name=u, parent_id=p) for u, p in units]
        events += [PersonChanged(person_id=p, version=next(self._versions), name=p, org_unit_id=u, manager_id=mg)
                   for p, u, mg in people]
        events += [RoleGrantsChanged(subject_id=s, version=next(self._versions),
                                     grants=[RoleGrant(role=r, org_unit_id=u) for r, u in found])
                   for s, found in (grants or {}).items()]
        self.publish(*events)
        versions = [e.version for e in events]
        wait_for(lambda: self.scalar(
            "select count(*) from (select version from chassis_org_people union all select version from "
            "chassis_org_units union all select version from chassis_org_grants) v where version = any(:v)",
            v=versions) == len(versions), message="org events applied")

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def outbox(self, type_suffix: str = "") -> list[dict]:
        """Whole envelopes (actor included) as they go out."""
        with self.engine.connect() as conn:
            rows = conn.execute(text("select body from chassis_outbox where event_type like :t order by seq"),
                                {"t": f"%{type_suffix}"}).all()
        return [json.loads(r.body) for r in rows]

    def close(self) -> None:
        for client in self._clients.values():
            client.stop()
        self._publisher.close()
        self.engine.dispose()


@pytest.fixture(scope="module")
def feedback_service(vhosts, pg, pg_template, _run_id, request):
    from chassis.testing.services import ServicesUnderTest
    from feedback.service import FeedbackService

    amqp_uri = vhosts.create()
    name = f"jxt_{_run_id}_feedback_{uuid.uuid4().hex[:8]}"
    db_url = pg.create(name, template=pg_template("feedback"))
    try:
        config = {**CONFIG, **getattr(request.module, "FEEDBACK_CONFIG", {})}
        with ServicesUnderTest({FeedbackService: {"DATABASE_URL": db_url}}, AMQP_URI=amqp_uri, **config):
            harness = Harness(amqp_uri, db_url)
            yield harness
            harness.close()
    finally:
        vhosts.delete(amqp_uri)
        if not request.config.getoption("--keep-test-databases"):
            pg.drop(name)


@pytest.fixture
def harness_on():
    """`harness_on(amqp_uri, db_url)` -> a Harness for a feedback started by the test itself (with other services)."""
    made: list[Harness] = []

    def make(amqp_uri: str, db_url: str) -> Harness:
        made.append(Harness(amqp_uri, db_url))
        return made[-1]

    yield make
    for harness in made:
        harness.close()
