"""Events are trusted only from their owner: the right exchange and a tag under the producer's key (issue 10 #1).

The forger here publishes with a plain AMQP client on the real broker, as anyone holding broker credentials could;
the legitimate path is the outbox relay. Reader only: the writer's relay is not needed to forge.
"""
import json
import uuid

import pytest
from kombu import Connection, Exchange, Producer

from chassis.signing import EventKeys, MissingKey, canonical, development_key, owns, tag
from chassis.testing.plugin import wait_for
from chassis.testing.services import http_get
from chassis.testing.toy import NoteWritten, ToyReader, ToyWriter
from contracts import Actor, Envelope

QUEUE = "evt-toy_writer-jixiao.toy.note._.v1--toy_reader.on_note_written"
FAST = {"EVENT_RETRY_DELAYS": [0.05], "OUTBOX_POLL_INTERVAL": 0.2}


def metric(text: str, name: str, **labels) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def note(text: str) -> dict:
    return json.loads(Envelope.wrap(NoteWritten(note_id=str(uuid.uuid4()), text=text)).model_dump_json(
        exclude_none=True))


def forge(amqp_uri: str, envelope: dict | bytes, exchange: str = "toy_writer.events",
          routing_key: str = "jixiao.toy.note.written.v1", **kwargs) -> None:
    """A plain kombu producer: no chassis signing on the way."""
    body = envelope if isinstance(envelope, bytes) else json.dumps(envelope)
    with Connection(amqp_uri) as conn:
        producer = Producer(conn.channel())
        target = Exchange(exchange, type="topic", durable=True) if exchange else ""
        kwargs = {"content_type": "application/json", "content_encoding": "utf-8", **kwargs}
        producer.publish(body, exchange=target, routing_key=routing_key, **kwargs)


def signed(envelope: dict, service: str = "toy_writer") -> dict:
    return {**envelope, "signature": tag(development_key(service), envelope)}


@pytest.fixture
def reader(run_services, tmp_path, rpc_client, amqp_uri):
    from chassis.testing.toy import create_schema

    url = f"sqlite:///{tmp_path / 'reader.db'}"
    create_schema(url)
    containers = run_services({ToyReader: {"DATABASE_URL": url}}, **FAST)
    return containers["toy_reader"], rpc_client(amqp_uri, actor=Actor(subject="p-1"))


class Parked:
    def __init__(self, raw):
        self.body = raw.body  # the bytes as they arrived: no decoding, whatever they are
        self.headers = dict(raw.properties.get("application_headers") or {})


def parked(amqp_uri: str, n: int) -> list:
    """`n` messages from the reader's dead-letter queue, raw (waits up to 5 s for them)."""
    import time

    out = []
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        deadline = time.monotonic() + 5
        while len(out) < n:
            raw = channel.basic_get(QUEUE + ".dlq", no_ack=True)
            if raw is None:
                assert time.monotonic() < deadline, f"{len(out)} of {n} parked messages"
                time.sleep(0.05)
                continue
            out.append(Parked(raw))
    return out


def test_forged_events_are_parked_with_the_reason_and_never_handled(reader, amqp_uri):
    container, caller = reader
    forge(amqp_uri, note("unsigned"))                                                    # no tag
    forge(amqp_uri, {**note("wrong key"), "signature": tag("not-the-producer-key" * 2, note("x"))})
    tampered = signed(note("original"))
    tampered["data"]["text"] = "tampered"                                                # tag of other bytes
    forge(amqp_uri, tampered)
    foreign = signed({**note("admin!"), "type": "jixiao.compliance.grants.changed.v1",   # another owner's type
                      "source": "/jixiao/compliance"})
    forge(amqp_uri, foreign)
    forge(amqp_uri, signed(note("via default exchange")), exchange="", routing_key=QUEUE)  # around the exchange
    forge(amqp_uri, signed(note("genuine")))                                             # the control
    wait_for(lambda: caller.toy_reader.seen_count()["distinct"] == 1, message="the genuine event handled")

    def rejected():
        body = http_get(container, "/metrics")[1]
        return metric(body, "jixiao_events_rejected_total") == 5 and body

    body = wait_for(rejected, message="five rejections counted")
    assert metric(body, "jixiao_events_rejected_total", reason="not_authentic") == 3
    assert metric(body, "jixiao_events_rejected_total", reason="wrong_exchange") == 2
    assert caller.toy_reader.seen_count() == {"distinct": 1, "total": 1}
    reasons = sorted(m.headers["x-jixiao-rejected"] + ": " + m.headers["x-jixiao-error"]
                     for m in parked(amqp_uri, 5))
    assert sum("no authenticity tag" in r for r in reasons) == 1
    assert sum("does not verify" in r for r in reasons) == 2
    assert sum("not toy_writer's to publish" in r for r in reasons) == 1
    assert sum("default exchange" in r for r in reasons) == 1


def test_the_relay_signs_and_a_retired_key_still_verifies(run_services, tmp_path, rpc_client, amqp_uri,
                                                          monkeypatch):
    """End to end through the outbox relay, with a rotated key: the writer signs with the new key; an event signed
    with the retired one (still in flight) is accepted while the consumer lists it as retired."""
    from chassis.testing.toy import create_schema

    old, new = "o" * 40, "n" * 40
    monkeypatch.setenv("TOY_WRITER_EVENT_SIGNING_KEY", new)
    monkeypatch.setenv("TOY_WRITER_EVENT_RETIRED_KEYS", old)
    writer_url, reader_url = f"sqlite:///{tmp_path / 'w.db'}", f"sqlite:///{tmp_path / 'r.db'}"
    create_schema(writer_url)
    create_schema(reader_url)
    run_services({ToyWriter: {"DATABASE_URL": writer_url}, ToyReader: {"DATABASE_URL": reader_url}}, **FAST)
    caller = rpc_client(amqp_uri)
    caller.toy_writer.write_note({"text": "through the relay", "count": 2})
    envelope = note("signed before the rotation")
    forge(amqp_uri, {**envelope, "signature": tag(old, envelope)})
    forge(amqp_uri, signed(note("development key: not accepted once a real key is set")))
    wait_for(lambda: caller.toy_reader.seen_count()["distinct"] == 3, message="relay's two and the retired one")
    wait_for(lambda: len(parked(amqp_uri, 1)) == 1, message="the dev-key event parked")


def test_keys_in_production_are_required_and_real():
    prod = EventKeys({"ENVIRONMENT": "production"})
    with pytest.raises(MissingKey):
        prod.current("goals")
    with pytest.raises(SystemExit, match="GOALS_EVENT_SIGNING_KEY"):
        prod.require("goals")
    with pytest.raises(MissingKey):  # the public development key is no secret
        EventKeys({"ENVIRONMENT": "production", "GOALS_EVENT_SIGNING_KEY": development_key("goals")}).current("goals")
    with pytest.raises(MissingKey):
        EventKeys({"ENVIRONMENT": "production", "GOALS_EVENT_SIGNING_KEY": "short"}).current("goals")
    assert EventKeys({}).current("goals") == development_key("goals")  # dev/test: derived, no setup


def test_the_tag_covers_every_attribute_but_itself():
    keys = EventKeys({})
    envelope = note("x")
    good = keys.sign("toy_writer", envelope)
    assert keys.verify("toy_writer", good) is None
    assert keys.verify("toy_writer", json.loads(json.dumps(good, sort_keys=True))) is None  # key order is free
    for name, value in (("type", "jixiao.toy.note.deleted.v1"), ("id", "other"), ("actor", {"subject": "x"}),
                        ("time", "2026-12-02T00:00:00Z")):
        assert keys.verify("toy_writer", {**good, name: value}) is not None, name
    assert b"signature" not in canonical(good)
    assert keys.verify("goals", good) is not None  # another producer's key


def test_owners_of_event_types():
    assert owns("compliance", "jixiao.compliance.grants.changed.v1")
    assert owns("toy_writer", "jixiao.toy.note.written.v1")
    assert not owns("goals", "jixiao.compliance.grants.changed.v1")
    assert not owns("compliancex", "jixiao.compliance.grants.changed.v1")


def test_events_carry_only_the_actors_id_and_kind(run_services, tmp_path, rpc_client, amqp_uri):
    """issue 10 #7: a third party bound to an exchange saw every actor's roles, scopes and unit in `nameko.actor`."""
    from kombu import Queue

    from chassis.testing.toy import create_schema

    url = f"sqlite:///{tmp_path / 'w.db'}"
    create_schema(url)
    with Connection(amqp_uri) as conn:  # a third party's queue, bound before anything is published
        queue = Queue("ext-acme-notes", Exchange("toy_writer.events", type="topic", durable=True),
                      routing_key="#")
        queue.bind(conn.channel()).declare()
        run_services({ToyWriter: {"DATABASE_URL": url}}, **FAST)
        actor = Actor(subject="E1003", roles=("hr", "admin"), scopes=("goals:write",), org_unit="sales-east")
        rpc_client(amqp_uri, actor=actor).toy_writer.write_note({"text": "seen by acme"})
        message = wait_for(lambda: conn.SimpleQueue(queue).get(timeout=1), message="the event at acme")
        raw = message.body if isinstance(message.body, str) else message.body.decode()
        assert json.loads(raw)["actor"] == {"subject": "E1003", "kind": "person"}
        assert not any(k.endswith("actor") for k in message.headers), message.headers
        for private in ("admin", "goals:write", "sales-east"):
            assert private not in raw and private not in json.dumps(message.headers)


def test_undecodable_messages_are_parked_with_the_reason_and_counted(reader, amqp_uri):
    """issue 10 #5: kombu acked such a message with a log line; nothing was left to see or replay."""
    container, caller = reader
    bodies = [b"\xff\xfe{not utf-8", b"{not json", b'"a JSON string, not an envelope"']
    for body in bodies:
        forge(amqp_uri, body)
    forge(amqp_uri, b"\x80\x03pickled", content_type="application/x-python-serialize", content_encoding="binary")
    forge(amqp_uri, signed(note("genuine")))
    wait_for(lambda: caller.toy_reader.seen_count()["distinct"] == 1, message="the genuine event handled")
    wait_for(lambda: metric(http_get(container, "/metrics")[1], "jixiao_events_rejected_total") == 4,
             message="four rejections")
    body = http_get(container, "/metrics")[1]
    assert metric(body, "jixiao_events_rejected_total", reason="undecodable") == 3
    assert metric(body, "jixiao_events_rejected_total", reason="not_an_envelope") == 1
    messages = parked(amqp_uri, 4)
    kept = {m.body if isinstance(m.body, bytes) else m.body.encode() for m in messages}
    assert {bodies[0], bodies[1], b"\x80\x03pickled"} <= kept  # the very bytes, for an operator to inspect
    assert all(m.headers["x-jixiao-error"] for m in messages)
