"""AMQP_QUEUE_TYPE=quorum: every durable queue the suite declares is a quorum queue (what the production overlay's
three-node RabbitmqCluster runs), and the suite works on them. Real RabbitMQ, real PostgreSQL."""
import json
import shutil
import subprocess
import time
from urllib.parse import unquote, urlsplit

from chassis.amqp import queue_arguments
from chassis.testing.services import http_get
from compliance.service import ComplianceService
from feedback.service import FeedbackService
from goals.service import GoalsService
from incentives.service import IncentivesService
from notifications.service import NotificationsService


def test_queue_arguments_name_the_type_only_for_quorum():
    assert queue_arguments("classic") == {}
    assert queue_arguments("classic", **{"x-message-ttl": 5}) == {"x-message-ttl": 5}
    assert queue_arguments("quorum", **{"x-message-ttl": 5}) == {"x-message-ttl": 5, "x-queue-type": "quorum"}


def broker_queues(amqp_uri: str) -> list[dict]:
    """The vhost's queues as the broker lists them (rabbitmqctl: the management plugin may be off)."""
    ctl = shutil.which("rabbitmqctl")
    assert ctl, "the test broker runs here (rabbitmqctl)"
    vhost = unquote(urlsplit(amqp_uri).path.lstrip("/")) or "/"
    listed = subprocess.run([ctl, "list_queues", "-q", "-p", vhost, "name", "durable", "type", "--formatter", "json"],
                            capture_output=True, text=True, timeout=60, check=True)
    return json.loads(listed.stdout)


def test_every_durable_queue_of_the_suite_is_quorum_when_configured(run_services, pg_database, amqp_uri, tmp_path):
    fast = {"EVENT_RETRY_DELAYS": [0.05, 0.1], "OUTBOX_POLL_INTERVAL": 0.1, "AMQP_QUEUE_TYPE": "quorum"}
    started = run_services({
        GoalsService: {"DATABASE_URL": pg_database("goals")},
        FeedbackService: {"DATABASE_URL": pg_database("feedback")},
        IncentivesService: {"DATABASE_URL": pg_database("incentives")},
        NotificationsService: {"DATABASE_URL": pg_database("notifications")},
        ComplianceService: {"DATABASE_URL": pg_database("compliance"), "BOOTSTRAP_ADMINS": "root",
                            "DSR_SERVICES": "goals", "APPEAL_TARGET_CHECKS": [],
                            "AUDIT_WITNESS_PATH": str(tmp_path / "witness.jsonl")},
    }, **fast)
    for name, container in started.items():
        status, body = http_get(container, "/health/ready")
        assert status == 200, (name, body)  # each service runs on its quorum queues
    # each consumer's queue depth is exported (its lag: dashboards and the queue-depth HPAs read it)
    def lag_lines() -> list[str]:
        status, metrics = http_get(started["goals"], "/metrics")
        assert status == 200
        return [line for line in metrics.splitlines() if line.startswith("jixiao_consumer_queue_messages{")]

    # gauges read at scrape time are cached for 2 s (the first read ran before the consumers had registered)
    deadline = time.monotonic() + 10
    while not any('queue="evt-compliance-' in line for line in lag_lines()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert any('queue="evt-compliance-' in line for line in lag_lines()), lag_lines()
    queues = broker_queues(amqp_uri)
    durable = {q["name"]: q["type"] for q in queues if q["durable"]}
    # the RPC queues, each consumer's queue with its dead-letter and retry queues
    assert {f"rpc-{name}" for name in started} <= set(durable)
    assert any(name.endswith(".dlq") for name in durable) and any(".retry." in name for name in durable)
    # all but nameko's per-process reply queues (rpc.reply-<service>-<uuid>, expiring 5 min after their process):
    # a reply lost with its node only makes the caller time out and retry, not worth three replicas each
    assert {name: kind for name, kind in durable.items() if kind != "quorum" and not name.startswith("rpc.reply-")
            } == {}


def test_the_queue_type_setting_is_shared_and_checked(monkeypatch):
    import pytest

    from chassis.settings import load_settings

    monkeypatch.setenv("AMQP_QUEUE_TYPE", "quorum")  # one ConfigMap entry for every service
    assert load_settings("goals").amqp_queue_type == "quorum"
    assert load_settings("goals", {"AMQP_QUEUE_TYPE": "classic"}).amqp_queue_type == "classic"
    with pytest.raises(SystemExit, match="amqp_queue_type"):
        load_settings("goals", {"AMQP_QUEUE_TYPE": "lazy"})


def test_retries_and_dead_letters_work_on_quorum_queues(run_services, rpc_client, amqp_uri, tmp_path):
    """A poison event goes through the TTL retry queues (dead-lettered back into the consumer's quorum queue) and
    is parked in the quorum dead-letter queue with its error; the healthy one is handled."""
    from kombu import Connection, Queue

    from chassis.amqp import queue_arguments
    from chassis.testing.plugin import wait_for
    from chassis.testing.toy import ToyReader, ToyWriter, create_schema
    from contracts import Actor

    writer_url, reader_url = f"sqlite:///{tmp_path / 'writer.db'}", f"sqlite:///{tmp_path / 'reader.db'}"
    create_schema(writer_url)
    create_schema(reader_url)
    started = run_services({ToyWriter: {"DATABASE_URL": writer_url}, ToyReader: {"DATABASE_URL": reader_url}},
                           EVENT_RETRY_DELAYS=[0.05, 0.1], OUTBOX_POLL_INTERVAL=0.2, AMQP_QUEUE_TYPE="quorum")
    caller = rpc_client(amqp_uri, actor=Actor(subject="p-1"))
    caller.toy_writer.write_note({"text": "poison pill"})
    caller.toy_writer.write_note({"text": "fine"})

    def counter(name: str) -> float:
        _, body = http_get(started["toy_reader"], "/metrics")
        return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines() if line.startswith(name + "{"))

    wait_for(lambda: counter("jixiao_events_dead_lettered_total") == 1.0, message="the poison event parked")
    assert counter("jixiao_events_retried_total") == 2.0  # through both TTL retry queues
    assert caller.toy_reader.seen_count()["distinct"] == 1
    types = {q["name"]: q["type"] for q in broker_queues(amqp_uri)}
    dlq = next(name for name in types if name.endswith("--toy_reader.on_note_written.dlq"))
    assert types[dlq] == "quorum"
    with Connection(amqp_uri) as conn:  # reading a quorum queue means declaring it with the same type
        message = conn.SimpleQueue(Queue(dlq, durable=True, queue_arguments=queue_arguments("quorum"))).get(timeout=5)
        assert json.loads(message.body)["data"]["text"] == "poison pill"
        assert "cannot digest" in message.headers["x-jixiao-error"]
        message.ack()
