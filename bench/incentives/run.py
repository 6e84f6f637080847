"""Incentives benchmarks on PostgreSQL and RabbitMQ: prints the figures beside the raw RPC floor measured in the same
run, and leaves nothing behind (the database and the vhost are dropped at the end).

    python bench/incentives/run.py [--people 100000] [--cycles 5] [--redeemers 50] [--bursts 5] [--replicas 1]

1. the raw py-amqp request/reply floor (bench/rpc_bench.py's raw server and client): the reference;
2. process rewards for N people over a week of events: N x 5 indicator values (what feedback's leads.counted
   events leave), two rules (cash and points); the settlement use case (evaluate, insert the rewards, post the
   points to the ledger, publish the events) — target <= 10 s at 100,000;
3. the 9-box of a unit of N people (finalized ratings x calibrated potentials, with movement) — target <= 2 s;
4. rotation detection over C cycles x N people (ratings with their goals component) — target <= 10 s;
5. with the service running (`nameko run`, its own process): M people redeem the last M/10 items at once over
   RabbitMQ, B times on a fresh item — p50/p99 of the round trip over all B x M calls (target p99 <= 50 ms), each
   burst's own p99 beside it, and no oversell.
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, date, datetime  # noqa: E402
from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
# this folder is called incentives too: keep it off the path so that `incentives` is the service package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() not in (HERE, HERE.parent)]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


common = _load("bench_common", HERE.parent / "common.py")
AMQP, PG, percentile, Process = common.AMQP, common.PG, common.percentile, common.Process
RPC_BENCH = HERE.parent / "rpc_bench.py"

from chassis.testing.infra import PgManager, VhostManager  # noqa: E402

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # today: the week of events is the one running now
WEEK, MONDAY = "2026-W49", date(2026, 11, 30)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def line(label: str, value: str) -> None:
    print(f"  {label:<66} {value}  (load {load_average()})", flush=True)


def figure(label: str, value: float, unit: str, floor_ms: float) -> None:
    """A line bench/run_all.py reads exactly: the figure beside this run's raw RPC floor."""
    print("BENCH-FIGURE " + json.dumps({"label": label, "value": round(value, 3), "unit": unit,
                                        "reference": round(floor_ms, 3), "reference_label": "raw RPC p50 ms",
                                        "load": load_average()}), flush=True)


def cpu_of(pid: int) -> float:
    """A process's CPU in seconds: the time its threads ran, from the scheduler (/proc/<pid>/task/*/schedstat, in
    nanoseconds; utime + stime from /proc/<pid>/stat count 10 ms ticks, too coarse for one burst)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):  # a thread that ended meanwhile
            continue
    return total / 1e9


def raw_floor(uri: str) -> float:
    """p50 of one raw py-amqp request/reply, in ms."""
    server = subprocess.Popen([sys.executable, str(RPC_BENCH), "raw-server", uri], stdout=subprocess.PIPE, text=True)
    try:
        server.stdout.readline()
        out = subprocess.run([sys.executable, str(RPC_BENCH), "raw-client", uri, "1000", "2"], capture_output=True,
                             text=True, timeout=120,  # the server's pid: rpc_bench's client reads its CPU
                             env={**os.environ, "BENCH_SERVER_PID": str(server.pid)})
        return json.loads(out.stdout.strip().splitlines()[-1])["p50_ms"]
    finally:
        server.kill()


_STORES: dict = {}


def unit_of_work(url: str):
    """One store per database for the whole run, as a running service keeps one: its org index (the access
    decisions' view of 100,000 people) is built once, not inside every measured call."""
    from chassis.uow import Store
    from incentives.repositories import IncentivesUnitOfWork

    if url not in _STORES:
        _STORES[url] = Store.from_url(url, "incentives", pool_size=4)
    return IncentivesUnitOfWork(_STORES[url], clock=lambda: NOW)


def settle_in(url: str) -> None:
    """After bulk seeding: the statistics autovacuum would gather, and the org index a running service holds."""
    from sqlalchemy import text

    from chassis.db import create_db_engine

    engine = create_db_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    with unit_of_work(url) as uow:
        uow.access.index  # noqa: B018 (built and cached on the store's engine)


def insert(url: str, table, rows: list[dict], chunk: int = 5000) -> None:
    from sqlalchemy import insert as sa_insert

    from chassis.db import create_db_engine

    engine = create_db_engine(url)
    with engine.begin() as conn:
        for start in range(0, len(rows), chunk):
            conn.execute(sa_insert(table), rows[start:start + chunk])
    engine.dispose()


def seed_org(url: str, people: int) -> list[str]:
    """One company, 100 units, teams of 10 with a lead; HR over the company."""
    from chassis.access.readmodel import grants_table, people_table, units_table

    units = [{"org_unit_id": "co", "version": 1, "name": "co", "parent_id": None, "removed": False, "updated_at": NOW}]
    units += [{"org_unit_id": f"u{i}", "version": 1, "name": f"u{i}", "parent_id": "co", "removed": False,
               "updated_at": NOW} for i in range(100)]
    ids = [f"p{i:06d}" for i in range(people)]
    rows = []
    for i, pid in enumerate(ids):
        lead = ids[i - i % 10] if i % 10 else None
        rows.append({"person_id": pid, "version": 1, "name": pid, "org_unit_id": f"u{i % 100}", "manager_id": lead,
                     "job_family": None, "grade": "P5", "sequence": None, "location": None, "status": "active",
                     "hired_on": date(2020, 1, 1), "erased": False, "pseudonym": None, "updated_at": NOW})
    rows.append({**rows[0], "person_id": "hr", "manager_id": None, "org_unit_id": "co"})
    insert(url, units_table, units)
    insert(url, people_table, rows)
    insert(url, grants_table, [{"subject_id": "hr", "version": 1, "updated_at": NOW,
                                "grants": json.dumps([{"role": "hr", "org_unit_id": "co"}])}])
    return ids


def bench_process_rewards(url: str, ids: list[str]) -> float:
    from contracts import incentives as c
    from contracts.actor import Actor
    from incentives import models as m
    from incentives.domain.bonus import weekly_lead_values
    from incentives.usecases import bonus

    rng = random.Random(7)
    rows = []
    for pid in ids:
        valid = rng.randint(0, 9)
        opportunities = rng.randint(0, 10)
        values = weekly_lead_values(valid, valid + rng.randint(0, 3), opportunities,
                                    rng.randint(0, opportunities))
        rows += [{"person_id": pid, "period": WEEK, "name": k, "value": v, "source": "bench", "updated_at": NOW}
                 for k, v in values.items()]
    insert(url, m.Observation.__table__, rows)
    hr = Actor(subject="hr")
    for code, reward, amount in (("leads_cash", "cash", "200"), ("leads_points", "points", "50")):
        bonus.save_process_rule(unit_of_work(url), hr, c.SaveProcessRule(
            code=code, name=code, period="week", condition="valid_leads >= 5 and demo_conversion >= 0.3",
            amount=amount, reward=reward))
    settle_in(url)
    started, cpu = time.perf_counter(), time.process_time()
    result = bonus.settle(unit_of_work(url), hr, c.SettleProcessRewards(period=WEEK))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    again = time.perf_counter()
    second = bonus.settle(unit_of_work(url), hr, c.SettleProcessRewards(period=WEEK))
    line(f"process rewards: {len(ids):,} people x 2 rules ({result.earned:,} earned, "
         f"{result.points_posted:,} points posted)", f"{elapsed:.2f} s (this process's CPU {cpu:.2f} s)")
    line(f"  settling the same week again (nothing paid twice: {second.earned} earned)",
         f"{time.perf_counter() - again:.2f} s")
    return elapsed


def seed_ratings(url: str, ids: list[str], cycles: int) -> None:
    from incentives import models as m
    from incentives.domain.ninebox import BOXES

    BOX_CODES = sorted(box.code for box in BOXES.values())

    rng = random.Random(11)
    talent = {pid: rng.random() for pid in ids}
    rows, potentials, placements = [], [], []
    for k in range(cycles):
        cycle = f"rc-{2022 + k}"
        for i, pid in enumerate(ids):
            attainment = talent[pid] + rng.gauss(0, 0.2)
            rotating_team = (i // 10) % 20 == 0  # one team in twenty takes turns
            if rotating_team:
                label = "S" if i % 10 == k % 4 + 1 else "B"
            else:
                label = "S" if attainment > 1.0 else "A" if attainment > 0.8 else "B" if attainment > 0.3 else "C"
            rows.append({"rating_id": f"r-{pid}-{cycle}", "version": 1, "person_id": pid, "review_cycle_id": cycle,
                         "goals_cycle_id": "g", "label": label, "score": Decimal(round(attainment * 100, 2)),
                         "components": [{"name": "goals", "score": str(round(attainment * 100, 2)), "weight": "1"}],
                         "attainment": Decimal(round(attainment * 100, 2)), "manager_score": None,
                         "manager_id": ids[i - i % 10] if i % 10 else "hr", "reason": "", "at": NOW})
            if k == cycles - 2:  # last cycle's talent review: the 9-box shows the movement from it
                placements.append({"person_id": pid, "review_cycle_id": cycle, "box": rng.choice(BOX_CODES),
                                   "performance": "medium", "potential": "medium", "placed_at": NOW})
            if k == cycles - 1:
                potentials.append({"person_id": pid, "review_cycle_id": cycle, "assessed": rng.choice(
                    ["low", "medium", "high"]), "rubric": {}, "assessed_by": "lead", "calibrated": None,
                    "calibrated_by": None, "reason": "", "updated_at": NOW})
    insert(url, m.Rating.__table__, rows)
    insert(url, m.Potential.__table__, potentials)
    insert(url, m.Placement.__table__, placements)
    settle_in(url)


def bench_nine_box(url: str, people: int, cycles: int) -> float:
    from contracts import incentives as c
    from contracts.actor import Actor
    from incentives.settings import IncentivesSettings
    from incentives.usecases import talent

    query = c.NineBoxQuery(review_cycle_id=f"rc-{2022 + cycles - 1}", org_unit_id="co",
                           previous_cycle_id=f"rc-{2022 + cycles - 2}")
    started = time.perf_counter()
    view = talent.nine_box(unit_of_work(url), Actor(subject="hr"), query, IncentivesSettings())
    elapsed = time.perf_counter() - started
    placed = sum(len(cell.people) for cell in view.cells)
    line(f"9-box of the company: {people:,} people ({placed:,} placed)", f"{elapsed:.2f} s")
    return elapsed


def bench_rotation(url: str, people: int, cycles: int) -> float:
    from contracts import incentives as c
    from contracts.actor import Actor
    from incentives.settings import IncentivesSettings
    from incentives.usecases import analytics

    query = c.RotationQuery(org_unit_id="co", review_cycle_ids=[f"rc-{2022 + k}" for k in range(cycles)])
    started = time.perf_counter()
    report = analytics.detect_rotation(unit_of_work(url), Actor(subject="hr"), query, IncentivesSettings())
    elapsed = time.perf_counter() - started
    flagged = {g.manager_id for g in report.groups if g.flagged}
    truth = {f"p{i:06d}" for i in range(0, people, 10) if (i // 10) % 20 == 0}
    hits = len(flagged & truth)
    line(f"rotation detection: {cycles} cycles x {people:,} people ({len(report.groups):,} teams)", f"{elapsed:.2f} s")
    line(f"  flagged {len(flagged)}: precision {hits / max(1, len(flagged)):.2f}, "
         f"recall {hits / max(1, len(truth)):.2f} on the generated rotations", "")
    return elapsed


def drain_outbox(url: str, timeout: float = 600, quiet: bool = False) -> None:
    """The steps above left their events (tens of thousands of points.earned) in the outbox: a running service
    would have published them long ago. Measuring while its relay publishes that backlog in the same process would
    time the relay, not a redemption, so wait until it is done."""
    from sqlalchemy import text

    from chassis.db import create_db_engine

    engine = create_db_engine(url)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout:
            with engine.connect() as conn:
                left = conn.execute(text("SELECT count(*) FROM chassis_outbox WHERE sent_at IS NULL")).scalar_one()
            if not left:
                break
            time.sleep(1)
    finally:
        engine.dispose()
    if not quiet:
        line("the service's relay published the earlier steps' events first", f"{time.perf_counter() - started:.1f} s")


class _Caller:
    """A person's RPC caller, and the client that carries it (stopped at the end)."""

    def __init__(self, client, caller):
        self._client, self._caller = client, caller

    def __getattr__(self, service: str):
        return getattr(self._caller, service)


def callers(uri: str, people: list[str], client_per_person: bool = False) -> dict:
    """Each person's caller. By default one client (one connection, one reply queue) carries everyone's calls, each
    with its person as the actor, as the gateway calls a service for its users; with `client_per_person`, a client
    (two connections) each, as these figures were measured before 2026-12-04 21:00: 50 clients in this one process
    cost it 0.3-0.4 ms of CPU a call, on the core the service and the broker share with it."""
    from chassis.remote import StandaloneRpc
    from contracts import Actor

    if client_per_person:
        result = {}
        for p in people:
            client = StandaloneRpc(uri, timeout=30, actor=Actor(subject=p)).start()
            result[p] = _Caller(client, client.caller())
        return result
    shared = StandaloneRpc(uri, timeout=30).start()
    return {p: _Caller(shared, shared.caller().with_context(actor=Actor(subject=p))) for p in people}


def stop_callers(callers: dict) -> None:
    """Stop the clients behind `callers` (the shared one once)."""
    for client in {id(caller._client): caller._client for caller in callers.values()}.values():
        client.stop()


def bench_redemptions(url: str, uri: str, ids: list[str], redeemers: int, workdir: Path,
                      replicas: int = 1, bursts: int = 5, client_per_person: bool = False) -> tuple[float, float]:
    """`bursts` times, on a fresh item each time: `redeemers` people redeem its last redeemers/10 units at once
    (after one burst that is not measured: a running service has compiled the redemption's statements before).
    The p99 of one burst of 50 is its slowest call, so one burst alone moves by a third between runs: the figure is
    the p50/p99 over every call of all bursts, and each burst's own p99 is printed beside it."""
    from incentives import models as m

    people = ids[:redeemers]
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    from chassis.db import create_db_engine

    stock = max(1, redeemers // 10)

    def prepare(code: str) -> None:  # everyone starts each burst with 1,000 points; a fresh item of `stock` units
        engine = create_db_engine(url)
        with engine.begin() as conn:
            stmt = pg_insert(m.Balance.__table__).values([{"account": f"person:{p}", "balance": 1000}
                                                          for p in people])
            conn.execute(stmt.on_conflict_do_update(index_elements=["account"], set_={"balance": 1000}))
        engine.dispose()
        insert(url, m.Reward.__table__, [{"code": code, "name": "核心项目参与权", "description": "", "cost": 100,
                                          "stock": stock, "eligibility": {}, "requires_approval": False,
                                          "active": True, "updated_at": NOW}])

    services: list = []
    clients: dict = {}
    latencies: list[float] = []
    burst_p99s: list[float] = []
    cpu_total = 0.0
    try:
        for _ in range(replicas):  # replicas: processes consuming the one RPC queue
            services.append(Process("incentives.service:IncentivesService",
                                    {"AMQP_URI": uri, "DATABASE_URL": url, "max_workers": 16}, workdir))
        clients = callers(uri, people, client_per_person)
        drain_outbox(url)

        def warm(person):  # as a running service is: its pool's connections open, every client's reply path used
            try:
                clients[person].incentives.list_rewards({})
            except Exception:
                pass

        for _ in range(2):  # concurrently, as the measured burst comes: the pool opens up to max_workers connections
            warmers = eventlet.GreenPool(redeemers)
            for p in people:
                warmers.spawn(warm, p)
            warmers.waitall()

        for burst in range(-1, bursts):  # burst -1 warms the redemption path (compiled statements), not measured
            code = f"last_items_{burst + 1}"
            prepare(code)
            drain_outbox(url, quiet=True)  # the previous burst's events are out: not timed in this one
            times, outcomes = [], []

            def attempt(person, code=code, times=times, outcomes=outcomes):
                started = time.perf_counter()
                try:
                    clients[person].incentives.redeem({"reward_code": code})
                    outcome = "ok"
                except Exception as error:
                    outcome = (getattr(error, "errors", None) or [{}])[0].get("field", type(error).__name__)
                times.append((time.perf_counter() - started) * 1000)
                outcomes.append(outcome)

            cpu = sum(cpu_of(service.proc.pid) for service in services)
            # this process holds the 50 callers; a collection of its heap inside a burst (~50 ms, every few
            # bursts) was timed as the service's latency, so it collects before the burst and not during it
            gc.collect()
            gc.disable()
            try:
                pool = eventlet.GreenPool(redeemers)
                for p in people:
                    pool.spawn(attempt, p)
                pool.waitall()
            finally:
                gc.enable()
            cpu = sum(cpu_of(service.proc.pid) for service in services) - cpu
            assert outcomes.count("ok") == stock, outcomes  # no oversell, and every unit taken
            if burst < 0:
                line("  a first burst, not measured (the redemption path's statements compiled)",
                     f"p50 {percentile(times, 50):.1f} ms, p99 {percentile(times, 99):.1f} ms")
                continue
            cpu_total += cpu
            latencies.extend(times)
            burst_p99s.append(percentile(times, 99))
            line(f"  burst {burst + 1} of {bursts}: {outcomes.count('ok')} ok, {outcomes.count('quantity')} sold out",
                 f"p50 {percentile(times, 50):.1f} ms, p99 {burst_p99s[-1]:.1f} ms (service CPU {cpu * 1000:.0f} ms)")
    finally:
        stop_callers(clients)
        for service in services:
            service.stop()
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    calls = redeemers * bursts
    line(f"{redeemers} concurrent redemptions of the last {stock} items over RabbitMQ, {bursts} bursts, {replicas} "
         f"service process{'es' if replicas > 1 else ''}",
         f"p50 {p50:.1f} ms, p99 {p99:.1f} ms over {calls} calls; bursts' own p99 "
         f"{' / '.join(f'{x:.0f}' for x in burst_p99s)} ms (service CPU {cpu_total * 1000 / calls:.2f} ms a call)")
    return p50, p99


STEPS = ("settle", "ninebox", "rotation", "redeem")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--redeemers", type=int, default=50)
    parser.add_argument("--replicas", type=int, default=1, help="service processes for the redemptions")
    parser.add_argument("--client-per-person", action="store_true",
                        help="the redeemers each with a client of their own (two connections each) instead of one "
                             "client carrying all their calls, as the gateway does")
    parser.add_argument("--bursts", type=int, default=5, help="bursts of redemptions, each on a fresh item")
    parser.add_argument("--only", nargs="+", choices=STEPS, help="measure only these steps (default: all)")
    args = parser.parse_args()
    from chassis.migrations import upgrade
    from incentives import access, errors

    access.register()  # as the service module does
    errors.register()

    pg, vhosts = PgManager(PG), VhostManager(AMQP)
    name = f"jx_bench_incentives_{uuid.uuid4().hex[:8]}"
    url = pg.create(name)
    uri = vhosts.create()
    workdir = Path(tempfile.mkdtemp(prefix="jx-bench-incentives-"))
    try:
        upgrade("incentives", url)
        floor = raw_floor(uri)
        print(f"incentives benchmarks: {args.people:,} people; raw py-amqp RPC floor p50 {floor:.2f} ms "
              "(ratios below are figure / floor)", flush=True)
        ids = seed_org(url, args.people)
        steps = set(args.only or STEPS)
        if "settle" in steps:
            settle = bench_process_rewards(url, ids)
            figure(f"incentives: process rewards, {args.people:,} people, one week", settle, "s", floor)
            print(f"  ratio to the floor: settle {settle * 1000 / floor:,.0f}x", flush=True)
        if steps & {"ninebox", "rotation"}:
            seed_ratings(url, ids, args.cycles)
        if "ninebox" in steps:
            box = bench_nine_box(url, args.people, args.cycles)
            figure(f"incentives: 9-box of {args.people:,} people", box, "s", floor)
            print(f"  ratio to the floor: 9-box {box * 1000 / floor:,.0f}x", flush=True)
        if "rotation" in steps:
            rotation = bench_rotation(url, args.people, args.cycles)
            figure(f"incentives: rotation detection, {args.cycles} cycles x {args.people:,} people", rotation, "s",
                   floor)
            print(f"  ratio to the floor: rotation {rotation * 1000 / floor:,.0f}x", flush=True)
        if "redeem" in steps:
            p50, p99 = bench_redemptions(url, uri, ids, args.redeemers, workdir, args.replicas, args.bursts,
                                         args.client_per_person)
            figure(f"incentives: redemption p50, {args.redeemers} concurrent on the last items", p50, "ms", floor)
            figure(f"incentives: redemption p99, {args.redeemers} concurrent on the last items", p99, "ms", floor)
            print(f"  ratios to the floor: redemption p50 {p50 / floor:.1f}x, p99 {p99 / floor:.1f}x", flush=True)
    finally:
        vhosts.delete(uri, wait=True)
        pg.drop(name)


if __name__ == "__main__":
    main()
