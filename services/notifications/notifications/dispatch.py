"""Delivering from the database queues: emails and SMS (`outgoing`), digests, and webhook deliveries.

One loop per process claims due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas share the queue)
and hands them to green-thread pools; results are written back in batches. A claimed row carries a lease: if
the process dies mid-delivery, the row is due again when the lease ends, so the wire is at least once (the
receiver deduplicates on `webhook-id` or the event id) while the inbox, written with the event's inbox claim,
is exactly once.

Webhooks: each subscription has at most `max_in_flight` deliveries in flight, and each attempt is bounded by
`WEBHOOK_TIMEOUT`, so a slow or dead receiver holds only its own slots; an ordered subscription has at most one
delivery per subject in flight and none overtakes an earlier one of the same subject that is not yet delivered
or dead.
"""
from __future__ import annotations

import logging
import random
import time
from datetime import timedelta

import eventlet
from eventlet.event import Event as GreenEvent
from eventlet.greenpool import GreenPool
from nameko.extensions import DependencyProvider
from sqlalchemy import select, update

from contracts.actor import Actor
from contracts.notifications import DeliveryParked
from notifications import channels
from notifications import models as m
from notifications.domain import delivery, webhooks
from notifications.domain.templates import render
from notifications.repositories import NotificationsUnitOfWork, lease
from notifications.settings import settings_of
from notifications.usecases.events import preferences_of, template_for
from notifications.usecases.webhooks import resolve, sweep_lapsed

log = logging.getLogger(__name__)

SEND_MAX_ATTEMPTS = 5
HOUSEKEEPING_SECONDS = 5.0
LAPSED_SWEEP_SECONDS = 60.0


class Dispatcher(DependencyProvider):
    def setup(self):
        self.settings = settings_of(self.container)
        self._wake = GreenEvent()
        self._running = False
        self._results: list[tuple] = []
        self.in_flight: dict[str, int] = {}
        self.sending = 0
        self._last_housekeeping = 0.0
        self._last_lapsed = 0.0

    def start(self):
        self.store = self.container._jixiao_store  # the Database provider's (set in its setup)
        self.webhook_pool = GreenPool(self.settings.webhook_concurrency)
        self.send_pool = GreenPool(self.settings.send_concurrency)
        self._running = True
        self._thread = self.container.spawn_managed_thread(self._run, identifier="notifications-dispatch")

    def stop(self):
        self._running = False
        self.wake()
        self.webhook_pool.waitall()
        self.send_pool.waitall()
        self._flush_results()

    def kill(self):
        self._running = False
        self.wake()

    def get_dependency(self, worker_ctx):
        return self

    def wake(self) -> None:
        if not self._wake.ready():
            self._wake.send(True)

    def _uow(self) -> NotificationsUnitOfWork:
        return NotificationsUnitOfWork(self.store, actor=Actor.system(self.container.service_name))

    # -- the loop ----------------------------------------------------------------------------------------------
    def _run(self):
        while self._running:
            busy = False
            try:
                self._flush_results()
                self._housekeeping()
                busy = self._claim_webhooks() | self._claim_outgoing() | self._claim_digests()
            except Exception:  # the database is down or a bug: log, back off, keep the loop alive
                log.exception("notifications dispatch round failed")
                eventlet.sleep(1.0)
            if not busy and self._running:
                with eventlet.Timeout(self.settings.dispatch_interval, False):
                    self._wake.wait()
                self._wake = GreenEvent()
            else:
                eventlet.sleep(0)

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._last_housekeeping >= HOUSEKEEPING_SECONDS:
            self._last_housekeeping = now
            with self._uow() as uow:
                uow.repo.release_expired_leases(uow.now())
        if now - self._last_lapsed >= LAPSED_SWEEP_SECONDS:
            self._last_lapsed = now
            sweep_lapsed(self._uow())

    def _done(self, *result) -> None:
        self._results.append(result)
        self.wake()

    # -- webhooks ----------------------------------------------------------------------------------------------
    def _claim_webhooks(self) -> bool:
        claimed = []
        with self._uow() as uow:
            now = uow.now()
            for sub in uow.repo.active_subscriptions():
                free = sub.max_in_flight - self.in_flight.get(sub.id, 0)
                if free <= 0:
                    continue
                base = select(m.WebhookDelivery).where(m.WebhookDelivery.subscription_id == sub.id)
                if sub.ordered:
                    rows = uow.session.scalars(base.where(m.WebhookDelivery.state.in_(("pending", "in_flight")))
                                               .order_by(m.WebhookDelivery.seq).limit(500)
                                               .with_for_update(skip_locked=True))
                    heads, picked = set(), []
                    for row in rows:
                        key = row.subject or row.id
                        if key in heads:
                            continue
                        heads.add(key)
                        if row.state == "pending" and row.next_attempt_at <= now:
                            picked.append(row)
                        if len(picked) >= free:
                            break
                else:
                    picked = list(uow.session.scalars(base.where(
                        m.WebhookDelivery.state == "pending", m.WebhookDelivery.next_attempt_at <= now)
                        .order_by(m.WebhookDelivery.seq).limit(free).with_for_update(skip_locked=True)))
                for row in picked:
                    row.state, row.lease_until, row.attempts = "in_flight", lease(now, self.settings.lease_seconds), \
                        row.attempts + 1
                    claimed.append((row.id, row.body, row.attempts, sub.id, sub.url, sub.secret))
                self.in_flight[sub.id] = self.in_flight.get(sub.id, 0) + len(picked)
        for item in claimed:
            self.webhook_pool.spawn_n(self._deliver_webhook, *item)
        return bool(claimed)

    def _deliver_webhook(self, delivery_id, body, attempt, subscription_id, url, secret) -> None:
        started = time.monotonic()
        status, error = None, None
        try:
            payload = body.encode()
            webhooks.check_url(url, self.settings.environment == "production", resolve)
            headers = webhooks.signed_headers(secret, delivery_id, int(time.time()), payload)
            with eventlet.Timeout(self.settings.webhook_timeout, channels.ChannelError("timed out")):
                status = channels.post_webhook(url, payload, headers, self.settings.webhook_timeout)
        except channels.ChannelError as exc:
            status, error = exc.status, str(exc) or "failed"
        except Exception as exc:  # an unsafe URL now (DNS changed) or a bug: a failed attempt, never a lost row
            error = f"{type(exc).__name__}: {exc}"
        self._done("webhook", delivery_id, attempt, subscription_id, status, error, time.monotonic() - started)

    # -- email and SMS -----------------------------------------------------------------------------------------
    def _claim_outgoing(self) -> bool:
        free = self.settings.send_concurrency * 4 - self.sending
        if free <= 0:
            return False
        claimed = []
        with self._uow() as uow:
            now = uow.now()
            rows = list(uow.session.scalars(select(m.Outgoing).where(
                m.Outgoing.state == "pending", m.Outgoing.due_at <= now).order_by(m.Outgoing.due_at)
                .limit(min(free, self.settings.dispatch_batch)).with_for_update(skip_locked=True)))
            if not rows:
                return False
            notes = {n.id: n for n in uow.session.scalars(select(m.Notification).where(
                m.Notification.id.in_([r.notification_id for r in rows])))}
            prefs = uow.repo.preferences(sorted({r.person_id for r in rows}))
            custom = uow.repo.templates()
            for row in rows:
                row.state, row.lease_until, row.attempts = "sending", lease(now, self.settings.lease_seconds), \
                    row.attempts + 1
                note, pref = notes[row.notification_id], preferences_of(prefs.get(row.person_id))
                address = pref.email if row.channel == "email" else pref.phone
                title, body = render(template_for(custom, note.kind, pref.language, row.channel), note.fields)
                claimed.append((row.id, row.notification_id, row.channel, address, title, body, row.attempts))
        self.sending += len(claimed)
        for item in claimed:
            self.send_pool.spawn_n(self._send, *item)
        return True

    def _send(self, outgoing_id, notification_id, channel, address, title, body, attempt) -> None:
        started = time.monotonic()
        status, error = None, None
        try:
            if not address:
                raise channels.ChannelError(f"no {channel} address any more")
            if channel == "email":
                channels.send_email(self.settings, address, title, body, message_id=notification_id)
            else:
                status = channels.send_sms(self.settings, address, body)
        except channels.ChannelError as exc:
            status, error = exc.status, str(exc) or "failed"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        self._done("send", [outgoing_id], [notification_id], channel, attempt, status, error,
                   time.monotonic() - started, False)

    def _claim_digests(self) -> bool:
        free = self.settings.send_concurrency * 4 - self.sending
        if free <= 0:
            return False
        claimed = []
        with self._uow() as uow:
            now = uow.now()
            rows = list(uow.session.scalars(select(m.Outgoing).where(
                m.Outgoing.state == "digest", m.Outgoing.due_at <= now).order_by(m.Outgoing.person_id)
                .limit(self.settings.dispatch_batch).with_for_update(skip_locked=True)))
            if not rows:
                return False
            notes = {n.id: n for n in uow.session.scalars(select(m.Notification).where(
                m.Notification.id.in_([r.notification_id for r in rows])))}
            prefs = uow.repo.preferences(sorted({r.person_id for r in rows}))
            custom = uow.repo.templates()
            by_person: dict[str, list[m.Outgoing]] = {}
            for row in rows:
                by_person.setdefault(row.person_id, []).append(row)
            for person, items in list(by_person.items())[:free]:
                pref = preferences_of(prefs.get(person))
                rendered = [render(template_for(custom, notes[r.notification_id].kind, pref.language, "email"),
                                   notes[r.notification_id].fields) for r in items]
                title, body = delivery.digest(pref.language, rendered)
                for row in items:
                    row.state, row.lease_until, row.attempts = "digesting", lease(now, self.settings.lease_seconds), \
                        row.attempts + 1
                claimed.append(([r.id for r in items], [r.notification_id for r in items], pref.email, title, body,
                                max(r.attempts for r in items)))
        self.sending += len(claimed)
        for ids, notification_ids, address, title, body, attempt in claimed:
            self.send_pool.spawn_n(self._send_digest, ids, notification_ids, address, title, body, attempt)
        return bool(claimed)

    def _send_digest(self, ids, notification_ids, address, title, body, attempt) -> None:
        started = time.monotonic()
        error = None
        try:
            if not address:
                raise channels.ChannelError("no email address any more")
            channels.send_email(self.settings, address, title, body, message_id=f"digest.{ids[0]}")
        except channels.ChannelError as exc:
            error = str(exc) or "failed"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        self._done("send", ids, notification_ids, "email", attempt, None, error, time.monotonic() - started, True)

    # -- results -----------------------------------------------------------------------------------------------
    def _flush_results(self) -> None:
        if not self._results:
            return
        results, self._results = self._results, []
        s = self.settings
        try:
            with self._uow() as uow:
                now = uow.now()
                parked = []
                wanted = [r[1] for r in results if r[0] == "webhook"]
                rows = {row.id: row for row in uow.session.scalars(select(m.WebhookDelivery).where(
                    m.WebhookDelivery.id.in_(wanted)))} if wanted else {}
                for result in results:
                    if result[0] == "webhook":
                        _, delivery_id, attempt, subscription_id, status, error, took = result
                        row = rows.get(delivery_id)
                        uow.repo.record_attempt("webhook", delivery_id, attempt, now, "error" if error else "ok",
                                                took, status, error)
                        if row is None or row.state != "in_flight" or row.attempts != attempt:
                            continue  # replayed or re-leased meanwhile: the newer claim decides
                        row.lease_until = None
                        if error is None:
                            row.state, row.delivered_at, row.last_error = "delivered", now, None
                        elif webhooks.after_failure(attempt, s.webhook_max_attempts) == "dead":
                            row.state, row.last_error = "dead", error[:500]
                            parked.append(DeliveryParked(subscription_id=subscription_id, delivery_id=delivery_id,
                                                         event_id=row.event_id, event_type=row.event_type,
                                                         attempts=attempt, last_error=error[:500]))
                        else:
                            wait = webhooks.retry_delay(attempt, s.webhook_retry_base, s.webhook_retry_cap,
                                                        random.random())
                            row.state, row.last_error = "pending", error[:500]
                            row.next_attempt_at = now + timedelta(seconds=wait)
                    else:
                        _, ids, notification_ids, channel, attempt, status, error, took, digest = result
                        for notification_id in notification_ids:
                            uow.repo.record_attempt(channel, notification_id, attempt, now,
                                                    "error" if error else "ok", took, status, error)
                        if error is None:
                            values = {"state": "sent", "sent_at": now, "lease_until": None}
                            if digest:
                                values["reason"] = "digest"
                            uow.session.execute(update(m.Outgoing).where(m.Outgoing.id.in_(ids)).values(**values))
                        elif attempt >= SEND_MAX_ATTEMPTS:
                            uow.session.execute(update(m.Outgoing).where(m.Outgoing.id.in_(ids)).values(
                                state="failed", reason=error[:200], lease_until=None))
                        else:
                            wait = webhooks.retry_delay(attempt, 30.0, 3600.0, random.random())
                            back = "digest" if digest else "pending"
                            uow.session.execute(update(m.Outgoing).where(
                                m.Outgoing.id.in_(ids), m.Outgoing.state.in_(("sending", "digesting"))).values(
                                state=back, reason=error[:200], lease_until=None,
                                due_at=now + timedelta(seconds=wait)))
                if parked:
                    uow.publish(*parked)
        finally:
            for result in results:  # the slots are free again whether or not the write succeeded (leases)
                if result[0] == "webhook":
                    self.in_flight[result[3]] = max(0, self.in_flight.get(result[3], 0) - 1)
                else:
                    self.sending = max(0, self.sending - 1)
