"""Delivering from the database queues: emails and SMS (`outgoing`), digests, and webhook deliveries.

One loop per process claims due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas share the queue)
and hands them to green-thread pools; results are written back in batches. A claimed row carries a lease: if
the process dies mid-delivery, the row is due again when the lease ends, so the wire is at least once (the
receiver deduplicates on `webhook-id` or the event id) while the inbox, written with the event's inbox claim,
is exactly once.

Webhooks: each subscription has at most `max_in_flight` deliveries in flight, and each attempt is bounded by
`WEBHOOK_TIMEOUT`, so a slow or dead receiver holds only its own slots; an ordered subscription has at most one
delivery per subject in flight and none overtakes an earlier one of the same subject that is not yet delivered
or dead. Deliveries are claimed ahead (up to AHEAD x max_in_flight more, leased) and a finished delivery starts
the subscription's next at once; the event handler claims in its own transaction what may go, so most deliveries
need no round of this loop before they go out.
"""
from __future__ import annotations

import logging
import random
import time
from collections import deque
from datetime import timedelta

import eventlet
from eventlet.event import Event as GreenEvent
from eventlet.greenpool import GreenPool
from nameko.extensions import DependencyProvider
from sqlalchemy import bindparam, insert, select, text, update

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
SEND_POLL_SECONDS = 0.5  # due emails/SMS (quiet hours ending, retries) are looked for at least this often
LAPSED_SWEEP_SECONDS = 60.0
ROUND_PAUSE = 0.02  # seconds between busy rounds
SUBSCRIPTIONS_CACHE_SECONDS = 1.0
AHEAD = 3  # a subscription's deliveries claimed ahead, in multiples of its max_in_flight
BODIES_KEPT = 4000  # event bodies kept in memory (the newest): most deliveries need no read of their body


class _Sub:
    """What the claim needs of a subscription, detached from its session."""

    __slots__ = ("id", "max_in_flight", "ordered", "secret", "url")

    def __init__(self, row):
        self.id, self.url, self.secret = row.id, row.url, row.secret
        self.ordered, self.max_in_flight = row.ordered, row.max_in_flight


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
        self._send_work = True
        self._next_send_poll = 0.0
        self._subscriptions: dict = {}
        self._subscriptions_until = 0.0
        self._failures: dict[str, int] = {}  # consecutive failures per subscription (the circuit)
        self._paused_until: dict[str, float] = {}
        self._bodies: dict[str, bytes] = {}  # event id -> webhook body, the newest BODIES_KEPT
        # deliveries claimed ahead (leased, not yet sent) per subscription: a finished delivery starts the next at
        # once instead of freeing its slot for the next round's claim (a round trip to the database, slow on a
        # loaded machine), so a receiver's throughput is max_in_flight / its answer time, not / the round time
        self._ahead: dict[str, deque] = {}
        self._limits: dict[str, int] = {}
        self._reserved: dict[str, int] = {}  # claimed in a transaction not yet committed

    def start(self):
        self.store = self.container._jixiao_store  # the Database provider's (set in its setup)
        self.webhook_pool = GreenPool(self.settings.webhook_concurrency)
        self.send_pool = GreenPool(self.settings.send_concurrency)
        self.http = channels.HttpPool()
        self._running = True
        self._thread = self.container.spawn_managed_thread(self._run, identifier="notifications-dispatch")

    def stop(self):
        self._running = False
        self.wake()
        self.webhook_pool.waitall()
        self.send_pool.waitall()
        for queue in self._ahead.values():  # claimed ahead, never sent: due again now, not when the lease ends
            self._results += [("release", item[0], item[2]) for item in queue]
            queue.clear()
        self._flush_results()
        self.http.close()

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
                self._housekeeping()
                busy = self._round()
                now = time.monotonic()
                if self._send_work or now >= self._next_send_poll:
                    self._send_work = False
                    self._next_send_poll = now + SEND_POLL_SECONDS
                    busy = self._claim_outgoing() | self._claim_digests() | busy
            except Exception:  # the database is down or a bug: log, back off, keep the loop alive
                log.exception("notifications dispatch round failed")
                eventlet.sleep(1.0)
            if not busy and self._running:
                with eventlet.Timeout(self.settings.dispatch_interval, False):
                    self._wake.wait()
                self._wake = GreenEvent()
            else:
                # a short pause lets the deliveries in flight run and their results gather into one write
                eventlet.sleep(ROUND_PAUSE)

    def subscriptions_changed(self) -> None:
        self._subscriptions_until = 0.0
        self.wake()

    def remember(self, bodies: dict[str, bytes]) -> None:
        """Bodies of events just queued (committed): their deliveries go out without reading them back."""
        self._bodies.update(bodies)
        for _ in range(len(self._bodies) - BODIES_KEPT):
            del self._bodies[next(iter(self._bodies))]  # the oldest (a dict keeps insertion order)

    def wake_senders(self) -> None:
        """New emails or SMS were queued: look for them in the next round."""
        self._send_work = True
        self.wake()

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
    def _round(self) -> bool:
        """One transaction: write the results gathered so far, then claim due webhook deliveries."""
        results, self._results = self._results, []
        claimed: list[tuple] = []
        try:
            with self._uow() as uow:
                if results:
                    self._write_results(uow, results)
                claimed = self._claim_webhooks(uow)
        except BaseException:
            self.forget(claimed)
            raise
        self.take(claimed)
        return bool(claimed) or bool(results)

    def claim(self, uow, bodies: dict[str, bytes]) -> list[tuple]:
        """Inside the event handler's transaction, once its deliveries are queued: claim what may go now (not for
        an ordered subscription), to `take` once committed, instead of a round of the loop later (a round trip to
        the database that a loaded machine makes slow). `forget` them if the transaction fails. `bodies`: the
        events just queued (the same whether or not it commits)."""
        self.remember(bodies)
        return self._claim_webhooks(uow, plain_only=True)

    def take(self, claimed: list[tuple]) -> None:
        """Claimed deliveries, committed: queued per subscription and started as far as allowed."""
        for item in claimed:
            self._reserved[item[3]] -= 1
            self._ahead.setdefault(item[3], deque()).append(item)
        if claimed:
            self._start()

    def forget(self, claimed: list[tuple]) -> None:
        """Claimed in a transaction that failed: nothing was claimed (the rows are as they were)."""
        for item in claimed:
            self._reserved[item[3]] -= 1

    def _start(self) -> None:
        """Start what was claimed, up to each receiver's allowance and the process's WEBHOOK_CONCURRENCY (the
        rest waits claimed ahead: a finishing delivery or the next round starts it)."""
        for sid in list(self._ahead):
            while self.webhook_pool.free() > 0:
                item = self._next_ahead(sid)
                if item is None:
                    break
                self.webhook_pool.spawn_n(self._deliver_webhook, *item)

    def _sending_allowed(self, subscription_id: str) -> int:
        """How many of a subscription's deliveries may be in flight now: none while its circuit is open, one probe
        when it half-opens, else its max_in_flight."""
        if self._failures.get(subscription_id, 0) >= webhooks.CIRCUIT_THRESHOLD:
            return 0 if time.monotonic() < self._paused_until.get(subscription_id, 0.0) else 1
        return self._limits.get(subscription_id, 1)

    def _free(self, subscription_id: str, sub: _Sub) -> int:
        """Deliveries to claim: none while the receiver's circuit is open, one probe when it half-opens; else up to
        `max_in_flight` in flight and AHEAD times as many claimed ahead (not for an ordered subscription, whose next
        delivery of a subject waits for the one before, nor after a failure, nor when a delivery waiting behind
        others could outlive its lease)."""
        taken = self.in_flight.get(subscription_id, 0) + len(self._ahead.get(subscription_id, ())) \
            + self._reserved.get(subscription_id, 0)
        failures = self._failures.get(subscription_id, 0)
        if failures >= webhooks.CIRCUIT_THRESHOLD:
            if time.monotonic() < self._paused_until.get(subscription_id, 0.0):
                return 0
            return 1 - taken
        ahead = not (sub.ordered or failures) and \
            self.settings.lease_seconds >= (AHEAD + 2) * self.settings.webhook_timeout
        return ((1 + AHEAD) * sub.max_in_flight if ahead else sub.max_in_flight) - taken

    def _claim_webhooks(self, uow, plain_only: bool = False) -> list[tuple]:
        """Claim due deliveries (leased, attempts counted) up to what each subscription may take now; they count as
        reserved until `take` or `forget`. The free slots are reserved while the statements run, so the loop and an
        event handler claiming at once do not both fill them."""
        if time.monotonic() >= self._subscriptions_until:  # a second's cache: one query less per round
            self._subscriptions = {sub.id: _Sub(sub) for sub in uow.repo.active_subscriptions()}
            self._subscriptions_until = time.monotonic() + SUBSCRIPTIONS_CACHE_SECONDS
        subscriptions = self._subscriptions
        free = {sid: self._free(sid, sub) for sid, sub in subscriptions.items()}
        held = {sid: n for sid, n in free.items() if n > 0}
        for sid, n in held.items():
            self._reserved[sid] = self._reserved.get(sid, 0) + n
        try:
            out = self._claim_rows(uow, subscriptions, free, plain_only)
        finally:
            for sid, n in held.items():
                self._reserved[sid] -= n
        for item in out:
            self._reserved[item[3]] = self._reserved.get(item[3], 0) + 1
        return out

    def _claim_rows(self, uow, subscriptions: dict, free: dict[str, int], plain_only: bool) -> list[tuple]:
        now = uow.now()
        table = m.WebhookDelivery.__table__
        values = {"state": "in_flight", "lease_until": lease(now, self.settings.lease_seconds),
                  "attempts": table.c.attempts + 1}
        returning = (table.c.id, table.c.event_id, table.c.attempts, table.c.subscription_id)
        claimed: list = []
        ids: list[str] = []
        plain = [sid for sid, sub in subscriptions.items() if not sub.ordered and free[sid] > 0]
        if plain and uow.session.get_bind().dialect.name == "postgresql":
            # each subscription's oldest due deliveries, up to its free slots, claimed in one statement
            claimed += uow.session.execute(text(
                # MATERIALIZED: the choice is made once; as a join's inner side it would be scanned again for
                # every row, skip the rows this statement just updated and hand out more than `free`
                "WITH c AS MATERIALIZED (SELECT d.seq FROM unnest(CAST(:subs AS text[]), CAST(:frees AS int[])) "
                "AS s(id, free) CROSS JOIN LATERAL (SELECT q.seq FROM webhook_deliveries q "
                "WHERE q.subscription_id = s.id AND q.state = 'pending' AND q.next_attempt_at <= :now "
                "ORDER BY q.seq LIMIT s.free FOR UPDATE SKIP LOCKED) d) "
                "UPDATE webhook_deliveries w SET state = 'in_flight', lease_until = :lease, attempts = w.attempts + 1 "
                "FROM c WHERE w.seq = c.seq AND w.state = 'pending' "
                "RETURNING w.id, w.event_id, w.attempts, w.subscription_id"),
                {"subs": plain, "frees": [free[sid] for sid in plain], "now": now,
                 "lease": lease(now, self.settings.lease_seconds)}).all()
        else:
            for sid in plain:
                ids += list(uow.session.scalars(select(m.WebhookDelivery.id).where(
                    m.WebhookDelivery.subscription_id == sid, m.WebhookDelivery.state == "pending",
                    m.WebhookDelivery.next_attempt_at <= now).order_by(m.WebhookDelivery.seq).limit(free[sid])
                    .with_for_update(skip_locked=True)))
        for sid, sub in subscriptions.items():
            if plain_only or not sub.ordered or free[sid] <= 0:
                continue
            # one per subject, the oldest not yet delivered or dead, and only when it is due
            rows = uow.session.execute(select(m.WebhookDelivery.id, m.WebhookDelivery.subject,
                                              m.WebhookDelivery.state, m.WebhookDelivery.next_attempt_at)
                                       .where(m.WebhookDelivery.subscription_id == sid,
                                              m.WebhookDelivery.state.in_(("pending", "in_flight")))
                                       .order_by(m.WebhookDelivery.seq).limit(500))
            heads, picked = set(), 0
            for row in rows:
                key = row.subject or row.id
                if key in heads:
                    continue
                heads.add(key)
                if row.state == "pending" and row.next_attempt_at <= now:
                    ids.append(row.id)
                    picked += 1
                    if picked >= free[sid]:
                        break
        if ids:
            claimed += uow.session.execute(update(table).where(table.c.id.in_(ids), table.c.state == "pending")
                                           .values(**values).returning(*returning)).all()
        if not claimed:
            return []
        missing = sorted({row.event_id for row in claimed} - self._bodies.keys())
        if missing:
            self.remember(uow.repo.event_bodies(missing))
        out = []
        for row in claimed:
            sub = subscriptions[row.subscription_id]
            body = self._bodies.get(row.event_id)
            if body is None:  # more bodies than BODIES_KEPT in one round: read this one
                body = uow.repo.event_bodies([row.event_id])[row.event_id]
            self._limits[sub.id] = sub.max_in_flight
            out.append((row.id, body, row.attempts, sub.id, sub.url, sub.secret))
        return out

    def _deliver_webhook(self, *first) -> None:
        """Deliver, then the subscription's next delivery claimed ahead while there is one and it may go."""
        item: tuple | None = first
        while item:
            self._attempt_webhook(*item)
            item = self._next_ahead(item[3])

    def _next_ahead(self, subscription_id: str) -> tuple | None:
        queue = self._ahead.get(subscription_id)
        if not queue or not self._running:
            return None  # stop() releases what is left
        allowed = self._sending_allowed(subscription_id)
        if allowed == 0 or subscription_id not in self._subscriptions:
            # the circuit opened (or the subscription stopped): what was claimed ahead is due again, untried
            self._results += [("release", item[0], item[2]) for item in queue]
            queue.clear()
            self.wake()
            return None
        if self.in_flight.get(subscription_id, 0) >= allowed:
            return None
        self.in_flight[subscription_id] = self.in_flight.get(subscription_id, 0) + 1
        return queue.popleft()

    def _attempt_webhook(self, delivery_id, body, attempt, subscription_id, url, secret) -> None:
        started = time.monotonic()
        status, error = None, None
        try:
            webhooks.check_url(url, self.settings.environment == "production", resolve)
            headers = webhooks.signed_headers(secret, delivery_id, int(time.time()), body)
            with eventlet.Timeout(self.settings.webhook_timeout, channels.ChannelError("timed out")):
                status = channels.post_webhook(url, body, headers, self.settings.webhook_timeout, self.http)
        except channels.ChannelError as exc:
            status, error = exc.status, str(exc) or "failed"
        except Exception as exc:  # an unsafe URL now (DNS changed) or a bug: a failed attempt, never a lost row
            error = f"{type(exc).__name__}: {exc}"
        self.in_flight[subscription_id] = max(0, self.in_flight.get(subscription_id, 0) - 1)
        if error is None:
            self._failures.pop(subscription_id, None)
        else:
            failures = self._failures[subscription_id] = self._failures.get(subscription_id, 0) + 1
            pause = webhooks.circuit_pause(failures, self.settings.webhook_retry_base, self.settings.webhook_retry_cap)
            if pause is not None:
                self._paused_until[subscription_id] = time.monotonic() + pause
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
        results, self._results = self._results, []
        if results:
            with self._uow() as uow:
                self._write_results(uow, results)

    def _write_results(self, uow, results: list[tuple]) -> None:
        """Record the attempts and move each delivery on (delivered, retry later, dead), a few statements for the
        whole batch. A failed write leaves the rows in flight: their lease ends and they go out again."""
        s = self.settings
        now = uow.now()
        try:
            attempts, updates, dead, released = [], [], [], []
            for result in results:
                if result[0] == "release":
                    released.append({"r_id": result[1], "r_attempts": result[2]})
                elif result[0] == "webhook":
                    _, delivery_id, attempt, subscription_id, status, error, took = result
                    attempts.append(_attempt("webhook", delivery_id, attempt, now, status, error, took))
                    values = {"b_id": delivery_id, "b_attempts": attempt, "b_error": error and error[:500],
                              "b_delivered": None, "b_next": now}
                    if error is None:
                        values["b_state"], values["b_delivered"] = "delivered", now
                    elif webhooks.after_failure(attempt, s.webhook_max_attempts) == "dead":
                        values["b_state"] = "dead"
                        dead.append((delivery_id, subscription_id, attempt, error[:500]))
                    else:
                        values["b_state"] = "pending"
                        values["b_next"] = now + timedelta(seconds=webhooks.retry_delay(
                            attempt, s.webhook_retry_base, s.webhook_retry_cap, random.random()))
                    updates.append(values)
                else:
                    _, ids, notification_ids, channel, attempt, status, error, took, digest = result
                    attempts += [_attempt(channel, nid, attempt, now, status, error, took)
                                 for nid in notification_ids]
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
                        uow.session.execute(update(m.Outgoing).where(
                            m.Outgoing.id.in_(ids), m.Outgoing.state.in_(("sending", "digesting"))).values(
                            state="digest" if digest else "pending", reason=error[:200], lease_until=None,
                            due_at=now + timedelta(seconds=wait)))
            if attempts:
                _insert_attempts(uow.session, attempts)
            if updates:
                _update_deliveries(uow.session, updates)
            if released:
                table = m.WebhookDelivery.__table__
                uow.session.execute(update(table).where(
                    table.c.id == bindparam("r_id"), table.c.attempts == bindparam("r_attempts"),
                    table.c.state == "in_flight").values(state="pending", attempts=table.c.attempts - 1,
                                                         lease_until=None), released)
            if dead:
                events = {row.id: row for row in uow.session.execute(select(
                    m.WebhookDelivery.id, m.WebhookDelivery.event_id, m.WebhookDelivery.event_type).where(
                    m.WebhookDelivery.id.in_([d[0] for d in dead])))}
                uow.publish(*(DeliveryParked(subscription_id=sid, delivery_id=did, event_id=events[did].event_id,
                                             event_type=events[did].event_type, attempts=attempt, last_error=error)
                              for did, sid, attempt, error in dead if did in events))
        finally:
            for result in results:  # the send slots are free again whether or not the write succeeded (leases)
                if result[0] == "send":
                    self.sending = max(0, self.sending - 1)


def _update_deliveries(session, updates: list[dict]) -> None:
    """Move each delivery on, only if it is still the claim its result belongs to (a replay or a re-lease
    meanwhile decides otherwise). PostgreSQL: one statement over arrays (an executemany would be a round trip per
    row, each one holding up every green thread: psycopg2 does not yield while it waits)."""
    table = m.WebhookDelivery.__table__
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(
            "UPDATE webhook_deliveries w SET state = v.state, last_error = v.error, lease_until = NULL, "
            "delivered_at = v.delivered, next_attempt_at = v.next_at "
            "FROM unnest(CAST(:ids AS text[]), CAST(:attempts AS int[]), CAST(:states AS text[]), "
            "CAST(:errors AS text[]), CAST(:delivered AS timestamptz[]), CAST(:next_at AS timestamptz[])) "
            "AS v(id, attempts, state, error, delivered, next_at) "
            "WHERE w.id = v.id AND w.attempts = v.attempts AND w.state = 'in_flight'"),
            {"ids": [u["b_id"] for u in updates], "attempts": [u["b_attempts"] for u in updates],
             "states": [u["b_state"] for u in updates], "errors": [u["b_error"] for u in updates],
             "delivered": [u["b_delivered"] for u in updates], "next_at": [u["b_next"] for u in updates]})
        return
    session.execute(update(table).where(
        table.c.id == bindparam("b_id"), table.c.attempts == bindparam("b_attempts"),
        table.c.state == "in_flight").values(
        state=bindparam("b_state"), last_error=bindparam("b_error"), lease_until=None,
        delivered_at=bindparam("b_delivered"), next_attempt_at=bindparam("b_next")), updates)


def _insert_attempts(session, attempts: list[dict]) -> None:
    """Every attempt of a round: PostgreSQL, one statement over arrays (SQLAlchemy's multi-row insert compiles a
    parameter per value, most of a delivery's CPU at a thousand a round)."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(m.DeliveryAttempt), attempts)
        return
    session.execute(text(
        "INSERT INTO delivery_attempts (channel, target, attempt, at, outcome, status_code, error, duration_ms) "
        "SELECT * FROM unnest(CAST(:channel AS text[]), CAST(:target AS text[]), CAST(:attempt AS int[]), "
        "CAST(:at AS timestamptz[]), CAST(:outcome AS text[]), CAST(:status_code AS int[]), CAST(:error AS text[]), "
        "CAST(:duration_ms AS int[]))"), {key: [a[key] for a in attempts] for key in attempts[0]})


def _attempt(channel, target, attempt, at, status, error, took) -> dict:
    return {"channel": channel, "target": target, "attempt": attempt, "at": at,
            "outcome": "error" if error else "ok", "status_code": status,
            "error": error[:500] if error else None, "duration_ms": int(took * 1000)}
