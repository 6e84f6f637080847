"""The unit of work of the notifications service and the queries its use cases and delivery loops share."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from chassis.access import AccessUnitOfWork
from notifications import models as m


def insert_ignoring(session: Session, model, rows: list[dict], returning=None):
    """INSERT ... ON CONFLICT DO NOTHING (a redelivered event adds nothing); the returned column of what was new."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(model).values(rows).on_conflict_do_nothing()
    if returning is None:
        session.execute(stmt)
        return []
    return list(session.execute(stmt.returning(returning)).scalars())


class Repository:
    def __init__(self, session: Session):
        self.session = session

    # -- preferences and templates ---------------------------------------------------------------------------
    def preferences(self, person_ids: list[str]) -> dict[str, m.Preference]:
        if not person_ids:
            return {}
        rows = self.session.scalars(select(m.Preference).where(m.Preference.person_id.in_(person_ids)))
        return {row.person_id: row for row in rows}

    def templates(self, kind: str | None = None) -> dict[tuple[str, str, str], m.Template]:
        query = select(m.Template)
        if kind is not None:
            query = query.where(m.Template.kind == kind)
        return {(t.kind, t.language, t.channel): t for t in self.session.scalars(query)}

    # -- inbox -------------------------------------------------------------------------------------------------
    def sent_since(self, person_ids: list[str], since: datetime) -> dict[tuple[str, str], int]:
        """Emails and SMS queued to be sent at once per (person, channel) since `since` (the rate limit)."""
        if not person_ids:
            return {}
        rows = self.session.execute(
            select(m.Outgoing.person_id, m.Outgoing.channel, func.count())
            .where(m.Outgoing.person_id.in_(person_ids), m.Outgoing.created_at >= since,
                   m.Outgoing.state.in_(("pending", "sent", "failed")))
            .group_by(m.Outgoing.person_id, m.Outgoing.channel))
        return {(person, channel): count for person, channel, count in rows}

    def unread(self, person_id: str) -> int:
        return self.session.scalar(select(func.count()).select_from(m.Notification).where(
            m.Notification.person_id == person_id, m.Notification.read_at.is_(None))) or 0

    # -- webhooks ----------------------------------------------------------------------------------------------
    def active_subscriptions(self) -> list[m.Subscription]:
        return list(self.session.scalars(select(m.Subscription).where(m.Subscription.state == "active")))

    def queue_deliveries(self, events: list, subscribers: dict[str, list[str]], bodies: dict[str, bytes],
                         now: datetime) -> None:
        """Each event's body once and a pending delivery per subscriber of its type, in event order (an ordered
        subscription delivers by `seq`); an event queued before adds nothing. PostgreSQL: one statement, the
        pairs made by a join in the server instead of a row per pair built here."""
        if self.session.get_bind().dialect.name != "postgresql":
            insert_ignoring(self.session, m.WebhookEvent, [
                {"event_id": e.id, "event_type": e.type, "body": bodies[e.id].decode(), "created_at": now}
                for e in events])
            rows = [{"id": str(uuid.uuid4()), "subscription_id": sid, "event_id": e.id, "event_type": e.type,
                     "subject": e.subject, "event_time": e.time, "state": "pending", "attempts": 0,
                     "next_attempt_at": now, "created_at": now} for e in events for sid in subscribers[e.type]]
            for start in range(0, len(rows), 500):
                insert_ignoring(self.session, m.WebhookDelivery, rows[start:start + 500])
            return
        groups: dict[tuple[str, ...], int] = {}  # one group per distinct set of subscribers
        for e in events:
            groups.setdefault(tuple(subscribers[e.type]), len(groups))
        self.session.execute(text(
            "WITH stored AS (INSERT INTO webhook_events (event_id, event_type, body, created_at) "
            "SELECT b.id, b.type, b.body, CAST(:now AS timestamptz) FROM unnest(CAST(:ids AS text[]), "
            "CAST(:types AS text[]), CAST(:bodies AS text[])) AS b(id, type, body) ON CONFLICT DO NOTHING) "
            "INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, subject, event_time, state, "
            "attempts, next_attempt_at, created_at) "
            "SELECT CAST(gen_random_uuid() AS text), s.sub, e.id, e.type, e.subject, e.at, 'pending', 0, "
            "CAST(:now AS timestamptz), CAST(:now AS timestamptz) "
            "FROM unnest(CAST(:ids AS text[]), CAST(:types AS text[]), CAST(:subjects AS text[]), "
            "CAST(:times AS timestamptz[]), CAST(:groups AS int[])) "
            "WITH ORDINALITY AS e(id, type, subject, at, grp, n) "
            "JOIN unnest(CAST(:sub_groups AS int[]), CAST(:sub_ids AS text[])) AS s(grp, sub) ON s.grp = e.grp "
            "ORDER BY e.n, s.sub ON CONFLICT DO NOTHING"),
            {"now": now, "ids": [e.id for e in events], "types": [e.type for e in events],
             "bodies": [bodies[e.id].decode() for e in events], "subjects": [e.subject for e in events],
             "times": [e.time for e in events], "groups": [groups[tuple(subscribers[e.type])] for e in events],
             "sub_groups": [g for subs, g in groups.items() for _ in subs],
             "sub_ids": [sid for subs in groups for sid in subs]})

    def event_bodies(self, event_ids: list[str]) -> dict[str, bytes]:
        return {row.event_id: row.body.encode() for row in self.session.execute(
            select(m.WebhookEvent.event_id, m.WebhookEvent.body).where(m.WebhookEvent.event_id.in_(event_ids)))}

    def clients(self, client_ids: list[str]) -> dict[str, m.Client]:
        if not client_ids:
            return {}
        return {c.client_id: c for c in self.session.scalars(select(m.Client).where(
            m.Client.client_id.in_(client_ids)))}

    def record_attempt(self, channel: str, target: str, attempt: int, at: datetime, outcome: str,
                       duration: float, status_code: int | None = None, error: str | None = None) -> None:
        self.session.execute(insert(m.DeliveryAttempt).values(
            channel=channel, target=target, attempt=attempt, at=at, outcome=outcome, status_code=status_code,
            error=(error or None) and error[:500], duration_ms=int(duration * 1000)))

    def release_expired_leases(self, now: datetime) -> None:
        """Deliveries claimed by a process that died: due again (at least once over the wire)."""
        self.session.execute(update(m.WebhookDelivery).where(
            m.WebhookDelivery.state == "in_flight", m.WebhookDelivery.lease_until < now).values(
            state="pending", lease_until=None))
        self.session.execute(update(m.Outgoing).where(
            m.Outgoing.state == "sending", m.Outgoing.lease_until < now).values(state="pending", lease_until=None))
        self.session.execute(update(m.Outgoing).where(
            m.Outgoing.state == "digesting", m.Outgoing.lease_until < now).values(state="digest", lease_until=None))


class NotificationsUnitOfWork(AccessUnitOfWork):
    def open(self, session):
        super().open(session)
        self.repo = Repository(session)


def lease(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
