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

On PostgreSQL a unit of work costs as few round trips as its statements need (every round trip wakes the server
and the service, which on a small machine costs more than the statement itself). These are optimisations, not
part of what a unit of work means:

- *lazy BEGIN* (chassis.lazy_begin, setting `db_lazy_begin`, on by default for PostgreSQL): the transaction starts
  on the server with the first statement that writes or locks;
- a pooled connection is pinged only when it sat idle (`IDLE_PING_SECONDS`), not at every checkout;
- the pool holds a connection per worker: connections beyond it were opened and closed per call.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from sqlalchemy import create_engine, delete, exc, text
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from chassis.context import bind
from chassis.db import create_db_engine, inbox_table, is_sqlite, normalise_url, utcnow
from chassis.framework import DependencyProvider, WorkerContext
from chassis.lazy_begin import LAZY_BEGIN, lazy_begin, nothing_begun, wanted
from chassis.outbox import OutboxRelay, write_outbox
from chassis.runtime import settings_of
from contracts.actor import Actor
from contracts.base import Event
from contracts.envelope import Envelope

log = logging.getLogger(__name__)


class AlreadyProcessed(Exception):
    """This event was handled before: the handler's effects are already committed. Not an error."""


# -- PostgreSQL round trips ------------------------------------------------------------------------------------

IDLE_PING_SECONDS = 10.0
_IDLE = 0  # psycopg2.extensions.TRANSACTION_STATUS_IDLE (no import of the driver at module load)


def service_engine(url: str, pool_size: int, echo: bool = False) -> Engine:
    """A service's engine: `create_db_engine`'s, except that a pooled PostgreSQL connection is pinged before use
    only after sitting idle for `IDLE_PING_SECONDS` (a ping per checkout was a round trip per call)."""
    if is_sqlite(url):
        return create_db_engine(url, pool_size=pool_size, echo=echo)
    # no overflow: `pool_size` is the cap (connections open on demand up to it and then stay), so a busy process
    # never holds more than its workers can use nor churns connections; a checkout beyond it waits
    engine = create_engine(normalise_url(url), echo=echo, pool_size=pool_size, max_overflow=0,
                           pool_timeout=30, pool_recycle=1800)
    dbapi_error = engine.dialect.loaded_dbapi.Error

    @sa_event.listens_for(engine, "checkin")
    def _idle_from(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["jixiao_idle_since"] = time.monotonic()

    @sa_event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection) -> None:
        # dbapi_connection: psycopg2's connection (.autocommit, .cursor()); the DB-API has no types of its own
        since = record.info.get("jixiao_idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        # in autocommit: a ping in the driver's transaction mode would leave the connection inside a transaction
        # that nobody began (and lazy BEGIN could not switch it to autocommit)
        cursor = None
        try:
            dbapi_connection.autocommit = True
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            dbapi_connection.autocommit = False
        except dbapi_error as error:  # the pool replaces the connection and tries again
            raise exc.DisconnectionError(f"idle connection is gone: {error}") from error
        finally:
            try:
                if cursor is not None:
                    cursor.close()
            except dbapi_error:
                pass

    return engine


class Store:
    """A service's database: the engine, and the relay to wake when events were committed."""

    def __init__(self, engine: Engine, service_name: str, relay: OutboxRelay | None = None, *,
                 lazy: bool | None = None):
        """`lazy`: lazy BEGIN (chassis.lazy_begin) — None means on for PostgreSQL; never on SQLite."""
        self.engine = engine
        self.service_name = service_name
        self.relay = relay
        self.lazy_begin = wanted(engine, lazy) and lazy_begin(engine)
        # what a unit of work's session binds to: with lazy BEGIN, the same pool with the option set, so that a
        # session takes a connection only when it first runs a statement (a decision from a cached index, none)
        self.session_bind = engine.execution_options(**LAZY_BEGIN) if self.lazy_begin else engine

    @classmethod
    def from_url(cls, url: str, service_name: str, *, lazy: bool | None = None, **engine_kw: Any) -> Store:
        return cls(create_db_engine(url, **engine_kw), service_name, lazy=lazy)

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
    ) -> None:
        self.store = store
        self.actor = actor
        self.correlation_id = correlation_id
        self.inbox = inbox  # (handler, event ids, batch?) when handling events
        self._fresh: set[str] = set()
        self.clock = clock
        self._session: Session | None = None
        self._events: list[Envelope] = []
        self._claimed = False

    # -- for use cases ---------------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        """Inside `with uow:` (a session is open)."""
        return self._session is not None

    @property
    def session(self) -> Session:
        """The open session (inside `with uow:`); RuntimeError outside it."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use it inside `with uow:`")
        return self._session

    def now(self) -> datetime:
        return self.clock()

    def publish(self, *events: Event) -> list[Envelope]:
        """Record events to be published once (and only if) this unit of work commits."""
        if self._session is None:
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
        if self._session is not None:
            raise RuntimeError("unit of work is already open (no nesting)")
        self._session = Session(self.store.session_bind, expire_on_commit=False, autoflush=True)
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

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                self.session.rollback()
        finally:
            self._close()

    def commit(self) -> None:
        session = self.session
        if not self._events and self.inbox is None and not (session.new or session.dirty or session.deleted):
            if not session.in_transaction():
                return  # nothing read or written (e.g. a decision from a cached index): no round trips for nothing
            if self.store.lazy_begin and nothing_begun(session.connection()):
                # reads only, each in autocommit: the server has nothing to commit, and SQLAlchemy's commit (flush,
                # events, connection commit) cost ~10% of a read call's CPU for nothing. The session stays usable
                # in the same transaction; closing it ends the transaction without a round trip either way.
                return
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
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- inbox -----------------------------------------------------------------------------------------------
    def _claim(self, connection: Connection) -> bool:
        """Insert the inbox rows; remember which events are new. False when none is."""
        assert self.inbox is not None  # only called for event handlers
        handler, event_ids, _ = self.inbox
        dialect = connection.dialect.name
        now = utcnow()
        rows = [{"event_id": event_id, "handler": handler, "processed_at": now} for event_id in event_ids]
        if dialect == "postgresql":
            claimed = connection.execute(pg_insert(inbox_table).values(rows).on_conflict_do_nothing()
                                         .returning(inbox_table.c.event_id))
        elif dialect == "sqlite":
            claimed = connection.execute(sqlite_insert(inbox_table).values(rows).on_conflict_do_nothing()
                                         .returning(inbox_table.c.event_id))
        else:  # pragma: no cover - only the two supported backends
            raise RuntimeError(f"unsupported database {dialect}")
        self._fresh = {row[0] for row in claimed}
        return bool(self._fresh)

    def fresh(self, events: list[Envelope]) -> list[Envelope]:
        """The events of a batch this handler has not handled before (all of them, outside event handlers)."""
        wanted = self._fresh if self.inbox is not None else {event.id for event in events}
        out: list[Envelope] = []
        taken: set[str] = set()
        for event in events:  # a batch can hold two deliveries of one event: keep the first
            if event.id in wanted and event.id not in taken:
                taken.add(event.id)
                out.append(event)
        return out


# -- a transaction that lost a race -------------------------------------------------------------------------------

# deadlock victim, serialization failure: the database rolled the whole transaction back and running it again
# may well succeed (a connection that is gone or a server that is down is not retried here: the 503 says so)
CONFLICT_SQLSTATES = ("40P01", "40001")
R = TypeVar("R")


def lost_a_race(error: BaseException) -> bool:
    """The database picked this transaction as a deadlock or serialization victim (PostgreSQL's SQLSTATEs)."""
    return isinstance(error, exc.DBAPIError) and _sqlstate(error) in CONFLICT_SQLSTATES


def _sqlstate(error: exc.DBAPIError) -> str | None:
    return getattr(error.orig, "pgcode", None) or getattr(error.orig, "sqlstate", None)  # psycopg2 / psycopg 3


def retrying(work: Callable[[], R], *, attempts: int = 3, pause: float = 0.02,
             sleep: Callable[[float], None] = time.sleep) -> R:
    """Run `work` — a whole unit of work: it opens `with uow:`, decides, writes and commits — and run it again
    when the database picked its transaction as a deadlock or serialization victim, up to `attempts` times in
    all, after a short random pause. Only for work whose every effect is in the transaction (the outbox carries
    its events): a failed attempt left nothing behind. Other errors, and the last conflict, propagate (a 503)."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except exc.DBAPIError as error:
            if attempt == attempts or not lost_a_race(error):
                raise
            log.info("transaction lost a race (%s), attempt %d of %d", _sqlstate(error), attempt, attempts)
            sleep(pause * attempt * (0.5 + random.random()))  # jitter: the two victims do not meet again
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def purge_inbox(engine: Engine, older_than: timedelta) -> int:
    with engine.begin() as conn:
        result: CursorResult[Any] = conn.execute(
            delete(inbox_table).where(inbox_table.c.processed_at < utcnow() - older_than))
        return result.rowcount


U = TypeVar("U", bound=UnitOfWork)


class Database(DependencyProvider, Generic[U]):
    """The service's database as a nameko dependency: injects a fresh unit of work per worker, owns the engine
    and runs the outbox relay while the container runs. `Database(GoalsUnitOfWork)` is a `Database[GoalsUnitOfWork]`:
    `self.uow` in the service is typed as that unit of work."""

    @overload
    def __init__(self: Database[UnitOfWork], *, relay: bool = True, **kwargs: Any) -> None: ...

    @overload
    def __init__(self, unit_of_work: type[U], relay: bool = True, **kwargs: Any) -> None: ...

    def __init__(self, unit_of_work: type[Any] = UnitOfWork, relay: bool = True, **kwargs: Any) -> None:
        self.unit_of_work: type[U] = unit_of_work
        self.with_relay = relay
        self.store: Store | None = None
        super().__init__(**kwargs)

    if TYPE_CHECKING:  # what a service instance sees (`self.uow`): nameko sets the dependency over the attribute
        def __get__(self, instance: object, owner: type | None = None) -> U: ...

    def _set_up(self) -> Store:
        if self.store is None:
            raise RuntimeError("the database is used before its setup()")
        return self.store

    def setup(self) -> None:
        settings = settings_of(self.container)
        # at most a connection per worker, plus the relay's and a few for readiness and recorded denials (checkouts
        # beyond a pool used to open and close a connection, a server process, per call). Budget PostgreSQL's
        # max_connections for the sum over processes (deploy/README.md).
        engine = service_engine(settings.effective_database_url, echo=settings.db_echo,
                                pool_size=max(settings.db_pool_size, settings.max_workers + 4))
        relay = None
        if self.with_relay:
            from chassis.metrics import metrics_of

            metrics = metrics_of(self.container)
            relay = OutboxRelay(
                engine, self.container.service_name, settings.amqp_uri,
                batch_size=settings.outbox_batch_size, poll_interval=settings.outbox_poll_interval,
                linger=settings.outbox_linger, linger_max=settings.outbox_linger_max,
                busy=lambda: self.container._worker_pool.running() > 0,
                max_backoff=settings.outbox_max_backoff,
                retention=timedelta(hours=settings.outbox_retention_hours),
                on_published=metrics.outbox_published.inc,
                on_failure=lambda exc: metrics.outbox_failures.inc(),
            )
            metrics.watch_outbox(relay)
        self.store = Store(engine, self.container.service_name, relay, lazy=settings.db_lazy_begin)
        from chassis.metrics import metrics_of

        metrics_of(self.container).watch_pool(engine)
        self.container._jixiao_store = self.store

    def start(self) -> None:
        store = self._set_up()
        if store.relay is not None:
            self.container.spawn_managed_thread(store.relay.run, identifier="outbox-relay")

    def stop(self) -> None:
        store = self._set_up()
        if store.relay is not None:
            store.relay.stop()
            store.relay.wait_stopped()
        store.engine.dispose()

    def kill(self) -> None:
        if self.store is not None:
            if self.store.relay is not None:
                self.store.relay.stop()
            self.store.engine.dispose()

    def get_dependency(self, worker_ctx: WorkerContext) -> U:
        call = bind(worker_ctx)
        claim = getattr(worker_ctx.entrypoint, "inbox_claim", None)
        inbox = claim(worker_ctx) if claim is not None else None
        return self.unit_of_work(self._set_up(), actor=call.acting, correlation_id=call.correlation_id, inbox=inbox)

    def ready(self) -> tuple[bool, str]:
        try:
            with self._set_up().engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True, "ok"
        except Exception as exc:
            return False, f"database: {type(exc).__name__}"
