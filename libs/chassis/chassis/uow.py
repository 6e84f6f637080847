"""Unit of work: one SQLAlchemy session per use case, committed with the events it caused (outbox) and, in an
event handler, with the id of the event being handled (inbox) — one transaction for all three.

    class GoalsService(Service):
        uow = Database(GoalsUnitOfWork)

        @rpc
        def record_progress(self, payload):
            return usecases.record_progress(self.uow, RecordProgress.model_validate(payload))

    def record_progress(uow, command):
        with uow:                                   # commit on success, rollback on error, always closed
            goal = uow.goals.get(command.goal_id)
            uow.publish(goal.record_progress(...))  # an outbox row in the same transaction
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from nameko.extensions import DependencyProvider
from sqlalchemy import delete, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from chassis.context import bind
from chassis.db import create_db_engine, inbox_table, utcnow
from chassis.outbox import OutboxRelay, write_outbox
from chassis.runtime import settings_of
from contracts.actor import Actor
from contracts.base import Event
from contracts.envelope import Envelope

log = logging.getLogger(__name__)


class AlreadyProcessed(Exception):
    """This event was handled before: the handler's effects are already committed. Not an error."""


class Store:
    """A service's database: the engine, and the relay to wake when events were committed."""

    def __init__(self, engine: Engine, service_name: str, relay: OutboxRelay | None = None):
        self.engine = engine
        self.service_name = service_name
        self.relay = relay

    @classmethod
    def from_url(cls, url: str, service_name: str, **engine_kw) -> Store:
        return cls(create_db_engine(url, **engine_kw), service_name)

    def events_committed(self) -> None:
        if self.relay is not None:
            self.relay.wake()


class UnitOfWork:
    """Subclass to add repositories in `open()`: `self.goals = GoalRepository(self.session)`."""

    def __init__(
        self,
        store: Store,
        *,
        actor: Actor | None = None,
        correlation_id: str | None = None,
        inbox: tuple[str, list[str], bool] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.store = store
        self.actor = actor
        self.correlation_id = correlation_id
        self.inbox = inbox  # (handler, event ids, batch?) when handling events
        self._fresh: set[str] = set()
        self.clock = clock
        self.session: Session | None = None
        self._events: list[Envelope] = []
        self._claimed = False

    # -- for use cases ---------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()

    def publish(self, *events: Event) -> list[Envelope]:
        """Record events to be published once (and only if) this unit of work commits."""
        if self.session is None:
            raise RuntimeError("publish() outside `with uow:`")
        envelopes = [
            Envelope.wrap(event, actor=self.actor, correlation_id=self.correlation_id, at=self.now())
            for event in events
        ]
        self._events.extend(envelopes)
        return envelopes

    def open(self, session: Session) -> None:
        """Hook for subclasses: build repositories on the session."""

    # -- lifecycle -------------------------------------------------------------------------------------------
    def __enter__(self) -> UnitOfWork:
        if self.session is not None:
            raise RuntimeError("unit of work is already open (no nesting)")
        self.session = Session(self.store.engine, expire_on_commit=False, autoflush=True)
        self._events = []
        try:
            # Claim the event first, inside this transaction: one round trip, and a concurrent duplicate waits on
            # the claim's row lock and then finds it taken. A failure rolls the claim back with the effects.
            if self.inbox is not None and not self._claimed and not self._claim(self.session.connection()):
                raise AlreadyProcessed(", ".join(self.inbox[1])[:200])
            self.open(self.session)
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                self.session.rollback()
        finally:
            self._close()

    def commit(self) -> None:
        session = self.session
        if not self._events and self.inbox is None and not session.in_transaction() and not (
                session.new or session.dirty or session.deleted):
            return  # nothing read or written (e.g. a decision from a cached index): no round trips for nothing
        session.flush()  # state first: row locks on the aggregates are taken before the outbox rows get their seq
        connection = session.connection()
        write_outbox(connection, self._events)
        session.commit()
        if self.inbox is not None:
            self._claimed = True
        if self._events:
            self.store.events_committed()
        self._events = []

    def _close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    # -- inbox -----------------------------------------------------------------------------------------------
    def _claim(self, connection) -> bool:
        """Insert the inbox rows; remember which events are new. False when none is."""
        handler, event_ids, _ = self.inbox
        dialect = connection.dialect.name
        now = utcnow()
        rows = [{"event_id": event_id, "handler": handler, "processed_at": now} for event_id in event_ids]
        if dialect == "postgresql":
            stmt = pg_insert(inbox_table).values(rows).on_conflict_do_nothing()
        elif dialect == "sqlite":
            stmt = sqlite_insert(inbox_table).values(rows).on_conflict_do_nothing()
        else:  # pragma: no cover - only the two supported backends
            raise RuntimeError(f"unsupported database {dialect}")
        self._fresh = {row[0] for row in connection.execute(stmt.returning(inbox_table.c.event_id))}
        return bool(self._fresh)

    def fresh(self, events: list[Envelope]) -> list[Envelope]:
        """The events of a batch this handler has not handled before (all of them, outside event handlers)."""
        wanted = self._fresh if self.inbox is not None else {event.id for event in events}
        out, taken = [], set()
        for event in events:  # a batch can hold two deliveries of one event: keep the first
            if event.id in wanted and event.id not in taken:
                taken.add(event.id)
                out.append(event)
        return out


def purge_inbox(engine: Engine, older_than: timedelta) -> int:
    with engine.begin() as conn:
        return conn.execute(delete(inbox_table).where(inbox_table.c.processed_at < utcnow() - older_than)).rowcount


class Database(DependencyProvider):
    """The service's database as a nameko dependency: injects a fresh unit of work per worker, owns the engine
    and runs the outbox relay while the container runs."""

    def __init__(self, unit_of_work: type[UnitOfWork] = UnitOfWork, relay: bool = True, **kwargs):
        self.unit_of_work = unit_of_work
        self.with_relay = relay
        self.store: Store | None = None
        super().__init__(**kwargs)

    def setup(self):
        settings = settings_of(self.container)
        engine = create_db_engine(settings.effective_database_url, pool_size=settings.db_pool_size,
                                  echo=settings.db_echo)
        relay = None
        if self.with_relay:
            from chassis.metrics import metrics_of

            metrics = metrics_of(self.container)
            relay = OutboxRelay(
                engine, self.container.service_name, settings.amqp_uri,
                batch_size=settings.outbox_batch_size, poll_interval=settings.outbox_poll_interval,
                max_backoff=settings.outbox_max_backoff,
                retention=timedelta(hours=settings.outbox_retention_hours),
                on_published=metrics.outbox_published.inc,
                on_failure=lambda exc: metrics.outbox_failures.inc(),
            )
            metrics.watch_outbox(relay)
        self.store = Store(engine, self.container.service_name, relay)
        from chassis.metrics import metrics_of

        metrics_of(self.container).watch_pool(engine)
        self.container._jixiao_store = self.store

    def start(self):
        if self.store.relay is not None:
            self.container.spawn_managed_thread(self.store.relay.run, identifier="outbox-relay")

    def stop(self):
        if self.store.relay is not None:
            self.store.relay.stop()
            self.store.relay.wait_stopped()
        self.store.engine.dispose()

    def kill(self):
        if self.store is not None:
            if self.store.relay is not None:
                self.store.relay.stop()
            self.store.engine.dispose()

    def get_dependency(self, worker_ctx):
        call = bind(worker_ctx)
        claim = getattr(worker_ctx.entrypoint, "inbox_claim", None)
        inbox = claim(worker_ctx) if claim is not None else None
        return self.unit_of_work(self.store, actor=call.acting, correlation_id=call.correlation_id, inbox=inbox)

    def ready(self) -> tuple[bool, str]:
        try:
            with self.store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True, "ok"
        except Exception as exc:
            return False, f"database: {type(exc).__name__}"
