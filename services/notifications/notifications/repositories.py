"""The unit of work of the notifications service and the queries its use cases and delivery loops share."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
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
