"""The suite's events in: notifications for the right people (routes), webhook deliveries for the subscriptions
that asked for the type. One transaction per batch with the inbox claim, so a redelivered or replayed event
adds nothing (the inbox is exactly once; the unique keys are the second guard)."""
from __future__ import annotations

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


def handle(uow: NotificationsUnitOfWork, envelopes: list[Envelope], settings: NotificationsSettings) -> bool:
    """Returns True when something was queued for delivery (the dispatcher is woken)."""
    with uow:
        fresh = uow.fresh(envelopes)
        if not fresh:
            return False
        now = uow.now()
        queued = _notify(uow, fresh, now, settings)
        queued = _fan_out(uow, fresh, now) or queued
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
    return bool(outgoing)


def _fan_out(uow: NotificationsUnitOfWork, events: list[Envelope], now: datetime) -> bool:
    subscriptions = uow.repo.active_subscriptions()
    if not subscriptions:
        return False
    clients = uow.repo.clients(sorted({s.client_id for s in subscriptions}))
    rows = []
    bodies: dict[str, str] = {}  # one serialisation per event, whatever the number of subscribers
    for subscription in subscriptions:
        client = clients.get(subscription.client_id)
        if client is None or webhooks.stop_reason(client.status, client.dpa_expires, now):
            continue  # the sweep stops it with the reason; meanwhile nothing new is queued
        for envelope in events:
            if not any(webhooks.matches(p, envelope.type) for p in subscription.event_types):
                continue
            if not any(webhooks.matches(p, envelope.type) for p in client.event_patterns):
                continue  # the client's patterns narrowed since it subscribed
            rows.append({"id": new_id(), "subscription_id": subscription.id, "event_id": envelope.id,
                         "event_type": envelope.type, "subject": envelope.subject, "event_time": envelope.time,
                         "body": bodies.get(envelope.id) or bodies.setdefault(
                             envelope.id, envelope.model_dump_json(exclude_none=True)),
                         "state": "pending", "attempts": 0,
                         "next_attempt_at": now, "created_at": now})
    for start in range(0, len(rows), 1000):
        insert_ignoring(uow.session, m.WebhookDelivery, rows[start:start + 1000])
    return bool(rows)
