"""RPC latency, throughput and the server's CPU per call: the chassis against a raw py-amqp request/reply floor and
stock nameko, measured in the same run on the same broker.

    python bench/rpc_bench.py [--calls 3000] [--seconds 8] [--only raw,stock,echo,read] [--profile DIR]
                              [--baseline GIT-REF] [--repeat N]

Four servers, one after the other, each in its own process (the server under test and the client never share a
GIL):
- raw py-amqp: a consumer that publishes the body back (the floor);
- stock nameko `@rpc` echo (`nameko run` of a plain class);
- chassis echo (`bench_services:BenchPing`): the chassis's fixed cost of an RPC with nothing to do;
- chassis read (`bench_services:BenchRead`): a unit of work, one primary-key read on PostgreSQL, an access check
  from the org read model — what a typical read RPC costs before its own business.

Each is measured as sequential p50/p99 (one call at a time), then calls/s with 16 in flight, and the server's CPU
per call: utime+stime of its process (/proc/<pid>/stat) over the whole client run ÷ the calls it answered (idle
timers included: they are part of what the process costs). The chassis clients send an actor in the call context,
as the gateway does. `--profile DIR` records each chassis server with py-spy during its run (DIR/<side>.svg and a
collapsed-stack text file), which costs CPU of its own: do not compare figures of a profiled run with others.

`--baseline REF` measures a change of the chassis on a loaded machine: the chassis package of that commit
(`git archive`) runs each chassis side too, put first on the server's PYTHONPATH, alternating with the working
tree's `--repeat` times (baseline, current, baseline, current...), so both see the same load; the summary gives
each side's median over its repeats and current ÷ baseline.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import AMQP, PG, ROOT, Process, percentile

QUEUE = "raw-rpc"
ITEMS = 10_000
PEOPLE = 100
ACTOR = {"subject": "p-7", "kind": "person"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_times(pid: int) -> tuple[float, float]:
    """(utime, stime) of a process so far in seconds (/proc/<pid>/stat fields 14 and 15, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS


class ServerCpu:
    """The server's CPU between marks, read by the client (the server's pid in $BENCH_SERVER_PID): per phase."""

    def __init__(self) -> None:
        # other benches take only the latency floor from the raw client and need not say where the server runs
        self.pid = int(os.environ["BENCH_SERVER_PID"]) if os.environ.get("BENCH_SERVER_PID") else None
        self.mark()

    def mark(self) -> None:
        self.at = 0.0 if self.pid is None else sum(cpu_times(self.pid))

    def since(self) -> float:
        """Seconds of CPU since the last mark; marks again."""
        before = self.at
        self.mark()
        return self.at - before


def phases(meter: ServerCpu, idle: float, sequential: int, concurrent: int) -> dict:
    """The server's CPU per call of each phase, ms (and when idle, ms per second)."""
    return {"idle_ms_per_s": idle * 1000, "cpu_seq_ms": meter.seq / sequential * 1000,
            "cpu_16_ms": meter.conc / max(1, concurrent) * 1000}


# -- raw py-amqp: the floor -----------------------------------------------------------------------------------
def raw_server(uri: str) -> None:
    import amqp
    from kombu.utils.url import url_to_parts

    _, host, port, user, password, vhost, _ = url_to_parts(uri)
    conn = amqp.Connection(host=f"{host}:{port}", userid=user, password=password, virtual_host=vhost or "/")
    conn.connect()
    ch = conn.channel()
    ch.queue_declare(QUEUE, auto_delete=True)
    ch.basic_qos(0, 64, False)

    def on_request(msg):
        ch.basic_publish(amqp.Message(msg.body, correlation_id=msg.correlation_id,
                                      content_type="application/json"),
                         exchange="", routing_key=msg.reply_to)
        ch.basic_ack(msg.delivery_tag)

    ch.basic_consume(QUEUE, callback=on_request)
    print("ready", flush=True)
    while True:
        conn.drain_events()


def raw_client(uri: str, calls: int, seconds: float) -> dict:
    import amqp
    from kombu.utils.url import url_to_parts

    _, host, port, user, password, vhost, _ = url_to_parts(uri)
    conn = amqp.Connection(host=f"{host}:{port}", userid=user, password=password, virtual_host=vhost or "/")
    conn.connect()
    ch = conn.channel()
    reply_queue, _, _ = ch.queue_declare("", exclusive=True)
    replies: list[str] = []
    ch.basic_consume(reply_queue, callback=lambda m: replies.append(m.correlation_id), no_ack=True)
    body = json.dumps({"args": [1], "kwargs": {}})

    def send():
        ch.basic_publish(amqp.Message(body, correlation_id=uuid.uuid4().hex, reply_to=reply_queue,
                                      content_type="application/json"), exchange="", routing_key=QUEUE)

    meter = ServerCpu()
    time.sleep(1)
    idle = meter.since()
    latencies = []
    for _ in range(calls):
        started = time.perf_counter()
        send()
        while not replies:
            conn.drain_events()
        replies.clear()
        latencies.append(time.perf_counter() - started)
    meter.seq = meter.since()
    done = 0
    started = time.perf_counter()
    for _ in range(16):
        send()
    while time.perf_counter() - started < seconds:
        conn.drain_events()
        while replies:
            replies.pop()
            done += 1
            send()
    elapsed = time.perf_counter() - started
    answered = done
    while len(replies) < 16:  # the last 16 in flight: answered by the server too (its CPU counts them)
        conn.drain_events(timeout=5)
    answered += len(replies)
    meter.conc = meter.since()
    return {"p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "rps_16": done / elapsed, "calls": calls + answered, **phases(meter, idle, calls, answered)}


# -- the chassis (and stock nameko for reference) ---------------------------------------------------------------
def green_client(uri: str, calls: int, seconds: float, side: str) -> dict:
    import eventlet

    eventlet.monkey_patch()
    stock = side == "stock"
    if stock:
        from nameko.standalone.rpc import ClusterRpcProxy

        proxy_cm = ClusterRpcProxy({"AMQP_URI": uri}, timeout=10)
        proxy = proxy_cm.start()
        call = lambda: proxy.stock_ping.ping(1)  # noqa: E731
    else:
        from chassis.remote import StandaloneRpc
        from contracts.actor import Actor

        client = StandaloneRpc(uri, timeout=10, actor=Actor.model_validate(ACTOR)).start()
        caller = client.caller()
        if side == "read":
            counter = iter(range(10**9))
            call = lambda: caller.bench_read.get_item({"item_id": f"i-{next(counter) % ITEMS}"})  # noqa: E731
            if (call() or {}).get("owner_id") != ACTOR["subject"]:
                raise SystemExit("the read bench's item was not found: the database is not seeded")
        else:
            call = lambda: caller.bench_ping.ping(1)  # noqa: E731
    warm = 50 + (side == "read")
    for _ in range(warm):
        call()
    meter = ServerCpu()
    time.sleep(1)
    idle = meter.since()
    latencies = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - started)
    meter.seq = meter.since()
    done = [0]
    deadline = time.perf_counter() + seconds

    def worker():
        while time.perf_counter() < deadline:
            call()
            done[0] += 1

    started = time.perf_counter()
    if stock:  # nameko's standalone proxy reads its socket inside result(): one reader, 16 calls outstanding
        while time.perf_counter() < deadline:
            pending = [proxy.stock_ping.ping.call_async(1) for _ in range(16)]
            for reply in pending:
                reply.result()
            done[0] += 16
    else:
        pool = [eventlet.spawn(worker) for _ in range(16)]
        for gt in pool:
            gt.wait()
    elapsed = time.perf_counter() - started
    meter.conc = meter.since()
    return {"p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "rps_16": done[0] / elapsed, "calls": warm + calls + done[0], **phases(meter, idle, calls, done[0])}


STOCK_SERVICE = '''
from nameko.rpc import rpc

class StockPing:
    name = "stock_ping"

    @rpc
    def ping(self, value):
        return value
'''


def run_json(args: list[str], env: dict[str, str] | None = None) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=600,
                         env={**os.environ, **(env or {})})
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def measured(pid: int, client_args: list[str], profile: Path | None = None, side: str = "",
             gil: bool = False) -> dict:
    """Run a client against the server `pid`; add the server's CPU per call over the run (and its share spent in
    the kernel: socket writes and reads)."""
    spy = None
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(pid), "-r", "250",
                                "-f", "raw", "-o", str(profile / f"{side}.txt"), *(["--gil"] if gil else [])],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
    user, system = cpu_times(pid)
    result = run_json(client_args, {"BENCH_SERVER_PID": str(pid)})
    user_after, system_after = cpu_times(pid)
    result["cpu_ms_per_call"] = (user_after - user + system_after - system) / result["calls"] * 1000
    result["sys_share"] = (system_after - system) / max(1e-9, user_after - user + system_after - system)
    if spy is not None:
        spy.send_signal(2)  # SIGINT: py-spy writes its file and ends
        spy.wait(timeout=60)
    return result


def seed_read_database(url: str) -> None:
    """The read bench's tables: ITEMS items owned by PEOPLE people of one unit (all in the org read model)."""
    import bench_services
    from sqlalchemy import insert

    from chassis.access.readmodel import create_org_read_model, people_table, units_table
    from chassis.db import chassis_metadata, create_db_engine, utcnow

    engine = create_db_engine(url)
    chassis_metadata.create_all(engine)
    bench_services.ReadBase.metadata.create_all(engine)
    create_org_read_model(engine)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(units_table), [{"org_unit_id": "u-1", "version": 1, "name": "Unit", "parent_id": None,
                                            "removed": False, "updated_at": now}])
        conn.execute(insert(people_table), [
            {"person_id": f"p-{n}", "version": 1, "name": f"P {n}", "org_unit_id": "u-1",
             "manager_id": None if n == 0 else "p-0", "status": "active", "erased": False, "updated_at": now}
            for n in range(PEOPLE)])
        # every item is owned by the bench's actor or one of its peers... the actor reads its own: p-7's items
        conn.execute(insert(bench_services.Item.__table__), [
            {"id": f"i-{n}", "owner_id": ACTOR["subject"], "name": f"item {n}"} for n in range(ITEMS)])
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--only", default="raw,stock,echo,read", help="comma-separated sides to run")
    parser.add_argument("--workers", type=int, default=32, help="the chassis servers' max_workers")
    parser.add_argument("--profile", type=Path, help="record the chassis servers with py-spy into this folder")
    parser.add_argument("--baseline", help="a git ref whose chassis package also runs each chassis side")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each chassis side (alternating with the "
                        "baseline's)")
    parser.add_argument("--gil", action="store_true", help="with --profile: only samples holding the GIL (Python "
                        "code, not the time in system calls)")
    args = parser.parse_args()
    sides = args.only.split(",")

    import eventlet

    eventlet.monkey_patch()
    from chassis.testing.infra import PgManager, VhostManager

    print(f"load average before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", flush=True)
    vhosts, pg = VhostManager(AMQP), PgManager(PG)
    uri = vhosts.create()
    workdir = Path(tempfile.mkdtemp(prefix="jx-bench-"))
    common = [uri, str(args.calls), str(args.seconds)]
    results = {}
    database = f"jx_rpcbench_{uuid.uuid4().hex[:8]}"
    url = None
    try:
        if "raw" in sides:
            server = subprocess.Popen([sys.executable, __file__, "raw-server", uri], stdout=subprocess.PIPE,
                                      text=True)
            server.stdout.readline()
            results["raw py-amqp"] = measured(server.pid, ["raw-client", *common])
            server.kill()
            server.wait()

        if "stock" in sides:
            (workdir / "stock_service.py").write_text(STOCK_SERVICE)
            stock = subprocess.Popen([sys.executable, "-m", "nameko", "run", "--broker", uri, "stock_service"],
                                     cwd=workdir, env={**os.environ, "AMQP_URI": uri,
                                                       "PYTHONWARNINGS": "ignore::DeprecationWarning"},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(5)
            results["stock nameko"] = measured(stock.pid, ["green-client", *common, "stock"])
            stock.kill()
            stock.wait()

        versions: list[tuple[str, list[Path]]] = [("", [])]
        if args.baseline:
            exported = workdir / "baseline"
            exported.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "libs/chassis/chassis"],
                                     capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(exported)], input=archive, check=True)
            versions = [(f" @{args.baseline}", [exported / "libs" / "chassis"]), ("", [])]
        if "read" in sides:
            url = pg.create(database)
            seed_read_database(url)
        for _ in range(args.repeat):
            for label, python_path in versions:
                if "echo" in sides:
                    ping = Process("bench_services:BenchPing", {"AMQP_URI": uri, "max_workers": args.workers},
                                   workdir, python_path=python_path)
                    results.setdefault("chassis echo" + label, []).append(
                        measured(ping.proc.pid, ["green-client", *common, "echo"], args.profile, "echo", args.gil))
                    ping.stop()
                if "read" in sides:
                    read = Process("bench_services:BenchRead", {"AMQP_URI": uri, "max_workers": args.workers,
                                                                "DATABASE_URL": url}, workdir, python_path=python_path)
                    results.setdefault("chassis read" + label, []).append(
                        measured(read.proc.pid, ["green-client", *common, "read"], args.profile, "read", args.gil))
                    read.stop()
    finally:
        vhosts.delete(uri, wait=True)
        if url is not None:
            pg.drop(database)

    print(f"load average after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    summary = {name: median_of(runs if isinstance(runs, list) else [runs]) for name, runs in results.items()}
    print("server CPU ms per call: over the whole run / one call at a time / 16 in flight; of it in the kernel; "
          "idle: ms of CPU per second with no call")
    print(f"{'':<24}{'p50 ms':>8}{'p99 ms':>8}{'calls/s@16':>11}{'CPU run':>9}{'CPU seq':>9}{'CPU @16':>9}"
          f"{'sys':>6}{'idle':>7}")
    for name, r in summary.items():
        print(f"{name:<24}{r['p50_ms']:>8.2f}{r['p99_ms']:>8.2f}{r['rps_16']:>11.0f}{r['cpu_ms_per_call']:>9.3f}"
              f"{r['cpu_seq_ms']:>9.3f}{r['cpu_16_ms']:>9.3f}{r['sys_share']:>6.0%}{r['idle_ms_per_s']:>7.1f}")
    raw, stock = summary.get("raw py-amqp"), summary.get("stock nameko")
    for name, r in summary.items():
        if not name.startswith("chassis"):
            continue
        ratios = []
        if raw:
            ratios.append(f"p50 / raw {r['p50_ms'] / raw['p50_ms']:.2f}, "
                          f"calls/s / raw {r['rps_16'] / raw['rps_16']:.2f}")
        if stock:
            ratios.append(f"p50 / stock {r['p50_ms'] / stock['p50_ms']:.2f}, "
                          f"CPU per call / stock {r['cpu_ms_per_call'] / stock['cpu_ms_per_call']:.2f}")
        baseline = summary.get(f"{name} @{args.baseline}") if args.baseline and "@" not in name else None
        if baseline:
            ratios.append(f"vs baseline: CPU per call {r['cpu_ms_per_call'] / baseline['cpu_ms_per_call']:.2f} "
                          f"(seq {r['cpu_seq_ms'] / baseline['cpu_seq_ms']:.2f}, "
                          f"@16 {r['cpu_16_ms'] / baseline['cpu_16_ms']:.2f}), "
                          f"p50 {r['p50_ms'] / baseline['p50_ms']:.2f}")
        print(f"{name}: {'; '.join(ratios)}")
    if args.repeat > 1:
        for name, runs in results.items():
            if isinstance(runs, list):
                figures = ", ".join(f"{run['cpu_seq_ms']:.3f}/{run['cpu_16_ms']:.3f}" for run in runs)
                print(f"{name} CPU ms/call seq/@16 per run: {figures}")
    print("JSON " + json.dumps(results))


def median_of(runs: list[dict]) -> dict:
    """Each figure's median over the runs of one side."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "raw-server":
        raw_server(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "raw-client":
        print(json.dumps(raw_client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "green-client":
        print(json.dumps(green_client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])))
    else:
        main()
