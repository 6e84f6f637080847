"""Goals benchmarks on PostgreSQL: prints the figures, leaves nothing behind (the database and the vhost are
dropped at the end).

    python bench/goals/run.py [--people 100000] [--goals-per-person 10] [--rounds 200]

1. generate 100,000 people and 1,000,000 goals (generate.py, COPY);
0. the raw py-amqp RPC floor (bench/rpc_bench.py's raw server and client), the reference every figure is printed
   beside;
2. the daily colour sweep (the use case the timer runs: SQL UPDATE ... FROM per cycle, status history,
   events through the outbox, reviews), the next day after the generated state (30 days ago); a catch-up sweep
   of today, 30 days later; the same day again (idempotent). The cycle runs now, so every sweep is a real one
   (a day after today would only be a preview);
2b. the read models (goals/readmodels.py): a rebuild from scratch, and a check that the ones the triggers kept
   through the sweeps equal it;
3. with the service running (`nameko run`, its own process) and called over RabbitMQ as HR:
   - the board of a division of 10,000 people (100,000 goals) with descendants: p50 / p95 / p99 of the round
     trip, and of the use case alone; the board of a department and of a team; the board of a flat
     10,000-person unit and the dashboard's colours of a 10,000-person manager line (both from the read models);
   - weighted allocation (factors with minimum/maximum) across 10,000 children: the preview, then applying it
     as 10,000 proposals;
   - assigning a preset template to 10,000 people in one call.
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
# this folder is called goals too: keep it off the path so that `goals` is the service package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() not in (HERE, HERE.parent)]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


common = _load("bench_common", HERE.parent / "common.py")
data = _load("goals_bench_generate", HERE / "generate.py")
AMQP, PG, percentile = common.AMQP, common.PG, common.percentile
AS_OF, CYCLE_ID, HR, generate = data.AS_OF, data.CYCLE_ID, data.HR, data.generate
RPC_BENCH = HERE.parent / "rpc_bench.py"
FLOOR = {"p50_ms": 0.0}  # measured first, in the same run

from chassis.testing.infra import PgManager, VhostManager  # noqa: E402


def line(label: str, value: str) -> None:
    print(f"  {label:<58} {value}", flush=True)


def raw_floor(uri: str) -> float:
    """p50 of one raw py-amqp request/reply, in ms (bench/rpc_bench.py's raw server and client)."""
    server = subprocess.Popen([sys.executable, str(RPC_BENCH), "raw-server", uri], stdout=subprocess.PIPE, text=True)
    try:
        server.stdout.readline()
        # the client may read the server's CPU (bench/rpc_bench.py's ServerCpu): it is told the server's pid
        out = subprocess.run([sys.executable, str(RPC_BENCH), "raw-client", uri, "1000", "2"], capture_output=True,
                             text=True, timeout=120, env={**os.environ, "BENCH_SERVER_PID": str(server.pid)})
        return json.loads(out.stdout.strip().splitlines()[-1])["p50_ms"]
    finally:
        server.kill()


def ms_line(label: str, samples: list[float]) -> None:
    """p50 / p95 / p99 of samples in ms, and p95 as a multiple of the raw RPC floor of this run."""
    p95 = percentile(samples, 95)
    line(label, f"p50 {percentile(samples, 50):6.1f} ms  p95 {p95:6.1f} ms  p99 {percentile(samples, 99):6.1f} ms"
                f"  (p95 = {p95 / FLOOR['p50_ms']:5.1f} x floor)")


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def unit_of_work(url: str):
    from chassis.uow import Store
    from goals.repositories import GoalsUnitOfWork

    return GoalsUnitOfWork(Store.from_url(url, "goals", pool_size=4))


DAILY = (("next day", AS_OF + timedelta(days=1)), ("the same day again (idempotent)", AS_OF + timedelta(days=1)))
CATCH_UP = (("catch-up of today, after 30 days without a sweep", AS_OF + timedelta(days=31)),)


def bench_sweep(url: str, days) -> None:
    from contracts.actor import Actor
    from goals.usecases.status import run_sweep

    system = Actor.system("goals")
    uow = unit_of_work(url)
    with uow:
        uow.access.index  # noqa: B018 - the service keeps it cached; load it once as a running service has
    print("colour sweep of every open goal (the timer's use case: UPDATE ... FROM, history, events, reviews)")
    for label, day in days:
        result, seconds = timed(run_sweep, uow, system, day)
        assert not result.preview, "a sweep in the current period writes"
        line(f"{label} ({day})", f"{seconds:6.2f} s  evaluated {result.evaluated:,}, changed {result.changed:,}, "
                                 f"turned red {result.turned_red:,}, reviews {result.reviews_opened:,}")
    uow.store.engine.dispose()


def bench_read_models(url: str) -> None:
    from sqlalchemy import create_engine

    from goals import readmodels

    engine = create_engine(url)
    print("read models (goals/readmodels.py, kept by triggers)")
    with engine.begin() as connection:
        differences, seconds = timed(readmodels.check, connection)
    assert not differences, differences
    line("kept through generation and sweeps = a rebuild (check)", f"{seconds:6.2f} s  (equal)")
    with engine.begin() as connection:
        _, seconds = timed(readmodels.rebuild, connection)
        cells = readmodels.snapshot_summary(connection)
    line("rebuild from scratch (python -m goals.readmodels rebuild)", f"{seconds:6.2f} s  ({cells})")
    engine.dispose()


def seed_flat_team(url: str, size: int) -> tuple[str, str, list[str]]:
    """A sales manager with `size` direct reports, a parent goal and one child goal per report."""
    from sqlalchemy import create_engine, text

    from goals import readmodels

    GOAL_COLUMNS, NOW, _copy, _goal = data.GOAL_COLUMNS, data.NOW, data._copy, data._goal

    manager, parent = "bench-sales-mgr", str(uuid.uuid4())
    reps = [f"rep{i:05d}" for i in range(size)]
    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        now = NOW.isoformat()
        _copy(raw, "chassis_org_units", ["org_unit_id", "version", "name", "parent_id", "removed", "updated_at"],
              [("sales-force", 1, "Sales force", "co", "f", now)])
        # as generate.py: the lines' row trigger walks each new person's managers one at a time (about 30 ms a
        # person on a loaded machine: minutes for 10,000); the lines are rebuilt set-based once instead
        with raw.cursor() as cursor:
            cursor.execute("ALTER TABLE chassis_org_people DISABLE TRIGGER rm_lines_people")
        _copy(raw, "chassis_org_people", ["person_id", "version", "name", "org_unit_id", "manager_id", "status",
                                          "erased", "updated_at"],
              [(manager, 1, "Sales manager", "sales-force", "bench-ceo", "active", "f", now)]
              + [(r, 1, r, "sales-force", manager, "active", "f", now) for r in reps])
        with raw.cursor() as cursor:
            cursor.execute("ALTER TABLE chassis_org_people ENABLE TRIGGER rm_lines_people")
        raw.commit()
        with engine.begin() as connection:
            readmodels.rebuild(connection, readmodels.LINE_TABLES)
        kpi = (">=", 1000, 1000, 900, None, True, None)
        goals = [_goal(parent, None, "person", manager, manager, "sales-force", "Sales force target", "kpi", "100",
                       "0", kpi=(">=", 10_000_000, 10_000_000, 9_000_000, None, True, None))]
        children = [str(uuid.uuid4()) for _ in reps]
        goals += [_goal(child, parent, "person", rep, rep, "sales-force", "Sales", "kpi", "100", "0", kpi=kpi)
                  for child, rep in zip(children, reps, strict=True)]
        _copy(raw, "goals", GOAL_COLUMNS, goals)
        with raw.cursor() as cursor:
            cursor.execute("UPDATE chassis_org_meta SET generation = generation + 1")
        raw.commit()
    finally:
        raw.close()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    engine.dispose()
    return manager, parent, children


def people_of_division(url: str, division: str, limit: int) -> list[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        found = [row[0] for row in conn.execute(text(
            "SELECT person_id FROM chassis_org_people WHERE org_unit_id = :d OR org_unit_id LIKE :p "
            "ORDER BY person_id LIMIT :n"), {"d": division, "p": f"{division}-%", "n": limit})]
    engine.dispose()
    return found


def division_head(url: str, division: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        head = conn.execute(text("SELECT person_id FROM chassis_org_people WHERE org_unit_id = :d AND manager_id = :c"),
                            {"d": division, "c": data.CEO}).scalar_one()
    engine.dispose()
    return head


def bench_service(url: str, rounds: int, people: int, goals_per_person: int = 10) -> None:
    from chassis.remote import StandaloneRpc
    from contracts import goals as c
    from contracts.actor import Actor
    from goals import access
    from goals.usecases.board import board

    access.register()  # goals' actions in the chassis policy, for the use case run in process (as service.py does)

    vhosts = VhostManager(AMQP)
    amqp = vhosts.create()
    workdir = Path(tempfile.mkdtemp(prefix="goals-bench-"))
    manager, parent, children = seed_flat_team(url, 10_000)
    service = common.Process("goals.service:GoalsService",
                             {"AMQP_URI": amqp, "DATABASE_URL": url, "GOALS_SWEEP_CHECK_SECONDS": 86400}, workdir,
                             log=workdir / "service.log")
    try:
        hr_client = StandaloneRpc(amqp, timeout=120, actor=Actor(subject=HR)).start()
        hr = hr_client.caller().goals
        query = {"cycle_id": CYCLE_ID, "org_unit_id": "div0", "limit": 50}
        first = hr.get_board(query)
        print(f"board drill-down over RPC as HR ({rounds} rounds each, sequential)")
        per_division = people // 10  # the generator spreads people evenly over 10 divisions of 10 x 10 teams
        for label, unit in ((f"division ({per_division:,} people, with descendants)", "div0"),
                            (f"department ({per_division // 10:,} people)", "div0-dep3"),
                            (f"team ({per_division // 100:,} people)", "div0-dep3-team4")):
            samples = []
            for _ in range(rounds):
                _, seconds = timed(hr.get_board, {**query, "org_unit_id": unit})
                samples.append(seconds * 1000)
            ms_line(label, samples)
        assert first["total"]["count"] >= per_division * goals_per_person, first["total"]
        line("division board: goals in scope / levels", f"{first['total']['count']:,} / {len(first['levels'])}")
        samples = []
        cursor = first["next_cursor"]
        for _ in range(rounds):
            page, seconds = timed(hr.get_board, {**query, "cursor": cursor})
            cursor = page["next_cursor"] or first["next_cursor"]
            samples.append(seconds * 1000)
        ms_line("division, following pages (cursor)", samples)
        uow = unit_of_work(url)
        samples = []
        from contracts.actor import Actor as A

        for _ in range(rounds):
            _, seconds = timed(board, uow, A(subject=HR), c.BoardQuery(**{**query, "org_unit_id": "div0"}))
            samples.append(seconds * 1000)
        ms_line("division, the use case alone (in process, no broker)", samples)
        head = division_head(url, "div0")
        size = len(people_of_division(url, "div0", 1_000_000))
        print(f"a flat 10,000-person unit (seeded team) and the line of div0's head ({size:,} people), from the "
              "read models")
        flat = {"cycle_id": CYCLE_ID, "org_unit_id": "sales-force", "limit": 50}
        line_query = {"cycle_id": CYCLE_ID, "reports_of": head, "limit": 1}
        assert hr.get_board(flat)["total"]["count"] == 10_001
        assert hr.get_board(line_query)["total"]["count"] >= (size - 1) * goals_per_person  # the head not in it
        for label, call in (("board of the 10,000-person unit, first page of 50 (RPC)", (hr.get_board, flat)),
                            (f"dashboard colours of the {size:,}-person line (RPC, limit 1)",
                             (hr.get_board, line_query)),
                            ("the same line, red goals only (the dashboard's at-risk list)",
                             (hr.get_board, {**line_query, "colour": "red", "limit": 10})),
                            ("board of the 10,000-person unit, the use case alone",
                             (board, uow, A(subject=HR), c.BoardQuery(**flat)))):
            samples = []
            for _ in range(rounds):
                _, seconds = timed(*call)
                samples.append(seconds * 1000)
            ms_line(label, samples)
        head_client = StandaloneRpc(amqp, timeout=120, actor=Actor(subject=head)).start()
        dashboard = head_client.caller().goals.get_team_dashboard
        answer = dashboard({"cycle_id": CYCLE_ID})
        assert answer["colours"]["count"] >= (size - 1) * goals_per_person and not answer["refused"], answer
        samples = []
        for _ in range(rounds):
            _, seconds = timed(dashboard, {"cycle_id": CYCLE_ID})
            samples.append(seconds * 1000)
        ms_line(f"team dashboard of the {size:,}-person line, as its head (RPC)", samples)
        head_client.stop()
        uow.store.engine.dispose()

        print("weighted allocation across 10,000 children (factors 0.4 / 0.4 / 0.2, per-child min and max)")
        mgr_client = StandaloneRpc(amqp, timeout=120, actor=Actor(subject=manager)).start()
        mgr = mgr_client.caller().goals
        request = {"parent_goal_id": parent, "method": "factors",
                   "factor_weights": {"gdp": "0.4", "density": "0.4", "coverage": "0.2"},
                   "children": [{"goal_id": child, "minimum": "300", "maximum": "2500",
                                 "factors": {"gdp": str(100 + i % 900), "density": str(1 + i % 97),
                                             "coverage": str((i % 10) / 10)}} for i, child in enumerate(children)]}
        mgr.preview_allocation(request)  # warm: the service loads the org index once
        samples = []
        for _ in range(5):
            preview, seconds = timed(mgr.preview_allocation, request)
            samples.append(seconds)
        total = sum(int(item["allocated"]) for item in preview["items"])
        line("preview (RPC round trip, best / median of 5)", f"{min(samples):6.2f} s / {sorted(samples)[2]:.2f} s "
                                                             f"(sum {total:,} = target)")
        result, seconds = timed(mgr.apply_allocation, {**request, "rationale": "potential by city"})
        line("apply as 10,000 proposals (RPC round trip)", f"{seconds:6.2f} s  ({len(result['proposals']):,} "
                                                           "proposals, 10,001 events)")

        print("template assignment to 10,000 people in one call (preset 'sales', account_executive, 6 goals each)")
        hr.install_preset({"code": "sales"})
        draft = hr.create_cycle({"name": "2028", "period": "year", "year": 2028})
        assignees = [{"person_id": person} for person in people_of_division(url, "div1", 10_000)]
        result, seconds = timed(hr.assign_template, {"template_code": "account_executive", "cycle_id": draft["id"],
                                                     "assignees": assignees}, timeout=300)
        line("assign_template (RPC round trip)", f"{seconds:6.2f} s  ({result['created']:,} people, "
                                                 f"{result['goals_created']:,} goals, {result['created']:,} events, "
                                                 f"{result['failed']} failed)")
        mgr_client.stop()
        hr_client.stop()
    except BaseException:
        print(f"the service's log: {service.log}")
        raise
    finally:
        service.stop()
        vhosts.delete(amqp, wait=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--goals-per-person", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    vhosts = VhostManager(AMQP)
    amqp = vhosts.create()
    try:
        FLOOR["p50_ms"] = raw_floor(amqp)
    finally:
        vhosts.delete(amqp, wait=True)
    pg = PgManager(PG)  # after the floor: a failed floor leaves no database behind
    name = f"jxbench_goals_{uuid.uuid4().hex[:8]}"
    url = pg.create(name)
    print(f"raw RPC floor (py-amqp round trip, this run) p50 {FLOOR['p50_ms']:.2f} ms; today {data.TODAY}, "
          f"cycle {data.CYCLE_START} .. {data.CYCLE_END}")
    try:
        stats, seconds = timed(generate, url, args.people, args.goals_per_person)
        print(f"generated {stats['people']:,} people, {stats['units']:,} units, {stats['goals']:,} goals, "
              f"{stats['key_results']:,} key results, {stats['schedule_segments']:,} schedule pieces "
              f"in {seconds:.0f} s (COPY)")
        bench_sweep(url, DAILY)
        bench_read_models(url)
        bench_service(url, args.rounds, args.people, args.goals_per_person)
        bench_sweep(url, CATCH_UP)
        bench_read_models(url)
    finally:
        pg.drop(name)
        print(f"dropped database {name}")


if __name__ == "__main__":
    main()
