"""nameko's queue consumer, with two fixes every chassis entrypoint shares (one broker connection per container):

- it checks for stop requests every 0.1 s instead of every second: nameko cancels consumers only between two
  `drain_events` calls, so a service with RPC, events and an RPC client took 2.5 s to stop;
- a message is handed to its entrypoint directly when the worker pool has room, instead of through an extra
  greenthread per message (nameko spawns one so that a full pool cannot block the consumer loop; with room
  there is nothing to block on);
- a message kombu cannot decode (not UTF-8, not JSON, a content type it does not accept) goes to the entrypoint's
  `handle_undecodable(message, exc)` when it has one (event handlers park it in their dead-letter queue); kombu
  would log a line and ack it, and the message would be gone without a trace;
- `kill()` gives up on the consumer thread after a grace period: while the broker is unreachable that thread is
  in an endless reconnect loop, and nameko's kill waited for it forever;
- an ack or requeue on a connection the broker dropped (a RabbitMQ restart) is given up quietly: nameko catches
  only AMQP's ConnectionError, so the socket's ConnectionResetError from a worker's ack killed the whole
  container. The broker has already taken the unacked message back and redelivers it; consumers deduplicate.
"""
from __future__ import annotations

import logging
import sys
from functools import partial
from typing import TYPE_CHECKING, Any

import eventlet

from chassis.framework import QueueConsumer as NamekoQueueConsumer
from chassis.framework import ReplyListener as NamekoReplyListener
from chassis.framework import SharedExtension

if TYPE_CHECKING:
    from chassis.framework import Channel, Consumer, ExcInfo, Message

KILL_GRACE_SECONDS = 2.0

log = logging.getLogger(__name__)


class QueueConsumer(NamekoQueueConsumer):
    def handle_message(self, provider: Any, body: Any, message: Message) -> None:
        if self.container._worker_pool.free() <= 0:
            return super().handle_message(provider, body, message)
        try:
            provider.handle_message(body, message)
        except Exception:  # as nameko does for an error in a managed thread: the container dies loudly
            self.container.kill(_exc_info())

    def ack_message(self, message: Message) -> None:
        try:
            super().ack_message(message)
        except OSError as error:  # ConnectionResetError, BrokenPipeError: the connection is gone
            log.warning("could not ack a message, the broker connection is gone (%s): it will be redelivered", error)

    def requeue_message(self, message: Message) -> None:
        try:
            super().requeue_message(message)
        except OSError as error:
            log.warning("could not requeue a message, the broker connection is gone (%s): the broker has it back",
                        error)

    def get_consumers(self, consumer_cls: type, channel: Channel) -> list[Consumer]:
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            prefetch = getattr(provider, "prefetch_count", None)
            if prefetch:  # batching consumers need more than one message per worker in flight
                consumer.qos(prefetch_count=prefetch)
            if getattr(provider, "no_ack", False):
                consumer.no_ack = True
            consumer.on_decode_error = partial(self._undecodable, provider)
        return consumers

    def _undecodable(self, provider: Any, message: Message, exc: Exception) -> None:
        handler = getattr(provider, "handle_undecodable", None)
        if handler is None:
            log.warning("dropped a message that cannot be decoded (%s, %s): %s", message.content_type,
                        message.content_encoding, exc)
            message.ack()
            return
        try:
            handler(message, exc)
        except Exception:  # as for any entrypoint failure in the consumer thread: the container dies loudly
            self.container.kill(_exc_info())

    def run(self, _tokens: int = 1, **kwargs: Any) -> Any:
        kwargs.setdefault("safety_interval", 0.1)
        return super().run(_tokens, **kwargs)

    def kill(self) -> None:
        if self._gt is not None and not self._gt.dead:
            self._providers = set()
            self._pending_remove_providers = {}
            self.should_stop = True
            with eventlet.Timeout(KILL_GRACE_SECONDS, False):
                try:
                    self._gt.wait()
                except Exception:  # already being killed; its error is of no further use
                    pass
            if not self._gt.dead:
                self._gt.kill()
        SharedExtension.kill(self)


def _exc_info() -> ExcInfo:
    """The exception being handled, for `container.kill` (only called inside an `except` block)."""
    kind, error, traceback = sys.exc_info()
    assert kind is not None and error is not None and traceback is not None
    return kind, error, traceback


class ReplyListener(NamekoReplyListener):
    """RPC replies without a broker ack: the reply queue belongs to this container alone and a lost reply is the
    caller's timeout, so an ack per reply (a frame and a send syscall, ~10% of a gateway's CPU) buys nothing."""

    queue_consumer = QueueConsumer()
    no_ack = True

    def handle_message(self, body: Any, message: Message) -> None:
        correlation_id: str | None = message.properties.get("correlation_id")
        waiter = None if correlation_id is None else self._reply_events.pop(correlation_id, None)
        if waiter is not None:
            waiter.send(body)
