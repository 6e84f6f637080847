"""The broker side of AMQP consumers (usecases.consumers.BrokerAdmin) on this machine's RabbitMQ.

Users, permissions and topic permissions go through `rabbitmqctl import_definitions` (chassis.brokerusers: one
run per change, the password only as RabbitMQ's salted hash); the queue and its bindings through this service's
own AMQP connection (its broker user may configure and write `ext-…` queues, chassis.brokerusers
PROVISIONED_QUEUES). The RabbitMQ management plugin is not needed.
"""
from __future__ import annotations

import time
from urllib.parse import quote, unquote, urlsplit

from chassis import brokerusers
from chassis.amqp import connect, events_exchange, is_memory, queue_arguments
from notifications.domain.consumers import Binding

READY_TIMEOUT = 15.0  # the broker applies imported definitions asynchronously


class RabbitmqctlBroker:
    def __init__(self, amqp_uri: str, queue_type: str = "classic", public_address: str = "",
                 ctl: brokerusers.Rabbitmqctl | None = None):
        parts = urlsplit(amqp_uri)
        self.amqp_uri = amqp_uri
        self.scheme = parts.scheme or "amqp"
        self.vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        self.address = public_address or f"{parts.hostname}:{parts.port or 5672}"
        self.queue_type = queue_type
        self.ctl = ctl or brokerusers.Rabbitmqctl()

    @classmethod
    def for_settings(cls, settings) -> RabbitmqctlBroker | None:
        """None when there is no broker to provision on (the embedded suite) or provisioning is off."""
        if settings.broker_admin == "none" or is_memory(settings.amqp_uri):
            return None
        return cls(settings.amqp_uri, settings.amqp_queue_type, settings.consumer_amqp_address)

    def uri(self, user: str, password: str) -> str:
        return f"{self.scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{self.address}/" \
               f"{quote(self.vhost, safe='')}"

    def _topic_definitions(self, user: str, topics: dict[str, str]) -> dict[str, object]:
        return {"topic_permissions": [{"user": user, "vhost": self.vhost, "exchange": exchange, "write": "^$",
                                       "read": regex} for exchange, regex in topics.items()]}

    def _bind(self, queue: str, add: list[Binding], remove: list[Binding], declare: bool) -> None:
        with connect(self.amqp_uri, connect_timeout=10) as conn:
            channel = conn.channel()
            if declare:
                channel.queue_declare(queue, durable=True, auto_delete=False,
                                      arguments=queue_arguments(self.queue_type))
            for binding in add:
                events_exchange(binding.exchange.removesuffix(".events"))(channel).declare()
                channel.queue_bind(queue, binding.exchange, binding.routing_key)
            for binding in remove:
                channel.queue_unbind(queue, binding.exchange, binding.routing_key)

    def provision(self, user: str, password: str, queue: str, bindings: list[Binding],
                  topics: dict[str, str]) -> None:
        self._bind(queue, bindings, [], declare=True)
        perms = brokerusers.consumer_permissions(queue, topics)
        self.ctl.import_definitions(brokerusers.definitions(self.vhost, user, password, perms))
        self._wait_usable(self.uri(user, password), queue)

    def rebind(self, user: str, queue: str, add: list[Binding], remove: list[Binding],
               topics: dict[str, str]) -> None:
        self.ctl.import_definitions(self._topic_definitions(user, topics))
        self._bind(queue, add, remove, declare=False)

    def revoke(self, user: str, queue: str, reason: str) -> None:
        self.ctl.delete_user(user)  # no new connection, no new channel
        self.ctl.close_user_connections(user, f"access revoked: {reason}"[:200])
        with connect(self.amqp_uri, connect_timeout=10) as conn:
            conn.channel().queue_delete(queue)  # the events it held were for that client only

    def _wait_usable(self, uri: str, queue: str) -> None:
        """Answer the credentials only once they work: log in and look at the queue (a passive declare)."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                with connect(uri, connect_timeout=5) as conn:
                    conn.channel().queue_declare(queue, passive=True)
                    return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
