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
