"""Broker plumbing: connections, exchanges and two publishers.

- `ConfirmingPublisher` is for what must not be lost (outbox relay, retries, dead letters): persistent messages
  with publisher confirms, pipelined — a whole batch is written, then the confirms are awaited together, instead
  of one blocking round trip per message.
- `FastPublisher` is for RPC requests and replies: transient, no confirms (the reply is the acknowledgement and
  the caller times out), on one long-lived connection instead of a new kombu connection object per publish.

Both hold one connection and serialise access to it: py-amqp is not safe for two greenthreads writing frames to
the same socket at once.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import amqp
import eventlet
from eventlet.semaphore import Semaphore

from chassis.framework import Connection, Exchange, Producer

if TYPE_CHECKING:
    from chassis.framework import Channel, Declarable
    from chassis.signing import EventKeys

log = logging.getLogger(__name__)

PERSISTENT = 2
TRANSIENT = 1


def is_memory(amqp_uri: str) -> bool:
    return amqp_uri.startswith("memory://")


def transport_options(amqp_uri: str) -> dict[str, Any]:
    if is_memory(amqp_uri):
        # kombu's virtual transport polls; its default 1 s makes every in-process call take a second.
        return {"polling_interval": 0.002}
    return {"max_retries": 3, "interval_start": 0.5, "interval_step": 1, "interval_max": 3}


def nameko_amqp_config(amqp_uri: str, heartbeat: int = 30) -> dict[str, Any]:
    return {"AMQP_URI": amqp_uri, "TRANSPORT_OPTIONS": transport_options(amqp_uri), "HEARTBEAT": heartbeat}


def connect(amqp_uri: str, heartbeat: int | None = None, connect_timeout: float | None = None) -> Connection:
    if connect_timeout is None:
        return Connection(amqp_uri, transport_options=transport_options(amqp_uri), heartbeat=heartbeat)
    return Connection(amqp_uri, transport_options=transport_options(amqp_uri), heartbeat=heartbeat,
                      connect_timeout=connect_timeout)


def events_exchange(service: str) -> Exchange:
    """The topic exchange a service's events are published to (nameko's naming, so nameko tools interoperate)."""
    return Exchange(f"{service}.events", type="topic", durable=True, auto_delete=False)


def queue_arguments(queue_type: str, **arguments: Any) -> dict[str, Any]:
    """Arguments of a durable queue the chassis declares: `x-queue-type: quorum` added when AMQP_QUEUE_TYPE says
    so (nothing for classic, so queues declared before the setting existed stay equivalent)."""
    return {**arguments, "x-queue-type": "quorum"} if queue_type == "quorum" else dict(arguments)


class PublishError(Exception):
    """The broker did not take the message(s): unreachable, closed the channel or nacked."""


@dataclass
class OutgoingMessage:
    exchange: str
    routing_key: str
    body: bytes | str
    headers: dict[str, Any] = field(default_factory=dict)
    message_id: str | None = None
    type: str | None = None
    expiration: float | None = None  # seconds
    properties: dict[str, Any] = field(default_factory=dict)
    deadline: float | None = None  # time.monotonic() by which the message is of no use: the expiry is what remains

    def ttl(self) -> float | None:
        """Seconds the broker may keep it: what remains of the deadline when it is actually sent."""
        if self.deadline is None:
            return self.expiration
        return max(0.001, self.deadline - time.monotonic())


class _Channel:
    """One connection and channel, opened lazily and dropped on any broker error."""

    def __init__(self, amqp_uri: str, declare: Iterable[Declarable] = ()) -> None:
        self.amqp_uri = amqp_uri
        self.declare = list(declare)
        self.lock = Semaphore(1)
        self.connection: Connection | None = None
        self.channel: Channel | None = None
        self.producer: Producer | None = None

    def open(self, timeout: float = 5.0) -> None:
        if self.producer is not None:
            return
        timeout = max(0.05, min(5.0, timeout))
        conn = connect(self.amqp_uri, connect_timeout=timeout)
        try:
            conn.ensure_connection(max_retries=0, timeout=timeout)  # one attempt: callers decide on retrying
            channel = conn.channel()
            for entity in self.declare:
                entity.bind(channel).declare()
            self.on_open(channel)
        except Exception:
            conn.release()
            raise
        self.connection, self.channel = conn, channel
        self.producer = Producer(channel)

    def on_open(self, channel: Channel) -> None:
        pass

    @property
    def raw_amqp(self) -> bool:
        return self.connection is not None and self.connection.transport.driver_type == "amqp"

    def _publish_raw(self, msg: OutgoingMessage, delivery_mode: int) -> None:
        """py-amqp directly: kombu's Producer.publish costs more than the whole broker round trip of a small RPC."""
        props = {k: v for k, v in msg.properties.items() if v is not None}
        if msg.message_id:
            props["message_id"] = msg.message_id
        if msg.type:
            props["type"] = msg.type
        ttl = msg.ttl()
        if ttl is not None:
            props["expiration"] = str(max(1, int(ttl * 1000)))
        body = msg.body.encode() if isinstance(msg.body, str) else msg.body
        message = amqp.Message(body, content_type="application/json", content_encoding="utf-8",
                               application_headers=msg.headers or {}, delivery_mode=delivery_mode, **props)
        assert self.channel is not None  # open() ran: raw_amqp is only true on an open connection
        self.channel.basic_publish(message, exchange=msg.exchange, routing_key=msg.routing_key)

    def reset(self) -> None:
        conn, self.connection, self.channel, self.producer = self.connection, None, None, None
        if conn is not None:
            try:
                conn.release()
            except Exception:  # already broken; nothing more to free
                pass

    def close(self) -> None:
        with self.lock:
            self.reset()

    def _publish_one(self, msg: OutgoingMessage, delivery_mode: int) -> None:
        if self.raw_amqp:
            self._publish_raw(msg, delivery_mode)
            return
        props = dict(msg.properties)
        if msg.message_id:
            props["message_id"] = msg.message_id
        if msg.type:
            props["type"] = msg.type
        ttl = msg.ttl()
        if ttl is not None:
            props["expiration"] = max(0.001, ttl)  # kombu takes seconds and sends milliseconds
        body = msg.body.encode() if isinstance(msg.body, str) else msg.body
        assert self.producer is not None  # callers open() first
        self.producer.publish(
            body,
            exchange=msg.exchange,
            routing_key=msg.routing_key,
            content_type="application/json",
            content_encoding="utf-8",
            headers=msg.headers,
            delivery_mode=delivery_mode,
            retry=False,
            **props,
        )


class FastPublisher(_Channel):
    """Transient, unconfirmed publishing on a long-lived connection (RPC requests and replies).

    A caller's deadline bounds everything: waiting for the connection (one greenthread writes at a time), opening
    it, and the message's expiry at the broker (what remains of the deadline, not the whole timeout again). When
    the broker cannot be reached, calls fail at once for `down_for` seconds instead of each queueing behind a
    reconnect: the gateway answers 503 with Retry-After within the deadline rather than 504 after it."""

    down_for = 1.0

    def __init__(self, amqp_uri: str, declare: Iterable[Declarable] = ()) -> None:
        super().__init__(amqp_uri, declare)
        self._down_until = 0.0

    def publish(self, msg: OutgoingMessage) -> None:
        now = time.monotonic()
        if now < self._down_until:
            raise PublishError(f"broker unreachable (next attempt in {self._down_until - now:.1f}s)")
        remaining = None if msg.deadline is None else msg.deadline - now
        if remaining is not None and remaining <= 0:
            raise PublishError("the deadline passed before the message could be sent")
        if not self.lock.acquire(timeout=remaining):
            raise PublishError("the broker connection stayed busy past the deadline")
        try:
            for attempt in (1, 2):  # one transparent reconnect: a stale connection is the common failure
                was_open = self.producer is not None
                try:
                    left = 5.0 if msg.deadline is None else msg.deadline - time.monotonic()
                    if left <= 0:
                        raise PublishError("the deadline passed before the message could be sent")
                    self.open(timeout=left)
                    self._publish_one(msg, TRANSIENT)
                    return
                except Exception as exc:
                    self.reset()
                    if attempt == 2 or not was_open or isinstance(exc, PublishError):
                        self._down_until = time.monotonic() + self.down_for
                        raise PublishError(str(exc) or type(exc).__name__) from exc
        finally:
            self.lock.release()


class ConfirmingPublisher(_Channel):
    """Persistent messages with pipelined publisher confirms (no confirms on the in-memory transport)."""

    def __init__(self, amqp_uri: str, declare: Iterable[Declarable] = (), confirm_timeout: float = 15.0,
                 keys: EventKeys | None = None) -> None:
        super().__init__(amqp_uri, declare)
        self.confirm_timeout = confirm_timeout
        from chassis.signing import EventKeys

        self.keys = keys if keys is not None else EventKeys()
        self.confirms = not is_memory(amqp_uri)
        self._outstanding: set[int] = set()
        self._nacked: list[int] = []
        self._next_tag = 1

    def on_open(self, channel: Channel) -> None:
        if not self.confirms:
            return
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        self._next_tag = 1
        self._outstanding = set()
        self._nacked = []

    def _settle(self, tag: int, multiple: bool) -> list[int]:
        if multiple:
            done = [t for t in self._outstanding if t <= tag]
        else:
            done = [tag] if tag in self._outstanding else []
        self._outstanding.difference_update(done)
        return done

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._nacked.extend(self._settle(delivery_tag, multiple))

    def publish(self, msg: OutgoingMessage) -> None:
        self.publish_batch([msg])

    def _signed(self, msg: OutgoingMessage) -> OutgoingMessage:
        """An envelope published on `<svc>.events` leaves signed with `<svc>`'s key when this process holds it
        (the outbox relay always does; see chassis.signing). Copies to retry and dead-letter queues keep the tag
        they arrived with."""
        from chassis.signing import SIGNATURE, MissingKey, exchange_service

        service = exchange_service(msg.exchange)
        if service is None:
            return msg
        try:
            envelope = json.loads(msg.body)
        except ValueError:
            return msg  # not an envelope: nothing to sign (a consumer parks it)
        if not isinstance(envelope, dict) or "specversion" not in envelope or envelope.get(SIGNATURE):
            return msg
        try:
            signed = self.keys.sign(service, envelope)
        except MissingKey:
            return msg  # not ours to sign: consumers will refuse it
        body = json.dumps(signed, separators=(",", ":"), ensure_ascii=False)
        return OutgoingMessage(msg.exchange, msg.routing_key, body, msg.headers, msg.message_id, msg.type,
                               msg.expiration, msg.properties)

    def publish_batch(self, messages: list[OutgoingMessage]) -> int:
        """Publish all and wait for every confirm. Returns how many were confirmed, in order from the first;
        raises PublishError when none could be (the caller keeps the rest and retries later)."""
        if not messages:
            return 0
        messages = [self._signed(msg) for msg in messages]
        with self.lock:
            try:
                self.open()
                tags: list[int] = []
                for msg in messages:
                    self._publish_one(msg, PERSISTENT)
                    if self.confirms:
                        tags.append(self._next_tag)
                        self._outstanding.add(self._next_tag)
                        self._next_tag += 1
                if not self.confirms:
                    return len(messages)
                deadline = time.monotonic() + self.confirm_timeout
                while self._outstanding:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise PublishError(f"{len(self._outstanding)} confirms not received in time")
                    assert self.connection is not None  # open() above
                    try:
                        self.connection.drain_events(timeout=min(remaining, 1.0))
                    except TimeoutError:
                        continue
                    except OSError as exc:
                        if "timed out" in str(exc):
                            continue
                        raise
                if self._nacked:
                    first_bad = min(self._nacked)
                    self._nacked = []
                    good = tags.index(first_bad) if first_bad in tags else 0
                    if good == 0:
                        raise PublishError("broker refused the message (nack)")
                    return good
                return len(messages)
            except PublishError:
                self.reset()
                raise
            except Exception as exc:
                self.reset()
                raise PublishError(f"{type(exc).__name__}: {exc}") from exc


def backoff(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with a cap (attempt counts from 1)."""
    return min(cap, base * float(2 ** max(0, attempt - 1)))


def sleep(seconds: float) -> None:
    eventlet.sleep(seconds)
