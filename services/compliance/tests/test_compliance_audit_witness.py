"""The audit log cannot be cut quietly (issue 10 items 2 and 3): timed checkpoints leave the database — an
append-only witness file and a published event — so the three truncation attacks that verified ok before are
caught; entries after the newest witnessed checkpoint are reported as unwitnessed, not ok; one event that cannot be
written is set aside with its reason while the rest flow, and the backlog shows in /metrics and /health/ready."""
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from kombu import Connection, Queue
from sqlalchemy import create_engine, text

from chassis.amqp import ConfirmingPublisher, OutgoingMessage, events_exchange
from chassis.testing.plugin import wait_for
from chassis.testing.services import http_get
from compliance.domain.audit_chain import parse_witness
from compliance.settings import DEV_AUDIT_KEY
from contracts import Actor, Envelope

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
KEYS = {"k1": DEV_AUDIT_KEY.encode()}


def publish(amqp_uri, service, envelopes):
    publisher = ConfirmingPublisher(amqp_uri, declare=[events_exchange(service)])
    publisher.publish_batch([OutgoingMessage(f"{service}.events", e.type, e.model_dump_json()) for e in envelopes])
    publisher.close()


def goal_event(n, subject=None):
    return Envelope(id=str(uuid.uuid4()), source="/jixiao/goals", type="jixiao.goals.goal.created.v1",
                    time=T0 + timedelta(minutes=n), subject=subject or f"g-{n}", data={"n": n},
                    actor=Actor(subject="E"))


def sql(url, statement, **params):
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def _org(callers):
    root = callers("root").compliance
    root.upsert_org_unit({"org_unit_id": "hq", "name": "HQ"})
    root.upsert_person({"person_id": "A", "name": "Auditor", "org_unit_id": "hq"})
    root.set_grants({"subject_id": "A", "grants": [{"role": "auditor"}]})


@pytest.fixture
def witnessed(start_compliance, callers, amqp_uri):
    """Compliance witnessing every 0.1 s, 23 goals events sealed and the head witnessed."""
    containers = start_compliance(AUDIT_CHECKPOINT_EVERY=5, AUDIT_CHECKPOINT_INTERVAL=0.1)
    _org(callers)
    publish(amqp_uri, "goals", [goal_event(n) for n in range(23)])
    auditor = callers("A").compliance

    def settled():
        goals = auditor.query_audit({"type": "jixiao.goals.*", "limit": 100})["entries"]
        report = auditor.verify_audit({})  # after the query: its head holds every goals entry
        return report if len(goals) == 23 and report["status"] == "ok" else None
    report = wait_for(settled, message="23 events sealed and the head witnessed")
    assert report["ok"] and report["witnessed_sequence"] == report["head_sequence"] and report["unwitnessed"] == 0
    containers["compliance"].stop()  # the attacker works on a quiet database
    return report


def _rewind(url, to):
    sql(url, "UPDATE compliance_audit_head SET sequence = :s, hash = (SELECT hash FROM compliance_audit_entries "
             "WHERE sequence = :s) WHERE id = 1", s=to)


def _verify(start_compliance, callers, **config):
    start_compliance(AUDIT_CHECKPOINT_EVERY=5, **config)
    return callers("A").compliance.verify_audit({})


def test_truncating_the_log_and_its_checkpoints_is_caught(witnessed, start_compliance, callers, compliance_url):
    cut = witnessed["head_sequence"] - 7
    sql(compliance_url, "DELETE FROM compliance_audit_entries WHERE sequence > :s", s=cut)
    sql(compliance_url, "DELETE FROM compliance_audit_checkpoints WHERE sequence > :s", s=cut)
    _rewind(compliance_url, cut)
    report = _verify(start_compliance, callers)
    assert not report["ok"] and report["status"] == "broken", report
    assert report["first_break"]["reason"] == "truncated" and report["first_break"]["sequence"] == cut + 1


def test_moving_the_anchor_past_an_edited_entry_is_caught(witnessed, start_compliance, callers, compliance_url):
    edited = witnessed["head_sequence"] - 10
    sql(compliance_url, "UPDATE compliance_audit_entries SET data = :d WHERE sequence = :s", d='{"n":999}', s=edited)
    sql(compliance_url, "UPDATE compliance_audit_head SET anchor_sequence = :s, anchor_hash = (SELECT hash FROM "
                        "compliance_audit_entries WHERE sequence = :s) WHERE id = 1", s=edited)
    report = _verify(start_compliance, callers)
    assert not report["ok"] and report["first_break"]["reason"] == "anchor_signature", report
    assert report["first_break"]["sequence"] == edited


def test_deleting_what_follows_the_last_checkpoint_is_caught(witnessed, start_compliance, callers, compliance_url):
    head = witnessed["head_sequence"]
    last = sql(compliance_url, "SELECT max(sequence) FROM compliance_audit_checkpoints "
                               "WHERE witnessed_at IS NULL AND sequence < :h", h=head)
    assert last is not None and last < head
    sql(compliance_url, "DELETE FROM compliance_audit_entries WHERE sequence > :s", s=last)
    sql(compliance_url, "DELETE FROM compliance_audit_checkpoints WHERE sequence > :s", s=last)
    _rewind(compliance_url, last)
    report = _verify(start_compliance, callers)
    assert not report["ok"] and report["first_break"]["reason"] == "truncated", report


def test_checkpoints_are_published_and_the_witness_holds_only_authentic_lines(start_compliance, callers, amqp_uri,
                                                                             witness_path):
    queue = Queue(f"third-party-{uuid.uuid4().hex[:6]}", exchange=events_exchange("compliance"),
                  routing_key="jixiao.compliance.audit.checkpointed.v1", durable=False, auto_delete=False)
    with Connection(amqp_uri) as conn:
        queue(conn.default_channel).declare()  # a third party keeping the checkpoints
        start_compliance(AUDIT_CHECKPOINT_INTERVAL=0.1)
        _org(callers)
        publish(amqp_uri, "goals", [goal_event(n) for n in range(5)])
        report = wait_for(lambda: (lambda r: r if r["status"] == "ok" and r["head_sequence"] >= 5 else None)(
            callers("A").compliance.verify_audit({})), message="the head witnessed")
        kept = []

        def received():
            message = queue(conn.default_channel).get(no_ack=True)
            if message is not None:
                kept.append(json.loads(message.body))
            return kept and kept[-1]["data"]["sequence"] >= report["head_sequence"]
        wait_for(received, message="the checkpoint published")
    assert {event["data"]["kind"] for event in kept} == {"checkpoint"}
    records, rejected = parse_witness(witness_path.read_text().splitlines(), KEYS)
    assert rejected == 0 and max(r.checkpoint.sequence for r in records) >= report["head_sequence"]
    # a forged line (no key) is never trusted: verify counts it and stays ok
    with witness_path.open("a") as witness:
        witness.write(json.dumps({"kind": "checkpoint", "sequence": 10_000, "hash": "0" * 64, "key_id": "k1",
                                  "time": "2026-12-02T00:00:00.000000Z", "signature": "f" * 64}) + "\n")
    forged = callers("A").compliance.verify_audit({})
    assert forged["ok"] and forged["witness_rejected"] == 1


def test_entries_after_the_newest_witnessed_checkpoint_are_reported_unwitnessed(start_compliance, callers,
                                                                                 amqp_uri):
    start_compliance(AUDIT_CHECKPOINT_INTERVAL=3600)  # nothing witnessed yet
    _org(callers)
    publish(amqp_uri, "goals", [goal_event(n) for n in range(3)])
    report = wait_for(lambda: (lambda r: r if r["head_sequence"] >= 3 + 3 else None)(
        callers("A").compliance.verify_audit({})), message="sealed")
    assert report["ok"] and report["status"] == "unwitnessed"
    assert report["witnessed_sequence"] == 0 and report["unwitnessed"] == report["head_sequence"]


def test_one_event_that_cannot_be_written_is_set_aside_and_the_rest_flow(start_compliance, callers, amqp_uri,
                                                                       compliance_url, audit_log):
    containers = start_compliance(AUDIT_SEAL_ATTEMPTS=2)
    _org(callers)
    poison = goal_event(0, subject="s" * 300)  # longer than the log's subject column: the insert fails
    publish(amqp_uri, "goals", [poison] + [goal_event(n) for n in range(1, 22)])
    flowed = audit_log.wait(lambda es: len(es) == 21, type="jixiao.goals.goal.created.v1")
    assert sorted(e["data"]["n"] for e in flowed) == list(range(1, 22))
    [marker] = audit_log.wait(lambda es: len(es) == 1, type="jixiao.compliance.audit.dead_lettered.v1")
    assert marker["data"]["event_id"] == poison.id and marker["data"]["attempts"] == 2
    assert "too long" in marker["data"]["reason"] or "DataError" in marker["data"]["reason"]
    assert sql(compliance_url, "SELECT count(*) FROM compliance_audit_dead_letters") == 1
    assert sql(compliance_url, "SELECT count(*) FROM compliance_audit_staged") == 0
    assert callers("A").compliance.verify_audit({})["ok"]

    def scraped():  # gauges read at scrape time, cached for 2 s
        status, body = http_get(containers["compliance"], "/metrics")
        assert status == 200
        found = {line.split("{")[0]: float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                 if line.startswith("jixiao_audit_")}
        return found if found.get("jixiao_audit_dead_letters") == 1 else None
    metrics = wait_for(scraped, timeout=10, message="the dead letter in /metrics")
    assert metrics["jixiao_audit_staged_events"] == 0
    assert metrics["jixiao_audit_staged_oldest_seconds"] == 0 and metrics["jixiao_audit_head_sequence"] >= 22
    assert "jixiao_audit_unwitnessed_entries" in metrics
    status, body = http_get(containers["compliance"], "/health/ready")
    audit_check = json.loads(body)["checks"]["audit_writer"]
    assert status == 200 and audit_check["ok"] and "dead letters 1" in audit_check["detail"]


def test_readiness_says_when_auditing_is_behind(start_compliance, callers, compliance_url):
    containers = start_compliance(AUDIT_READY_MAX_LAG=60, AUDIT_SEAL_INTERVAL=3600)  # the writer sleeps
    containers["compliance"].stop()
    old = datetime.now(UTC) - timedelta(minutes=5)
    sql(compliance_url, "INSERT INTO compliance_audit_staged (envelope, staged_at, attempts) VALUES ('{}', :t, 0)",
        t=old)
    containers = start_compliance(AUDIT_READY_MAX_LAG=60, AUDIT_SEAL_INTERVAL=3600, AUDIT_SEAL_ATTEMPTS=100)
    status, body = http_get(containers["compliance"], "/health/ready")
    check = json.loads(body)["checks"]["audit_writer"]
    assert status == 503 and not check["ok"] and "staged 1" in check["detail"], body


def test_one_witness_writer_replicas_without_it_leave_the_file_alone_and_it_takes_up_their_anchor(
        start_compliance, callers, amqp_uri, compliance_url, witness_path):
    """deploy/k8s: two replicas seal, one single-replica StatefulSet writes the witness (AUDIT_WITNESS_WRITER)."""
    from compliance.domain.audit_chain import ChainHead, sign_anchor

    replica = start_compliance(AUDIT_CHECKPOINT_INTERVAL=0.1, AUDIT_WITNESS_WRITER=False)
    _org(callers)
    publish(amqp_uri, "goals", [goal_event(n) for n in range(6)])
    report = wait_for(lambda: (lambda r: r if r["head_sequence"] >= 6 else None)(
        callers("A").compliance.verify_audit({})), message="sealed by the replica")
    assert report["status"] == "unwitnessed" and not witness_path.exists()  # sealed, never witnessed
    replica["compliance"].stop()
    # a retention purge on such a replica re-anchors the log with a signed anchor it could not witness
    anchored = sql(compliance_url, "SELECT hash FROM compliance_audit_entries WHERE sequence = 2")
    signed = sign_anchor(ChainHead(2, anchored), datetime.now(UTC), DEV_AUDIT_KEY.encode(), "k1")
    sql(compliance_url, "UPDATE compliance_audit_head SET anchor_sequence = 2, anchor_hash = :h, anchor_time = :t, "
                        "anchor_key_id = 'k1', anchor_signature = :s WHERE id = 1",
        h=anchored, t=signed.time, s=signed.signature)
    start_compliance(AUDIT_CHECKPOINT_INTERVAL=0.1)  # the witness writer
    report = wait_for(lambda: (lambda r: r if r["status"] == "ok" else None)(callers("A").compliance.verify_audit({})),
                      message="the writer witnessed the head and the anchor")
    records, rejected = parse_witness(witness_path.read_text().splitlines(), KEYS)
    assert rejected == 0 and [r.checkpoint.sequence for r in records if r.kind == "anchor"] == [2]
    assert report["ok"] and report["witnessed_sequence"] == report["head_sequence"]
