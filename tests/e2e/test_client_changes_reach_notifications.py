"""A client's change in compliance's registry reaches notifications as an event, on RabbitMQ + PostgreSQL with a real
HTTP receiver and the client's own AMQP user: `client.updated` narrowing the event patterns changes what its
webhook and its queue get at once, and `client.dpa_lapsed` (compliance's deadline sweep, once per lapse) stops both
with a reason. Notifications' registry refresh and consumer sweep are set far beyond the test, so only the events
can have done it."""
from __future__ import annotations

import json
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

import eventlet
import pytest
from amqp.exceptions import AccessRefused, NotAllowed
from eventlet import wsgi
from kombu import Connection
from sqlalchemy import text

from chassis.amqp import ConfirmingPublisher, OutgoingMessage, events_exchange
from chassis.db import create_db_engine
from chassis.testing.plugin import wait_for
from contracts import Actor, Envelope
from contracts.goals import GoalStatusChanged, ReviewOpened

TODAY = datetime.now(UTC).date()


class Receiver:
    """A webhook receiver on localhost recording the CloudEvent ids it is sent."""

    def __init__(self) -> None:
        self.types: list[str] = []
        self.sock = eventlet.listen(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.thread = eventlet.spawn(wsgi.server, self.sock, self.app, log_output=False)

    def app(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.types.append(json.loads(body)["type"])
        start_response("204 No Content", [])
        return [b""]

    def close(self) -> None:
        self.thread.kill()
        self.sock.close()


def status_changed() -> GoalStatusChanged:
    return GoalStatusChanged(goal_id=str(uuid.uuid4()), cycle_id="2026-q4", responsible_id="E1", before="yellow",
                             after="red", on=TODAY, progress="0.40")


def review_opened() -> ReviewOpened:
    return ReviewOpened(review_id=str(uuid.uuid4()), goal_id=str(uuid.uuid4()), cycle_id="2026-q4", owner_id="E1",
                        manager_id=None, opened_on=TODAY, reason="turned red")


def queued_types(uri: str, queue: str, settle: float = 1.0) -> list[str]:
    """What the client reads from its own queue with its own credentials, until it stays empty for `settle` s."""
    got: list[str] = []
    with Connection(uri) as conn:
        channel = conn.channel()
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < settle:
            message = channel.basic_get(queue, no_ack=True)
            if message is None:
                eventlet.sleep(0.1)
                continue
            got.append(json.loads(message.body)["type"])
            quiet_since = time.monotonic()
    return got


@pytest.fixture
def suite(pg_database, run_services, amqp_uri, rpc_client):
    from compliance.service import ComplianceService
    from notifications.service import NotificationsService

    compliance_url, notifications_url = pg_database("compliance"), pg_database("notifications")
    run_services({
        ComplianceService: {"DATABASE_URL": compliance_url, "BOOTSTRAP_ADMINS": "root", "DSR_SERVICES": "goals",
                            "DSR_TIMEOUT": 1.0, "DEADLINE_CHECK_INTERVAL": 0.3},
        NotificationsService: {"DATABASE_URL": notifications_url, "DISPATCH_INTERVAL": 0.1,
                               "CLIENT_REFRESH_SECONDS": 3600, "CONSUMER_SWEEP_SECONDS": 3600},
    }, EVENT_RETRY_DELAYS=[0.05, 0.1], OUTBOX_POLL_INTERVAL=0.1)
    receiver = Receiver()
    publisher = ConfirmingPublisher(amqp_uri, declare=[events_exchange("goals")])
    engine, notifications_engine = create_db_engine(compliance_url), create_db_engine(notifications_url)
    root = rpc_client(amqp_uri, actor=Actor(subject="root", kind="person"), timeout=20)

    class Suite:
        def __init__(self) -> None:
            self.receiver, self.root, self.engine = receiver, root, engine

        def as_client(self, client_id: str):
            return rpc_client(amqp_uri, actor=Actor(subject=client_id, kind="client",
                                                    scopes=("goals:read", "webhooks:write")), timeout=20)

        def auditor(self):
            """An auditor of the directory (the audit log is theirs to read)."""
            root.compliance.upsert_org_unit({"org_unit_id": "hq", "name": "总部 HQ", "parent_id": None})
            root.compliance.upsert_person({"person_id": "A1", "name": "Auditor", "org_unit_id": "hq"})
            root.compliance.set_grants({"subject_id": "A1", "grants": [{"role": "auditor"}]})
            return rpc_client(amqp_uri, actor=Actor(subject="A1", kind="person"), timeout=20)

        def publish_goals(self, *events) -> None:
            for event in events:
                envelope = Envelope.wrap(event)
                publisher.publish(OutgoingMessage("goals.events", envelope.type, envelope.model_dump_json()))

        def compliance_sql(self, sql: str, **params):
            with engine.begin() as conn:
                return conn.execute(text(sql), params)

        def broker_caught_up(self, client_id: str) -> bool:
            """Notifications has told the broker (bindings, users) what its read model says."""
            with notifications_engine.connect() as conn:
                return conn.execute(text("select broker_pending from amqp_consumers where client_id = :c"),
                                    {"c": client_id}).scalar() is False

    try:
        yield Suite()
    finally:
        publisher.close()
        receiver.close()
        engine.dispose()
        notifications_engine.dispose()


@pytest.fixture
def client_ids():
    made: list[str] = []
    yield made
    for client_id in made:  # broker users are per node, not per test vhost
        subprocess.run(["rabbitmqctl", "delete_user", f"ext-{client_id}"], capture_output=True, timeout=60)


def test_changed_patterns_and_a_lapse_change_what_the_client_receives(suite, client_ids):
    registered = suite.root.compliance.register_client({
        "name": "CRM", "scopes": ["goals:read", "webhooks:write"], "event_patterns": ["jixiao.goals.*"],
        "dpa": {"ref": "DPA-2026-07", "expires_on": (TODAY + timedelta(days=28)).isoformat()}})
    client_id = registered["client_id"]
    client_ids.append(client_id)
    notifications = suite.as_client(client_id).notifications
    consumer = wait_for(lambda: _created(notifications.create_amqp_consumer, {"client_id": client_id}),
                        timeout=30, message="notifications knows the client")
    subscription = notifications.create_subscription({"client_id": client_id, "url": suite.receiver.url,
                                                      "event_types": ["jixiao.goals.#"]})

    # both kinds of goals event reach the webhook and the queue
    suite.publish_goals(status_changed(), review_opened())
    both = {"jixiao.goals.goal.status_changed.v1", "jixiao.goals.review.opened.v1"}
    wait_for(lambda: set(suite.receiver.types) == both, message="the webhook got both")
    assert sorted(queued_types(consumer["amqp_uri"], consumer["queue"])) == sorted(both)

    # the registry narrows the patterns: client.updated rebinds the queue and narrows the webhook at once
    suite.root.compliance.update_client({"client_id": client_id,
                                         "event_patterns": ["jixiao.goals.goal.status_changed.v1"]})
    wait_for(lambda: notifications.list_amqp_consumers({"client_id": client_id})["consumers"][0]["bindings"]
             == [{"exchange": "goals.events", "routing_key": "jixiao.goals.goal.status_changed.v1"}],
             timeout=20, message="the queue rebound")
    wait_for(lambda: suite.broker_caught_up(client_id), timeout=20, message="the broker rebound the queue")
    suite.receiver.types.clear()
    suite.publish_goals(review_opened(), status_changed())
    wait_for(lambda: suite.receiver.types == ["jixiao.goals.goal.status_changed.v1"], message="narrowed webhook")
    assert queued_types(consumer["amqp_uri"], consumer["queue"]) == ["jixiao.goals.goal.status_changed.v1"]
    eventlet.sleep(0.5)
    assert suite.receiver.types == ["jixiao.goals.goal.status_changed.v1"]  # the review never came

    # the agreement's last day passes (in the registry, the source of truth); the deadline sweep announces it
    suite.compliance_sql("update compliance_clients set dpa_expires = :d where client_id = :c",
                         d=TODAY - timedelta(days=1), c=client_id)
    wait_for(lambda: notifications.list_subscriptions({})["subscriptions"][0]["state"] == "stopped",
             timeout=20, message="the webhook stopped on client.dpa_lapsed")
    [stopped] = notifications.list_subscriptions({})["subscriptions"]
    assert stopped["subscription_id"] == subscription["subscription_id"]
    assert stopped["stopped_reason"] == f"data-processing agreement lapsed on {TODAY - timedelta(days=1)}"
    wait_for(lambda: notifications.list_amqp_consumers({"client_id": client_id})["consumers"][0]["state"]
             == "revoked", timeout=20, message="the consumer revoked on client.dpa_lapsed")
    wait_for(lambda: _refused(consumer["amqp_uri"]), timeout=20, message="the client's user is gone")
    suite.receiver.types.clear()
    suite.publish_goals(status_changed())
    eventlet.sleep(1.5)  # several sweeps
    assert suite.receiver.types == []
    lapses = suite.compliance_sql("select body from chassis_outbox where event_type = :t",
                                  t="jixiao.compliance.client.dpa_lapsed.v1").all()
    assert [json.loads(body)["data"]["dpa"]["expires_on"] for (body,) in lapses] == \
        [(TODAY - timedelta(days=1)).isoformat()]  # once, however many sweeps ran
    auditor = suite.auditor()
    wait_for(lambda: [e["type"] for e in auditor.compliance.query_audit(
        {"type": "jixiao.compliance.client.*", "subject": client_id})["entries"]] == [
        "jixiao.compliance.client.registered.v1", "jixiao.compliance.client.updated.v1",
        "jixiao.compliance.client.dpa_lapsed.v1"], timeout=20, message="registered, updated and lapsed audited")


def _created(create, payload):
    from chassis.errors import ServiceError

    try:
        return create(payload)
    except ServiceError as error:
        if "no registered client" in str(error):
            return None  # client.registered not applied yet
        raise


def _refused(uri: str) -> bool:
    connection = Connection(uri)
    try:
        connection.connect()
    except (AccessRefused, NotAllowed):  # the user deleted, or (a moment before) its permissions
        return True
    connection.release()
    return False

