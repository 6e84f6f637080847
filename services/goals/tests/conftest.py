"""The goals service under test, once per test module: a fresh vhost and a fresh migrated PostgreSQL database,
the service started on them, and helpers to act as people, feed the org directory and read what was written.

Tests in one module share the service, so each test builds its own people, units and cycles (names prefixed by
the test) and asserts on its own rows only."""
from __future__ import annotations

import itertools
import json
import uuid

import pytest
from sqlalchemy import text

from chassis.amqp import ConfirmingPublisher, OutgoingMessage, events_exchange
from chassis.db import create_db_engine
from chassis.errors import ServiceError
from chassis.remote import StandaloneRpc
from chassis.testing.plugin import wait_for
from chassis.testing.services import ServicesUnderTest
from contracts import Actor, Envelope
from contracts.org import OrgUnitChanged, PersonChanged, RoleGrant, RoleGrantsChanged

CONFIG = {"OUTBOX_POLL_INTERVAL": 0.2, "EVENT_RETRY_DELAYS": [0.05, 0.1]}


class Harness:
    def __init__(self, amqp_uri: str, db_url: str, containers):
        self.amqp_uri = amqp_uri
        self.db_url = db_url
        self.containers = containers
        self.engine = create_db_engine(db_url)
        self._clients: dict[tuple, StandaloneRpc] = {}
        self._versions = itertools.count(1)
        self._publisher = ConfirmingPublisher(amqp_uri, declare=[events_exchange("compliance")])

    # -- calling the service -------------------------------------------------------------------------------------
    def as_(self, subject: str | None, kind: str = "person", timeout: float = 20.0):
        """A caller acting as `subject` (None: no actor at all)."""
        key = (subject, kind, timeout)
        if key not in self._clients:
            actor = None if subject is None else Actor(subject=subject, kind=kind)
            self._clients[key] = StandaloneRpc(self.amqp_uri, timeout=timeout, actor=actor).start()
        return self._clients[key].caller().goals

    def fails(self, call, *args, **kwargs) -> ServiceError:
        """The ServiceError a call raises (the test fails if it succeeds)."""
        try:
            result = call(*args, **kwargs)
        except ServiceError as error:
            return error
        pytest.fail(f"expected an error, got {result!r}")

    # -- the org directory -----------------------------------------------------------------------------------------
    def publish(self, *events) -> None:
        for event in events:
            envelope = Envelope.wrap(event)
            self._publisher.publish(OutgoingMessage("compliance.events", envelope.type, envelope.model_dump_json()))

    def org(self, units=(), people=(), grants=None) -> None:
        """units: (id, parent, name); people: (id, unit, manager); grants: {subject: [(role, unit)]}.
        Waits until the service has applied them all."""
        events = [OrgUnitChanged(org_unit_id=u, version=next(self._versions), name=name, parent_id=parent)
                  for u, parent, name in units]
        events += [PersonChanged(person_id=p, version=next(self._versions), name=f"name of {p}", org_unit_id=unit,
                                 manager_id=manager) for p, unit, manager in people]
        events += [RoleGrantsChanged(subject_id=s, version=next(self._versions),
                                     grants=[RoleGrant(role=role, org_unit_id=unit) for role, unit in found])
                   for s, found in (grants or {}).items()]
        self.publish(*events)
        versions = {e.version for e in events}
        wait_for(lambda: self.scalar(
            "select count(*) from (select version from chassis_org_people union all select version from "
            "chassis_org_units union all select version from chassis_org_grants) v where version = any(:v)",
            v=list(versions)) == len(versions), message="org events applied")

    def next_version(self) -> int:
        return next(self._versions)

    # -- reading what was written ------------------------------------------------------------------------------------
    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    def mark(self) -> int:
        """The newest outbox row now: `events(since=mark)` then shows what a call published."""
        return self.scalar("select coalesce(max(seq), 0) from chassis_outbox")

    def events(self, since: int = 0, type_suffix: str = "") -> list[tuple[str, dict]]:
        rows = self.rows("select event_type, body from chassis_outbox where seq > :s and event_type like :t "
                         "order by seq", s=since, t=f"%{type_suffix}")
        return [(row.event_type, json.loads(row.body)["data"]) for row in rows]

    def close(self) -> None:
        for client in self._clients.values():
            client.stop()
        self._publisher.close()
        self.engine.dispose()


@pytest.fixture(scope="module")
def goals_service(vhosts, pg, pg_template, _run_id, request):
    """The running goals service for this test module (see Harness); a module may set GOALS_CONFIG."""
    from goals.service import GoalsService

    amqp_uri = vhosts.create()
    name = f"jxt_{_run_id}_goals_{uuid.uuid4().hex[:8]}"
    db_url = pg.create(name, template=pg_template("goals"))
    harness = None
    try:
        config = {**CONFIG, **getattr(request.module, "GOALS_CONFIG", {})}
        with ServicesUnderTest({GoalsService: {"DATABASE_URL": db_url}}, AMQP_URI=amqp_uri, **config) as containers:
            harness = Harness(amqp_uri, db_url, containers)
            yield harness
            harness.close()
    finally:
        vhosts.delete(amqp_uri)
        if not request.config.getoption("--keep-test-databases"):
            pg.drop(name)


@pytest.fixture
def uid():
    """A short unique prefix, so that a test's people, units and codes never meet another test's."""
    return uuid.uuid4().hex[:6]
