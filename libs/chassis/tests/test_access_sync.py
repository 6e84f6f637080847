"""OrgSync in a running service: a reader whose source of snapshots is down at start keeps retrying and catches
up once it is up, events applied meanwhile keep their newer versions, moves reach the service's hook in the
page's transaction, and a resync request takes a new snapshot."""
import json

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from chassis import Database, Service, event_handler, rpc
from chassis.access import (
    ORG_EVENT_TYPES,
    AccessUnitOfWork,
    OrgSync,
    apply_org_event,
    create_org_read_model,
    read_snapshot,
)
from chassis.access.readmodel import SYNC_DONE, meta_table, people_table, sync_needed
from chassis.amqp import ConfirmingPublisher, OutgoingMessage, events_exchange
from chassis.db import create_db_engine
from chassis.testing.plugin import wait_for
from chassis.testing.services import http_get
from chassis.testing.toy import create_schema
from contracts import Envelope
from contracts.org import (
    OrgResyncRequested,
    OrgSnapshotQuery,
    OrgUnitChanged,
    PersonChanged,
    RoleGrant,
    RoleGrantsChanged,
)

MOVES: list[dict] = []


def record_moves(session, moved):
    session.execute(update(people_table).where(people_table.c.person_id.in_(list(moved)))
                    .values(location="moved by the hook"))  # in the page's transaction
    MOVES.append(dict(moved))


class Directory(Service):
    """Stands in for compliance: serves snapshots of its own read model."""

    name = "toy_directory"
    uow = Database(AccessUnitOfWork)

    @rpc
    def org_snapshot(self, payload):
        with self.uow as uow:
            return read_snapshot(uow.session, OrgSnapshotQuery.model_validate(payload)).model_dump(mode="json")


class Reader(Service):
    name = "toy_org_reader"
    uow = Database(AccessUnitOfWork)
    org_sync = OrgSync(source="toy_directory", on_people_moved=record_moves)

    @event_handler("compliance", ORG_EVENT_TYPES)
    def on_org_event(self, event):
        with self.uow as uow:
            apply_org_event(uow.session, event)


FAST = {"EVENT_RETRY_DELAYS": [0.05, 0.1], "ORG_SYNC_RPC_TIMEOUT": 0.3, "ORG_SYNC_FIRST_RETRY": 0.1,
        "ORG_SYNC_MAX_BACKOFF": 0.3}


def database(path) -> str:
    url = f"sqlite:///{path}"
    create_schema(url)
    engine = create_db_engine(url)
    create_org_read_model(engine)
    engine.dispose()
    return url


def apply(url, *events):
    engine = create_db_engine(url)
    with Session(engine) as session, session.begin():
        for event in events:
            apply_org_event(session, Envelope.wrap(event))
    engine.dispose()


def publish(amqp_uri, *events):
    publisher = ConfirmingPublisher(amqp_uri, declare=[events_exchange("compliance")])
    for event in events:
        envelope = Envelope.wrap(event)
        publisher.publish(OutgoingMessage("compliance.events", envelope.type, envelope.model_dump_json()))
    publisher.close()


def test_a_reader_started_before_its_source_catches_up_when_the_source_comes(run_services, amqp_uri, tmp_path):
    MOVES.clear()
    source, reader = database(tmp_path / "source.db"), database(tmp_path / "reader.db")
    apply(source, OrgUnitChanged(org_unit_id="a", version=1, name="A"),
          PersonChanged(person_id="T", version=2, name="T", org_unit_id="a"),
          PersonChanged(person_id="Q", version=6, name="Q (snapshot)", org_unit_id="a"),
          RoleGrantsChanged(subject_id="H", version=1, grants=[RoleGrant(role="hr", org_unit_id="a")]))
    apply(reader, PersonChanged(person_id="T", version=1, name="T", org_unit_id="old"))  # a restored backup

    container = run_services({Reader: {"DATABASE_URL": reader}}, **FAST)["toy_org_reader"]
    sync = next(d for d in container.dependencies if isinstance(d, OrgSync))
    wait_for(lambda: sync.failures >= 2, message="retries while the source is down")
    assert sync.state.startswith("never synced: attempt")
    status, body = http_get(container, "/health/ready")
    assert status == 200 and json.loads(body)["checks"]["org_sync"]["detail"] == sync.state  # never fails on it

    publish(amqp_uri, PersonChanged(person_id="Q", version=7, name="Q (event)", org_unit_id="a"))
    engine = create_db_engine(reader)
    try:
        def person(pid):
            with engine.connect() as conn:
                return conn.execute(select(people_table).where(people_table.c.person_id == pid)).first()

        wait_for(lambda: person("Q") is not None, message="the event applied before any snapshot")

        run_services({Directory: {"DATABASE_URL": source}}, **FAST)
        wait_for(lambda: sync.state.startswith("synced"), message="the snapshot taken once the source is up")
        with engine.connect() as conn:
            assert sync_needed(conn) is None
        assert (person("Q").version, person("Q").name) == (7, "Q (event)")  # the newer event stands
        moved = person("T")
        assert (moved.version, moved.org_unit_id, moved.location) == (2, "a", "moved by the hook")
        assert MOVES == [{"T": "a"}]

        publish(amqp_uri, OrgResyncRequested(request_id="r1", reason="restored"))
        wait_for(lambda: _done(engine) == 1, message="a second snapshot after the request")
        assert MOVES == [{"T": "a"}]  # nothing moved the second time
    finally:
        engine.dispose()


def _done(engine):
    with engine.connect() as conn:
        return conn.execute(select(meta_table.c.generation).where(meta_table.c.name == SYNC_DONE)).scalar()
