"""Webhooks end to end on RabbitMQ + PostgreSQL with real HTTP receivers on localhost: subscriptions within the
client registry's patterns, signed CloudEvents deliveries verified with the documented recipe, retries then dead
letters, replay, ordering per subject, a slow receiver that holds up no one else, a revoked client."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from chassis.errors import ServiceError
from chassis.testing.plugin import wait_for
from contracts.compliance import ClientRegistered, ClientRevoked
from contracts.goals import GoalStatusChanged
from notifications.service import NotificationsService


def fails(call, *args) -> ServiceError:
    try:
        result = call(*args)
    except ServiceError as error:
        return error
    pytest.fail(f"expected an error, got {result!r}")


def verify(secret: str, headers: dict, body: bytes, window: int = 300) -> bool:
    """The README's recipe, written out as a receiver would (no import from the service)."""
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > window:
        return False
    expected = "v1=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split())


def status_changed(goal_id: str, after: str = "red", before: str = "yellow") -> GoalStatusChanged:
    return GoalStatusChanged(goal_id=goal_id, cycle_id="2026-q4", responsible_id="emp-w", before=before,
                             after=after, on=date(2026, 12, 2), progress="0.40")


@pytest.fixture
def webhooks(harness, run_services):
    run_services({NotificationsService: harness.config()}, AMQP_URI=harness.amqp_uri)
    harness.org(units=[("hq", None)], people=[("admin-1", "hq", None)], grants={"admin-1": [("admin", None)]})
    harness.publish("compliance", ClientRegistered(client_id="crm-1", name="CRM", scopes=["goals:read"],
                                                   event_patterns=["jixiao.goals.#"], dpa_ref="DPA-2026-07"))
    wait_for(lambda: harness.scalar("select count(*) from clients") == 1, message="client read model")
    return harness.as_("admin-1")


def test_signed_cloudevents_reach_the_receiver_and_patterns_are_enforced(harness, webhooks):
    error = fails(webhooks.create_subscription, {"client_id": "crm-1", "url": harness.receiver.url("/hook"),
                                                 "event_types": ["jixiao.goals.goal.*.v1", "jixiao.compliance.#"]})
    assert error.status == 400 and error.errors[0]["field"] == "event_types.1"
    assert fails(webhooks.create_subscription, {"client_id": "crm-1", "url": harness.receiver.url("/hook"),
                                                "event_types": ["#"]}).status == 400
    assert fails(webhooks.create_subscription, {"client_id": "nobody", "url": harness.receiver.url("/hook"),
                                                "event_types": ["jixiao.goals.#"]}).status == 404
    error = fails(webhooks.create_subscription, {"client_id": "crm-1", "url": "ftp://127.0.0.1/hook",
                                                 "event_types": ["jixiao.goals.#"]})
    assert error.status == 400 and error.errors[0]["field"] == "url"
    sub = webhooks.create_subscription({"client_id": "crm-1", "url": harness.receiver.url("/hook"),
                                        "event_types": ["jixiao.goals.goal.status_changed.v1"]})
    assert sub["secret"].startswith("whsec_") and sub["state"] == "active"

    envelopes = harness.publish("goals", *[status_changed(str(uuid.uuid4())) for _ in range(5)])
    harness.publish_raw("goals", envelopes[0])  # redelivered by the broker: one delivery
    wait_for(lambda: len(harness.receiver.to("/hook")) >= 5, message="five deliveries")
    got = harness.receiver.to("/hook")
    assert sorted(json.loads(r["body"])["id"] for r in got) == sorted(e.id for e in envelopes)
    for request in got:
        assert verify(sub["secret"], request["headers"], request["body"])
        assert not verify("whsec_wrong", request["headers"], request["body"])
        event = json.loads(request["body"])
        assert event["specversion"] == "1.0" and event["type"] == "jixiao.goals.goal.status_changed.v1"
        assert request["headers"]["content-type"].startswith("application/cloudevents+json")
    tampered = got[0]["body"].replace(b"red", b"green")
    assert not verify(sub["secret"], got[0]["headers"], tampered)
    wait_for(lambda: {d["state"] for d in webhooks.list_deliveries(
        {"subscription_id": sub["subscription_id"]})["deliveries"]} == {"delivered"}, message="recorded delivered")
    assert len(webhooks.list_deliveries({"subscription_id": sub["subscription_id"]})["deliveries"]) == 5
    assert len(harness.receiver.to("/hook")) == 5


def test_a_dead_receiver_is_retried_then_parked_and_replayed(harness, webhooks):
    harness.receiver.behaviour["/down"] = (503, 0.0)
    sub = webhooks.create_subscription({"client_id": "crm-1", "url": harness.receiver.url("/down"),
                                        "event_types": ["jixiao.goals.#"]})
    before = datetime.now(UTC)
    [envelope] = harness.publish("goals", status_changed(str(uuid.uuid4())))
    wait_for(lambda: webhooks.list_deliveries({"subscription_id": sub["subscription_id"], "state": "dead"})
             ["deliveries"], timeout=30, message="parked dead")
    tries = harness.receiver.to("/down")
    assert len(tries) == 3  # WEBHOOK_MAX_ATTEMPTS
    assert tries[1]["at"] - tries[0]["at"] >= 0.1 and len({r["headers"]["webhook-id"] for r in tries}) == 1
    [dead] = webhooks.list_deliveries({"subscription_id": sub["subscription_id"]})["deliveries"]
    assert dead["attempts"] == 3 and "503" in dead["last_error"]
    attempts = webhooks.list_attempts({"delivery_id": dead["delivery_id"]})["attempts"]
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in attempts] == [(1, "error", 503), (2, "error", 503),
                                                                                   (3, "error", 503)]
    assert harness.scalar("select count(*) from chassis_outbox where event_type = :t",
                          t="jixiao.notifications.delivery.parked.v1") == 1

    harness.receiver.behaviour["/down"] = (204, 0.0)  # the receiver is back: replay from before the event
    assert webhooks.replay_subscription({"subscription_id": sub["subscription_id"],
                                         "since": (before - timedelta(seconds=1)).isoformat()})["requeued"] == 1
    wait_for(lambda: len(harness.receiver.to("/down")) == 4, message="replayed")
    assert json.loads(harness.receiver.to("/down")[-1]["body"])["id"] == envelope.id
    wait_for(lambda: webhooks.list_deliveries({"subscription_id": sub["subscription_id"]})["deliveries"][0]["state"]
             == "delivered", message="delivered after replay")


def test_ordered_subscription_keeps_each_subjects_order_and_a_slow_receiver_holds_up_no_one(harness, webhooks):
    harness.receiver.behaviour["/slow"] = (200, 1.5)
    ordered = webhooks.create_subscription({"client_id": "crm-1", "url": harness.receiver.url("/ordered"),
                                            "event_types": ["jixiao.goals.#"], "ordered": True})
    webhooks.create_subscription({"client_id": "crm-1", "url": harness.receiver.url("/slow"),
                                  "event_types": ["jixiao.goals.#"], "max_in_flight": 2})
    fast = webhooks.create_subscription({"client_id": "crm-1", "url": harness.receiver.url("/fast"),
                                         "event_types": ["jixiao.goals.#"]})
    goals = [str(uuid.uuid4()) for _ in range(3)]
    colours = ["yellow", "red", "green", "red"]
    started = time.time()
    events = [status_changed(goal, after, before) for after, before in zip(colours[1:], colours, strict=False)
              for goal in goals]
    envelopes = harness.publish("goals", *events)
    wait_for(lambda: len(harness.receiver.to("/fast")) == len(events), message="fast receiver served")
    fast_done = max(r["at"] for r in harness.receiver.to("/fast")) - started
    assert fast_done < 3.0, f"the fast receiver waited {fast_done:.1f}s behind the slow one"
    assert len(harness.receiver.to("/slow")) < len(events)  # 9 events, 2 at a time, 1.5 s each: still going
    # max_in_flight holds: none of a third claim can have been answered before 3 s (a claim that handed out more
    # than the free slots answered all 9 at 1.5 s)
    time.sleep(max(0.0, started + 2.5 - time.time()))
    assert len(harness.receiver.to("/slow")) <= 2, len(harness.receiver.to("/slow"))
    wait_for(lambda: len(harness.receiver.to("/ordered")) == len(events), message="ordered receiver served")
    order = {e.id: i for i, e in enumerate(envelopes)}
    for goal in goals:
        seen = [order[json.loads(r["body"])["id"]] for r in harness.receiver.to("/ordered")
                if json.loads(r["body"])["subject"] == goal]
        assert seen == sorted(seen) and len(seen) == 3
    assert fast["ordered"] is False and ordered["ordered"] is True


def test_a_revoked_client_stops_its_subscriptions_with_a_reason(harness, webhooks):
    sub = webhooks.create_subscription({"client_id": "crm-1", "url": harness.receiver.url("/hook"),
                                        "event_types": ["jixiao.goals.#"]})
    harness.publish("compliance", ClientRevoked(client_id="crm-1"))
    wait_for(lambda: webhooks.list_subscriptions({})["subscriptions"][0]["state"] == "stopped", message="stopped")
    [stopped] = webhooks.list_subscriptions({})["subscriptions"]
    assert stopped["stopped_reason"] == "client revoked" and stopped["secret"] is None
    harness.publish("goals", status_changed(str(uuid.uuid4())))
    time.sleep(1.0)
    assert harness.receiver.to("/hook") == []
    assert harness.scalar("select count(*) from chassis_outbox where event_type like '%subscription.stopped%'") == 1
    assert fails(webhooks.replay_subscription, {"subscription_id": sub["subscription_id"],
                                                "since": "2026-12-01T00:00:00Z"}).status == 400


def test_production_refuses_private_and_loopback_webhook_urls(pg_database):
    """The use case as the production service runs it (a production container needs per-service broker users,
    which a test vhost does not have), on its migrated PostgreSQL database."""
    from chassis.access import apply_org_event
    from chassis.db import create_db_engine
    from chassis.uow import Store
    from contracts import Actor, Envelope
    from contracts.notifications import CreateSubscription
    from contracts.org import PersonChanged, RoleGrant, RoleGrantsChanged
    from notifications.domain.errors import UnsafeUrl
    from notifications.repositories import NotificationsUnitOfWork
    from notifications.usecases import webhooks as usecase

    store = Store(create_db_engine(pg_database("notifications")), "notifications")
    admin = Actor(subject="admin-1")
    with NotificationsUnitOfWork(store, actor=admin) as uow:
        apply_org_event(uow.session, Envelope.wrap(PersonChanged(person_id="admin-1", version=1, name="A")))
        apply_org_event(uow.session, Envelope.wrap(RoleGrantsChanged(subject_id="admin-1", version=2,
                                                                     grants=[RoleGrant(role="admin")])))
    usecase.apply_client_event(NotificationsUnitOfWork(store), Envelope.wrap(ClientRegistered(
        client_id="crm-1", name="CRM", scopes=[], event_patterns=["jixiao.goals.#"], dpa_ref="DPA-2026-07")))
    for url in ("https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://[::1]/hook", "https://169.254.169.254/",
                "https://localhost/hook", "https://[::ffff:192.168.1.1]/", "http://example.com/hook"):
        command = CreateSubscription(client_id="crm-1", url=url, event_types=["jixiao.goals.#"])
        with pytest.raises(UnsafeUrl) as refused:
            usecase.create_subscription(NotificationsUnitOfWork(store, actor=admin), admin, command, production=True)
        assert refused.value.field == "url", url
    # development and test may call a receiver on this machine
    command = CreateSubscription(client_id="crm-1", url="http://127.0.0.1:9/hook", event_types=["jixiao.goals.#"])
    assert usecase.create_subscription(NotificationsUnitOfWork(store, actor=admin), admin, command,
                                       production=False).state == "active"
    store.engine.dispose()


def test_a_dead_receivers_circuit_opens_and_closes_when_it_is_back(harness, webhooks):
    harness.receiver.behaviour["/flaky"] = (503, 0.0)
    sub = webhooks.create_subscription({"client_id": "crm-1", "url": harness.receiver.url("/flaky"),
                                        "event_types": ["jixiao.goals.#"]})
    envelopes = harness.publish("goals", *[status_changed(str(uuid.uuid4())) for _ in range(12)])
    time.sleep(3.0)
    # without the circuit: 12 deliveries x 3 tries, all dead within a second or two
    tries = len(harness.receiver.to("/flaky"))
    assert 5 <= tries < 20, tries
    states = [d["state"] for d in webhooks.list_deliveries({"subscription_id": sub["subscription_id"]})["deliveries"]]
    assert states.count("pending") >= 6, states
    harness.receiver.behaviour["/flaky"] = (200, 0.0)  # back: the next probe closes the circuit
    wait_for(lambda: {json.loads(r["body"])["id"] for r in harness.receiver.to("/flaky") if r["status"] == 200}
             >= {e.id for e in envelopes if e.id in {d["event_id"] for d in webhooks.list_deliveries(
                 {"subscription_id": sub["subscription_id"]})["deliveries"] if d["state"] != "dead"}},
             timeout=20, message="the waiting deliveries delivered")


def test_a_subscription_the_caller_may_not_see_answers_the_same_404_as_a_missing_one(harness, webhooks):
    """issue 10 #8: a 403 for an existing subscription beside a 404 for a missing one would confirm it exists."""
    harness.org(people=[("emp-z", "hq", None)])
    sub = webhooks.create_subscription({"client_id": "crm-1", "url": harness.receiver.url("/hook"),
                                        "event_types": ["jixiao.goals.#"]})
    delivery_id = str(uuid.uuid4())
    outsiders = [harness.as_("emp-z"), harness.as_("crm-2", kind="client", scopes=["webhooks:write"])]
    for caller in outsiders:
        unknown = str(uuid.uuid4())
        hidden = fails(caller.list_deliveries, {"subscription_id": sub["subscription_id"]})
        missing = fails(caller.list_deliveries, {"subscription_id": unknown})
        assert (hidden.status, hidden.detail, hidden.errors) == (404, f"no subscription {sub['subscription_id']}",
                                                                 missing.errors)
        assert (missing.status, missing.detail) == (404, f"no subscription {unknown}")
        assert fails(caller.replay_subscription, {"subscription_id": sub["subscription_id"],
                                                  "since": "2026-12-01T00:00:00Z"}).status == 404
        assert fails(caller.list_attempts, {"delivery_id": delivery_id}).status == 404
    # the owner and an administrator still see it
    owner = harness.as_("crm-1", kind="client", scopes=["webhooks:write"])
    assert owner.list_deliveries({"subscription_id": sub["subscription_id"]})["deliveries"] == []
    assert webhooks.list_deliveries({"subscription_id": sub["subscription_id"]})["deliveries"] == []
    assert harness.scalar("select count(*) from chassis_outbox where event_type = :t",
                          t="jixiao.notifications.access.denied.v1") >= 4  # the denials are audited
