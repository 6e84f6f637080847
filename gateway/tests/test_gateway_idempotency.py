"""Idempotency-Key claims on the gateway's own PostgreSQL database: one request runs, a retry gets the stored
answer, a concurrent retry is told to wait, a reused key is refused, an abandoned claim is taken over."""
from datetime import timedelta

import pytest

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


def test_a_retry_after_a_504_never_writes_twice(seeded, gateway_config, run_services, keys):
    """issue 10 #4 end to end, with two gateway replicas sharing their database: the first attempt goes through
    one whose RPC timeout is shorter than goals takes (504, while goals may still write), the client retries the
    same Idempotency-Key through the other. One cycle exists afterwards, whatever the first attempt did."""
    from chassis.testing.plugin import wait_for
    from gateway.service import GatewayService

    from .conftest import Client

    hasty = run_services({GatewayService: {**gateway_config, "BOOTSTRAP_ADMINS": "root", "RPC_TIMEOUT": 0.005}})
    impatient = Client(hasty["gateway"], keys.token("H1"))
    wait_for(lambda: impatient.get("/api/v1/me").status_code == 200, message="the second replica knows H1")
    body = {"name": "Q4 2026 retry", "period": "quarter", "year": 2026, "index": 4}
    key = {"Idempotency-Key": "q4-2026-retry"}
    first = impatient.post("/api/v1/cycles", body, headers=key)
    assert first.status_code in (201, 503, 504), first.text
    hr = seeded.as_("H1")
    retry = hr.post("/api/v1/cycles", body, headers=key)
    # 201: the first attempt never reached goals (its request expired at the broker) and the retry did it once;
    # 409 idempotency-key-completed: the first attempt wrote, and the retry was not carried out again
    assert retry.status_code in (201, 409), retry.text
    if retry.status_code == 409:
        assert retry.json()["type"].endswith("idempotency-key-completed")
    if first.status_code == 201:  # the hasty replica was quick enough after all: the retry replays its answer
        assert retry.status_code == 201 and retry.headers.get("Idempotent-Replayed") == "true"
    import eventlet

    eventlet.sleep(1.0)  # a late first attempt has landed by now
    names = [c["name"] for c in hr.get("/api/v1/cycles").json()["items"]]
    assert names.count("Q4 2026 retry") == 1, names
