"""Concurrent progress updates on PostgreSQL (issue 14): writers whose goals share org units, manager lines, a
parent goal and the cycle's cells all succeed — no deadlock victim, no 503 — and the read models they kept
equal a rebuild afterwards. Goals' read models are maintained at commit, every transaction taking their rows in
one order (migration 0008), so writers only queue on the shared cells, never wait on each other in a circle.
Data in the current period: Q4 2026, today 2026-12-02."""
from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from chassis.db import create_db_engine
from chassis.errors import to_service_error
from chassis.uow import Store
from contracts import goals as c
from goals import readmodels
from goals.repositories import GoalsUnitOfWork
from goals.usecases import goals, progress

WRITERS, UPDATES = 8, 12
PEOPLE = [f"rep{i}" for i in range(6)]


@pytest.fixture
def database_backend() -> str:
    return "postgresql"  # SQLite has one writer at a time: nothing to interleave


def test_concurrent_progress_updates_on_shared_lines_neither_deadlock_nor_drift(service, open_q4):
    people = [(p, "sales", "mgr") for p in PEOPLE]
    service.org(people=people)
    cycle = open_q4().id
    boss, person = service.actors.person("boss"), service.actors.person
    parent = service.run(goals.create_goal, boss, c.CreateGoal.model_validate({
        "cycle_id": cycle, "title": "Sales objective", "kind": "okr", "weight": "10",
        "owner": {"kind": "org_unit", "id": "sales"}, "responsible_id": "boss",
        "key_results": [{"title": "Sell", "target": "10"}]})).id
    targets = []  # (goal, key result, owner): KPIs and OKRs, under the shared parent or not, two per person
    for n, owner in enumerate(PEOPLE * 2):
        if n % 2:
            created = service.run(goals.create_goal, person(owner), c.CreateGoal.model_validate({
                "cycle_id": cycle, "title": "Closure rate", "kind": "kpi", "weight": "5", "parent_id": parent,
                "owner": {"kind": "person", "id": owner},
                "kpi": {"direction": ">=", "target": "90", "unit": "%", "green": "90", "yellow": "80"}}))
            targets.append((created.id, None, owner))
        else:
            created = service.run(goals.create_goal, person(owner), c.CreateGoal.model_validate({
                "cycle_id": cycle, "title": "Pipeline", "kind": "okr", "weight": "5",
                "parent_id": parent if n % 4 == 0 else None, "owner": {"kind": "person", "id": owner},
                "key_results": [{"title": "Deals", "target": "20"}]}))
            targets.append((created.id, created.key_results[0].id, owner))

    # a pool per writer, as the service's workers each hold a connection
    store = Store(create_db_engine(service.url, pool_size=WRITERS), "goals")
    failures: list[str] = []

    def writer(seed: int) -> int:
        rng = random.Random(seed)
        done = 0
        for _ in range(UPDATES):
            goal_id, kr, owner = rng.choice(targets)
            value = Decimal(rng.randint(0, 120))  # colours flip both ways: every cell kind moves
            uow = GoalsUnitOfWork(store, actor=person(owner), clock=service._clock)
            try:
                progress.record_progress(uow, person(owner), c.RecordProgress(
                    goal_id=goal_id, key_result_id=kr, value=value, confidence=Decimal(rng.randint(0, 10)) / 10))
                done += 1
            except Exception as error:
                mapped = to_service_error(error)
                failures.append(f"{type(error).__name__}: {getattr(mapped, 'status', None)} {error}"[:300])
        return done

    try:
        with ThreadPoolExecutor(WRITERS) as pool:
            done = sum(pool.map(writer, range(WRITERS)))
    finally:
        store.engine.dispose()
    assert failures == [], failures
    assert done == WRITERS * UPDATES
    assert service.scalar("select count(*) from progress_updates") == done
    with service.engine.begin() as connection:
        assert readmodels.check(connection) == {}
        # and nothing was left pending for the commit step
        assert connection.exec_driver_sql("select count(*) from rm_pending_goals").scalar() == 0
        assert connection.exec_driver_sql("select count(*) from rm_pending_flush").scalar() == 0
