import json
import re
import uuid

import pytest
from kombu import Connection
from sqlalchemy import func, select

from chassis.amqp import ConfirmingPublisher, OutgoingMessage, events_exchange
from chassis.db import create_db_engine, outbox_table
from chassis.testing.plugin import wait_for
from chassis.testing.services import http_get
from chassis.testing.toy import NoteWritten, ToyBatchReader, ToyReader, ToyWriter, create_schema
from chassis.uow import Store, UnitOfWork
from contracts import Actor, Envelope

FAST_RETRIES = {"EVENT_RETRY_DELAYS": [0.05, 0.1], "OUTBOX_POLL_INTERVAL": 0.2}


@pytest.fixture
def reader_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'reader.db'}"
    create_schema(url)
    return url


@pytest.fixture
def toys(run_services, db_url, reader_url):
    return run_services({ToyWriter: {"DATABASE_URL": db_url}, ToyReader: {"DATABASE_URL": reader_url}},
                        **FAST_RETRIES)


@pytest.fixture
def caller(toys, rpc_client, amqp_uri):
    return rpc_client(amqp_uri, actor=Actor(subject="p-1"))


def seen(caller):
    return caller.toy_reader.seen_count()


def pending(db_url):
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).where(outbox_table.c.sent_at.is_(None))).scalar()
    finally:
        engine.dispose()


def test_events_flow_through_outbox_and_inbox(caller, db_url):
    caller.toy_writer.write_note({"text": "hello", "count": 25})
    wait_for(lambda: seen(caller)["distinct"] == 25, message="25 notes seen")
    assert seen(caller) == {"distinct": 25, "total": 25}
    wait_for(lambda: pending(db_url) == 0, message="outbox drained")


def publish_raw(amqp_uri, envelope: Envelope | bytes, routing_key=None):
    publisher = ConfirmingPublisher(amqp_uri, declare=[events_exchange("toy_writer")])
    body = envelope if isinstance(envelope, bytes) else envelope.model_dump_json()
    publisher.publish(OutgoingMessage("toy_writer.events", routing_key or "jixiao.toy.note.written.v1", body))
    publisher.close()


def test_a_duplicate_delivery_has_one_effect(caller, amqp_uri):
    envelope = Envelope.wrap(NoteWritten(note_id=str(uuid.uuid4()), text="twice"))
    publish_raw(amqp_uri, envelope)
    publish_raw(amqp_uri, envelope)
    wait_for(lambda: seen(caller)["distinct"] == 1)
    other = Envelope.wrap(NoteWritten(note_id=str(uuid.uuid4()), text="marker"))
    publish_raw(amqp_uri, other)  # once the marker is seen, both copies of the first have been handled
    wait_for(lambda: seen(caller)["distinct"] == 2)
    assert seen(caller) == {"distinct": 2, "total": 2}


def metric(text: str, name: str, **labels) -> float:
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_poison_event_is_retried_then_dead_lettered(caller, toys, amqp_uri):
    caller.toy_writer.write_note({"text": "poison pill"})
    caller.toy_writer.write_note({"text": "fine"})
    reader = toys["toy_reader"]

    def parked():
        _, body = http_get(reader, "/metrics")
        return metric(body, "jixiao_dead_letter_queue_messages") == 1.0 and body

    body = wait_for(parked, message="the poison event in the DLQ")
    assert metric(body, "jixiao_events_dead_lettered_total") == 1.0
    assert metric(body, "jixiao_events_retried_total") == 2.0  # one per configured delay
    assert seen(caller)["distinct"] == 1  # the healthy event was not held up
    with Connection(amqp_uri) as conn:
        queue = "evt-toy_writer-jixiao.toy.note._.v1--toy_reader.on_note_written.dlq"
        message = conn.SimpleQueue(queue).get(timeout=5)
        assert json.loads(message.body)["data"]["text"] == "poison pill"
        assert "cannot digest" in message.headers["x-jixiao-error"]
        message.ack()


def test_a_malformed_message_is_parked_at_once(caller, toys, amqp_uri):
    publish_raw(amqp_uri, b'{"not": "an envelope"}')
    reader = toys["toy_reader"]
    wait_for(lambda: metric(http_get(reader, "/metrics")[1], "jixiao_events_dead_lettered_total") == 1.0)
    assert metric(http_get(reader, "/metrics")[1], "jixiao_events_retried_total") == 0.0


def test_relay_keeps_the_backlog_through_a_broker_outage(broker_proxy, run_services, amqp_uri, db_url,
                                                         reader_url, rpc_client):
    """Commits made while the writer cannot reach the broker are published once it can: nothing is lost."""
    run_services({ToyWriter: {"DATABASE_URL": db_url, "AMQP_URI": broker_proxy.uri_for(amqp_uri)},
                  ToyReader: {"DATABASE_URL": reader_url}}, **FAST_RETRIES)
    caller = rpc_client(amqp_uri)
    broker_proxy.cut()
    store = Store.from_url(db_url, "toy_writer")
    for i in range(30):  # committed by the writer's database while its broker connection is gone
        with UnitOfWork(store) as uow:
            uow.publish(NoteWritten(note_id=str(uuid.uuid4()), text=f"during outage {i}"))
    store.engine.dispose()
    import eventlet
    eventlet.sleep(1.5)  # the relay tries, fails and backs off
    assert pending(db_url) == 30
    broker_proxy.restore()
    wait_for(lambda: pending(db_url) == 0, timeout=60, message="backlog published after the outage")
    wait_for(lambda: seen(caller)["distinct"] == 30, message="all 30 consumed")
    assert seen(caller) == {"distinct": 30, "total": 30}


def test_metrics_pass_promtool(caller, toys):
    import shutil
    import subprocess

    caller.toy_writer.write_note({"text": "x"})
    wait_for(lambda: seen(caller)["distinct"] == 1)
    promtool = shutil.which("promtool")
    assert promtool, "promtool is installed by `make deps` (Debian package prometheus)"
    for container in toys.values():
        status, body = http_get(container, "/metrics")
        assert status == 200
        assert "jixiao_entrypoint_duration_seconds_bucket" in body
        checked = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    writer_metrics = http_get(toys["toy_writer"], "/metrics")[1]
    assert metric(writer_metrics, "jixiao_outbox_published_total") >= 1
    assert re.search(r'jixiao_entrypoint_duration_seconds_count\{entrypoint="write_note",kind="rpc"', writer_metrics)


def test_health_endpoints(toys, db_url):
    writer = toys["toy_writer"]
    assert http_get(writer, "/health/live")[0] == 200
    status, body = http_get(writer, "/health/ready")
    assert status == 200, body
    checks = json.loads(body)["checks"]
    assert checks["broker"]["ok"] and checks["uow"]["ok"] and checks["consumers"]["ok"]


def test_ready_waits_until_every_queue_consumer_consumes():
    """Health is served beside the consumers: a request sent on "ready" before its queue existed was dropped."""
    from types import SimpleNamespace

    from eventlet.event import Event

    from chassis.service import consumers_ready

    rpc, events = SimpleNamespace(_consumers_ready=Event()), SimpleNamespace(_consumers_ready=Event())
    container = SimpleNamespace(extensions=[rpc, events, SimpleNamespace()])
    assert consumers_ready(container) == (False, "2 queue consumer(s) starting")
    rpc._consumers_ready.send(True)
    events._consumers_ready.send(True)
    assert consumers_ready(container) == (True, "ok")
    broken = SimpleNamespace(_consumers_ready=Event())
    broken._consumers_ready.send_exception(ConnectionError("refused"))
    assert consumers_ready(SimpleNamespace(extensions=[rpc, broken]))[0] is False


def test_ready_fails_when_the_database_is_gone(run_services, amqp_uri, tmp_path):
    url = f"sqlite:///{tmp_path / 'gone' / 'x.db'}"  # a directory that does not exist: cannot open
    containers = run_services({ToyWriter: {"DATABASE_URL": url}})
    status, body = http_get(containers["toy_writer"], "/health/ready")
    assert status == 503
    assert json.loads(body)["checks"]["uow"]["ok"] is False


def test_batch_handler_applies_each_event_once_and_isolates_a_poison_one(run_services, db_url, reader_url,
                                                                         rpc_client, amqp_uri):
    containers = run_services({ToyWriter: {"DATABASE_URL": db_url},
                               ToyBatchReader: {"DATABASE_URL": reader_url}}, **FAST_RETRIES)
    caller = rpc_client(amqp_uri)
    caller.toy_writer.write_note({"text": "bulk", "count": 120})
    caller.toy_writer.write_note({"text": "poison in a batch"})
    caller.toy_writer.write_note({"text": "bulk", "count": 30})
    wait_for(lambda: caller.toy_batch_reader.seen_count()["distinct"] == 150, timeout=60)
    wait_for(lambda: metric(http_get(containers["toy_batch_reader"], "/metrics")[1],
                            "jixiao_dead_letter_queue_messages") == 1.0, message="only the poison event parked")
    assert caller.toy_batch_reader.seen_count() == {"distinct": 150, "total": 150}
    envelope = Envelope.wrap(NoteWritten(note_id="late-duplicate", text="again"))
    publish_raw(amqp_uri, envelope)
    publish_raw(amqp_uri, envelope)
    wait_for(lambda: caller.toy_batch_reader.seen_count()["distinct"] == 151)
    eventlet_sleep(0.3)
    assert caller.toy_batch_reader.seen_count() == {"distinct": 151, "total": 151}


def eventlet_sleep(seconds):
    import eventlet
    eventlet.sleep(seconds)
