"""OrgAccess inside a running service: the read model fed by org events, decisions from the actor in context,
denials raised as 403 and recorded through the outbox even though the use case fails."""
import json

import pytest
from sqlalchemy import select

from chassis import Database, Service, event_handler, rpc
from chassis.access import ORG_EVENT_TYPES, AccessUnitOfWork, Resource, apply_org_event, create_org_read_model
from chassis.access.policy import register_table
from chassis.amqp import ConfirmingPublisher, OutgoingMessage, events_exchange
from chassis.db import create_db_engine, outbox_table
from chassis.errors import Forbidden
from chassis.testing.plugin import wait_for
from chassis.testing.toy import create_schema
from contracts import Actor, Envelope
from contracts.access import GOALS
from contracts.org import OrgUnitChanged, PersonChanged, RoleGrant, RoleGrantsChanged

# the chassis knows no action: these tests decide goals' actions, as the goals service registers them
register_table(GOALS)


class GuardedUnitOfWork(AccessUnitOfWork):
    bootstrap_admins = frozenset({"root"})


class Guarded(Service):
    name = "access_toy"
    uow = Database(GuardedUnitOfWork)

    @event_handler("compliance", ORG_EVENT_TYPES)
    def on_org_event(self, event):
        with self.uow as uow:
            apply_org_event(uow.session, event)

    @rpc
    def read_goal(self, owner):
        with self.uow as uow:
            return uow.access.require(self.call.actor, "goal.read", Resource("goal", owner=owner)).reason

    @rpc
    def readable(self, owners):
        with self.uow as uow:
            return [o for o in owners if uow.access.can(self.call.actor, "goal.read", Resource("goal", owner=o))]


@pytest.fixture
def guarded(run_services, db_url):
    create_org_read_model(create_db_engine(db_url))
    create_schema(db_url)
    return run_services({Guarded: {"DATABASE_URL": db_url}}, OUTBOX_POLL_INTERVAL=0.2,
                        EVENT_RETRY_DELAYS=[0.05, 0.1])


def publish_org(amqp_uri, *events):
    publisher = ConfirmingPublisher(amqp_uri, declare=[events_exchange("compliance")])
    for event in events:
        envelope = Envelope.wrap(event)
        publisher.publish(OutgoingMessage("compliance.events", envelope.type, envelope.model_dump_json()))
    publisher.close()


def denials(db_url):
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(outbox_table.c.event_type, outbox_table.c.body, outbox_table.c.sent_at)
                                .where(outbox_table.c.event_type == "jixiao.access_toy.access.denied.v1")).all()
        return [(json.loads(row.body), row.sent_at) for row in rows]
    finally:
        engine.dispose()


def test_decisions_follow_the_org_events_and_denials_are_recorded(guarded, amqp_uri, rpc_client, db_url):
    publish_org(amqp_uri,
                OrgUnitChanged(org_unit_id="hq", version=1, name="HQ"),
                OrgUnitChanged(org_unit_id="rd", version=1, name="R&D", parent_id="hq"),
                PersonChanged(person_id="M", version=1, name="M", org_unit_id="rd"),
                PersonChanged(person_id="T", version=1, name="T", org_unit_id="rd", manager_id="M"),
                PersonChanged(person_id="P", version=1, name="P", org_unit_id="rd", manager_id="M"),
                RoleGrantsChanged(subject_id="H", version=1, grants=[RoleGrant(role="hr", org_unit_id="hq")]))
    manager = rpc_client(amqp_uri, actor=Actor(subject="M", roles=("manager",)))
    wait_for(lambda: manager.access_toy.readable(["T", "P"]) == ["T", "P"], message="read model applied")
    assert "direct manager" in manager.access_toy.read_goal("T")
    hr = rpc_client(amqp_uri, actor=Actor(subject="H"))
    assert "HR" in hr.access_toy.read_goal("T")

    # the caller's role claims do not count: grants come from the directory
    peer = rpc_client(amqp_uri, actor=Actor(subject="P", roles=("hr", "admin")))
    with pytest.raises(Forbidden, match=r"no rule allows goal\.read"):
        peer.access_toy.read_goal("T")
    assert peer.access_toy.readable(["T", "P"]) == ["P"]  # filtering records nothing
    anonymous = rpc_client(amqp_uri)
    with pytest.raises(Forbidden, match="no authenticated actor"):
        anonymous.access_toy.read_goal("T")

    found = wait_for(lambda: (lambda d: d if len(d) == 2 and all(sent for _, sent in d) else None)(denials(db_url)),
                     message="two denials published")
    by_subject = {body["actor"]["subject"] if body.get("actor") else None: body for body, _ in found}
    assert by_subject["P"]["data"]["action"] == "goal.read"
    assert by_subject["P"]["data"]["resource"] == {"kind": "goal", "owner": "T", "org_unit": None, "unit_owned": False}
    assert by_subject["P"]["subject"] == "T"
    assert "no rule allows" in by_subject["P"]["data"]["reason"]
    assert by_subject[None]["data"]["reason"] == "no authenticated actor"

    # a grant revoked by a newer version takes effect at once
    publish_org(amqp_uri, RoleGrantsChanged(subject_id="H", version=2, grants=[]))
    wait_for(lambda: hr.access_toy.readable(["T"]) == [], message="grant revoked")
