"""The suite's events in: notifications for the right people (routes), webhook deliveries for the subscriptions
that asked for the type. One transaction per batch with the inbox claim, so a redelivered or replayed event
adds nothing (the inbox is exactly once; the unique keys are the second guard)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import insert

from contracts.envelope import Envelope
from notifications import models as m
from notifications.domain import delivery, routes, templates, webhooks
from notifications.repositories import NotificationsUnitOfWork, insert_ignoring
from notifications.settings import NotificationsSettings
from notifications.usecases.common import OrgDirectory, new_id


def preferences_of(row: m.Preference | None) -> delivery.Preferences:
    if row is None:
        return delivery.Preferences()
    quiet = (row.quiet_start, row.quiet_end)
    return delivery.Preferences(
        language=row.language, timezone=row.timezone, email=row.email, phone=row.phone,
        channels=tuple(row.channels or ()), digest_hour=row.digest_hour,
        quiet_start=time.fromisoformat(quiet[0]) if quiet[0] else None,
        quiet_end=time.fromisoformat(quiet[1]) if quiet[1] else None)


def template_for(custom: dict[tuple[str, str, str], m.Template], kind: str, language: str,
                 channel: str) -> templates.Template:
    row = custom.get((kind, language, channel))
    if row is not None:
        return templates.Template(kind, language, channel, row.title, row.body)
    return templates.built_in(kind, language, channel)


def handle(uow: NotificationsUnitOfWork, envelopes: list[Envelope], settings: NotificationsSettings,
           bodies: dict[str, bytes] | None = None,
           claim: Callable[[NotificationsUnitOfWork, dict[str, bytes]], object] | None = None) -> bool:
    """Returns True when an email or SMS was queued to be sent (the senders are woken). `bodies` (when given) gets
    the webhook body of every event queued for a subscription, once committed: the dispatcher keeps them instead
    of reading them back, and is woken when there are any. `claim(uow, bodies)` is called in the same transaction once
    webhook deliveries are queued (the dispatcher claims what may go at once)."""
    queued_bodies: dict[str, bytes] = {}
    with uow:
        fresh = uow.fresh(envelopes)
        if not fresh:
            return False
        now = uow.now()
        queued = _notify(uow, fresh, now, settings)
        if _fan_out(uow, fresh, now, queued_bodies) and claim is not None:
            claim(uow, queued_bodies)
    if bodies is not None:
        bodies.update(queued_bodies)
    return queued


def _notify(uow: NotificationsUnitOfWork, events: list[Envelope], now: datetime,
            settings: NotificationsSettings) -> bool:
    work = []  # (envelope, route, person)
    directory = None
    for envelope in events:
        matching = routes.routes_for(envelope.type, envelope.data)
        if not matching:
            continue
        if directory is None:
            directory = OrgDirectory(uow.access.index)
        for route in matching:
            for person in routes.recipients(route, envelope.data, directory):
                work.append((envelope, route, person))
    if not work:
        return False
    people = sorted({person for _, _, person in work})
    prefs = {pid: preferences_of(row) for pid, row in uow.repo.preferences(people).items()}
    custom = uow.repo.templates()
    counts = uow.repo.sent_since(people, now - timedelta(hours=1))
    limits = {"email": settings.email_per_hour, "sms": settings.sms_per_hour}
    available = {"email": bool(settings.smtp_host), "sms": settings.sms_provider != "none"}
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for envelope, route, person in work:
        if (envelope.id, person) in seen:  # two routes of one event for one person: one notification
            continue
        seen.add((envelope.id, person))
        pref = prefs.get(person, delivery.Preferences())
        values = routes.template_fields(route, envelope.data)
        title, body = templates.render(template_for(custom, route.kind, pref.language, "inbox"), values)
        rows.append({"id": new_id(), "event_id": envelope.id, "event_type": envelope.type, "person_id": person,
                     "kind": route.kind, "priority": route.priority, "language": pref.language, "title": title,
                     "body": body, "fields": values, "created_at": now, "read_at": None,
                     "subject": values.get(route.subject_field) if route.subject_field else envelope.subject})
    created = set(insert_ignoring(uow.session, m.Notification, rows, returning=m.Notification.id))
    outgoing = []
    for row in rows:
        if row["id"] not in created:
            continue  # this event already told this person
        person = row["person_id"]
        pref = prefs.get(person, delivery.Preferences())
        sent = {channel: counts.get((person, channel), 0) for channel in ("email", "sms")}
        for planned in delivery.plan(row["priority"], pref, now, sent, limits, available):
            state = {"now": "pending", "digest": "digest", "skip": "skipped"}[planned.mode]
            if state == "pending":
                counts[(person, planned.channel)] = counts.get((person, planned.channel), 0) + 1
            outgoing.append({"notification_id": row["id"], "person_id": person, "channel": planned.channel,
                             "state": state, "reason": planned.reason or None, "due_at": planned.due_at,
                             "attempts": 0, "created_at": now})
    if outgoing:
        uow.session.execute(insert(m.Outgoing), outgoing)
    return any(row["state"] != "skipped" for row in outgoing)  # skipped ones give the senders nothing to do


def _fan_out(uow: NotificationsUnitOfWork, events: list[Envelope], now: datetime,
             bodies: dict[str, bytes]) -> bool:
    """Queue one delivery per event and subscription that asked for its type. Subscriptions are matched once per
    event type (not per event), each body is serialised once and stored once (`webhook_events`), and the rows are
    written set-wise (repositories.queue_deliveries); `bodies` gets what was queued, for the dispatcher."""
    subscriptions = uow.repo.active_subscriptions()
    if not subscriptions:
        return False
    clients = uow.repo.clients(sorted({s.client_id for s in subscriptions}))
    receiving = []
    for subscription in subscriptions:
        client = clients.get(subscription.client_id)
        if client is None or webhooks.stop_reason(client.status, client.dpa_expires, now):
            continue  # the sweep stops it with the reason; meanwhile nothing new is queued
        receiving.append((subscription, client))
    by_type: dict[str, list[str]] = {}
    for event_type in {e.type for e in events}:
        by_type[event_type] = sorted(
            subscription.id for subscription, client in receiving
            if any(webhooks.matches(p, event_type) for p in subscription.event_types)
            # the client's patterns may have narrowed since it subscribed
            and any(webhooks.matches(p, event_type) for p in client.event_patterns))
    wanted = [e for e in events if by_type[e.type]]
    if not wanted:
        return False
    for envelope in wanted:
        bodies[envelope.id] = envelope.model_dump_json(exclude_none=True).encode()
    uow.repo.queue_deliveries(wanted, by_type, bodies, now)
    return True
