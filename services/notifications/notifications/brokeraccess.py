"""The broker side of AMQP consumers (usecases.consumers.BrokerAdmin).

Users, permissions and topic permissions are one definitions document (chassis.brokerusers: the password only as
RabbitMQ's salted hash), applied by `rabbitmqctl import_definitions` where the service runs beside the broker's
node (development, CI, this machine: no management plugin needed), or POSTed to the management API's
`/api/definitions` where it does not (Kubernetes: `BROKER_ADMIN=http://<admin>:<password>@<host>:15672`, the
cluster operator's default user). The queue and its bindings always go through this service's own AMQP connection
(its broker user may configure and write `ext-…` queues, chassis.brokerusers PROVISIONED_QUEUES).
"""
from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from urllib.parse import quote, unquote, urlsplit

from chassis import brokerusers
from chassis.amqp import connect, events_exchange, is_memory, queue_arguments
from notifications.domain.consumers import Binding

READY_TIMEOUT = 15.0  # the broker applies imported definitions asynchronously


class ManagementApi:
    """The few calls of `brokerusers.Rabbitmqctl` the consumers need, over the management plugin's HTTP API."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        parts = urlsplit(base_url)
        self.base = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}"
        self.auth = "Basic " + base64.b64encode(
            f"{unquote(parts.username or '')}:{unquote(parts.password or '')}".encode()).decode()
        self.timeout = timeout

    def _call(self, method: str, path: str, body: object = None) -> None:
        request = urllib.request.Request(self.base + path, method=method, headers={
            "Authorization": self.auth, "content-type": "application/json"},
            data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout):
                return
        except urllib.error.HTTPError as exc:
            if not (method == "DELETE" and exc.code == 404):  # already gone
                raise RuntimeError(f"{method} {path}: {exc.code} {exc.read()[:300]!r}") from None

    def import_definitions(self, document: dict[str, object]) -> None:
        self._call("POST", "/api/definitions", document)

    def delete_user(self, user: str) -> None:
        self._call("DELETE", f"/api/users/{quote(user, safe='')}")

    def close_user_connections(self, user: str, reason: str) -> None:
        self._call("DELETE", f"/api/connections/username/{quote(user, safe='')}")


class RabbitmqctlBroker:
    def __init__(self, amqp_uri: str, queue_type: str = "classic", public_address: str = "",
                 ctl: brokerusers.Rabbitmqctl | ManagementApi | None = None, max_length: int = 100_000):
        parts = urlsplit(amqp_uri)
        self.amqp_uri = amqp_uri
        self.scheme = parts.scheme or "amqp"
        self.vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        self.address = public_address or f"{parts.hostname}:{parts.port or 5672}"
        if "://" in self.address:  # amqps://host:5671: TLS outside the cluster
            self.scheme, self.address = self.address.split("://", 1)
        self.queue_type = queue_type
        self.max_length = max_length
        self.ctl = ctl or brokerusers.Rabbitmqctl()

    @classmethod
    def for_settings(cls, settings) -> RabbitmqctlBroker | None:
        """None when there is no broker to provision on (the embedded suite) or provisioning is off."""
        if settings.broker_admin == "none" or is_memory(settings.amqp_uri):
            return None
        admin = ManagementApi(settings.broker_admin) if settings.broker_admin.startswith(("http://", "https://")) \
            else None
        return cls(settings.amqp_uri, settings.amqp_queue_type, settings.consumer_amqp_address, admin,
                   settings.consumer_queue_max_length)

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
                # bounded: a client that stops reading loses its oldest events, it never fills the broker (whose
                # alarms would stop every publisher of the suite)
                channel.queue_declare(queue, durable=True, auto_delete=False, arguments=queue_arguments(
                    self.queue_type, **{"x-max-length": self.max_length, "x-overflow": "drop-head"}))
            for binding in add:
                events_exchange(binding.exchange.removesuffix(".events"))(channel).declare()
                channel.queue_bind(queue, binding.exchange, binding.routing_key)
            for binding in remove:
                channel.queue_unbind(queue, binding.exchange, binding.routing_key)

    def provision(self, user: str, password: str, queue: str, bindings: list[Binding],
                  topics: dict[str, str]) -> None:
        # the user first: a failure leaves no bound queue filling up for nobody
        perms = brokerusers.consumer_permissions(queue, topics)
        self.ctl.import_definitions(brokerusers.definitions(self.vhost, user, password, perms))
        self._bind(queue, bindings, [], declare=True)
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
