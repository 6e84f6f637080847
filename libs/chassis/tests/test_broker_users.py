"""Broker users on the real RabbitMQ (issue 10 #1): only the owner publishes on `<svc>.events`, only its own types;
a third party reads its own queues and publishes nowhere; the chassis runs with nothing more than these rights."""
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Producer, Queue

from chassis import brokerusers
from chassis.settings import load_settings
from chassis.testing.plugin import wait_for
from chassis.testing.toy import ToyReader, ToyWriter, create_schema


def as_user(amqp_uri: str, user: str, password: str) -> str:
    parts = urlsplit(amqp_uri)
    return urlunsplit((parts.scheme, f"{quote(user)}:{quote(password)}@{parts.hostname}:{parts.port or 5672}",
                       parts.path, "", ""))


@pytest.fixture
def users(amqp_uri):
    vhost = urlsplit(amqp_uri).path.lstrip("/")
    from urllib.parse import unquote

    prefix = f"jxt-{uuid.uuid4().hex[:8]}-"
    ctl = brokerusers.Rabbitmqctl()
    passwords = brokerusers.apply(unquote(vhost), ["toy_writer", "toy_reader"], ["acme"], prefix=prefix, ctl=ctl)
    yield {name: as_user(amqp_uri, prefix + name, pw) for name, pw in passwords.items()}
    for name in passwords:
        ctl.delete_user(prefix + name)


def publish(uri: str, exchange: str, routing_key: str) -> None:
    with Connection(uri) as conn:
        channel = conn.channel()
        Producer(channel).publish(b"{}", exchange=Exchange(exchange, type="topic", durable=True, passive=True),
                                  routing_key=routing_key, declare=[], retry=False)
        channel.basic_qos(0, 10, False)  # a synchronous call: a refused publish has closed the channel by then


def refused(uri: str, exchange: str, routing_key: str) -> bool:
    try:
        publish(uri, exchange, routing_key)
    except AccessRefused:
        return True
    return False


def test_only_the_owner_publishes_its_own_types(users, run_services, rpc_client, tmp_path, amqp_uri):
    writer_db, reader_db = f"sqlite:///{tmp_path / 'w.db'}", f"sqlite:///{tmp_path / 'r.db'}"
    create_schema(writer_db)
    create_schema(reader_db)
    # the chassis works under these rights alone: RPC, outbox relay, consumer queues, retry and dead-letter queues
    run_services({ToyWriter: {"DATABASE_URL": writer_db, "AMQP_URI": users["toy_writer"]},
                  ToyReader: {"DATABASE_URL": reader_db, "AMQP_URI": users["toy_reader"]}},
                 EVENT_RETRY_DELAYS=[0.05])
    caller = rpc_client(amqp_uri)
    caller.toy_writer.write_note({"text": "hello", "count": 2})
    caller.toy_writer.write_note({"text": "poison: goes through retry and dead-letter queues"})
    wait_for(lambda: caller.toy_reader.seen_count()["distinct"] == 2, message="events under per-service users")

    assert not refused(users["toy_writer"], "toy_writer.events", "jixiao.toy.note.written.v1")
    assert refused(users["toy_writer"], "toy_writer.events", "jixiao.compliance.grants.changed.v1")  # topic
    assert refused(users["toy_reader"], "toy_writer.events", "jixiao.toy.note.written.v1")  # not the owner
    assert refused(users["acme"], "toy_writer.events", "jixiao.toy.note.written.v1")  # third party
    with Connection(users["acme"]) as conn:  # ... who may read through its own queue
        queue = Queue("ext-acme-notes", Exchange("toy_writer.events", type="topic", durable=True, passive=True),
                      routing_key="jixiao.toy.#")
        queue.bind(conn.channel()).declare()
        caller.toy_writer.write_note({"text": "for acme"})
        message = wait_for(lambda: conn.SimpleQueue(queue).get(timeout=1), message="acme reads the event")
        assert "for acme" in str(message.body)


def test_production_refuses_guest():
    with pytest.raises(SystemExit, match="guest"):
        load_settings("goals", {}, environment="production", database_url="postgresql://db/goals",
                      amqp_uri="amqp://guest:guest@rabbit:5672/")
    assert load_settings("goals", {}, environment="production", database_url="postgresql://db/goals",
                         amqp_uri="amqp://goals:s3cret@rabbit:5672/").amqp_uri


def test_the_permission_set_is_what_docs_security_states():
    perms = brokerusers.service_permissions("compliance")
    assert perms.write == r"^(nameko-rpc|compliance\.events|amq\.default|rpc-compliance|rpc\.reply-compliance-.+" \
                          r"|evt-.+--compliance\..+)$"
    assert perms.topics == {"compliance.events": (r"^jixiao\.compliance\..+$", ".*")}
    from pathlib import Path

    doc = (Path(__file__).parents[3] / "docs" / "security.md").read_text()
    for regex in (perms.configure, perms.write, perms.read, *perms.topics["compliance.events"]):
        assert regex.replace("compliance", "<svc>") in doc, regex


def test_generated_passwords_are_never_taken_for_rabbitmqctl_options():
    assert not any(brokerusers.new_password().startswith("-") for _ in range(2000))
    with pytest.raises(ValueError, match="starts with '-'"):
        brokerusers.Rabbitmqctl("/bin/false").ensure_user("svc", "-secret")
