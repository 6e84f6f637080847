"""SQLAlchemy models owned by the notifications service (and only by it).

The inbox (`notifications`, one row per event and person: the unique key is the exactly-once guarantee), the
email/SMS queue (`outgoing`), every delivery attempt (`delivery_attempts`), preferences and templates; the
webhook side: a read model of compliance's client registry (`clients`), `subscriptions` and the delivery queue
(`webhook_deliveries`, one row per subscription and event; `webhook_events`, each event's body once).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chassis.access import include_org_read_model
from chassis.db import NAMING_CONVENTION, BigId, UTCDateTime

PersonId = String(128)
Id = String(36)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


include_org_read_model(Base.metadata)  # chassis.access: who is whose manager, who is HR where


class Preference(Base):
    __tablename__ = "preferences"

    person_id: Mapped[str] = mapped_column(PersonId, primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    channels: Mapped[list[str]] = mapped_column(JSON)
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    digest_hour: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Template(Base):
    __tablename__ = "templates"

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(PersonId)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "person_id", name="uq_notifications_event_person"),
        Index("ix_notifications_inbox", "person_id", "seq"),
        Index("ix_notifications_unread", "person_id", postgresql_where="read_at IS NULL"),
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(Id, unique=True)
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(120))
    person_id: Mapped[str] = mapped_column(PersonId)
    kind: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)  # the allow-listed values, to render email/SMS later
    subject: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Outgoing(Base):
    """An email or SMS to send (state: pending -> sent | failed; digest -> sent with its digest; skipped)."""

    __tablename__ = "outgoing"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel", name="uq_outgoing_notification_channel"),
        Index("ix_outgoing_due", "state", "due_at"),
        Index("ix_outgoing_person", "person_id", "channel", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    notification_id: Mapped[str] = mapped_column(Id)
    person_id: Mapped[str] = mapped_column(PersonId)
    channel: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_target", "target"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(8))  # email | sms | webhook
    target: Mapped[str] = mapped_column(String(64))  # notification id or webhook delivery id
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(8))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer)


class Client(Base):
    """Compliance's client registry, as its events tell it."""

    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    event_patterns: Mapped[list[str]] = mapped_column(JSON)
    dpa_ref: Mapped[str | None] = mapped_column(String(200))
    dpa_expires: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(64))
    ordered: Mapped[bool] = mapped_column(Boolean)
    max_in_flight: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10))
    stopped_reason: Mapped[str | None] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One event for one subscription (state: pending -> in_flight -> delivered | pending again | dead)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_subscription_event"),
        Index("ix_webhook_deliveries_queue", "subscription_id", "state", "seq"),
        Index("ix_webhook_deliveries_time", "subscription_id", "event_time"),
        Index("ix_webhook_deliveries_leased", "lease_until", postgresql_where="state = 'in_flight'"),
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(Id, unique=True)
    subscription_id: Mapped[str] = mapped_column(Id)
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(120))
    subject: Mapped[str | None] = mapped_column(String(128))
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookEvent(Base):
    """The CloudEvents envelope (structured JSON mode) of an event some subscription receives, stored once for all
    its deliveries: only the signature differs between subscriptions."""

    __tablename__ = "webhook_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AmqpConsumer(Base):
    """A client's own broker user and queue (state: active | revoked). `bindings` is what the queue should be bound
    to now; `applied` what the broker was last told; `broker_pending` until the broker has caught up (a sweep
    retries when it was unreachable)."""

    __tablename__ = "amqp_consumers"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(128))
    queue: Mapped[str] = mapped_column(String(200))
    vhost: Mapped[str] = mapped_column(String(200))
    bindings: Mapped[list[list[str]]] = mapped_column(JSON)
    applied: Mapped[list[list[str]]] = mapped_column(JSON)
    broker_pending: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(10))
    stopped_reason: Mapped[str | None] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    credentials_issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
