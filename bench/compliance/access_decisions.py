"""Access decisions: locally from a service's org read model (chassis.access, what every service does per
request), and over RPC (`compliance.decide`, for callers without a read model).

    python bench/compliance/access_decisions.py [--people 20000] [--decisions 20000] [--rpc 3000]

Local: an org of N people in a 6-level unit tree with managers and HR scopes, loaded into the read model on
PostgreSQL; decisions through `uow.access.decide` inside an open unit of work (index cached, as in a request).
RPC: sequential `compliance.decide` calls against compliance running under `nameko run`.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import eventlet

eventlet.monkey_patch()

from bench_support import ADMIN, PG, compliance_process, percentile  # noqa: E402


def org_events(people: int):
    from contracts.org import OrgUnitChanged, PersonChanged, RoleGrant, RoleGrantsChanged

    units = [OrgUnitChanged(org_unit_id="u0", version=1, name="HQ")]
    for i in range(1, 400):
        units.append(OrgUnitChanged(org_unit_id=f"u{i}", version=1, name=f"unit {i}", parent_id=f"u{(i - 1) // 3}"))
    persons = []
    for i in range(people):
        manager = None if i == 0 else f"p{(i - 1) // 8}"
        persons.append(PersonChanged(person_id=f"p{i}", version=1, name=f"person {i}", org_unit_id=f"u{i % 400}",
                                     manager_id=manager))
    grants = [RoleGrantsChanged(subject_id=f"p{i}", version=1, grants=[RoleGrant(role="hr", org_unit_id=f"u{i % 40}")])
              for i in range(1, people, 97)]
    return units, persons, grants


def local(people: int, decisions: int) -> None:
    from sqlalchemy.orm import Session

    from chassis.access import Resource, apply_org_event, create_org_read_model
    from chassis.access.readmodel import apply_person_snapshots
    from chassis.db import chassis_metadata
    from chassis.testing.infra import PgManager
    from chassis.uow import Store
    from compliance import access
    from compliance.repositories import ComplianceUnitOfWork
    from contracts import Actor, Envelope

    access.register()  # the actions compliance decides, as its service module registers them
    pg = PgManager(PG)
    name = f"jx_bench_access_{uuid.uuid4().hex[:6]}"
    url = pg.create(name)
    try:
        store = Store.from_url(url, "bench")
        create_org_read_model(store.engine)
        chassis_metadata.create_all(store.engine)
        units, persons, grants = org_events(people)
        with Session(store.engine) as session:
            for event in units + grants:
                apply_org_event(session, Envelope.wrap(event))
            apply_person_snapshots(session, persons)
            session.commit()
        rng = random.Random(7)
        actions = ["goal.read", "goal.update", "review.read", "person.read", "appeal.decide"]
        samples = []
        for _ in range(decisions):  # half about someone in the actor's reporting line, half about anyone
            me = rng.randrange(people // 8)
            owner = me * 8 + rng.randrange(1, 9) if rng.random() < 0.5 else rng.randrange(people)
            samples.append((Actor(subject=f"p{me}"), rng.choice(actions), f"p{owner}"))
        timings, allowed = [], 0
        uow = ComplianceUnitOfWork(store, actor=Actor.system("bench"))
        with uow:
            uow.access.decide(samples[0][0], "goal.read", Resource("goal", owner="p1"))  # load the index once
            for actor, action, owner in samples:
                kind = action.split(".")[0]
                started = time.perf_counter()
                decision = uow.access.decide(actor, action, Resource(kind, owner=owner))
                timings.append(time.perf_counter() - started)
                allowed += decision.allowed
        ms = [t * 1000 for t in timings]
        print(f"local access decision ({people:,} people, {decisions:,} decisions, {allowed:,} allowed): "
              f"p50 {percentile(ms, 50):.3f} ms, p99 {percentile(ms, 99):.3f} ms, max {max(ms):.3f} ms")
        with Session(store.engine) as session:
            started = time.perf_counter()
            from chassis.access import build_index
            build_index(session)
            print(f"  (index rebuild after a directory change: {time.perf_counter() - started:.2f}s)")
        store.engine.dispose()
    finally:
        pg.drop(name)


def over_rpc(calls: int) -> None:
    from chassis.remote import StandaloneRpc
    from contracts import Actor

    with compliance_process() as (uri, _url):
        with StandaloneRpc(uri, timeout=10, actor=Actor(subject=ADMIN)) as admin:
            admin.compliance.upsert_org_unit({"org_unit_id": "hq", "name": "HQ"})
            admin.compliance.upsert_person({"person_id": "m", "name": "Manager", "org_unit_id": "hq"})
            admin.compliance.upsert_person({"person_id": "t", "name": "Target", "org_unit_id": "hq",
                                            "manager_id": "m"})
        payload = {"action": "goal.read", "resource": {"kind": "goal", "owner": "t"}}
        with StandaloneRpc(uri, timeout=10, actor=Actor(subject="m")) as manager:
            for _ in range(200):  # warm-up
                manager.compliance.decide(payload)
            timings = []
            for _ in range(calls):
                started = time.perf_counter()
                assert manager.compliance.decide(payload)["allowed"]
                timings.append((time.perf_counter() - started) * 1000)
    print(f"decide over RPC ({calls:,} sequential calls): p50 {percentile(timings, 50):.2f} ms, "
          f"p99 {percentile(timings, 99):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--rpc", type=int, default=3_000)
    args = parser.parse_args()
    local(args.people, args.decisions)
    over_rpc(args.rpc)


if __name__ == "__main__":
    main()
