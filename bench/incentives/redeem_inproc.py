"""The redemption use case in one process, no broker: CPU per call (time.process_time) of a refused redemption (sold
out) and of a winner, and the statements each sends, on a fresh PostgreSQL database; --profile prints cProfile's
top functions of the refused calls.

    python bench/incentives/redeem_inproc.py [--calls 500] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import importlib.util
import pstats
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() not in (HERE, HERE.parent)]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--bursts", type=int, default=0,
                        help="also: bursts of 50 at once on a fresh item of 5 (16 green workers, as the service)")
    args = parser.parse_args()
    run = _load("bench_incentives_run", HERE / "run.py")
    from sqlalchemy import event

    from chassis.migrations import upgrade
    from chassis.testing.infra import PgManager
    from chassis.uow import Store, service_engine
    from contracts import Actor
    from contracts import incentives as c
    from incentives import access, errors
    from incentives import models as m
    from incentives.repositories import IncentivesUnitOfWork
    from incentives.settings import IncentivesSettings
    from incentives.usecases import points

    access.register()
    errors.register()
    pg = PgManager(run.PG)
    name = f"jx_bench_redeem_{uuid.uuid4().hex[:8]}"
    url = pg.create(name)
    try:
        upgrade("incentives", url)
        people = run.seed_org(url, 1000)
        run.insert(url, m.Balance.__table__, [{"account": f"person:{p}", "balance": 10 ** 9} for p in people])
        run.insert(url, m.Reward.__table__, [
            {"code": code, "name": code, "description": "", "cost": 1, "stock": stock, "eligibility": {},
             "requires_approval": False, "active": True, "updated_at": run.NOW}
            for code, stock in (("gone", 0), ("plenty", 10 ** 9), *((f"last{i}", 5) for i in range(args.bursts)))])
        store = Store(service_engine(url, 16), "incentives")  # the service's engine (no ping per checkout)
        statements: list[str] = []
        event.listen(store.engine, "before_cursor_execute",
                     lambda conn, cursor, sql, *rest: statements.append(sql.split()[0] if sql else "?"))
        settings = IncentivesSettings()

        def call(code: str, person: str) -> str:
            try:
                points.redeem(IncentivesUnitOfWork(store, clock=lambda: run.NOW), Actor(subject=person),
                              c.Redeem(reward_code=code), settings)
                return "ok"
            except Exception as error:  # the refusal
                return getattr(error, "field", type(error).__name__)

        for code in ("gone", "plenty"):
            for i in range(50):  # warm: the pool, the org index, the statement caches
                call(code, people[i % len(people)])
            statements.clear()
            profile = cProfile.Profile(time.process_time) if args.profile and code == "gone" else None
            started, wall = time.process_time(), time.perf_counter()
            if profile:
                profile.enable()
            outcomes = [call(code, people[i % len(people)]) for i in range(args.calls)]
            if profile:
                profile.disable()
            cpu, wall = time.process_time() - started, time.perf_counter() - wall
            print(f"{code}: {args.calls} calls, { {o: outcomes.count(o) for o in set(outcomes)} }; "
                  f"CPU {cpu * 1000 / args.calls:.3f} ms a call, wall {wall * 1000 / args.calls:.3f} ms a call, "
                  f"{len(statements) / args.calls:.1f} statements a call ({sorted(set(statements))}); "
                  f"load {run.load_average()}", flush=True)
            if profile:
                pstats.Stats(profile).sort_stats("tottime").print_stats(25)
                pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        import eventlet

        bursts = cProfile.Profile(time.process_time) if args.profile else None
        for i in range(args.bursts):  # the service's shape: 16 workers, 50 callers at once, the last 5 items
            pool, started, wall = eventlet.GreenPool(16), time.process_time(), time.perf_counter()
            if bursts and i:  # the first burst warms the gathered reads' and the gate's paths
                bursts.enable()
            outcomes = list(pool.imap(lambda person, code=f"last{i}": call(code, person), people[:50]))
            if bursts:
                bursts.disable()
            cpu, wall = time.process_time() - started, time.perf_counter() - wall
            print(f"burst {i}: {outcomes.count('ok')} ok, {outcomes.count('quantity')} sold out; CPU "
                  f"{cpu * 1000:.1f} ms ({cpu * 1000 / 50:.2f} ms a call), wall {wall * 1000:.1f} ms, "
                  f"{len(statements)} statements; "
                  f"load {run.load_average()}", flush=True)
            statements.clear()
        if bursts and args.bursts > 1:
            print("the bursts (all but the first):")
            pstats.Stats(bursts).sort_stats("tottime").print_stats(30)
            pstats.Stats(bursts).sort_stats("cumulative").print_stats(60)
        store.engine.dispose()
    finally:
        pg.drop(name)


if __name__ == "__main__":
    main()
