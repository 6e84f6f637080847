"""AMQP consumers by the client registry, on this machine's RabbitMQ (users and permissions set with rabbitmqctl):
the client's own user reads the events its patterns allow from its own queue and gets ACCESS_REFUSED for anything
else; changed patterns rebind the queue; a lapsed agreement or a revoked client deletes the user, closes its
connections and removes its queue."""
from __future__ import annotations

import json
import subprocess
import uuid
from datetime import date

import pytest
from amqp import Message
from amqp.exceptions import AccessRefused, ConnectionForced, NotFound
from kombu import Connection, Exchange, Queue

from chassis.testing.plugin import wait_for
from contracts.compliance import ClientRegistered, ClientRevoked
from contracts.goals import GoalStatusChanged, ReviewOpened
from notifications.service import NotificationsService


def status_changed() -> GoalStatusChanged:
    return GoalStatusChanged(goal_id=str(uuid.uuid4()), cycle_id="2026-q4", responsible_id="emp-w", before="yellow",
                             after="red", on=date(2026, 12, 2), progress="0.40")


def review_opened() -> ReviewOpened:
    return ReviewOpened(review_id=str(uuid.uuid4()), goal_id=str(uuid.uuid4()), cycle_id="2026-q4",
                        owner_id="emp-w", manager_id=None, opened_on=date(2026, 12, 3), reason="turned red")


def drain(uri: str, queue: str, expected: int, timeout: float = 20.0) -> list[dict]:
    """What the client reads from its queue with its own credentials (basic.get: read permission only)."""
    got: list[dict] = []
    with Connection(uri) as conn:
        channel = conn.channel()

        def more() -> bool:
            while (message := channel.basic_get(queue, no_ack=True)) is not None:
                got.append(json.loads(message.body))
            return len(got) >= expected

        wait_for(more, timeout=timeout, message=f"{expected} events in {queue}")
    return got


def refused(uri: str, action) -> bool:
    with Connection(uri) as conn:
        try:
            action(conn.channel())
        except AccessRefused:
            return True
    return False


@pytest.fixture
def client_ids():
    made: list[str] = []
    yield made
    for client_id in made:  # broker users are per node, not per test vhost
        subprocess.run(["rabbitmqctl", "delete_user", f"ext-{client_id}"], capture_output=True, timeout=60)


@pytest.fixture
def admin(harness, run_services):
    run_services({NotificationsService: harness.config(CONSUMER_SWEEP_SECONDS=0.5, CONSUMER_QUEUE_MAX_LENGTH=3)},
                 AMQP_URI=harness.amqp_uri)
    harness.org(units=[("hq", None)], people=[("admin-1", "hq", None)], grants={"admin-1": [("admin", None)]})
    return harness.as_("admin-1")


def register(harness, client_ids, patterns: list[str]) -> str:
    client_id = f"crm-{uuid.uuid4().hex[:8]}"
    client_ids.append(client_id)
    harness.publish("compliance", ClientRegistered(client_id=client_id, name="CRM", scopes=["goals:read"],
                                                   event_patterns=patterns, dpa_ref="DPA-2026-07"))
    wait_for(lambda: harness.scalar("select count(*) from clients where client_id = :c", c=client_id) == 1,
             message="client read model")
    return client_id


def test_the_clients_user_reads_its_allowed_events_and_nothing_else(harness, admin, client_ids):
    client_id = register(harness, client_ids, ["jixiao.goals.goal.*.v1"])
    consumer = admin.create_amqp_consumer({"client_id": client_id})
    uri, queue = consumer["amqp_uri"], consumer["queue"]
    assert consumer["password"] and consumer["username"] == f"ext-{client_id}" and queue == f"ext-{client_id}-events"
    assert consumer["bindings"] == [{"exchange": "goals.events", "routing_key": "jixiao.goals.goal.*.v1"}]
    assert harness.scalar("select count(*) from chassis_outbox where event_type = :t",
                          t="jixiao.notifications.consumer.issued.v1") == 1  # the issuance is audited
    listed = admin.list_amqp_consumers({"client_id": client_id})["consumers"]
    assert [(c["state"], c["password"], c["amqp_uri"]) for c in listed] == [("active", None, None)]  # handed once

    allowed = harness.publish("goals", status_changed(), status_changed())
    harness.publish("goals", review_opened())  # outside the client's patterns
    harness.org(people=[("emp-x", "hq", None)])  # compliance events: not the client's
    got = drain(uri, queue, 2)
    assert sorted(e["id"] for e in got) == sorted(e.id for e in allowed)
    assert drain(uri, queue, 0, timeout=1.0) == []

    # a client that stops reading loses its oldest events; the broker (and the suite's publishers) never fill up
    flood = harness.publish("goals", *[status_changed() for _ in range(5)])
    with Connection(harness.amqp_uri) as conn:
        wait_for(lambda: conn.channel().queue_declare(queue, passive=True).message_count == 3, message="bounded")
    assert [e["id"] for e in drain(uri, queue, 3)] == [e.id for e in flood[2:]]

    # everything else is refused by the broker itself
    assert refused(uri, lambda ch: ch.queue_bind(queue, "compliance.events", "#"))
    assert refused(uri, lambda ch: ch.queue_bind(queue, "goals.events", "jixiao.goals.#"))
    assert refused(uri, lambda ch: ch.queue_declare(f"ext-{client_id}-mine"))
    assert refused(uri, lambda ch: ch.basic_get("rpc-notifications"))
    assert refused(uri, lambda ch: (ch.basic_publish(Message(b"{}"), "goals.events", "jixiao.goals.goal.created.v1"),
                                    ch.basic_qos(0, 1, False)))
    other = Queue("someone-elses", Exchange("goals.events", type="topic", durable=True), "jixiao.goals.#",
                  durable=True)
    with Connection(harness.amqp_uri) as conn:
        other(conn.channel()).declare()
    assert refused(uri, lambda ch: ch.basic_consume("someone-elses", callback=print))

    # the registry widens the patterns: the suite rebinds the queue, and only the suite
    harness.publish("compliance", ClientRegistered(client_id=client_id, name="CRM", scopes=["goals:read"],
                                                   event_patterns=["jixiao.goals.#"], dpa_ref="DPA-2026-07"))
    wait_for(lambda: admin.list_amqp_consumers({"client_id": client_id})["consumers"][0]["bindings"] == [
        {"exchange": "goals.events", "routing_key": "jixiao.goals.#"}], message="rebound")
    wait_for(lambda: harness.scalar("select broker_pending from amqp_consumers where client_id = :c",
                                    c=client_id) is False, message="broker caught up")
    [review] = harness.publish("goals", review_opened())
    assert [e["id"] for e in drain(uri, queue, 1)] == [review.id]


def test_a_lapsed_agreement_and_a_revoked_client_lose_their_access(harness, admin, client_ids):
    lapsing = register(harness, client_ids, ["jixiao.goals.#"])
    revoked = register(harness, client_ids, ["jixiao.goals.#"])
    lapsing_consumer = admin.create_amqp_consumer({"client_id": lapsing})
    revoked_consumer = admin.create_amqp_consumer({"client_id": revoked})
    harness.publish("goals", status_changed())
    drain(lapsing_consumer["amqp_uri"], lapsing_consumer["queue"], 1)

    listening = Connection(lapsing_consumer["amqp_uri"])
    listening.connect()
    # the agreement's end passes (the registry refresh brings it into the read model; no event says it)
    harness.execute("update clients set dpa_expires = now() - interval '1 day' where client_id = :c", c=lapsing)
    wait_for(lambda: harness.scalar("select state from amqp_consumers where client_id = :c", c=lapsing)
             == "revoked", message="revoked on lapse")
    [row] = admin.list_amqp_consumers({"client_id": lapsing})["consumers"]
    assert "agreement lapsed" in row["stopped_reason"] and row["bindings"] == []
    wait_for(lambda: harness.scalar("select broker_pending from amqp_consumers where client_id = :c",
                                    c=lapsing) is False, message="broker told")
    with pytest.raises((ConnectionForced, OSError)):  # the open connection was closed by the broker
        listening.drain_events(timeout=5)
    with pytest.raises(AccessRefused):  # and the credentials no longer log in
        Connection(lapsing_consumer["amqp_uri"]).connect()
    with Connection(harness.amqp_uri) as conn, pytest.raises(NotFound):
        conn.channel().queue_declare(lapsing_consumer["queue"], passive=True)  # its queue is gone
    revocations = harness.rows("select body from chassis_outbox where event_type = :t",
                               t="jixiao.notifications.consumer.revoked.v1")
    assert [json.loads(p)["data"]["client_id"] for (p,) in revocations] == [lapsing]  # audited, with the reason
    error = None
    try:
        admin.create_amqp_consumer({"client_id": lapsing})
    except Exception as exc:  # ServiceError
        error = exc
    assert error is not None and error.status == 400 and error.errors[0]["field"] == "client_id"

    harness.publish("compliance", ClientRevoked(client_id=revoked))
    wait_for(lambda: harness.scalar("select state from amqp_consumers where client_id = :c", c=revoked)
             == "revoked", message="revoked")
    wait_for(lambda: harness.scalar("select broker_pending from amqp_consumers where client_id = :c",
                                    c=revoked) is False, message="broker told")
    with pytest.raises(AccessRefused):
        Connection(revoked_consumer["amqp_uri"]).connect()
