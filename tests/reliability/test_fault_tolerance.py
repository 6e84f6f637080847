"""Nothing is lost when a process dies or the broker goes away: two `nameko run` processes (the chassis toy
writer and reader) on RabbitMQ and PostgreSQL, counted end to end — N changes in, exactly N effects out."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
import yaml
from sqlalchemy import func, select

from chassis.amqp import ConfirmingPublisher, OutgoingMessage, events_exchange
from chassis.db import create_db_engine, outbox_table
from chassis.testing.plugin import wait_for
from chassis.testing.toy import NoteWritten, Seen, create_schema
from contracts import Envelope

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NamekoProcess:
    """One service as its own `nameko run` process, as in production."""

    def __init__(self, tmp_path, service: str, config: dict):
        self.port = free_port()
        self.config_path = tmp_path / f"{service.split(':')[1]}-{uuid.uuid4().hex[:6]}.yaml"
        self.config_path.write_text(yaml.safe_dump({
            "SERVICE_CONTAINER_CLS": "chassis.container.ServiceContainer",
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.port}",
            "LOGGING": {"version": 1, "root": {"level": "WARNING"}},
            **config,
        }))
        self.service = service
        self.log = tmp_path / f"{self.config_path.stem}.log"
        self.proc = None

    def start(self):
        env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", str(self.config_path), self.service],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, env=env)
        wait_for(lambda: self.get("/health/ready")[0] == 200 or self._died(), timeout=60, interval=0.2,
                 message=f"{self.service} ready")
        assert self.proc.poll() is None, self.log.read_text()[-3000:]
        return self

    def _died(self):
        return self.proc.poll() is not None

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            return 0, ""

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def databases(pg):
    names = [f"jxt_rel_{uuid.uuid4().hex[:8]}_{role}" for role in ("writer", "reader")]
    urls = [pg.create(name) for name in names]
    for url in urls:
        create_schema(url)
    yield urls
    for name in names:
        pg.drop(name)


@pytest.fixture
def processes(tmp_path, amqp_uri, databases, broker_proxy):
    """Started processes are stopped before their vhost, databases and proxy go (fixture teardown order)."""
    started: list[NamekoProcess] = []

    def start(service, config):
        proc = NamekoProcess(tmp_path, service, config).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


COMMON = {"EVENT_RETRY_DELAYS": [0.2, 0.4], "OUTBOX_POLL_INTERVAL": 0.2}
WRITER = "chassis.testing.toy:ToyWriter"
READER = "chassis.testing.toy:ToyReader"


def count(url, statement):
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(statement).scalar()
    finally:
        engine.dispose()


def effects(reader_url):
    """(distinct notes handled, total applications): double handling would make total > distinct."""
    engine = create_db_engine(reader_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count(), func.coalesce(func.sum(Seen.times), 0))).one()
    finally:
        engine.dispose()


def pending(writer_url):
    return count(writer_url, select(func.count()).where(outbox_table.c.sent_at.is_(None)))


def test_broker_cut_between_commit_and_publish_loses_nothing(processes, databases, amqp_uri, broker_proxy,
                                                             rpc_client):
    writer_url, reader_url = databases
    processes(READER, {"AMQP_URI": amqp_uri, "DATABASE_URL": reader_url, **COMMON})
    processes(WRITER, {"AMQP_URI": broker_proxy.uri_for(amqp_uri), "DATABASE_URL": writer_url, **COMMON})
    n = 80
    rpc_client(broker_proxy.uri_for(amqp_uri)).toy_writer.write_in_background(n, 0.03)
    time.sleep(0.4)
    broker_proxy.cut()  # the writer keeps committing; its relay cannot publish
    wait_for(lambda: pending(writer_url) >= 10, timeout=20, message="commits piling up unpublished")
    time.sleep(2)
    broker_proxy.restore()
    wait_for(lambda: tuple(effects(reader_url)) == (n, n), timeout=90, message=f"{n} effects")
    wait_for(lambda: pending(writer_url) == 0, timeout=30)
    assert tuple(effects(reader_url)) == (n, n)


def test_consumer_killed_mid_handler_loses_nothing_and_applies_nothing_twice(processes, databases, amqp_uri,
                                                                            rpc_client):
    writer_url, reader_url = databases
    reader_config = {"AMQP_URI": amqp_uri, "DATABASE_URL": reader_url, "TOY_HANDLER_DELAY": 0.05, **COMMON}
    reader = processes(READER, reader_config)
    processes(WRITER, {"AMQP_URI": amqp_uri, "DATABASE_URL": writer_url, **COMMON})
    n = 60
    rpc_client(amqp_uri).toy_writer.write_note({"text": "work", "count": n})
    wait_for(lambda: effects(reader_url)[0] >= 5, timeout=30, message="the reader busy handling")
    reader.kill()  # SIGKILL: in-flight transactions die uncommitted, their messages unacked
    assert effects(reader_url)[0] < n, "killed too late to prove anything"
    processes(READER, reader_config)
    wait_for(lambda: effects(reader_url)[0] == n, timeout=90, message=f"{n} distinct effects after restart")
    time.sleep(1)  # any redelivered duplicate would land now
    assert tuple(effects(reader_url)) == (n, n)


def test_same_event_delivered_twice_has_one_effect(processes, databases, amqp_uri):
    _, reader_url = databases
    processes(READER, {"AMQP_URI": amqp_uri, "DATABASE_URL": reader_url, **COMMON})
    publisher = ConfirmingPublisher(amqp_uri, declare=[events_exchange("toy_writer")])
    envelope = Envelope.wrap(NoteWritten(note_id=str(uuid.uuid4()), text="twice"))
    for _ in range(2):
        publisher.publish(OutgoingMessage("toy_writer.events", envelope.type, envelope.model_dump_json()))
    marker = Envelope.wrap(NoteWritten(note_id=str(uuid.uuid4()), text="marker"))
    publisher.publish(OutgoingMessage("toy_writer.events", marker.type, marker.model_dump_json()))
    publisher.close()
    wait_for(lambda: effects(reader_url)[0] == 2, timeout=30)
    time.sleep(0.5)
    assert tuple(effects(reader_url)) == (2, 2)


def test_poison_event_is_dead_lettered_and_visible_in_metrics(processes, databases, amqp_uri, rpc_client):
    writer_url, reader_url = databases
    reader = processes(READER, {"AMQP_URI": amqp_uri, "DATABASE_URL": reader_url, **COMMON})
    processes(WRITER, {"AMQP_URI": amqp_uri, "DATABASE_URL": writer_url, **COMMON})
    caller = rpc_client(amqp_uri)
    caller.toy_writer.write_note({"text": "poison apple"})
    caller.toy_writer.write_note({"text": "healthy"})

    def dead_lettered():
        status, text = reader.get("/metrics")
        lines = [line for line in text.splitlines() if line.startswith("jixiao_dead_letter_queue_messages{")]
        return status == 200 and lines and float(lines[0].rsplit(" ", 1)[1]) == 1.0 and text

    text = wait_for(dead_lettered, timeout=30, message="the poison event in the dead-letter queue")
    retried = [line for line in text.splitlines() if line.startswith("jixiao_events_retried_total{")]
    assert float(retried[0].rsplit(" ", 1)[1]) == 2.0
    assert tuple(effects(reader_url)) == (1, 1)  # the healthy one, once
    status, body = reader.get("/health/ready")
    assert status == 200 and json.loads(body)["status"] == "ready"
