"""AMQP consumers of registered clients (issue 15 #3): a client that prefers AMQP gets its own broker user and one
queue, bound only to the routing keys its `event_patterns` allow; the user may read that queue and nothing else.

The database says what the broker should hold (`bindings`, `state`); `sync` tells the broker and records what it
applied, so a broker that was unreachable is caught up by the next sweep. The client read model (kept from
compliance's `client.*` events and the registry refresh, usecases.webhooks) decides: patterns changed → the queue
is rebound; client revoked or agreement lapsed → the user is deleted, its connections closed and its queue removed.
"""
from __future__ import annotations

import logging
import secrets
from typing import Protocol

from sqlalchemy import select

from contracts import notifications as c
from contracts.actor import Actor
from notifications import models as m
from notifications.domain import consumers as rules
from notifications.domain.errors import Conflict, InvalidInput, NotFound
from notifications.domain.webhooks import stop_reason
from notifications.repositories import NotificationsUnitOfWork
from notifications.usecases.common import managed, may_manage

log = logging.getLogger(__name__)


class BrokerAdmin(Protocol):
    """What the use cases need from the broker (notifications.brokeraccess implements it)."""

    vhost: str

    def provision(self, user: str, password: str, queue: str, bindings: list[rules.Binding],
                  topics: dict[str, str]) -> None: ...

    def rebind(self, user: str, queue: str, add: list[rules.Binding], remove: list[rules.Binding],
               topics: dict[str, str]) -> None: ...

    def revoke(self, user: str, queue: str, reason: str) -> None: ...

    def uri(self, user: str, password: str) -> str: ...


def _pairs(found: list[rules.Binding]) -> list[list[str]]:
    return [[b.exchange, b.routing_key] for b in found]


def _bindings(pairs: list[list[str]]) -> list[rules.Binding]:
    return [rules.Binding(exchange, key) for exchange, key in pairs]


def consumer_view(row: m.AmqpConsumer, password: str | None = None, uri: str | None = None) -> c.AmqpConsumerView:
    return c.AmqpConsumerView(
        client_id=row.client_id, username=row.username, queue=row.queue, vhost=row.vhost,
        bindings=[c.AmqpBinding(exchange=e, routing_key=k) for e, k in row.bindings], state=row.state,
        stopped_reason=row.stopped_reason, created_at=row.created_at,
        credentials_issued_at=row.credentials_issued_at, password=password, amqp_uri=uri)


def create_consumer(uow: NotificationsUnitOfWork, actor: Actor | None, command: c.CreateAmqpConsumer,
                    broker: BrokerAdmin | None) -> c.AmqpConsumerView:
    """Provision (or re-issue) the client's user and queue; the password is answered here and nowhere else."""
    if broker is None:
        raise Conflict("AMQP consumers need the suite's RabbitMQ (this suite runs on an in-memory broker)",
                       field="client_id")
    with uow:
        may_manage(uow, actor, command.client_id)
        client = uow.session.get(m.Client, command.client_id)
        if client is None:
            raise NotFound(f"no registered client {command.client_id}", field="client_id")
        reason = stop_reason(client.status, client.dpa_expires, uow.now())
        if reason:
            raise InvalidInput("client_id", f"the client may not receive events: {reason}")
        found = rules.bindings(client.event_patterns)
        if not found:
            raise InvalidInput("client_id", "the client's event patterns match no event type of the suite")
        client_id = client.client_id
        existing = uow.session.get(m.AmqpConsumer, client_id)
        previously = _bindings(existing.applied) if existing is not None and existing.state == "active" else []
    user, queue, password = rules.username(client_id), rules.queue_name(client_id), secrets.token_urlsafe(24)
    # the broker first: if it fails nothing is recorded and nothing was handed out
    broker.provision(user, password, queue, found, rules.topic_permissions(found))
    stale = [b for b in previously if b not in found]
    if stale:
        broker.rebind(user, queue, [], stale, rules.topic_permissions(found))
    with uow:
        now = uow.now()
        row = uow.session.get(m.AmqpConsumer, client_id)
        if row is None:
            row = m.AmqpConsumer(client_id=client_id, created_by=actor.subject if actor else "system",
                                 created_at=now)
            uow.session.add(row)
        row.username, row.queue, row.vhost = user, queue, broker.vhost
        row.bindings = row.applied = _pairs(found)
        row.broker_pending, row.state, row.stopped_reason = False, "active", None
        row.credentials_issued_at = row.updated_at = now
        uow.session.flush()
        uow.publish(c.AmqpConsumerIssued(client_id=client_id, username=user, queue=queue,
                                         routing_keys=[f"{b.exchange} {b.routing_key}" for b in found],
                                         issued_by=row.created_by if actor is None else actor.subject))
        return consumer_view(row, password=password, uri=broker.uri(user, password))


def list_consumers(uow: NotificationsUnitOfWork, actor: Actor | None,
                   query: c.ListAmqpConsumers) -> c.AmqpConsumerList:
    with uow:
        stmt = managed(uow, actor, select(m.AmqpConsumer).order_by(m.AmqpConsumer.created_at),
                       m.AmqpConsumer.client_id, query.client_id)
        return c.AmqpConsumerList(consumers=[consumer_view(row) for row in uow.session.scalars(stmt)])


def _plan(uow: NotificationsUnitOfWork, client_ids: list[str] | None) -> list[str]:
    """Bring each consumer's wanted state in line with its client (inside an open unit of work); returns the
    consumers the broker must be told about."""
    stmt = select(m.AmqpConsumer).where(m.AmqpConsumer.state == "active")
    if client_ids is not None:
        stmt = stmt.where(m.AmqpConsumer.client_id.in_(client_ids))
    now = uow.now()
    for row in uow.session.scalars(stmt):
        client = uow.session.get(m.Client, row.client_id)
        reason = "client unknown to the registry" if client is None else \
            stop_reason(client.status, client.dpa_expires, now)
        wanted = [] if client is None else _pairs(rules.bindings(client.event_patterns))
        if reason:
            row.state, row.stopped_reason, row.bindings = "revoked", reason, []
            uow.publish(c.AmqpConsumerRevoked(client_id=row.client_id, username=row.username, reason=reason))
        elif wanted != row.bindings:
            row.bindings = wanted
        else:
            continue
        row.broker_pending, row.updated_at = True, now
    pending = select(m.AmqpConsumer.client_id).where(m.AmqpConsumer.broker_pending.is_(True))
    return list(uow.session.scalars(pending))


def sync(uow: NotificationsUnitOfWork, broker: BrokerAdmin | None, client_ids: list[str] | None = None) -> int:
    """Apply the client registry to the consumers and tell the broker; returns how many the broker caught up
    with. A broker failure is logged and left pending for the next sweep (never raised into an event handler)."""
    with uow:
        pending = _plan(uow, client_ids)
    if broker is None or not pending:
        return 0
    done = 0
    for client_id in pending:
        with uow:
            row = uow.session.get(m.AmqpConsumer, client_id)
            if row is None or not row.broker_pending:
                continue
            user, queue, state, reason = row.username, row.queue, row.state, row.stopped_reason or ""
            wanted, applied = _bindings(row.bindings), _bindings(row.applied)
        try:
            if state == "revoked":
                broker.revoke(user, queue, reason)
            else:
                broker.rebind(user, queue, [b for b in wanted if b not in applied],
                              [b for b in applied if b not in wanted], rules.topic_permissions(wanted))
        except Exception as exc:  # the broker or rabbitmqctl is unavailable: the next sweep tries again
            log.warning("broker not updated for the consumer of %s: %s", client_id, exc)
            continue
        with uow:
            row = uow.session.get(m.AmqpConsumer, client_id)
            if row is not None and _bindings(row.bindings) == wanted and row.state == state:
                row.applied, row.broker_pending, row.updated_at = _pairs(wanted), False, uow.now()
                done += 1
    return done
