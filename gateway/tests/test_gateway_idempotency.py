"""Idempotency-Key claims on the gateway's own PostgreSQL database: one request runs, a retry gets the stored
answer, a concurrent retry is told to wait, a reused key is refused, an abandoned claim is taken over."""
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from chassis import Store, UnitOfWork
from gateway import idempotency
from gateway.problems import HttpProblem

TTL, STALE = timedelta(hours=1), timedelta(seconds=60)


@pytest.fixture
def uow(pg_database):
    store = Store.from_url(pg_database("gateway"), "gateway")
    yield UnitOfWork(store)
    store.engine.dispose()


def test_claim_replay_conflicts_and_release(uow):
    print_a, print_b = "a" * 64, "b" * 64
    assert idempotency.claim(uow, "person:E1", "k1", print_a, TTL, STALE) is None  # this request runs
    with pytest.raises(HttpProblem) as running:
        idempotency.claim(uow, "person:E1", "k1", print_a, TTL, STALE)
    assert running.value.status == 409 and running.value.headers == {"Retry-After": "1"}
    assert idempotency.claim(uow, "person:E2", "k1", print_a, TTL, STALE) is None  # keys are per caller

    answer = idempotency.Stored(201, '{"id": "g1"}', {"ETag": '"1"'})
    idempotency.complete(uow, "person:E1", "k1", answer)
    assert idempotency.claim(uow, "person:E1", "k1", print_a, TTL, STALE) == answer
    with pytest.raises(HttpProblem) as reused:
        idempotency.claim(uow, "person:E1", "k1", print_b, TTL, STALE)
    assert reused.value.status == 422

    idempotency.release(uow, "person:E2", "k1")  # the outcome was unknown (5xx): the key is free again
    assert idempotency.claim(uow, "person:E2", "k1", print_b, TTL, STALE) is None


def test_abandoned_claims_are_taken_over_and_expired_keys_forgotten(uow):
    assert idempotency.claim(uow, "client:c", "k", "x" * 64, TTL, STALE) is None
    # the gateway that held it died: a claim older than `stale_after` can be taken over
    assert idempotency.claim(uow, "client:c", "k", "x" * 64, TTL, timedelta(0)) is None
    idempotency.complete(uow, "client:c", "k", idempotency.Stored(200, "{}", {}))
    assert idempotency.purge_expired(uow) == 0

    assert idempotency.claim(uow, "client:c", "short", "x" * 64, timedelta(0), STALE) is None  # kept for no time
    idempotency.complete(uow, "client:c", "short", idempotency.Stored(200, "{}", {}))
    assert idempotency.claim(uow, "client:c", "short", "y" * 64, TTL, STALE) is None  # expired: a fresh key
    assert idempotency.claim(uow, "client:c", "gone", "z" * 64, timedelta(0), STALE) is None
    assert idempotency.purge_expired(uow) == 1


@pytest.mark.parametrize("key", ["", " ", "a b", "é", "x" * 256])
def test_keys_are_visible_ascii(key):
    with pytest.raises(HttpProblem):
        idempotency.check_key(key)


def test_a_key_whose_outcome_is_unknown_stays_bound_and_a_retry_reruns_it(uow):
    """issue 10 #4: the key was released on any 5xx, and a retry after a 504 wrote a second row. Now it stays
    bound to the first attempt; a retry runs again under the same request key (which the service deduplicates)."""
    print_a = "a" * 64
    assert idempotency.claim(uow, "person:E1", "k504", print_a, TTL, STALE) is None
    idempotency.unknown(uow, "person:E1", "k504")  # the first attempt timed out
    with pytest.raises(HttpProblem) as reused:  # still bound to the first request
        idempotency.claim(uow, "person:E1", "k504", "b" * 64, TTL, STALE)
    assert reused.value.status == 422
    assert idempotency.claim(uow, "person:E1", "k504", print_a, TTL, STALE) is None  # the retry reruns it...
    with pytest.raises(HttpProblem) as running:  # ... once at a time
        idempotency.claim(uow, "person:E1", "k504", print_a, TTL, STALE)
    assert running.value.status == 409
    assert idempotency.request_key("person:E1", "k504") == idempotency.request_key("person:E1", "k504")
    assert idempotency.request_key("person:E1", "k504") != idempotency.request_key("person:E2", "k504")


def test_kept_replies_are_recalled_waited_for_and_forgotten(uow):
    """What an unknown attempt's calls answered is kept for its retry: the in-time replies with `unknown`, a late one
    as it arrives; `recall` waits for one still on its way, answers None when none comes; both expire."""
    outcomes = idempotency.FirstOutcomes(uow.store, TTL)
    assert idempotency.claim(uow, "person:E1", "kept", "a" * 64, TTL, STALE) is None
    outcomes.answered("1" * 64, {"result": {"id": "c1"}, "error": None})
    assert outcomes.recall("1" * 64, 0) is None  # in memory only, while the request may still end well
    idempotency.unknown(uow, "person:E1", "kept", outcomes)
    assert outcomes.recall("1" * 64, 0) == {"result": {"id": "c1"}, "error": None}

    elsewhere = idempotency.FirstOutcomes(uow.store, TTL)  # another replica, same database
    late = threading.Timer(0.3, outcomes.arrived_late, ("2" * 64, {"result": {"id": "c2"}, "error": None}))
    late.start()  # the first attempt's reply lands while the retry waits for it
    started = time.monotonic()
    assert elsewhere.recall("2" * 64, 5) == {"result": {"id": "c2"}, "error": None}
    assert 0.25 < time.monotonic() - started < 2
    late.join()
    started = time.monotonic()
    assert elsewhere.recall("3" * 64, 0.3) is None  # never came: gives up at its deadline
    assert 0.25 < time.monotonic() - started < 1.5

    short = idempotency.FirstOutcomes(uow.store, timedelta(0))
    short.arrived_late("4" * 64, {"result": 1, "error": None})
    assert short.recall("4" * 64, 0) is None  # expired at once
    idempotency.purge_expired(uow)
    with uow:
        left = uow.session.execute(text("SELECT call_key FROM idempotency_replies ORDER BY 1")).scalars().all()
    assert left == ["1" * 64, "2" * 64]


@contextmanager
def cycles_locked(database_url: str):
    """Another transaction holds goals' `cycles` table: creating a cycle waits (a slow service, for real)."""
    engine = create_engine(database_url)
    connection = engine.connect()
    transaction = connection.begin()
    connection.execute(text("LOCK TABLE cycles IN EXCLUSIVE MODE"))
    try:
        yield transaction
    finally:
        if transaction.is_active:
            transaction.rollback()
        connection.close()
        engine.dispose()


def column(database_url: str, statement: str, **params) -> list:
    """The first column of a query on a service's own database (what a retry did or did not write)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(statement), params).scalars())
    finally:
        engine.dispose()


def cycles_named(database_url: str, name: str) -> list[str]:
    return [str(cycle_id) for cycle_id in column(database_url, "SELECT id FROM cycles WHERE name = :n", n=name)]


def kept_replies(database_url: str) -> int:
    return column(database_url, "SELECT count(*) FROM idempotency_replies")[0]


def _q4(name: str) -> dict:  # the quarter running now (2026-12-03)
    return {"name": name, "period": "quarter", "year": 2026, "index": 4}


@pytest.fixture
def hasty(seeded, gateway_config, run_services, keys):
    """A second gateway replica on the same database whose RPC timeout (1 s) is shorter than goals will take."""
    from chassis.testing.plugin import wait_for
    from gateway.service import GatewayService

    from .conftest import Client

    containers = run_services({GatewayService: {**gateway_config, "BOOTSTRAP_ADMINS": "root", "RPC_TIMEOUT": 1.0}})
    client = Client(containers["gateway"], keys.token("H1"))
    wait_for(lambda: client.get("/api/v1/me").status_code == 200, message="the second replica knows H1")
    return client


def test_a_retry_after_a_504_answers_the_first_outcome_and_writes_once(seeded, hasty, gateway_config):
    """issue 10 #4: goals is slowed past the gateway's RPC timeout (another transaction holds its cycles table), the
    first attempt answers 504 while goals goes on and creates the cycle; its reply arrives late and is kept. The
    client's retry with the same Idempotency-Key, through the other replica, answers 201 with that cycle: one row."""
    from chassis.runtime import settings_of
    from chassis.testing.plugin import wait_for

    goals_db = settings_of(seeded.containers["goals"]).database_url
    body, key = _q4("Q4 2026 after a 504"), {"Idempotency-Key": "q4-2026-after-504"}
    with cycles_locked(goals_db):
        started = time.monotonic()
        first = hasty.post("/api/v1/cycles", body, headers=key)
        assert first.status_code == 504, first.text
        assert time.monotonic() - started < 3
        assert cycles_named(goals_db, body["name"]) == []  # not yet: goals waits for the table
    # goals goes on with the first attempt: the cycle is created and its late reply reaches the hasty replica
    wait_for(lambda: kept_replies(gateway_config["DATABASE_URL"]) == 1, message="the late reply is kept")
    [cycle_id] = cycles_named(goals_db, body["name"])

    hr = seeded.as_("H1")
    retry = hr.post("/api/v1/cycles", body, headers=key)
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == cycle_id and retry.json() == hr.get(f"/api/v1/cycles/{cycle_id}").json()
    again = hasty.post("/api/v1/cycles", body, headers=key)  # from now on, the stored answer
    assert (again.status_code, again.json(), again.headers.get("Idempotent-Replayed")) == (201, retry.json(), "true")
    assert cycles_named(goals_db, body["name"]) == [cycle_id]


def test_a_retry_while_the_first_attempt_still_runs_waits_for_its_answer(seeded, hasty, gateway_config):
    """The retry arrives while goals is still busy with the first attempt: the retry's call finds the first one
    carried out (request-already-done) and the gateway waits, within the retry's deadline, for the first reply to
    land (on the other replica) and answers it."""
    import eventlet

    from chassis.runtime import settings_of

    goals_db = settings_of(seeded.containers["goals"]).database_url
    body, key = _q4("Q4 2026 retried early"), {"Idempotency-Key": "q4-2026-retried-early"}
    with cycles_locked(goals_db) as held:
        first = hasty.post("/api/v1/cycles", body, headers=key)
        assert first.status_code == 504, first.text
        eventlet.spawn_after(0.5, held.rollback)  # goals gets the table while the retry is under way
        retry = seeded.as_("H1").post("/api/v1/cycles", body, headers=key)
    assert retry.status_code == 201, retry.text
    assert cycles_named(goals_db, body["name"]) == [retry.json()["id"]]
    assert kept_replies(gateway_config["DATABASE_URL"]) == 1


def test_a_retry_after_a_503_simply_runs(seeded, gateway_config, run_services, keys, broker_proxy, amqp_uri):
    """The broker was unreachable at the first attempt (503: nothing was sent): the key is free, the retry runs."""
    from chassis.runtime import settings_of
    from chassis.testing.plugin import wait_for
    from gateway.service import GatewayService

    from .conftest import Client

    containers = run_services({GatewayService: {**gateway_config, "BOOTSTRAP_ADMINS": "root"}},
                              AMQP_URI=broker_proxy.uri_for(amqp_uri))
    cut_off = Client(containers["gateway"], keys.token("H1"))
    wait_for(lambda: cut_off.get("/api/v1/me").status_code == 200, message="the proxied replica knows H1")
    goals_db = settings_of(seeded.containers["goals"]).database_url
    body, key = _q4("Q4 2026 after a 503"), {"Idempotency-Key": "q4-2026-after-503"}
    broker_proxy.cut()
    try:
        first = cut_off.post("/api/v1/cycles", body, headers=key)
    finally:
        broker_proxy.restore()
    assert first.status_code == 503 and first.headers.get("Retry-After"), first.text
    retry = seeded.as_("H1").post("/api/v1/cycles", body, headers=key)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers, retry.text
    assert cycles_named(goals_db, body["name"]) == [retry.json()["id"]]
