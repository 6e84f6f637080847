"""Template assignment to a division in one call, in process (no broker), with its CPU and optionally cProfile.

    python bench/goals/assign_profile.py [--people 100000] [--keep | --url URL] [--profile] [--rounds 1]

Generates the organisation with generate.py (one goal per person: 100,000 people and goals by default, a
division of 10,000), then assigns the preset template sales/account_executive (6 goals) to the people of div1 in
a new draft cycle per round, as HR, timing the use case (wall and this process's CPU; PostgreSQL's part is the
difference, roughly). `--keep` leaves the database for later rounds with `--url`; otherwise it is dropped.
"""
from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import os
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


common = _load("bench_common", HERE.parent / "common.py")
data = _load("goals_bench_generate", HERE / "generate.py")

from sqlalchemy import create_engine, text  # noqa: E402

from chassis.testing.infra import PgManager  # noqa: E402
from chassis.uow import Store  # noqa: E402
from contracts import goals as c  # noqa: E402
from contracts.actor import Actor  # noqa: E402
from goals import access, errors  # noqa: E402
from goals.repositories import GoalsUnitOfWork  # noqa: E402
from goals.usecases import cycles, library  # noqa: E402


def division_people(url: str, division: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = [row[0] for row in conn.execute(text(
            "SELECT person_id FROM chassis_org_people WHERE org_unit_id = :d OR org_unit_id LIKE :p "
            "ORDER BY person_id"), {"d": division, "p": f"{division}-%"})]
    engine.dispose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--url")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--statements", action="store_true", help="print each SQL statement's time")
    args = parser.parse_args()
    errors.register()
    access.register()
    pg, name, url = PgManager(common.PG), None, args.url
    if url is None:
        name = f"jxbench_assign_{uuid.uuid4().hex[:8]}"
        url = pg.create(name)
        started = time.perf_counter()
        stats = data.generate(url, args.people, 1)
        print(f"generated {stats['people']:,} people, {stats['goals']:,} goals in {time.perf_counter() - started:.0f} s"
              + (f"; kept: --url {url}" if args.keep else ""), flush=True)
    store = Store.from_url(url, "goals", pool_size=4)
    if args.statements:
        from sqlalchemy import event

        @event.listens_for(store.engine, "before_cursor_execute")
        def _started(conn, cursor, statement, parameters, context, executemany):
            conn.info["started"] = time.perf_counter()

        @event.listens_for(store.engine, "after_cursor_execute")
        def _done(conn, cursor, statement, parameters, context, executemany):
            seconds = time.perf_counter() - conn.info.pop("started")
            if seconds > 0.05:
                print(f"    {seconds:6.2f} s  {' '.join(statement.split())[:110]}", flush=True)
    hr = Actor(subject=data.HR)

    def run(use_case, command):
        return use_case(GoalsUnitOfWork(store, actor=hr), hr, command)

    try:
        people = division_people(url, "div1")
        try:
            run(library.install_preset, c.InstallPreset(code="sales"))
        except Exception as error:  # installed by an earlier round (--url)
            print(f"preset: {type(error).__name__}")
        for _ in range(args.rounds):
            year = 2027 + (int(time.time()) + _) % 74  # a draft cycle per round (the years a cycle may have)
            draft = run(cycles.create_cycle, c.CreateCycle(name=f"assign {year} {uuid.uuid4().hex[:4]}", period="year",
                                                           year=year))
            command = c.AssignTemplate.model_validate({"template_code": "account_executive", "cycle_id": draft.id,
                                                       "assignees": [{"person_id": p} for p in people]})
            profiler = cProfile.Profile() if args.profile else None
            load = os.getloadavg()[0]
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            result = run(library.assign_template, command)
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"assigned to {result.created:,} people ({result.goals_created:,} goals, {result.failed} failed): "
                  f"{wall:.2f} s wall, {cpu:.2f} s CPU in this process; load average {load:.2f} -> "
                  f"{os.getloadavg()[0]:.2f}", flush=True)
            if profiler:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
                print(out.getvalue())
    finally:
        store.engine.dispose()
        if name is not None and not args.keep:
            pg.drop(name)


if __name__ == "__main__":
    main()
