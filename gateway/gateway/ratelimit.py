"""Rate limits: a client may send `burst` requests at once and `rate` per second sustained.

`SharedRateLimiter` keeps the limit in the gateway's own database, so 2 to 10 replicas share one limit instead of
multiplying it: GCRA (the token bucket as one timestamp per client, the "theoretical arrival time"), decided by
one atomic INSERT … ON CONFLICT DO UPDATE … RETURNING, in autocommit (one round trip, no lock held between
statements). A replica does not ask per request: it *leases* tokens, n at once taken from the shared bucket in
that one statement, and spends them in the process. A new key leases 1; a key that spent its lease within
`lease_seconds` leases twice as many next time, up to `max_lease` and never more than burst/8 (so a small limit,
burst < 16, stays exactly one round trip per request); a lease that expires half-spent halves the next one and its
rest is forgotten (never given back: the client is under-served by it, not over-served).

What that costs the limit, with R replicas and leases of at most k tokens:
- in total, since the bucket first filled, no more than burst + rate·t requests are admitted: every admitted
  request is a token already taken from the shared bucket;
- in any window, at most burst + rate·window + R·(k-1): besides what the bucket grants within the window, a
  replica may spend what it leased before it (k-1 at most, and only within `lease_seconds` of leasing it);
- a client may be refused by one replica while another still holds up to k-1 of its tokens (R·(k-1) at most).

A denial is remembered in the process until its Retry-After (the wait for one token, from the shared bucket), so a
client hammering past its limit costs no database round trips; if the database cannot be reached the process falls
back to its own in-memory bucket (a limit per replica beats none, and beats failing every request). The clocks of
the replicas are NTP-synchronised hosts' wall clocks.

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

from eventlet.event import Event
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
    """The one statement and its values: take `interval` seconds' worth (one request's, or a lease of n
    requests: n intervals) from `key`'s bucket if it has room. RETURNING (tat, allowed); when denied, `tat` is
    unchanged and the wait for one request is `max(tat, now) + 1/rate - now - tolerance`. (An INSERT takes its
    values at execution: `.params()` is refused for DML.)"""
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


class _Lease:
    """Tokens of one key this replica took from the shared bucket and has not spent yet."""

    __slots__ = ("expires", "size", "tokens")

    def __init__(self, tokens: int, expires: float, size: int):
        self.tokens, self.expires, self.size = tokens, expires, size


class SharedRateLimiter:
    """The same contract as `RateLimiter.take`, over the gateway's database (see the module's docstring)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.time,
                 max_remembered: int = 100_000, namespace: str = "", max_lease: int = 64,
                 lease_seconds: float = 1.0):
        self.interval = 1.0 / rate
        self.burst = burst
        self.tolerance = self.interval * burst  # a full bucket: `burst` requests at once
        self.clock = clock
        self.fallback = RateLimiter(rate, burst)
        self.max_remembered = max_remembered
        self.namespace = namespace  # several limits share the table: each its own keys
        # a lease never holds more than an eighth of the burst, so small limits (the failed-authentication
        # counts, a burst under 16) stay exact: one token per round trip
        self.max_lease = max(1, min(max_lease, burst // 8))
        self.lease_seconds = lease_seconds
        self._denied_until: OrderedDict[str, float] = OrderedDict()
        self._leases: OrderedDict[str, _Lease] = OrderedDict()
        self._refilling: dict[str, Event] = {}

    def take(self, key: str, engine: Engine | None = None) -> float:
        now = self.clock()
        until = self._denied_until.get(key)
        if until is not None:
            if now < until:
                return until - now  # still denied: no round trip
            del self._denied_until[key]
        lease = self._leases.get(key)
        if lease is not None and lease.tokens and now < lease.expires:
            lease.tokens -= 1  # spent locally: no round trip
            return 0.0
        if engine is None:
            return self.fallback.take(key)
        if self.max_lease > 1:
            # one refill per key at a time: the client's other requests in flight wait for its lease instead of
            # each leasing (a round trip each, and tokens they would strand)
            refilling = self._refilling.get(key)
            if refilling is not None:
                if refilling.wait():  # the database is away: do not queue up to find that out again
                    return self.fallback.take(key)
                return self.take(key, engine)
            self._refilling[key] = refilled = Event()
            fell_back = True
            try:
                wait, fell_back = self._refill(key, engine, lease, now)
                return wait
            finally:
                del self._refilling[key]
                refilled.send(fell_back)
        return self._refill(key, engine, lease, now)[0]

    def _refill(self, key: str, engine: Engine, lease: _Lease | None, now: float) -> tuple[float, bool]:
        """(the wait, 0 when allowed; whether the database was away and the process bucket decided)"""
        size = self._next_size(lease, now)
        try:
            if engine.dialect.name == "sqlite":  # the chassis's SQLite engine sends its own BEGIN: commit it
                with engine.begin() as conn:
                    now, got, wait = self._lease(conn, key, size)
            else:
                with _autocommit_engine(engine).connect() as conn:
                    now, got, wait = self._lease(conn, key, size)
        except Exception as exc:  # the database is down: each replica limits on its own meanwhile
            log.warning("shared rate limit unavailable, limiting in this process: %s", exc)
            return self.fallback.take(key), True
        if got:
            self._leases[key] = _Lease(got - 1, now + self.lease_seconds, size)
            self._leases.move_to_end(key)
            if len(self._leases) > self.max_remembered:
                self._leases.popitem(last=False)
            return 0.0, False
        self._leases.pop(key, None)
        self._denied_until[key] = now + wait
        if len(self._denied_until) > self.max_remembered:
            self._denied_until.popitem(last=False)
        return max(wait, 1e-6), False

    def exhausted(self, key: str, engine: Engine | None = None) -> float:
        """Seconds until `key` may take again, as far as this process knows (its own denials, no round trip): a
        key another replica exhausted is denied here at its next `take`, which asks the shared store."""
        until = self._denied_until.get(key)
        return 0.0 if until is None else max(0.0, until - self.clock())

    def _next_size(self, lease: _Lease | None, now: float) -> int:
        """How many tokens to lease: a key that spent its last lease within its window (a busy client) gets
        twice as many, one that let it expire half as many; a new key one."""
        if lease is None:
            return 1
        if lease.tokens and now >= lease.expires:
            return max(1, lease.size // 2)
        return min(self.max_lease, lease.size * 2)

    def _lease(self, conn, key: str, size: int) -> tuple[float, int, float]:
        """(now, tokens got, wait when none): `size` tokens if the bucket has them, else as many as it has
        (a second round trip, only at the edge of the budget), else none and the wait for one."""
        key = (self.namespace + key)[:200]
        for _ in range(3):  # another replica may take the remainder meanwhile: ask again, briefly
            # the time is read once the connection is ours: a request that waited for one (a busy pool under
            # load) must not present a time older than requests decided meanwhile, or its bucket looks overdrawn
            now = self.clock()
            statement, values = gcra_statement(conn.dialect.name, key, now, self.interval * size, self.tolerance)
            tat, allowed = conn.execute(statement, values).one()
            if allowed:
                return now, size, 0.0
            start = max(tat, now)
            room = int((self.tolerance - (start - now)) / self.interval + 1e-9)
            if room < 1:
                return now, 0, start + self.interval - now - self.tolerance
            size = min(size - 1, room)
        return now, 0, self.interval


def purge(engine: Engine, older_than: float = 3600.0) -> int:
    """Buckets full again for a while are the same as no row: delete them (the gateway's hourly timer)."""
    table = RateLimitRow.__table__
    with engine.begin() as conn:
        return conn.execute(table.delete().where(table.c.tat < time.time() - older_than)).rowcount


def retry_after(seconds: float) -> str:
    """The Retry-After header value: whole seconds, at least one."""
    return str(max(1, math.ceil(seconds)))
