"""Rate limits: a client may send `burst` requests at once and `rate` per second sustained.

`SharedRateLimiter` keeps the limit in the gateway's own database, so 2 to 10 replicas share one limit instead of
multiplying it: GCRA (the token bucket as one timestamp per client, the "theoretical arrival time"), decided by
one atomic INSERT … ON CONFLICT DO UPDATE … RETURNING per request, in autocommit (one round trip, no lock held
between statements). A denial is remembered in the process until its Retry-After, so a client hammering past its
limit costs no database round trips; if the database cannot be reached the process falls back to its own
in-memory bucket (a limit per replica beats none, and beats failing every request). The clocks of the replicas
are NTP-synchronised hosts' wall clocks.

`RateLimiter` is the in-memory bucket (one process; also what `RATE_LIMIT_STORE=process` uses).
"""
from __future__ import annotations

import functools
import logging
import math
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Float, bindparam, case, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from gateway.models import RateLimitRow

log = logging.getLogger(__name__)


class RateLimiter:
    def __init__(self, rate: float, burst: int, max_clients: int = 100_000, clock=time.monotonic):
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()  # key -> [tokens, last refill]

    def take(self, key: str, engine: Engine | None = None) -> float:
        """Take one token. Returns 0 when allowed, else the seconds until a token is available. (`engine` is the
        shared limiter's; this bucket is in memory.)"""
        rate, burst = self.rate, self.burst
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = [float(burst), now]
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket[0] = min(float(burst), bucket[0] + (now - bucket[1]) * rate)
            bucket[1] = now
        if bucket[0] >= 1.0:
            bucket[0] -= 1.0
            return 0.0
        return (1.0 - bucket[0]) / rate

    def exhausted(self, key: str) -> float:
        """Seconds until `key` has a token again (0 when it has one), without taking it."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        tokens = min(float(self.burst), bucket[0] + (self.clock() - bucket[1]) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate


def gcra_statement(dialect: str, key: str, now: float, interval: float,
                   tolerance: float) -> tuple[Any, dict[str, Any]]:
    """The one statement and its values: take a request's worth from `key`'s bucket if it has room. RETURNING
    (tat, allowed); when denied, `tat` is unchanged and the wait is `max(tat, now) + interval - now - tolerance`.
    (An INSERT takes its values at execution: `.params()` is refused for DML.)"""
    return _gcra(dialect), {"key": key, "now": now, "interval": interval, "tolerance": tolerance,
                            "first": now + interval}


@functools.cache
def _gcra(dialect: str):
    # built once per dialect with bound parameters: per request only the values change (no expression building,
    # and SQLAlchemy's compiled-statement cache is hit)
    table = RateLimitRow.__table__
    old = table.c.tat
    now, interval = bindparam("now", type_=Float), bindparam("interval", type_=Float)
    start = case((old > now, old), else_=now)  # max(tat, now), the same on both databases
    fits = start + interval - now <= bindparam("tolerance", type_=Float)
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(table).values(key=bindparam("key"), tat=bindparam("first", type_=Float),
                                allowed=True).on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"tat": case((fits, start + interval), else_=old), "allowed": fits},
    ).returning(table.c.tat, table.c.allowed)


_autocommit: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _autocommit_engine(engine: Engine) -> Engine:
    """A small pool of PostgreSQL connections opened in autocommit, beside `engine` (disposed with it): the
    limiter's one statement needs no transaction, and a connection always in autocommit is not switched in and
    out of it per request."""
    found = _autocommit.get(engine)
    if found is None:
        # as many connections as requests in flight under load: a pool too small connects and closes per request
        # synchronous_commit off: a counter need not wait for its WAL flush (a crash forgets the last moments of
        # budgets); each write stays atomic and replicated
        found = _autocommit[engine] = create_engine(engine.url, isolation_level="AUTOCOMMIT", pool_size=16,
                                                    max_overflow=16, pool_recycle=1800,
                                                    connect_args={"options": "-c synchronous_commit=off"})
        event.listen(engine, "engine_disposed", lambda _engine, pool=found: pool.dispose())
    return found


class SharedRateLimiter:
    """The same contract as `RateLimiter.take`, over the gateway's database (see the module's docstring)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.time,
                 max_remembered: int = 100_000, namespace: str = ""):
        self.interval = 1.0 / rate
        self.tolerance = self.interval * burst  # a full bucket: `burst` requests at once
        self.clock = clock
        self.fallback = RateLimiter(rate, burst)
        self.max_remembered = max_remembered
        self.namespace = namespace  # several limits share the table: each its own keys
        self._denied_until: OrderedDict[str, float] = OrderedDict()

    def take(self, key: str, engine: Engine | None = None) -> float:
        now = self.clock()
        until = self._denied_until.get(key)
        if until is not None:
            if now < until:
                return until - now  # still denied: no round trip
            del self._denied_until[key]
        if engine is None:
            return self.fallback.take(key)
        try:
            if engine.dialect.name == "sqlite":  # the chassis's SQLite engine sends its own BEGIN: commit it
                with engine.begin() as conn:
                    now, tat, allowed = self._decide(conn, key)
            else:
                with _autocommit_engine(engine).connect() as conn:
                    now, tat, allowed = self._decide(conn, key)
        except Exception as exc:  # the database is down: each replica limits on its own meanwhile
            log.warning("shared rate limit unavailable, limiting in this process: %s", exc)
            return self.fallback.take(key)
        if allowed:
            return 0.0
        wait = max(tat, now) + self.interval - now - self.tolerance
        self._denied_until[key] = now + wait
        if len(self._denied_until) > self.max_remembered:
            self._denied_until.popitem(last=False)
        return max(wait, 1e-6)

    def exhausted(self, key: str, engine: Engine | None = None) -> float:
        """Seconds until `key` may take again, as far as this process knows (its own denials, no round trip): a
        key another replica exhausted is denied here at its next `take`, which asks the shared store."""
        until = self._denied_until.get(key)
        return 0.0 if until is None else max(0.0, until - self.clock())


    def _decide(self, conn, key: str) -> tuple[float, float, bool]:
        # the time is read once the connection is ours: a request that waited for one (a busy pool under load)
        # must not present a time older than requests decided meanwhile, or its bucket looks overdrawn
        now = self.clock()
        statement, values = gcra_statement(conn.dialect.name, key[:200], now, self.interval, self.tolerance)
        tat, allowed = conn.execute(statement, values).one()
        return now, tat, allowed


def purge(engine: Engine, older_than: float = 3600.0) -> int:
    """Buckets full again for a while are the same as no row: delete them (the gateway's hourly timer)."""
    table = RateLimitRow.__table__
    with engine.begin() as conn:
        return conn.execute(table.delete().where(table.c.tat < time.time() - older_than)).rowcount


def retry_after(seconds: float) -> str:
    """The Retry-After header value: whole seconds, at least one."""
    return str(max(1, math.ceil(seconds)))
