"""The feedback service's CPU per `get_team_board` RPC, before and after, in the same run.

One seeded database (board_profile.seed: 50 managers x 20 reports, Q4 2026 activity) and one vhost; the service
runs in its own process (`nameko run`), first with the board read part by part (board_per_part_service, the
implementation before) and then as it is, alternating for `--rounds`. Each round: a warm-up, then `--calls`
sequential `get_team_board` calls as manager m7 and as many `get_calendar` calls (a trivial read RPC of the same
service: unit of work, access check, one primary-key read) as the same-process floor. CPU per call is the
server's utime+stime from /proc/<pid>/stat over the calls (idle timers included).

    .venv/bin/python services/feedback/bench/board_rpc_bench.py [--calls 1000] [--rounds 2]
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def serve(service: str, db_url: str, amqp_uri: str, workdir: Path) -> subprocess.Popen:
    config = workdir / f"feedback-{uuid.uuid4().hex[:6]}.yaml"
    config.write_text(yaml.safe_dump({
        "SERVICE_CONTAINER_CLS": "chassis.container.ServiceContainer", "AMQP_URI": amqp_uri,
        "DATABASE_URL": db_url, "WEB_SERVER_ADDRESS": "127.0.0.1:0", "FEEDBACK_SWEEP_SECONDS": 3600,
        "LOGGING": {"version": 1, "root": {"level": "WARNING"}}}))
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": f"{HERE}:{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen([sys.executable, "-m", "nameko", "run", "--config", str(config), service], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(proc: subprocess.Popen, caller, calls: int) -> dict[str, float]:
    deadline = time.monotonic() + 60
    while True:  # ready once it answers
        try:
            caller.get_calendar({})
            break
        except Exception:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.5)
    for _ in range(100):
        caller.get_team_board({})
        caller.get_calendar({})
    out = {}
    for name, call in (("get_team_board", caller.get_team_board), ("get_calendar", caller.get_calendar)):
        cpu, wall = cpu_seconds(proc.pid), time.perf_counter()
        for _ in range(calls):
            call({})
        out[name] = (cpu_seconds(proc.pid) - cpu) / calls * 1000
        out[name + " wall"] = (time.perf_counter() - wall) / calls * 1000
    return out


def main() -> None:
    import eventlet

    eventlet.monkey_patch()
    sys.path.insert(0, str(HERE))
    from board_profile import seed

    from chassis.migrations import upgrade
    from chassis.remote import StandaloneRpc
    from chassis.testing.infra import PgManager, VhostManager, test_amqp_uri, test_pg_url
    from chassis.uow import Store
    from contracts import Actor
    from feedback import access, errors

    errors.register()
    access.register()

    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    pg, vhosts = PgManager(test_pg_url()), VhostManager(test_amqp_uri())
    name = f"jxb_feedback_board_rpc_{uuid.uuid4().hex[:8]}"
    db_url, amqp_uri = pg.create(name), vhosts.create()
    try:
        upgrade("feedback", db_url)
        store = Store.from_url(db_url, "feedback")
        seed(store, 50, 20, random.Random(16))
        store.engine.dispose()
        variants = {"per-part (before)": "board_per_part_service:FeedbackService",
                    "one round trip (now)": "feedback.service:FeedbackService"}
        results: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
        client = StandaloneRpc(amqp_uri, timeout=20, actor=Actor(subject="m7", kind="person")).start()
        with tempfile.TemporaryDirectory() as workdir:
            for round_ in range(args.rounds):
                for variant, service in variants.items():
                    proc = serve(service, db_url, amqp_uri, Path(workdir))
                    try:
                        found = measure(proc, client.caller().feedback, args.calls)
                    finally:
                        proc.terminate()
                        proc.wait(20)
                    results[variant].append(found)
                    print(f"round {round_ + 1} {variant}: " + ", ".join(f"{k} {v:.3f} ms"
                                                                         for k, v in found.items()) +
                          f"; load {os.getloadavg()[0]:.2f}", flush=True)
        client.stop()
        best = {v: min(r["get_team_board"] for r in rs) for v, rs in results.items()}
        floor = min(r["get_calendar"] for rs in results.values() for r in rs)
        before, now = best.values()
        print(f"server CPU per get_team_board (best round): before {before:.3f} ms, now {now:.3f} ms "
              f"({now / before:.2f}x); get_calendar floor {floor:.3f} ms (board = {now / floor:.2f}x the floor); "
              f"load {os.getloadavg()}")
    finally:
        vhosts.delete(amqp_uri)
        vhosts.close()
        pg.drop(name)


if __name__ == "__main__":
    main()
