"""The notifications service's RPCs, declared once (contracts.rpc): method -> request, response, the access it
needs. `python -m contracts.rpc notifications` prints the README table."""
from __future__ import annotations

from contracts import compliance as dsr
from contracts import notifications as c
from contracts.rpc import Rpc, RpcTable

TABLE = RpcTable("notifications", [
    # the inbox: always the caller's own
    Rpc("list_inbox", c.ListInbox, c.InboxPage, "the person, their own", "The caller's notifications, newest first"),
    Rpc("unread_count", None, c.UnreadCount, "the person, their own", "How many are unread"),
    Rpc("mark_read", c.MarkRead, c.UnreadCount, "the person, their own", "Mark notifications (or all) read"),
    # preferences and templates
    Rpc("get_preferences", c.PersonRef, c.PreferencesView, "notification.preferences",
        "Contact details, language, channels, quiet hours, digest hour"),
    Rpc("set_preferences", c.SetPreferences, c.PreferencesView, "notification.preferences", "Set them"),
    Rpc("list_templates", c.ListTemplates, c.TemplateList, "notification.templates",
        "Templates per kind, language and channel, with the fields each may show"),
    Rpc("save_template", c.SaveTemplate, c.TemplateView, "notification.templates",
        "Override a template (fields off the kind's allow-list refused)"),
    Rpc("list_attempts", c.ListAttempts, c.AttemptList, "delivery.read / webhook.manage",
        "Every delivery attempt of a notification or a webhook delivery"),
    # webhooks
    Rpc("create_subscription", c.CreateSubscription, c.SubscriptionView, "webhook.manage",
        "Subscribe a registered client's URL to event types within its patterns"),
    Rpc("list_subscriptions", c.ListSubscriptions, c.SubscriptionList, "webhook.manage", "Webhook subscriptions"),
    Rpc("list_deliveries", c.ListDeliveries, c.DeliveryList, "webhook.manage", "A subscription's deliveries"),
    Rpc("replay_subscription", c.ReplaySubscription, c.ReplayResult, "webhook.manage",
        "Deliver again every event from a point in time (or only the dead ones)"),
    # AMQP consumers
    Rpc("create_amqp_consumer", c.CreateAmqpConsumer, c.AmqpConsumerView, "webhook.manage",
        "A registered client's own broker user and queue, bound to its event patterns (the password is answered "
        "once)"),
    Rpc("list_amqp_consumers", c.ListAmqpConsumers, c.AmqpConsumerList, "webhook.manage",
        "AMQP consumers, their bindings and state"),
    # other services
    Rpc("export_subject_data", dsr.ExportSubjectData, dsr.SubjectDataExport, "dsr.request",
        "A person's preferences, inbox, messages and delivery attempts for a data-subject export (compliance asks)"),
])
