"""The notifications service: a thin nameko adapter over its use cases. It consumes the suite's events (one
batching handler over every producer's exchange), keeps the org and client read models, answers the inbox,
preferences, templates and webhook RPCs, and runs the delivery loop (dispatch.py)."""
from __future__ import annotations

import logging

from nameko.timer import Timer

from chassis import Database, RpcClient, Service, event_handler, rpc
from chassis.access import ORG_EVENT_BATCH, ORG_EVENT_TYPES, OrgSync, apply_org_events
from chassis.errors import ServiceError
from contracts import compliance as dsr
from contracts import notifications as c
from contracts.actor import Actor
from notifications import access, errors
from notifications.brokeraccess import RabbitmqctlBroker
from notifications.dispatch import Dispatcher
from notifications.repositories import NotificationsUnitOfWork
from notifications.usecases import consumers, events, inbox, people, preferences, templates, webhooks

errors.register()  # the domain's errors as problem documents, once
access.register()  # the service's actions in the chassis policy

# Every producer of the suite; a service that does not exist yet only means an exchange with no publisher.
SOURCES = ["goals", "compliance", "feedback", "incentives"]
CLIENT_EVENTS = "jixiao.compliance.client.*.v1"


log = logging.getLogger(__name__)


class SettingTimer(Timer):
    """nameko's timer, with its interval from one of the service's settings."""

    setting = ""

    def setup(self):
        from notifications.settings import settings_of

        self.interval = getattr(settings_of(self.container), self.setting)


class ClientRefreshTimer(SettingTimer):
    setting = "client_refresh_seconds"


class ConsumerSweepTimer(SettingTimer):
    setting = "consumer_sweep_seconds"


def _json(result):
    return result.model_dump(mode="json")


class NotificationsService(Service):
    name = "notifications"
    uow = Database(NotificationsUnitOfWork)
    org_sync = OrgSync()
    dispatcher = Dispatcher()
    rpc_client = RpcClient()

    def _compliance(self):
        """Compliance, called as this service itself (its client registry answers services)."""
        return self.rpc_client.with_context(Actor.system(self.name)).compliance

    # -- read models -----------------------------------------------------------------------------------------
    @event_handler("compliance", ORG_EVENT_TYPES, batch_size=ORG_EVENT_BATCH)  # one transaction a batch
    def on_org_event(self, events):
        with self.uow as uow:
            apply_org_events(uow.session, uow.fresh(events))

    @event_handler("compliance", dsr.ErasureRequested.type)
    def on_erasure_requested(self, event):
        people.erase_subject(self.uow, event)

    @rpc
    def export_subject_data(self, payload):
        command = dsr.ExportSubjectData.model_validate(payload)
        return _json(people.export_subject_data(self.uow, self.call.actor, command))

    @event_handler("compliance", CLIENT_EVENTS)
    def on_client_event(self, event):
        current = None
        try:  # the registered event carries no agreement end: ask the registry (best effort, the timer retries)
            current = self._compliance().get_client({"client_id": event.data.get("client_id")},
                                                    timeout=self.dispatcher.settings.registry_timeout)
        except ServiceError as exc:
            log.warning("client registry not reachable for %s: %s", event.data.get("client_id"), exc)
        webhooks.apply_client_event(self.uow, event, current)
        consumers.sync(self.uow, self._broker(), [event.data["client_id"]])

    @ClientRefreshTimer.decorator(interval=600)
    def refresh_clients(self):
        try:
            current = self._compliance().list_clients(timeout=self.dispatcher.settings.registry_timeout)
        except ServiceError as exc:
            log.warning("client registry not reachable: %s", exc)
            return
        webhooks.refresh_clients(self.uow, current if isinstance(current, list) else [])
        consumers.sync(self.uow, self._broker())

    @ConsumerSweepTimer.decorator(interval=60)
    def sweep_consumers(self):
        """Agreements lapse with no event; a broker that was unreachable is caught up."""
        consumers.sync(self.uow, self._broker())

    def _broker(self):
        return RabbitmqctlBroker.for_settings(self.dispatcher.settings)

    # -- every event: notifications and webhook fan-out ------------------------------------------------------
    @event_handler(SOURCES, "#", batch_size=200, batch_wait=0.05)
    def on_events(self, batch):
        bodies: dict[str, bytes] = {}
        claimed: list = []  # webhook deliveries claimed in the handler's transaction: sent once it commits
        try:
            sends = events.handle(self.uow, batch, self.dispatcher.settings, bodies,
                                  claim=lambda uow, queued: claimed.extend(self.dispatcher.claim(uow, queued)))
        except BaseException:
            self.dispatcher.forget(claimed)
            raise
        self.dispatcher.remember(bodies)
        self.dispatcher.take(claimed)
        if sends:
            self.dispatcher.wake_senders()

    # -- the inbox -------------------------------------------------------------------------------------------
    @rpc
    def list_inbox(self, payload=None):
        return _json(inbox.list_inbox(self.uow, self.call.actor, c.ListInbox.model_validate(payload or {})))

    @rpc
    def unread_count(self, payload=None):
        return _json(inbox.unread_count(self.uow, self.call.actor))

    @rpc
    def mark_read(self, payload):
        return _json(inbox.mark_read(self.uow, self.call.actor, c.MarkRead.model_validate(payload)))

    # -- preferences and templates ---------------------------------------------------------------------------
    @rpc
    def get_preferences(self, payload=None):
        return _json(preferences.get_preferences(self.uow, self.call.actor, c.PersonRef.model_validate(payload or {})))

    @rpc
    def set_preferences(self, payload):
        return _json(preferences.set_preferences(self.uow, self.call.actor, c.SetPreferences.model_validate(payload)))

    @rpc
    def save_template(self, payload):
        return _json(templates.save_template(self.uow, self.call.actor, c.SaveTemplate.model_validate(payload)))

    @rpc
    def list_templates(self, payload=None):
        return _json(templates.list_templates(self.uow, self.call.actor,
                                              c.ListTemplates.model_validate(payload or {})))

    @rpc
    def list_attempts(self, payload):
        return _json(webhooks.list_attempts(self.uow, self.call.actor, c.ListAttempts.model_validate(payload)))

    # -- webhooks --------------------------------------------------------------------------------------------
    @rpc
    def create_subscription(self, payload):
        command = c.CreateSubscription.model_validate(payload)
        production = self.dispatcher.settings.environment == "production"
        result = webhooks.create_subscription(self.uow, self.call.actor, command, production)
        self.dispatcher.subscriptions_changed()
        return _json(result)

    @rpc
    def list_subscriptions(self, payload=None):
        return _json(webhooks.list_subscriptions(self.uow, self.call.actor,
                                                 c.ListSubscriptions.model_validate(payload or {})))

    @rpc
    def list_deliveries(self, payload):
        return _json(webhooks.list_deliveries(self.uow, self.call.actor, c.ListDeliveries.model_validate(payload)))

    # -- AMQP consumers --------------------------------------------------------------------------------------
    @rpc
    def create_amqp_consumer(self, payload):
        command = c.CreateAmqpConsumer.model_validate(payload)
        return _json(consumers.create_consumer(self.uow, self.call.actor, command, self._broker()))

    @rpc
    def list_amqp_consumers(self, payload=None):
        return _json(consumers.list_consumers(self.uow, self.call.actor,
                                              c.ListAmqpConsumers.model_validate(payload or {})))

    @rpc
    def replay_subscription(self, payload):
        result = webhooks.replay(self.uow, self.call.actor, c.ReplaySubscription.model_validate(payload))
        self.dispatcher.subscriptions_changed()
        return _json(result)
