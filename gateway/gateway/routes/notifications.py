"""The notifications service over HTTP: the caller's inbox (unread counts, mark read), notification preferences,
message templates, webhook subscriptions of registered clients (deliveries, attempts, replay). Every route only
needs an authenticated caller: the service decides from its org read model (a person's own inbox and
preferences; HR or an administrator for others; templates for company HR; subscriptions for administrators or
the client itself with the scope `webhooks:write`)."""
from __future__ import annotations

from contracts import notifications as c
from gateway.api import AUTHENTICATED, Route
from gateway.routes.build import rpc_route


def routes() -> list[Route]:
    def r(method, path, rpc, summary, tag, **options):
        return rpc_route(method, path, f"notifications.{rpc}", summary=summary, scope=AUTHENTICATED, tag=tag,
                         **options)

    return [
        # the inbox
        r("GET", "/notifications", "list_inbox", "The caller's notifications, newest first, with the unread count",
          "notifications", request=c.ListInbox, response=c.InboxPage),
        r("GET", "/notifications/unread-count", "unread_count", "How many of the caller's notifications are unread",
          "notifications", response=c.UnreadCount, payload=False),
        r("POST", "/notifications/read", "mark_read", "Mark notifications (or all) read", "notifications",
          request=c.MarkRead, response=c.UnreadCount),
        r("GET", "/notifications/attempts", "list_attempts",
          "Every delivery attempt of a notification or webhook delivery", "notifications",
          request=c.ListAttempts, response=c.AttemptList),
        # preferences and templates
        r("GET", "/notification-preferences", "get_preferences",
          "A person's contact details, language, channels, quiet hours and digest hour", "notifications",
          request=c.PersonRef, response=c.PreferencesView),
        r("PUT", "/notification-preferences", "set_preferences", "Set them (the caller's own, or `person_id`)",
          "notifications", request=c.SetPreferences, response=c.PreferencesView),
        r("GET", "/notification-templates", "list_templates",
          "Message templates per kind, language and channel, with the fields each may show", "notifications",
          request=c.ListTemplates, response=c.TemplateList, operation_id="list_notification_templates"),
        r("PUT", "/notification-templates/{kind}/{language}/{channel}", "save_template",
          "Override a template (a field outside its kind's allow-list is refused)", "notifications",
          request=c.SaveTemplate, response=c.TemplateView, operation_id="save_notification_template"),
        # webhooks
        r("POST", "/webhooks/subscriptions", "create_subscription",
          "Subscribe a registered client's URL to event types within its event patterns (the signing secret is "
          "answered once)", "webhooks", request=c.CreateSubscription, response=c.SubscriptionView, creates=True),
        r("GET", "/webhooks/subscriptions", "list_subscriptions", "Webhook subscriptions", "webhooks",
          request=c.ListSubscriptions, response=c.SubscriptionList),
        r("GET", "/webhooks/subscriptions/{subscription_id}/deliveries", "list_deliveries",
          "A subscription's deliveries (pending, in flight, delivered, dead)", "webhooks",
          request=c.ListDeliveries, response=c.DeliveryList),
        r("POST", "/webhooks/subscriptions/{subscription_id}/replays", "replay_subscription",
          "Deliver again every event from a point in time (or only the dead ones)", "webhooks",
          request=c.ReplaySubscription, response=c.ReplayResult),
        # AMQP consumers
        r("POST", "/event-consumers", "create_amqp_consumer",
          "A registered client's own RabbitMQ user and queue, bound to the routing keys its event patterns allow "
          "(the password is answered once; asking again issues a new one)", "webhooks",
          request=c.CreateAmqpConsumer, response=c.AmqpConsumerView, creates=True),
        r("GET", "/event-consumers", "list_amqp_consumers", "AMQP consumers, their bindings and state", "webhooks",
          request=c.ListAmqpConsumers, response=c.AmqpConsumerList),
    ]
