"""The incentives service under test, once per test module: a fresh vhost and a fresh migrated PostgreSQL
database, the service started on them, and helpers to act as people, publish other services' events (the org
directory from compliance, activity and ratings from feedback, goals' indicators) and read what was written."""
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
        self.engine = create_db_engine(db_url)
        self.containers = containers
        self._clients: dict[tuple, StandaloneRpc] = {}
        self._versions = itertools.count(1)
        self._publisher = ConfirmingPublisher(amqp_uri, declare=[events_exchange(s)
                                                                 for s in ("compliance", "feedback", "goals")])

    def as_(self, subject: str | None, kind: str = "person", timeout: float = 20.0):
        key = (subject, kind, timeout)
        if key not in self._clients:
            actor = None if subject is None else Actor(subject=subject, kind=kind)
            self._clients[key] = StandaloneRpc(self.amqp_uri, timeout=timeout, actor=actor).start()
        return self._clients[key].caller().incentives

    def fails(self, call, *args, **kwargs) -> ServiceError:
        try:
            result = call(*args, **kwargs)
        except ServiceError as error:
            return error
        pytest.fail(f"expected an error, got {result!r}")

    def publish(self, *envelopes: Envelope) -> None:
        for envelope in envelopes:
            source = envelope.type.split(".")[1]
            self._publisher.publish(OutgoingMessage(f"{source}.events", envelope.type, envelope.model_dump_json()))

    def org(self, units=(), people=(), grants=None) -> None:
        """units: (id, parent); people: (id, unit, manager[, grade]); grants: {subject: [(role, unit)]}."""
        events = [OrgUnitChanged(org_unit_id=u, version=next(self._versions), name=u, parent_id=parent)
                  for u, parent in units]
        events += [PersonChanged(person_id=p[0], version=next(self._versions), name=p[0], org_unit_id=p[1],
                                 manager_id=p[2], grade=p[3] if len(p) > 3 else None) for p in people]
        events += [RoleGrantsChanged(subject_id=s, version=next(self._versions),
                                     grants=[RoleGrant(role=role, org_unit_id=unit) for role, unit in found])
                   for s, found in (grants or {}).items()]
        self.publish(*(Envelope.wrap(e) for e in events))
        versions = [e.version for e in events]
        wait_for(lambda: self.scalar(
            "select count(*) from (select version from chassis_org_people union all select version from "
            "chassis_org_units union all select version from chassis_org_grants) v where version = any(:v)",
            v=versions) == len(versions), message="org events applied")

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def events(self, type_suffix: str = "") -> list[tuple[str, dict]]:
        with self.engine.connect() as conn:
            rows = conn.execute(text("select event_type, body from chassis_outbox where event_type like :t "
                                     "order by seq"), {"t": f"%{type_suffix}"}).all()
        return [(row.event_type, json.loads(row.body)["data"]) for row in rows]

    def close(self) -> None:
        for client in self._clients.values():
            client.stop()
        self._publisher.close()
        self.engine.dispose()


@pytest.fixture(scope="module")
def incentives_service(vhosts, pg, pg_template, _run_id, request):
    from incentives.service import IncentivesService

    amqp_uri = vhosts.create()
    name = f"jxt_{_run_id}_incentives_{uuid.uuid4().hex[:8]}"
    db_url = pg.create(name, template=pg_template("incentives"))
    try:
        config = {**CONFIG, **getattr(request.module, "INCENTIVES_CONFIG", {})}
        with ServicesUnderTest({IncentivesService: {"DATABASE_URL": db_url}}, AMQP_URI=amqp_uri,
                               **config) as containers:
            harness = Harness(amqp_uri, db_url, containers)
            yield harness
            harness.close()
    finally:
        vhosts.delete(amqp_uri)
        if not request.config.getoption("--keep-test-databases"):
            pg.drop(name)


@pytest.fixture
def uid():
    return uuid.uuid4().hex[:6]
