"""Rows to contract views."""
from __future__ import annotations

from contracts import notifications as c
from notifications import models as m
from notifications.domain import routes, templates


def notification_view(row: m.Notification) -> c.NotificationView:
    return c.NotificationView(notification_id=row.id, event_id=row.event_id, event_type=row.event_type,
                              kind=row.kind, priority=row.priority, title=row.title, body=row.body,
                              subject=row.subject, created_at=row.created_at, read_at=row.read_at)


def preferences_view(person: str, row: m.Preference | None) -> c.PreferencesView:
    if row is None:
        return c.PreferencesView(person_id=person, language="zh-CN", timezone="Asia/Shanghai", email=None,
                                 phone=None, channels=["email"], quiet_hours=None, digest_hour=9)
    quiet = c.QuietHours(start=row.quiet_start, end=row.quiet_end) if row.quiet_start and row.quiet_end else None
    return c.PreferencesView(person_id=person, language=row.language, timezone=row.timezone, email=row.email,
                             phone=row.phone, channels=list(row.channels), quiet_hours=quiet,
                             digest_hour=row.digest_hour)


def template_view(template: templates.Template, custom: bool) -> c.TemplateView:
    allowed = [f for f in routes.KINDS[template.kind].fields if f not in routes.FORBIDDEN_FIELDS]
    return c.TemplateView(kind=template.kind, language=template.language, channel=template.channel,
                          title=template.title, body=template.body, allowed_fields=allowed, custom=custom)


def subscription_view(row: m.Subscription, secret: str | None = None) -> c.SubscriptionView:
    return c.SubscriptionView(subscription_id=row.id, client_id=row.client_id, url=row.url,
                              event_types=list(row.event_types), ordered=row.ordered,
                              max_in_flight=row.max_in_flight, state=row.state, stopped_reason=row.stopped_reason,
                              created_at=row.created_at, secret=secret)


def delivery_view(row: m.WebhookDelivery) -> c.DeliveryView:
    return c.DeliveryView(delivery_id=row.id, event_id=row.event_id, event_type=row.event_type,
                          subject=row.subject, event_time=row.event_time, state=row.state, attempts=row.attempts,
                          next_attempt_at=row.next_attempt_at if row.state == "pending" else None,
                          last_error=row.last_error, delivered_at=row.delivered_at)


def attempt_view(row: m.DeliveryAttempt) -> c.DeliveryAttemptView:
    return c.DeliveryAttemptView(attempt_id=row.id, channel=row.channel, target=row.target, attempt=row.attempt,
                                 at=row.at, outcome=row.outcome, status_code=row.status_code, error=row.error,
                                 duration_ms=row.duration_ms)
