"""Rate limits: a client may send `burst` requests at once and `rate` per second sustained.

`SharedRateLimiter` keeps the limit in the gateway's own database, so 2–10 replicas share one limit instead of
multiplying it: GCRA (the token bucket as one timestamp per client, the "theoretical arrival time"), decided by
one atomic INSERT … ON CONFLICT DO UPDATE … RETURNING per request, in autocommit (one round trip, no lock held
between statements). A denial is remembered in the process until its Retry-After, so a client hammering past its
limit costs no database round trips; if the database cannot be reached the process falls back to its own
in-memory bucket (a limit per replica beats none, and beats failing every request). The clocks of the replicas
are NTP-synchronised hosts' wall clocks.

`RateLimiter` is the in-memory bucket (one process; also what `RATE_LIMIT_STORE=process` uses).
"""
from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy import case, literal
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

    def take(self, key: str) -> float:
        """Take one token. Returns 0 when allowed, else the seconds until a token is available."""
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


def gcra_statement(dialect: str, key: str, now: float, interval: float, tolerance: float):
    """The one statement: take a request's worth from `key`'s bucket if it has room. RETURNING (tat, allowed);
    when denied, `tat` is unchanged and the wait is `max(tat, now) + interval - now - tolerance`."""
    table = RateLimitRow.__table__
    old = table.c.tat
    start = case((old > literal(now), old), else_=literal(now))  # max(tat, now), the same on both databases
    fits = start + literal(interval) - literal(now) <= literal(tolerance)
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(table).values(key=key, tat=now + interval, allowed=True).on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"tat": case((fits, start + literal(interval)), else_=old), "allowed": fits},
    ).returning(table.c.tat, table.c.allowed)


class SharedRateLimiter:
    """The same contract as `RateLimiter.take`, over the gateway's database (see the module's docstring)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.time,
                 max_remembered: int = 100_000):
        self.interval = 1.0 / rate
        self.tolerance = self.interval * burst  # a full bucket: `burst` requests at once
        self.clock = clock
        self.fallback = RateLimiter(rate, burst)
        self.max_remembered = max_remembered
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
            statement = gcra_statement(engine.dialect.name, key[:200], now, self.interval, self.tolerance)
            if engine.dialect.name == "sqlite":  # the chassis's SQLite engine sends its own BEGIN: commit it
                with engine.begin() as conn:
                    tat, allowed = conn.execute(statement).one()
            else:
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    tat, allowed = conn.execute(statement).one()
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


def purge(engine: Engine, older_than: float = 3600.0) -> int:
    """Buckets full again for a while are the same as no row: delete them (the gateway's hourly timer)."""
    table = RateLimitRow.__table__
    with engine.begin() as conn:
        return conn.execute(table.delete().where(table.c.tat < time.time() - older_than)).rowcount


def retry_after(seconds: float) -> str:
    """The Retry-After header value: whole seconds, at least one."""
    return str(max(1, math.ceil(seconds)))
