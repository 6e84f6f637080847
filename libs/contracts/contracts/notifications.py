"""The notifications service: the in-app inbox, a person's notification preferences, message templates, and the
webhook subscriptions of third-party clients (deliveries, dead letters, replay).

The person is always the actor in context: `list_inbox`, `mark_read`, `get_preferences` act on the caller's own
inbox and preferences (HR or an administrator may name `person_id` for preferences). Webhook subscriptions belong
to a client of compliance's registry; an API client manages only its own.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

from pydantic import Field

from contracts.base import Contract, Event

Language = Literal["zh-CN", "en"]
Channel = Literal["inbox", "email", "sms"]
Priority = Literal["high", "normal", "low"]
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class Payload(Contract):
    pass


# -- the inbox ---------------------------------------------------------------------------------------------------

class ListInbox(Payload):
    unread_only: bool = Field(default=False, description="only unread notifications")
    limit: int = Field(default=50, ge=1, le=200, description="notifications per page, 1..200")
    cursor: str | None = Field(default=None, max_length=64, description="from the previous page's next_cursor")


class NotificationView(Payload):
    notification_id: str
    event_id: str = Field(description="the event that caused it (one notification per event and person)")
    event_type: str
    kind: str = Field(description="what happened, e.g. appeal.submitted")
    priority: Priority = Field(description=(
        "high (inbox, email and SMS), normal (inbox and email) or low (inbox, and email in the daily digest)"))
    title: str
    body: str
    subject: str | None = Field(default=None, description="the id of what it is about (an appeal, a goal...)")
    created_at: datetime
    read_at: datetime | None = Field(default=None, description="when it was read (UTC; null: unread)")


class InboxPage(Payload):
    items: list[NotificationView]
    unread: int = Field(ge=0)
    next_cursor: str | None = None


class MarkRead(Payload):
    notification_ids: list[str] = Field(default_factory=list, max_length=500, description=(
        "the notifications to mark read, at most 500 (or set `all`)"))
    all: bool = Field(default=False, description="mark every notification of the caller read")


class UnreadCount(Payload):
    unread: int = Field(ge=0)
    marked: int = Field(default=0, ge=0, description="how many this call marked read")


# -- preferences -------------------------------------------------------------------------------------------------

class QuietHours(Payload):
    start: str = Field(pattern=HHMM, description="when the quiet hours begin, local time HH:MM")
    end: str = Field(pattern=HHMM, description="local time, HH:MM (before start: the quiet hours span midnight)")


class PersonRef(Payload):
    person_id: str | None = Field(default=None, max_length=128, description=(
        "whose preferences (employee number); omit for the caller's own"))


class SetPreferences(Payload):
    person_id: str | None = Field(default=None, max_length=128, description=(
        "whose preferences (employee number); omit for the caller's own"))
    language: Language = "zh-CN"
    timezone: str = Field(default="Asia/Shanghai", max_length=64, description=(
        "the IANA time zone quiet hours and digests follow (`Asia/Shanghai`)"))
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, max_length=20, pattern=r"^\+[1-9]\d{6,14}$", description=(
        "the mobile number SMS go to, E.164 (`+8613800138000`)"))
    channels: list[Literal["email", "sms"]] = Field(  # the factory's literal list, typed as the field's
        default_factory=lambda: cast(list[Literal["email", "sms"]], ["email"]), max_length=2,
        description="besides the inbox, which is always on")
    quiet_hours: QuietHours | None = None
    digest_hour: int = Field(default=9, ge=0, le=23, description="local hour the daily digest is sent")


class PreferencesView(Payload):
    person_id: str
    language: Language
    timezone: str = Field(description="the person's IANA time zone (`Asia/Shanghai`)")
    email: str | None
    phone: str | None
    channels: list[str] = Field(description="the channels the person receives on: inbox, email, sms")
    quiet_hours: QuietHours | None
    digest_hour: int = Field(description="the hour (0..23, local) the digest of low-priority items is sent")


# -- templates ---------------------------------------------------------------------------------------------------

class SaveTemplate(Payload):
    kind: str = Field(min_length=1, max_length=64, description="the notification kind, e.g. appeal.submitted")
    language: Language
    channel: Channel
    title: str = Field(min_length=1, max_length=200, description="subject line; `{field}` placeholders")
    body: str = Field(min_length=1, max_length=2000, description="`{field}` placeholders from the kind's allow-list")


class TemplateView(Payload):
    kind: str = Field(description=(
        "the notification kind, the key node it tells about (`appeal.submitted`, `goal.turned_red`...)"))
    language: Language
    channel: Channel
    title: str
    body: str = Field(description="the template's text, with `{field}` placeholders")
    allowed_fields: list[str] = Field(description=(
        "the event fields the template may show (nothing sensitive: no ratings, no pay)"))
    custom: bool = Field(description="False: the built-in template")


class ListTemplates(Payload):
    kind: str | None = Field(default=None, max_length=64, description="only templates for this notification kind")


class TemplateList(Payload):
    templates: list[TemplateView] = Field(description="the notification templates")


class DeliveryAttemptView(Payload):
    attempt_id: int = Field(description="the attempt's id")
    channel: str
    target: str = Field(description="the notification or webhook delivery attempted")
    attempt: int = Field(description="the attempt's number (1: the first try)")
    at: datetime
    outcome: Literal["ok", "error", "skipped"] = Field(description=(
        "ok (the receiver took it), error (it failed: see `error` and `status_code`) or skipped (not sent)"))
    status_code: int | None = Field(default=None, description=(
        "the receiver's HTTP status (null: not HTTP, or no answer)"))
    error: str | None = Field(default=None, description="why it failed (null: it succeeded)")
    duration_ms: int = Field(description="how long the attempt took, in milliseconds")


class ListAttempts(Payload):
    notification_id: str | None = Field(default=None, max_length=64, description="only attempts of this notification")
    delivery_id: str | None = Field(default=None, max_length=64, description="only attempts of this webhook delivery")
    limit: int = Field(default=100, ge=1, le=500, description="attempts per page, 1..500")


class AttemptList(Payload):
    attempts: list[DeliveryAttemptView]


# -- webhooks ----------------------------------------------------------------------------------------------------

class CreateSubscription(Payload):
    client_id: str = Field(min_length=1, max_length=64)
    url: str = Field(min_length=8, max_length=2000, description="https in production; no private addresses")
    event_types: list[str] = Field(min_length=1, max_length=50, description=(
        "event types or topic patterns (`*` one word, `#` any); each must be within the client's event_patterns"))
    ordered: bool = Field(default=False, description="deliver one event at a time per subject, in order")
    max_in_flight: int = Field(default=4, ge=1, le=32, description="concurrent deliveries to this receiver")


class SubscriptionRef(Payload):
    subscription_id: str = Field(min_length=1, max_length=64)


class SubscriptionView(Payload):
    subscription_id: str
    client_id: str
    url: str = Field(description=(
        "the receiver's URL (https only in production; never a private or loopback address there)"))
    event_types: list[str] = Field(description=(
        "the event types delivered (wildcards allowed, within the client's patterns)"))
    ordered: bool = Field(description="whether deliveries with the same subject are sent in order, one at a time")
    max_in_flight: int = Field(description="the most deliveries outstanding at once to the receiver")
    state: Literal["active", "stopped"] = Field(description="active, or stopped (see `stopped_reason`)")
    stopped_reason: str | None = None
    created_at: datetime
    secret: str | None = Field(default=None, description="the signing secret, shown once at creation")


class ListSubscriptions(Payload):
    client_id: str | None = Field(default=None, max_length=64)


class SubscriptionList(Payload):
    subscriptions: list[SubscriptionView] = Field(description="the client's webhook subscriptions")


DeliveryState = Literal["pending", "in_flight", "delivered", "dead"]


class ListDeliveries(Payload):
    subscription_id: str = Field(min_length=1, max_length=64)
    state: DeliveryState | None = Field(default=None, description="only deliveries in this state")
    limit: int = Field(default=100, ge=1, le=500, description="deliveries per page, 1..500")


class DeliveryView(Payload):
    delivery_id: str
    event_id: str
    event_type: str
    subject: str | None = Field(description="the event's subject (the record it is about; null: none)")
    event_time: datetime = Field(description="when the event happened (the envelope's time)")
    state: DeliveryState = Field(description=(
        "pending, in_flight, delivered or dead (parked after the last try; replayable)"))
    attempts: int = Field(description="how many tries so far")
    next_attempt_at: datetime | None = Field(description="when the next try is due (null: delivered or dead)")
    last_error: str | None
    delivered_at: datetime | None = Field(description="when the receiver accepted it (UTC; null: not yet)")


class DeliveryList(Payload):
    deliveries: list[DeliveryView] = Field(description="the subscription's deliveries")


class ReplaySubscription(Payload):
    subscription_id: str = Field(min_length=1, max_length=64)
    since: datetime = Field(description="deliver again every event of the subscription from this time on")
    dead_only: bool = Field(default=False, description="only the deliveries parked dead")


class ReplayResult(Payload):
    subscription_id: str
    requeued: int = Field(ge=0, description="deliveries queued again")


# -- events ------------------------------------------------------------------------------------------------------

# -- AMQP consumers -------------------------------------------------------------------------------------------------

class CreateAmqpConsumer(Payload):
    """A registered client that prefers AMQP to webhooks: its own broker user and queue, bound to the routing keys
    its `event_patterns` allow. Asking again for the same client issues a new password (the old one stops)."""

    client_id: str = Field(min_length=1, max_length=64)


class AmqpBinding(Payload):
    exchange: str = Field(description="the producer's topic exchange, `<service>.events`")
    routing_key: str = Field(description="one of the client's event patterns (`*` one word, `#` any)")


class AmqpConsumerView(Payload):
    client_id: str
    username: str = Field(description="the client's own RabbitMQ user")
    queue: str = Field(description="the only queue that user may read (durable; declared and bound by the suite)")
    vhost: str = Field(description="the RabbitMQ virtual host to connect to")
    bindings: list[AmqpBinding] = Field(description=(
        "the routing keys the queue is bound to (from the client's event patterns)"))
    state: Literal["active", "revoked"] = Field(description="active, or revoked (user deleted, queue removed)")
    stopped_reason: str | None = None
    created_at: datetime
    credentials_issued_at: datetime = Field(description="when the current password was issued (UTC)")
    password: str | None = Field(default=None, description="answered once, by create_amqp_consumer; the suite "
                                                           "keeps no copy")
    amqp_uri: str | None = Field(default=None, description="the same credentials as an AMQP URI, answered once")


class ListAmqpConsumers(Payload):
    client_id: str | None = Field(default=None, max_length=64)


class AmqpConsumerList(Payload):
    consumers: list[AmqpConsumerView] = Field(description="the clients' AMQP consumers")


class SubscriptionStopped(Event):
    """A webhook subscription stopped delivering: its client was revoked or its data-processing agreement lapsed."""

    type = "jixiao.notifications.subscription.stopped.v1"
    subject_field = "subscription_id"

    subscription_id: str
    client_id: str
    reason: str


class AmqpConsumerIssued(Event):
    """A client was given broker credentials (new, or a new password for its consumer), by `issued_by`."""

    type = "jixiao.notifications.consumer.issued.v1"
    subject_field = "client_id"

    client_id: str
    username: str
    queue: str = Field(description="the client's queue")
    routing_keys: list[str] = Field(description="`<exchange> <routing key>` of every binding of its queue")
    issued_by: str = Field(description="who issued the credentials (employee number)")


class AmqpConsumerRevoked(Event):
    """A client's broker user was deleted and its queue removed: the client was revoked or its agreement lapsed."""

    type = "jixiao.notifications.consumer.revoked.v1"
    subject_field = "client_id"

    client_id: str
    username: str
    reason: str


class DeliveryParked(Event):
    """A webhook delivery failed its last try and was parked dead (replayable)."""

    type = "jixiao.notifications.delivery.parked.v1"
    subject_field = "subscription_id"

    subscription_id: str
    delivery_id: str
    event_id: str
    event_type: str
    attempts: int
    last_error: str
