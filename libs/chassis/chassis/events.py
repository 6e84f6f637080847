"""Consuming events: `@event_handler(source, pattern)` with inbox deduplication, retries and a dead-letter queue.

nameko's own handler acks a message whose handler failed, and the event is gone. Here a failure never loses the
event and never spins on it:

- the handler's unit of work records the event id with its effects (inbox), so a redelivery is a no-op;
- a failed delivery is re-published to a delay queue (`<queue>.retry.<ms>`: a TTL queue that dead-letters back
  into the handler's queue) and then acked, with the attempt count in a header; delays come from the
  `event_retry_delays` setting;
- after the last retry the event is parked in `<queue>.dlq` with the error, counted in
  `jixiao_events_dead_lettered_total` and visible as the DLQ depth in `jixiao_dead_letter_queue_messages`;
- a message that is not a valid envelope, came through an exchange that does not own its type, or whose
  authenticity tag does not verify under the producer's key (chassis.signing) is parked at once with the reason
  in `x-jixiao-error`/`x-jixiao-rejected` and counted in `jixiao_events_rejected_total`: it is never handled.

The copy is published (with a confirm) before the original is acked, so a crash in between duplicates, never
loses, and the inbox absorbs the duplicate. On the in-memory transport (no TTL queues) the delay is a timer.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import eventlet
from prometheus_client.core import GaugeMetricFamily
from pydantic import ValidationError

from chassis.amqp import (
    ConfirmingPublisher,
    OutgoingMessage,
    PublishError,
    connect,
    events_exchange,
    is_memory,
    queue_arguments,
)
from chassis.consumer import QueueConsumer
from chassis.context import CORRELATION_KEY
from chassis.framework import ContainerBeingKilled, Queue, SharedExtension, binding
from chassis.framework import MessagingConsumer as Consumer
from chassis.metrics import metrics_of
from chassis.runtime import settings_of
from chassis.signing import EventKeys, exchange_service, owns, type_area
from chassis.uow import AlreadyProcessed
from contracts.envelope import Envelope

if TYPE_CHECKING:
    from eventlet.greenthread import GreenThread

    from chassis.framework import Declarable, ExcInfo, Message, ServiceContainer, WorkerContext

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-jixiao-attempt"
ERROR_HEADER = "x-jixiao-error"
ORIGIN_HEADER = "x-jixiao-origin"
EXCHANGE_HEADER = "x-jixiao-exchange"  # the events exchange a retried copy first arrived through
REASON_HEADER = "x-jixiao-rejected"  # why a message was refused unhandled (a metric label's value)


class DeadLetters(SharedExtension):
    """Per container: the confirming publisher for retries and dead letters, and the DLQ depth gauge."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.queues: list[str] = []  # here, not in setup(): nameko sets extensions up concurrently
        self.consumer_queues: list[str] = []  # their depth is the consumer lag (dashboards, queue-depth HPAs)

    def setup(self) -> None:
        settings = settings_of(self.container)
        self.amqp_uri = settings.amqp_uri
        self.publisher = ConfirmingPublisher(self.amqp_uri)
        metrics_of(self.container).add_collector(self._depths)

    def stop(self) -> None:
        self.publisher.close()

    def kill(self) -> None:
        self.publisher.close()

    def watch(self, dlq_name: str) -> None:
        self.queues.append(dlq_name)

    def watch_consumer(self, queue_name: str) -> None:
        self.consumer_queues.append(queue_name)

    def _depths(self) -> list[GaugeMetricFamily]:
        family = GaugeMetricFamily("jixiao_dead_letter_queue_messages", "Events waiting in a dead-letter queue",
                                   labels=["service", "queue"])
        lag = GaugeMetricFamily("jixiao_consumer_queue_messages", "Events waiting in a consumer's queue (its lag)",
                                labels=["service", "queue"])
        watched = [(family, name) for name in self.queues] + [(lag, name) for name in self.consumer_queues]
        if not watched or is_memory(self.amqp_uri):
            for metric, name in watched:  # the in-memory broker has no passive declare; depth is unknown there
                metric.add_metric([self.container.service_name, name], 0.0)
            return [family, lag]
        conn = connect(self.amqp_uri)
        try:
            channel = conn.channel()
            for metric, name in watched:
                _, count, _ = channel.queue_declare(name, passive=True)
                metric.add_metric([self.container.service_name, name], float(count))
        finally:
            conn.release()
        return [family, lag]


class EventConsumer(Consumer):
    """Handle events from `source_service` whose type matches `event_types` (topic patterns, e.g.
    `jixiao.goals.goal.*.v1` or `#`). The handler receives the `Envelope`.

    With `batch_size=N` the handler receives a list of up to N envelopes (gathered for at most `batch_wait`
    seconds) and handles them in one unit of work: one transaction instead of N, for high-volume consumers such
    as the audit log. `uow.fresh(events)` gives the ones not handled before. If a batch fails, its events are
    handled again one by one, so only a poison event goes to retry and the dead-letter queue."""

    queue_consumer = QueueConsumer()
    dead_letters = DeadLetters()

    def __init__(self, source_service: str | list[str] | Callable[[ServiceContainer], list[str]],
                 event_types: str | list[str] | tuple[str, ...],
                 batch_size: int | None = None, batch_wait: float = 0.05, **kwargs: Any) -> None:
        # One service, several, or a function of the container that reads them from settings (the audit log
        # listens to every service): one queue, one binding per (source exchange, pattern).
        self.sources = source_service
        self.source_service = source_service if isinstance(source_service, str) else None
        self.event_types = [event_types] if isinstance(event_types, str) else list(event_types)
        if batch_size is not None and batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.prefetch_count: int | None = None
        self._buffer: list[tuple[Envelope, Message]] = []
        self._flush_timer: GreenThread | None = None
        super().__init__(queue=None, requeue_on_error=False, **kwargs)
        expected = self.expected_exceptions
        self.expected_exceptions = tuple(set(expected) | {AlreadyProcessed}) \
            if isinstance(expected, tuple) else (expected, AlreadyProcessed)

    @property
    def handler_name(self) -> str:
        return f"{self.container.service_name}.{self.method_name}"

    def setup(self) -> None:
        settings = settings_of(self.container)
        self.memory = is_memory(settings.amqp_uri)
        self.delays = [float(d) for d in settings.event_retry_delays]
        sources = self.sources(self.container) if callable(self.sources) else self.sources
        sources = [sources] if isinstance(sources, str) else list(sources)
        if not sources:
            raise SystemExit(f"{self.handler_name}: no source service to consume events from")
        self.source_service = sources[0]  # names the queue
        self.source_names = set(sources)
        self.keys = EventKeys()
        for source in sources:  # production: a producer whose key this consumer lacks stops the start
            self.keys.require(source)
        exchanges = [events_exchange(source) for source in sources]
        patterns = "+".join(t.replace("*", "_").replace("#", "all") for t in self.event_types)
        name = f"evt-{self.source_service}-{patterns}--{self.handler_name}"
        if len(name) > 200:
            import hashlib
            name = f"evt-{self.source_service}-{hashlib.sha1(patterns.encode()).hexdigest()[:12]}--{self.handler_name}"
        self.queue_name = name
        self.queue = Queue(name, bindings=[binding(exchange, routing_key=t) for exchange in exchanges
                                           for t in self.event_types],
                           durable=True, auto_delete=False,
                           queue_arguments=queue_arguments(settings.amqp_queue_type))
        self.dlq_name = f"{name}.dlq"
        self.retry_queues: dict[float, str] = {}
        declare: list[Declarable] = [*exchanges, Queue(self.dlq_name, durable=True,
                                        queue_arguments=queue_arguments(settings.amqp_queue_type))]
        if not self.memory:
            for delay in self.delays:
                ms = max(1, int(delay * 1000))
                retry_name = f"{name}.retry.{ms}"
                self.retry_queues[delay] = retry_name
                declare.append(Queue(retry_name, durable=True, queue_arguments=queue_arguments(
                    settings.amqp_queue_type,
                    **{"x-message-ttl": ms, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": name})))
        conn = connect(settings.amqp_uri)
        try:
            channel = conn.channel()
            for entity in declare:
                entity.bind(channel).declare()
            self.queue.bind(channel).declare()  # before any publisher runs, so nothing is dropped as unroutable
        finally:
            conn.release()
        self.dead_letters.watch(self.dlq_name)
        self.dead_letters.watch_consumer(name)
        self.metrics = metrics_of(self.container)
        if self.batch_size:
            self.prefetch_count = max(settings.event_prefetch, 2 * self.batch_size)
        self.queue_consumer.register_provider(self)

    # the unit of work asks the entrypoint which inbox rows to claim
    def inbox_claim(self, worker_ctx: WorkerContext) -> tuple[str, list[str], bool]:
        """(handler name, event ids, whether the handler takes a batch)."""
        events = worker_ctx.args[0]
        if self.batch_size:
            return self.handler_name, [e.id for e in events], True
        return self.handler_name, [events.id], False

    def handle_message(self, body: Any, message: Message) -> None:
        try:
            raw = json.loads(body) if isinstance(body, (bytes, str)) else body
            envelope = Envelope.model_validate(raw)
        except (ValidationError, ValueError, TypeError) as exc:
            self._reject(message, "not_an_envelope", f"not a valid event envelope: {exc}")
            return
        refused = self._untrusted(raw, envelope, message)
        if refused is not None:
            self._reject(message, *refused)
            return
        if self.batch_size:
            self._buffer.append((envelope, message))
            if len(self._buffer) >= self.batch_size:
                self._flush()
            elif self._flush_timer is None:
                self._flush_timer = eventlet.spawn_after(self.batch_wait, self._flush)
            return
        # only the correlation id: an actor (roles!) in a header of a broker message is no identity
        context_data = {k: v for k, v in self.unpack_message_headers(message).items() if k == CORRELATION_KEY}
        try:
            self.container.spawn_worker(self, (envelope,), {}, context_data=context_data,
                                        handle_result=partial(self.handle_result, message))
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_undecodable(self, message: Message, exc: Exception) -> None:
        """Not UTF-8, not JSON, or a content type kombu refuses: parked with the reason, counted, never lost."""
        self._reject(message, "undecodable", f"cannot decode the body ({message.content_type}, "
                                             f"{message.content_encoding}): {type(exc).__name__}: {exc}"[:500])

    def _untrusted(self, raw: dict[str, Any], envelope: Envelope, message: Message) -> tuple[str, str] | None:
        """(reason, detail) when the event must not be handled: it came through an exchange that does not own its
        type, or its authenticity tag does not verify under the producer's keys."""
        exchange = (message.delivery_info or {}).get("exchange") or ""
        headers = message.headers or {}
        if not exchange and ATTEMPT_HEADER in headers:  # a retried copy: back through the default exchange
            exchange = str(headers.get(EXCHANGE_HEADER) or "")
        producer = exchange_service(exchange)
        if producer is None or producer not in self.source_names:
            return "wrong_exchange", f"arrived through {exchange or 'the default exchange'!r}, not the events " \
                                     f"exchange of a service this handler listens to"
        if not owns(producer, envelope.type) or type_area(envelope.type) != envelope.service:
            return "wrong_exchange", f"{envelope.type} from {envelope.source} is not {producer}'s to publish " \
                                     f"(only {type_area(envelope.type)}.events carries it)"
        problem = self.keys.verify(producer, raw)
        if problem is not None:
            return "not_authentic", problem
        return None

    def _reject(self, message: Message, reason: str, detail: str) -> None:
        """Park a message that must never be handled, with the reason, and count it."""
        self.metrics.rejected.labels(self.container.service_name, self.handler_name, reason).inc()
        headers = dict(message.headers or {})
        headers[REASON_HEADER] = reason
        self._park(message, detail, headers)

    def handle_result(self, message: Message, worker_ctx: WorkerContext, result: Any = None,
                      exc_info: ExcInfo | None = None) -> tuple[Any, ExcInfo | None]:
        if exc_info is None:
            self._count("ok")
            self.queue_consumer.ack_message(message)
        elif isinstance(exc_info[1], AlreadyProcessed):
            self._count("duplicate")
            self.queue_consumer.ack_message(message)
            exc_info = None
        else:
            self._count("error")
            self._retry_or_park(message, exc_info[1])
        return result, exc_info

    # -- batches ---------------------------------------------------------------------------------------------
    def _flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        items, self._buffer = self._buffer, []
        if items:
            self._spawn_batch(items)

    def _spawn_batch(self, items: list[tuple[Envelope, Message]]) -> None:
        try:
            self.container.spawn_worker(self, ([envelope for envelope, _ in items],), {}, context_data={},
                                        handle_result=partial(self.handle_batch_result, items))
        except ContainerBeingKilled:
            for _, message in items:
                self.queue_consumer.requeue_message(message)

    def handle_batch_result(self, items: list[tuple[Envelope, Message]], worker_ctx: WorkerContext,
                            result: Any = None, exc_info: ExcInfo | None = None) -> tuple[Any, ExcInfo | None]:
        if exc_info is None or isinstance(exc_info[1], AlreadyProcessed):
            self._count("ok", len(items))
            for _, message in items:
                self.queue_consumer.ack_message(message)
            return result, None
        if len(items) == 1:
            self._count("error")
            self._retry_or_park(items[0][1], exc_info[1])
            return result, exc_info
        log.warning("a batch of %d events failed (%s); handling them one by one", len(items), exc_info[1])
        for item in items:  # from a managed thread: this worker still holds a pool slot
            self.container.spawn_managed_thread(partial(self._spawn_batch, [item]), identifier="event-isolation")
        return result, exc_info

    def kill(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        super().kill()

    def _count(self, outcome: str, n: int = 1) -> None:
        self.metrics.events_handled.labels(self.container.service_name, self.handler_name, outcome).inc(n)

    def _retry_or_park(self, message: Message, error: BaseException) -> None:
        headers = dict(message.headers or {})
        attempt = int(headers.get(ATTEMPT_HEADER, 0)) + 1
        headers[ATTEMPT_HEADER] = attempt
        headers[ERROR_HEADER] = f"{type(error).__name__}: {error}"[:500]
        headers.setdefault(EXCHANGE_HEADER, (message.delivery_info or {}).get("exchange") or "")
        if attempt > len(self.delays):
            self._park(message, headers[ERROR_HEADER], headers)
            return
        delay = self.delays[attempt - 1]
        self.metrics.retried.labels(self.container.service_name, self.queue_name).inc()
        copy = OutgoingMessage("", self.retry_queues.get(delay, self.queue_name), message.body, headers,
                               message_id=message.properties.get("message_id"),
                               type=message.properties.get("type"))
        if self.memory:
            eventlet.spawn_after(delay, self._republish_quietly, copy)
            self.queue_consumer.ack_message(message)
            return
        self._publish_then_ack(message, copy)

    def _park(self, message: Message, reason: str, headers: dict[str, Any] | None = None) -> None:
        headers = dict(headers if headers is not None else (message.headers or {}))
        headers[ERROR_HEADER] = reason[:500]
        headers[ORIGIN_HEADER] = self.queue_name
        headers["x-jixiao-parked-at"] = time.time()
        log.error("event parked in %s: %s", self.dlq_name, reason)
        self.metrics.dead_lettered.labels(self.container.service_name, self.dlq_name).inc()
        self._publish_then_ack(message, OutgoingMessage(
            "", self.dlq_name, message.body, headers, message_id=message.properties.get("message_id"),
            type=message.properties.get("type")))

    def _publish_then_ack(self, message: Message, copy: OutgoingMessage) -> None:
        try:
            self.dead_letters.publisher.publish(copy)
        except PublishError as exc:
            # cannot hand it on: give it back to the broker after a pause rather than lose it or spin on it
            log.warning("could not republish a failed event (%s); requeueing it", exc)
            eventlet.sleep(1.0)
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)

    def _republish_quietly(self, copy: OutgoingMessage) -> None:
        try:
            self.dead_letters.publisher.publish(copy)
        except PublishError as exc:  # in-memory broker only; process-local by nature
            log.error("could not retry an event in memory: %s", exc)


event_handler = EventConsumer.decorator
