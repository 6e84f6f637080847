"""The audit log over RPC: every service's events land in the hash chain; query, cursor, export; verification
names the first broken entry after tampering in SQL; signed checkpoints expose truncation; auditors only."""
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from chassis.amqp import ConfirmingPublisher, OutgoingMessage, events_exchange
from chassis.errors import Forbidden, InvalidInput
from contracts import Actor, Envelope

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def publish(amqp_uri, service, envelopes):
    publisher = ConfirmingPublisher(amqp_uri, declare=[events_exchange(service)])
    publisher.publish_batch([OutgoingMessage(f"{service}.events", e.type, e.model_dump_json()) for e in envelopes])
    publisher.close()


def envelope(service, kind, subject, actor, n, **data):
    return Envelope(id=str(uuid.uuid4()), source=f"/jixiao/{service}", type=f"jixiao.{service}.{kind}.v1",
                    time=T0 + timedelta(minutes=n), subject=subject, data={"n": n, **data},
                    actor=Actor(subject=actor))


def sql(url, statement, **params):
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


@pytest.fixture
def audit_service(start_compliance, callers):
    containers = start_compliance(AUDIT_CHECKPOINT_EVERY=5)
    root = callers("root").compliance
    root.upsert_org_unit({"org_unit_id": "hq", "name": "HQ"})
    root.upsert_person({"person_id": "A", "name": "Auditor", "org_unit_id": "hq"})
    root.upsert_person({"person_id": "E", "name": "Employee", "org_unit_id": "hq"})
    root.set_grants({"subject_id": "A", "grants": [{"role": "auditor"}]})
    return containers


def test_every_services_events_are_chained_queryable_and_exportable(audit_service, amqp_uri, callers, audit_log):
    goals = [envelope("goals", "goal.progressed", "g-1", "E", n, before={"value": n}, after={"value": n + 1})
             for n in range(12)]
    feedback = [envelope("feedback", "review.finalized", "r-1", "M", n) for n in range(3)]
    publish(amqp_uri, "goals", goals)
    publish(amqp_uri, "feedback", feedback)
    publish(amqp_uri, "gateway", [envelope("gateway", "request.refused", None, "X", 0)])
    audit_log.wait(lambda es: len(es) == 12, subject="g-1")

    # the chain's order is arrival order (handlers run concurrently); pages follow it without overlap
    page = callers("A").compliance.query_audit({"subject": "g-1", "limit": 5})
    second = callers("A").compliance.query_audit({"subject": "g-1", "limit": 5, "after": page["next_cursor"]})
    third = callers("A").compliance.query_audit({"subject": "g-1", "limit": 5, "after": second["next_cursor"]})
    pages = [e["data"]["n"] for p in (page, second, third) for e in p["entries"]]
    assert sorted(pages) == list(range(12)) and third["next_cursor"] is None
    first = page["entries"][0]
    assert first["before"] == {"value": first["data"]["n"]} and first["after"] == {"value": first["data"]["n"] + 1}
    assert "before" not in first["data"]
    assert len(audit_log.wait(lambda es: len(es) == 3, type="jixiao.feedback.*")) == 3
    assert len(audit_log.wait(lambda es: len(es) == 1, type="jixiao.gateway.request.refused.v1")) == 1
    assert len(audit_log.entries(actor="M")) == 3
    window = audit_log.entries(subject="g-1", since=(T0 + timedelta(minutes=2)).isoformat(),
                               until=(T0 + timedelta(minutes=4)).isoformat())
    assert sorted(e["data"]["n"] for e in window) == [2, 3]

    exported = callers("A").compliance.export_audit({"subject": "g-1"})
    lines = [json.loads(line) for line in exported["content"].splitlines()]
    assert exported["count"] == 12 and all(line["hash"] for line in lines)

    report = callers("A").compliance.verify_audit({})
    assert report["ok"] and report["first_break"] is None and report["verified"] >= 16
    assert report["checkpoints_matched"] >= 3

    for bad, field in (({"limit": 0}, "limit"), ({"after": -1}, "after"), ({"since": "yesterday"}, "since"),
                       ({"since": T0.isoformat(), "until": T0.isoformat()}, "until")):
        with pytest.raises(InvalidInput) as raised:
            callers("A").compliance.query_audit(bad)
        assert raised.value.errors[0]["field"] == field
    with pytest.raises(Forbidden):
        callers("E").compliance.query_audit({"subject": "E"})
    with pytest.raises(Forbidden):
        callers("E").compliance.verify_audit({})


def test_a_tampered_row_is_named_by_verify(audit_service, amqp_uri, callers, audit_log, compliance_url):
    publish(amqp_uri, "goals", [envelope("goals", "goal.created", f"g-{n}", "E", n) for n in range(20)])
    audit_log.wait(lambda es: len(es) == 20, type="jixiao.goals.*")
    assert callers("A").compliance.verify_audit({})["ok"]
    target = audit_log.entries(subject="g-7")[0]["sequence"]

    sql(compliance_url, "UPDATE compliance_audit_entries SET actor = 'someone-else' WHERE sequence = :s", s=target)
    report = callers("A").compliance.verify_audit({})
    assert not report["ok"]
    assert report["first_break"]["sequence"] == target
    assert report["first_break"]["reason"] == "hash_mismatch"
    assert report["verified"] == target - 1

    sql(compliance_url, "UPDATE compliance_audit_entries SET actor = 'E' WHERE sequence = :s", s=target)
    sql(compliance_url, "UPDATE compliance_audit_entries SET data = :d WHERE sequence = :s",
        d='{"n":99}', s=target + 1)
    assert callers("A").compliance.verify_audit({})["first_break"]["sequence"] == target + 1


def test_cutting_the_tail_is_caught_by_a_signed_checkpoint(audit_service, amqp_uri, callers, audit_log,
                                                           compliance_url):
    publish(amqp_uri, "goals", [envelope("goals", "goal.created", f"g-{n}", "E", n) for n in range(12)])
    audit_log.wait(lambda es: len(es) == 12, type="jixiao.goals.*")
    head = callers("A").compliance.verify_audit({})["head_sequence"]
    checkpointed = sql(compliance_url, "SELECT max(sequence) FROM compliance_audit_checkpoints")
    assert checkpointed is not None and checkpointed % 5 == 0
    # an attacker drops the last entries and rewinds the head: the chain itself still links up
    sql(compliance_url, "DELETE FROM compliance_audit_entries WHERE sequence >= :s", s=checkpointed)
    report = callers("A").compliance.verify_audit({})
    assert not report["ok"] and report["first_break"]["reason"] == "truncated"
    # a timed checkpoint may have sealed the very head, so the cut can be a single entry
    assert report["first_break"]["sequence"] == checkpointed and head >= checkpointed


def test_rotating_the_audit_key_keeps_earlier_checkpoints_verifiable(start_compliance, callers, amqp_uri, audit_log,
                                                                       compliance_url):
    from compliance.settings import DEV_AUDIT_KEY

    first = start_compliance(AUDIT_CHECKPOINT_EVERY=5)  # signs as k1 with the development key
    root = callers("root").compliance
    root.upsert_org_unit({"org_unit_id": "hq", "name": "HQ"})
    root.upsert_person({"person_id": "A", "name": "Auditor", "org_unit_id": "hq"})
    root.set_grants({"subject_id": "A", "grants": [{"role": "auditor"}]})
    publish(amqp_uri, "goals", [envelope("goals", "goal.created", f"a-{n}", "E", n) for n in range(10)])
    audit_log.wait(lambda es: len(es) == 10, type="jixiao.goals.*")
    first["compliance"].stop()

    new_key = {"AUDIT_KEY": "rotated-audit-key-" + "n" * 20, "AUDIT_KEY_ID": "k2", "AUDIT_CHECKPOINT_EVERY": 5}
    second = start_compliance(**new_key, AUDIT_RETIRED_KEYS=f"k1={DEV_AUDIT_KEY}")
    publish(amqp_uri, "goals", [envelope("goals", "goal.created", f"b-{n}", "E", n) for n in range(10)])
    audit_log.wait(lambda es: len(es) == 20, type="jixiao.goals.*")
    assert sql(compliance_url, "SELECT count(DISTINCT key_id) FROM compliance_audit_checkpoints") == 2
    assert callers("A").compliance.verify_audit({})["ok"]
    second["compliance"].stop()

    start_compliance(**new_key)  # the retired key forgotten: k1's checkpoints can no longer be trusted
    report = callers("A").compliance.verify_audit({})
    assert not report["ok"] and report["first_break"]["reason"] == "checkpoint_signature"
