"""The shared rate limit (gateway.ratelimit) on the gateway's migrated database, SQLite and PostgreSQL: two
limiters (two replicas) over one database allow `burst` at once and `rate` per second between them, not each; a
denial says how long to wait; the in-memory bucket is the fallback when the database is gone."""
from __future__ import annotations

import pytest

from chassis.db import create_db_engine
from chassis.migrations import upgrade
from gateway.ratelimit import RateLimiter, SharedRateLimiter


class Clock:
    def __init__(self, now: float = 1_796_300_000.0):  # 2026-12-03
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, sqlite_url):
    if request.param == "sqlite":
        url = sqlite_url
        upgrade("gateway", url)
    else:
        url = request.getfixturevalue("pg_database")("gateway")
    engine = create_db_engine(url)
    yield engine
    engine.dispose()


def test_two_replicas_share_one_bucket(engine, caplog):
    clock = Clock()
    first, second = (SharedRateLimiter(rate=2.0, burst=4, clock=clock) for _ in range(2))
    waits = [(first if i % 2 else second).take("client:crm-1", engine) for i in range(6)]
    assert waits[:4] == [0.0] * 4  # the burst, spread over both
    assert waits[4] == pytest.approx(0.5) and waits[5] == pytest.approx(0.5)  # then one every 1/rate seconds
    assert first.take("client:other", engine) == 0.0  # per client
    clock.now += 0.5
    assert first.take("client:crm-1", engine) == 0.0
    assert second.take("client:crm-1", engine) == pytest.approx(0.5)
    clock.now += 10  # refilled, never above the burst
    assert [second.take("client:crm-1", engine) for _ in range(5)].count(0.0) == 4
    assert "shared rate limit unavailable" not in caplog.text
    with engine.connect() as conn:  # decided in the database, not by a fallback bucket in each limiter
        assert conn.exec_driver_sql("select count(*) from rate_limits").scalar() == 2


def test_a_denial_is_answered_locally_until_its_retry_after(engine):
    clock = Clock()
    limiter = SharedRateLimiter(rate=1.0, burst=1, clock=clock)
    assert limiter.take("address:10.0.0.1", engine) == 0.0
    assert limiter.take("address:10.0.0.1", engine) == pytest.approx(1.0)
    engine.dispose()
    with engine.connect() as conn:  # the database would now allow it: the process still knows better
        conn.exec_driver_sql("delete from rate_limits")
        conn.commit()
    clock.now += 0.4
    assert limiter.take("address:10.0.0.1", engine) == pytest.approx(0.6)
    clock.now += 0.7
    assert limiter.take("address:10.0.0.1", engine) == 0.0


def test_without_the_database_each_process_limits_on_its_own():
    limiter = SharedRateLimiter(rate=1.0, burst=2)
    broken = create_db_engine("postgresql://nobody@127.0.0.1:1/none")
    assert [limiter.take("k", broken) for _ in range(3)][:2] == [0.0, 0.0]
    assert limiter.take("k", broken) > 0
    assert RateLimiter(1.0, 2).take("k") == 0.0


class RoundTrips:
    """Statements the limiters sent to the database (through either of its engines)."""

    def __init__(self):
        self.count = 0

    def __call__(self, *args, **kwargs):
        self.count += 1


@pytest.fixture
def round_trips():
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    counter = RoundTrips()
    event.listen(Engine, "before_cursor_execute", counter)
    yield counter
    event.remove(Engine, "before_cursor_execute", counter)


def admitted_within_bounds(admitted: list[float], rate: float, burst: int, slack: int) -> None:
    """Every window [a, b] of admission times holds at most burst + rate*(b - a) + slack, and all of them at
    most burst + rate*t since the first."""
    admitted = sorted(admitted)
    for i, start in enumerate(admitted):
        for j in range(i, len(admitted)):
            assert j - i + 1 <= burst + rate * (admitted[j] - start) + slack + 1e-6, (i, j)
    assert len(admitted) <= burst + rate * (admitted[-1] - admitted[0]) + 1e-6


def hammer(limiters, engine, clock, rate: float, steps: list[tuple[int, float]]) -> list[float]:
    """Requests of one client spread over the limiters (`steps`: which one, then how long until the next)."""
    admitted = []
    for which, pause in steps:
        if limiters[which].take("client:crm-1", engine) == 0.0:
            admitted.append(clock.now)
        clock.now += pause
    return admitted


def test_leases_save_round_trips(engine, round_trips):
    """A busy client within its limit, over three replicas: one round trip per many requests."""
    clock = Clock()
    limiters = [SharedRateLimiter(rate=1000.0, burst=800, clock=clock) for _ in range(3)]
    admitted = hammer(limiters, engine, clock, 1000.0, [(i % 3, 0.001) for i in range(600)])
    assert len(admitted) == 600
    assert round_trips.count < 600 / 8, round_trips.count  # leases grow to 64: ~20 per replica


def test_leases_keep_the_shared_limit(engine):
    """Three replicas hammering one client past its limit: what they admit between them stays within
    burst + rate*t (+ the documented R*(k-1) in a window), and not much under it."""
    import random

    rate, burst, replicas = 20.0, 128, 3
    clock = Clock()
    limiters = [SharedRateLimiter(rate=rate, burst=burst, clock=clock) for _ in range(replicas)]
    k = limiters[0].max_lease
    assert k == 16  # burst/8
    rng = random.Random(20261203)
    steps = [(rng.randrange(replicas), rng.choice([0.0, 0.0, 0.001, 0.01])) for _ in range(1500)]
    admitted = hammer(limiters, engine, clock, rate, steps)
    elapsed = clock.now - Clock().now
    assert len(admitted) >= burst + rate * elapsed - replicas * k  # under-served by unspent leases at most
    admitted_within_bounds(admitted, rate, burst, replicas * (k - 1))


def test_a_denial_after_leases_waits_for_one_token(engine):
    clock = Clock()
    first, second = (SharedRateLimiter(rate=2.0, burst=32, clock=clock) for _ in range(2))
    waits = [(first if i % 2 else second).take("client:crm-1", engine) for i in range(40)]
    assert waits.count(0.0) <= 32 and waits.count(0.0) >= 32 - 2 * (first.max_lease - 1)
    denied = next(w for w in waits if w)
    assert denied == pytest.approx(0.5)  # one token's wait at 2/s, whatever the leases
    clock.now += 0.5
    assert first.take("client:crm-1", engine) == 0.0 or second.take("client:crm-1", engine) == 0.0


def test_an_idle_clients_lease_expires_and_shrinks(engine):
    clock = Clock()
    limiter = SharedRateLimiter(rate=100.0, burst=800, clock=clock, lease_seconds=1.0)
    for _ in range(20):  # busy: leases of 1, 2, 4, 8, 16 ...
        assert limiter.take("client:crm-1", engine) == 0.0
    size = limiter._leases["client:crm-1"].size
    assert size >= 8
    clock.now += 2.0  # the rest of the lease lapses unspent
    assert limiter.take("client:crm-1", engine) == 0.0
    assert limiter._leases["client:crm-1"].size == size // 2


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    given = None


if given is not None:
    @settings(max_examples=25, deadline=None)
    @given(steps=st.lists(st.tuples(st.integers(0, 2), st.sampled_from([0.0, 0.0, 0.002, 0.05, 0.3])),
                          min_size=1, max_size=300),
           burst=st.sampled_from([1, 4, 16, 40, 100]), rate=st.sampled_from([1.0, 10.0, 50.0]))
    def test_any_interleaving_keeps_the_limit(tmp_path_factory, steps, burst, rate):
        url = f"sqlite:///{tmp_path_factory.mktemp('limit')}/gateway.db"
        upgrade("gateway", url)
        engine = create_db_engine(url)
        try:
            clock = Clock()
            limiters = [SharedRateLimiter(rate=rate, burst=burst, clock=clock) for _ in range(3)]
            admitted = hammer(limiters, engine, clock, rate, steps)
            k = limiters[0].max_lease
            if admitted:
                admitted_within_bounds(admitted, rate, burst, 3 * (k - 1))
        finally:
            engine.dispose()


def test_requests_in_flight_wait_for_one_lease(engine, round_trips):
    """A client's concurrent requests (green threads) refill its lease once, not once each."""
    import eventlet

    limiter = SharedRateLimiter(rate=1000.0, burst=800)
    assert limiter.take("client:crm-1", engine) == 0.0  # a lease of one, spent
    before = round_trips.count
    pool = eventlet.GreenPool()
    waits = list(pool.imap(lambda _: limiter.take("client:crm-1", engine), range(30)))
    assert waits == [0.0] * 30
    assert round_trips.count - before <= 8, round_trips.count - before  # 2, 4, 8, 16 ... not 30
