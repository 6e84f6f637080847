"""Where a contended redemption's time goes: the service (`nameko run`, its own process) is warmed as run.py does,
then the burst of M concurrent redemptions of the last M/10 items is repeated on fresh items, and each burst prints
p50/p99 beside the service's CPU (run.cpu_of: the scheduler's nanoseconds) and this client's CPU
(time.process_time), with the load.

    python bench/incentives/redeem_profile.py [--bursts 5] [--redeemers 50] [--workers 16] [--timeline]
                                              [--client-per-person] [--invalid] [--spy out.txt] [--cprofile out]

The callers share one client (one connection, each call with its person as the actor), as the gateway calls a
service; --client-per-person gives each a client of its own (the figures before 2026-12-04 21:00). --timeline
prints when each burst's calls were sent and answered; --spy records the service with py-spy (1,000 Hz, raw
stacks) over the bursts; the raw py-amqp floor is measured first as the reference, as in run.py.
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() not in (HERE, HERE.parent)]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


run = _load("bench_incentives_run", HERE / "run.py")
cpu_of = run.cpu_of


def start_service(uri: str, url: str, workers: int, workdir: Path, cprofile: str | None):
    """run.py's service process; with `cprofile`, `nameko run` goes through profiled_nameko.py."""
    config = {"AMQP_URI": uri, "DATABASE_URL": url, "max_workers": workers}
    if not cprofile:
        return run.Process("incentives.service:IncentivesService", config, workdir)
    popen = run.common.subprocess.Popen

    def profiled(command, env, **kwargs):
        return popen([sys.executable, str(HERE / "profiled_nameko.py"), *command[3:]],
                     env={**env, "PROFILE_OUT": cprofile}, **kwargs)

    run.common.subprocess.Popen = profiled
    try:
        return run.Process("incentives.service:IncentivesService", config, workdir)
    finally:
        run.common.subprocess.Popen = popen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bursts", type=int, default=5)
    parser.add_argument("--redeemers", type=int, default=50)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--client-per-person", action="store_true",
                        help="one client connection per person (the figures before 2026-12-04 21:00) instead of "
                             "one shared by all, as the gateway calls a service")
    parser.add_argument("--invalid", action="store_true",
                        help="send quantity 0 (refused by the contract before the use case): the RPC's fixed cost")
    parser.add_argument("--timeline", action="store_true",
                        help="print when the calls of each burst were sent and answered (ms after its start)")
    parser.add_argument("--spy", help="py-spy raw stacks of the service over the bursts (path)")
    parser.add_argument("--cprofile", help="cProfile (CPU clock) of the service process, written at its stop (path)")
    args = parser.parse_args()
    from sqlalchemy import text

    from chassis.db import create_db_engine
    from chassis.migrations import upgrade
    from chassis.testing.infra import PgManager, VhostManager
    from incentives import access, errors
    from incentives import models as m

    access.register()
    errors.register()
    pg, vhosts = PgManager(run.PG), VhostManager(run.AMQP)
    name = f"jx_bench_redeem_{uuid.uuid4().hex[:8]}"
    url, uri = pg.create(name), vhosts.create()
    workdir = Path(tempfile.mkdtemp(prefix="jx-bench-redeem-"))
    service = spy = None
    clients: dict = {}
    try:
        upgrade("incentives", url)
        floor = run.raw_floor(uri)
        print(f"raw py-amqp RPC floor p50 {floor:.2f} ms; load {run.load_average()}", flush=True)
        people = run.seed_org(url, max(1000, args.redeemers))[:args.redeemers]
        engine = create_db_engine(url)
        with engine.begin() as conn:
            conn.execute(m.Balance.__table__.insert(), [{"account": f"person:{p}", "balance": 1_000_000}
                                                        for p in people])
        stock = max(1, args.redeemers // 10)
        run.insert(url, m.Reward.__table__, [{"code": f"item{i}", "name": "核心项目参与权", "description": "",
                                              "cost": 100, "stock": stock, "eligibility": {},
                                              "requires_approval": False, "active": True, "updated_at": run.NOW}
                                             for i in range(args.bursts)])
        service = start_service(uri, url, args.workers, workdir, args.cprofile)
        clients = run.callers(uri, people, args.client_per_person)

        timeline: list[tuple[float, float]] = []

        def burst(call) -> tuple[list[float], list[str]]:
            latencies, outcomes = [], []
            timeline.clear()
            zero = time.perf_counter()

            def attempt(person):
                started = time.perf_counter()
                try:
                    call(clients[person].incentives)
                    outcome = "ok"
                except Exception as error:
                    outcome = (getattr(error, "errors", None) or [{}])[0].get("field", type(error).__name__)
                ended = time.perf_counter()
                latencies.append((ended - started) * 1000)
                outcomes.append(outcome)
                timeline.append(((started - zero) * 1000, (ended - zero) * 1000))

            gc.collect()  # as run.py: this client's collections are not the service's latency
            gc.disable()
            try:
                pool = eventlet.GreenPool(len(people))
                for p in people:
                    pool.spawn(attempt, p)
                pool.waitall()
            finally:
                gc.enable()
            return latencies, outcomes

        for _ in range(2):
            burst(lambda rpc: rpc.list_rewards({}))
        if args.spy:
            spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "-p",
                                    str(service.proc.pid), "-o", args.spy, "-r", "1000", "-f", "raw", "--nonblocking"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
            time.sleep(1)
        if args.cprofile:
            service.proc.send_signal(signal.SIGUSR1)
            time.sleep(0.2)
        for i in range(args.bursts):
            service_cpu, client_cpu = cpu_of(service.proc.pid), time.process_time()
            quantity = 0 if args.invalid else 1
            latencies, outcomes = burst(lambda rpc, code=f"item{i}", q=quantity: rpc.redeem({"reward_code": code,
                                                                                              "quantity": q}))
            service_cpu, client_cpu = cpu_of(service.proc.pid) - service_cpu, time.process_time() - client_cpu
            print(f"burst {i}: {outcomes.count('ok')} ok, {outcomes.count('quantity')} refused (quantity); "
                  f"p50 {run.percentile(latencies, 50):.1f} ms, p99 {run.percentile(latencies, 99):.1f} ms "
                  f"(floor {floor:.2f} ms); service CPU {service_cpu * 1000:.0f} ms "
                  f"({service_cpu * 1000 / len(people):.2f} ms a call), client CPU {client_cpu * 1000:.0f} ms; "
                  f"load {run.load_average()}", flush=True)
            if args.timeline:
                starts, ends = sorted(s for s, _ in timeline), sorted(e for _, e in timeline)
                print("  sent at   " + " ".join(f"{t:.0f}" for t in starts[::5]) + f" .. {starts[-1]:.0f} ms")
                print("  answered  " + " ".join(f"{t:.0f}" for t in ends[::5]) + f" .. {ends[-1]:.0f} ms")
            assert args.invalid or outcomes.count("ok") == stock, outcomes
            time.sleep(0.3)
        if args.cprofile:
            service.proc.send_signal(signal.SIGUSR2)
            time.sleep(1)
        with engine.connect() as conn:
            print("ledger sum", conn.execute(text("SELECT coalesce(sum(delta), 0) FROM inc_ledger"))
                  .scalar_one())
        engine.dispose()
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        run.stop_callers(clients)
        if service is not None:
            service.stop()
        vhosts.delete(uri, wait=True)
        pg.drop(name)


if __name__ == "__main__":
    main()
