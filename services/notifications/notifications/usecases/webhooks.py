"""Webhook subscriptions of registered clients: subscribe (patterns within the client's, a URL the suite may
call), list, see deliveries and attempts, replay from a point in time; and the client read model kept from
compliance's registry events, which stops subscriptions of a revoked client or a lapsed agreement."""
from __future__ import annotations

import secrets
import socket
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select, update

from chassis.access import Resource
from chassis.errors import NotFound as Hidden  # the guard's 404: the same for a missing and a hidden record
from contracts import notifications as c
from contracts.actor import Actor
from contracts.envelope import Envelope
from notifications import models as m
from notifications.domain import webhooks
from notifications.domain.errors import InvalidInput, NotFound
from notifications.repositories import NotificationsUnitOfWork
from notifications.usecases.common import DELIVERIES, managed, may_manage, new_id, require, subject_of
from notifications.views import attempt_view, delivery_view, subscription_view


def resolve(host: str) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})


def _subscription(uow: NotificationsUnitOfWork, actor: Actor | None, subscription_id: str,
                  missing: str | None = None) -> m.Subscription:
    """The subscription if the actor manages it. Whoever may not see it gets the same 404 as for one that does not
    exist (`missing`), so an id says nothing about what exists (issue 10 #8)."""
    missing = missing or f"no subscription {subscription_id}"
    row: m.Subscription | None = uow.session.get(m.Subscription, subscription_id)
    if row is None:
        raise Hidden(missing)
    uow.access.require(actor, "webhook.manage", DELIVERIES, missing=missing)  # records the denial, answers 404
    if actor is not None and actor.kind == "client" and actor.subject != row.client_id:
        uow.record_denial(actor, "webhook.manage", DELIVERIES, "another client's subscription")
        raise Hidden(missing)
    return row


def create_subscription(uow: NotificationsUnitOfWork, actor: Actor | None, command: c.CreateSubscription,
                        production: bool) -> c.SubscriptionView:
    url = webhooks.check_url(command.url, production, resolve)
    with uow:
        may_manage(uow, actor, command.client_id)
        client = uow.session.get(m.Client, command.client_id)
        if client is None:
            raise NotFound(f"no registered client {command.client_id}", field="client_id")
        reason = webhooks.stop_reason(client.status, client.dpa_expires, uow.now())
        if reason:
            raise InvalidInput("client_id", f"the client may not receive events: {reason}")
        patterns = webhooks.allowed_patterns(command.event_types, client.event_patterns)
        secret = "whsec_" + secrets.token_urlsafe(32)
        row = m.Subscription(id=new_id(), client_id=client.client_id, url=url, event_types=patterns, secret=secret,
                             ordered=command.ordered, max_in_flight=command.max_in_flight, state="active",
                             created_by=subject_of(actor), created_at=uow.now())
        uow.session.add(row)
        return subscription_view(row, secret=secret)


def list_subscriptions(uow: NotificationsUnitOfWork, actor: Actor | None,
                       query: c.ListSubscriptions) -> c.SubscriptionList:
    with uow:
        stmt = managed(uow, actor, select(m.Subscription).order_by(m.Subscription.created_at),
                       m.Subscription.client_id, query.client_id)
        return c.SubscriptionList(subscriptions=[subscription_view(r) for r in uow.session.scalars(stmt)])


def list_deliveries(uow: NotificationsUnitOfWork, actor: Actor | None, query: c.ListDeliveries) -> c.DeliveryList:
    with uow:
        _subscription(uow, actor, query.subscription_id)
        stmt = select(m.WebhookDelivery).where(m.WebhookDelivery.subscription_id == query.subscription_id)
        if query.state:
            stmt = stmt.where(m.WebhookDelivery.state == query.state)
        rows = uow.session.scalars(stmt.order_by(m.WebhookDelivery.seq.desc()).limit(query.limit))
        return c.DeliveryList(deliveries=[delivery_view(r) for r in rows])


def replay(uow: NotificationsUnitOfWork, actor: Actor | None, command: c.ReplaySubscription) -> c.ReplayResult:
    """Every delivery of the subscription whose event happened at or after `since` goes out again (the same
    delivery id: receivers deduplicate on it, or on the event id)."""
    with uow:
        row = _subscription(uow, actor, command.subscription_id)
        if row.state != "active":
            raise InvalidInput("subscription_id", f"the subscription is stopped: {row.stopped_reason}")
        stmt = update(m.WebhookDelivery).where(m.WebhookDelivery.subscription_id == row.id,
                                               m.WebhookDelivery.event_time >= command.since,
                                               m.WebhookDelivery.state != "in_flight")
        if command.dead_only:
            stmt = stmt.where(m.WebhookDelivery.state == "dead")
        count = uow.session.execute(stmt.values(state="pending", attempts=0, next_attempt_at=uow.now(),
                                                last_error=None)).rowcount
        return c.ReplayResult(subscription_id=row.id, requeued=count)


def list_attempts(uow: NotificationsUnitOfWork, actor: Actor | None, query: c.ListAttempts) -> c.AttemptList:
    target = query.notification_id or query.delivery_id
    if not target:
        raise InvalidInput("notification_id", "name a notification_id or a delivery_id")
    with uow:
        if query.delivery_id:
            delivery = uow.session.scalar(select(m.WebhookDelivery).where(m.WebhookDelivery.id == target))
            if delivery is None:
                raise Hidden(f"no delivery {target}")
            _subscription(uow, actor, delivery.subscription_id, missing=f"no delivery {target}")
        else:
            require(uow, actor, "delivery.read", Resource(kind="delivery"))
        rows = uow.session.scalars(select(m.DeliveryAttempt).where(m.DeliveryAttempt.target == target)
                                   .order_by(m.DeliveryAttempt.id).limit(query.limit))
        return c.AttemptList(attempts=[attempt_view(r) for r in rows])


# -- compliance's client registry -------------------------------------------------------------------------------

def _time(value: object) -> datetime | None:
    """An aware time, or a date (the agreement's last day in force: it lapses at the end of that day, UTC)."""
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(23, 59, 59), tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _dpa_expires(data: dict[str, Any]) -> datetime | None:
    dpa = data.get("dpa")
    if isinstance(dpa, dict) and _time(dpa.get("expires_on")) is not None:
        return _time(dpa.get("expires_on"))
    return _time(data.get("dpa_expires"))


def _apply(row: m.Client, data: dict[str, Any]) -> None:
    patterns = data.get("event_patterns")
    if isinstance(patterns, list) and all(isinstance(p, str) and len(p) <= 200 for p in patterns):
        row.event_patterns = [webhooks.from_registry(p) for p in patterns[:50]]
    if isinstance(data.get("name"), str):
        row.name = data["name"][:200]
    if isinstance(data.get("dpa_ref"), str):
        row.dpa_ref = data["dpa_ref"][:200]
    expires = _dpa_expires(data)
    if expires is not None:
        row.dpa_expires = expires
    if data.get("status") in ("active", "revoked"):
        row.status = data["status"]


def apply_client_event(uow: NotificationsUnitOfWork, envelope: Envelope, current: dict[str, Any] | None = None) -> None:
    """client.registered / client.revoked (and any later client.* event carrying `event_patterns`, `dpa` or
    `dpa_expires`), completed by `current`, the client as compliance answers it now (`ClientView`: the
    registered event carries no agreement end). Checked field by field: nothing from the broker is trusted
    unchecked."""
    data = envelope.data
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not client_id or len(client_id) > 64:
        raise ValueError(f"{envelope.type} without a valid client_id")
    verb = envelope.type.split(".")[3]
    with uow:
        now = uow.now()
        row = uow.session.get(m.Client, client_id)
        if row is None:
            row = m.Client(client_id=client_id, name=client_id, event_patterns=[], status="active", updated_at=now)
            uow.session.add(row)
        _apply(row, data)
        if verb == "revoked" and data.get("key_id") is None:
            row.status = "revoked"
        elif verb == "registered":
            row.status = "active"
        if current is not None and current.get("client_id") == client_id:
            _apply(row, current)
        row.updated_at = now
        uow.session.flush()
        stop_lapsed(uow, [row])


def refresh_clients(uow: NotificationsUnitOfWork, current: list[dict[str, Any]]) -> int:
    """Bring the read model in line with compliance's registry (renewed or lapsed agreements, changed patterns:
    compliance publishes no event for those); stops what must stop. Returns how many clients were seen."""
    with uow:
        now = uow.now()
        known = uow.repo.clients([c["client_id"] for c in current if isinstance(c.get("client_id"), str)])
        for view in current:
            row = known.get(view.get("client_id"))
            if row is None:
                continue  # its registered event is on the way; the event handler takes it
            _apply(row, view)
            row.updated_at = now
        uow.session.flush()
        stop_lapsed(uow, list(known.values()))
        return len(known)


def stop_lapsed(uow: NotificationsUnitOfWork, clients: list[m.Client] | None = None) -> list[c.SubscriptionStopped]:
    """Stop the active subscriptions whose client was revoked or whose agreement lapsed, with the reason (inside
    an open unit of work); their pending deliveries stay, visible, until a replay after renewal."""
    now = uow.now()
    if clients is None:
        clients = list(uow.session.scalars(select(m.Client)))
    stopped = []
    for client in clients:
        reason = webhooks.stop_reason(client.status, client.dpa_expires, now)
        if reason is None:
            continue
        for sub in uow.session.scalars(select(m.Subscription).where(
                m.Subscription.client_id == client.client_id, m.Subscription.state == "active")):
            sub.state, sub.stopped_reason = "stopped", reason
            stopped.append(c.SubscriptionStopped(subscription_id=sub.id, client_id=client.client_id, reason=reason))
    if stopped:
        uow.publish(*stopped)
    return stopped


def sweep_lapsed(uow: NotificationsUnitOfWork) -> int:
    with uow:
        return len(stop_lapsed(uow))
