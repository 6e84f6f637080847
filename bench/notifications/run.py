"""Notifications benchmark on PostgreSQL and RabbitMQ: events fanned out to the inbox and to webhook subscribers,
beside the raw RPC floor measured in the same run; leaves nothing behind (database and vhost dropped).

    python bench/notifications/run.py [--events 10000] [--subscribers 100] [--rate 200]

1. the raw py-amqp request/reply floor (bench/rpc_bench.py): the reference;
2. the service as its own `nameko run` process; `--subscribers` webhook subscriptions on real HTTP receivers (one
   receiver process, eventlet), every event also notifying two people (the goal's owner and their manager);
3. phase A: all receivers live; phase B: the same plus one dead receiver (connection refused) and one answering in
   5 s. Events are published at `--rate` per second (a goal turning red, the envelope `time` stamped at publish).
   Reported: p50/p99 event-to-delivery for the live receivers (target p99 <= 2 s), their delivery throughput in A
   and B (B/A: a slow or dead receiver must not lower it), and no loss (every live delivery and every inbox row).
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
import urllib.request  # noqa: E402
import uuid  # noqa: E402
from datetime import date, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() not in (HERE, HERE.parent)]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


common = _load("bench_common", HERE.parent / "common.py")
AMQP, PG, percentile, Process, free_port = common.AMQP, common.PG, common.percentile, common.Process, common.free_port
RPC_BENCH = HERE.parent / "rpc_bench.py"


def line(label: str, value: str) -> None:
    print(f"  {label:<70} {value}", flush=True)


def raw_floor(uri: str) -> float:
    server = subprocess.Popen([sys.executable, str(RPC_BENCH), "raw-server", uri], stdout=subprocess.PIPE, text=True)
    try:
        server.stdout.readline()
        out = subprocess.run([sys.executable, str(RPC_BENCH), "raw-client", uri, "1000", "2"], capture_output=True,
                             text=True, timeout=120, env={**os.environ, "BENCH_SERVER_PID": str(server.pid)})
        return json.loads(out.stdout.strip().splitlines()[-1])["p50_ms"]
    finally:
        server.kill()


# -- the receivers (their own process) ----------------------------------------------------------------------------
def receiver(port: int) -> None:
    """A raw HTTP/1.1 keep-alive responder on eventlet (no WSGI): it shares the 2 cores with what it measures, so it
    spends as little as it can per request: the request line, two headers it needs, the body, a fixed answer."""
    seen: dict[str, dict] = {}  # path -> {"lat": [...], "ids": set(), "first": t, "last": t}

    def record(path: str, data: bytes) -> None:
        now = time.time()
        event = json.loads(data)
        sent = datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()
        stats = seen.setdefault(path, {"lat": [], "sent": [], "ids": set(), "n": 0, "first": now, "last": now})
        stats["n"] += 1
        if event["id"] not in stats["ids"]:
            stats["ids"].add(event["id"])
            stats["lat"].append(now - sent)
            stats["sent"].append(sent)
        stats["last"] = now

    def serve(conn) -> None:
        reader = conn.makefile("rb")
        try:
            while True:
                line = reader.readline(8192)
                if not line:
                    return
                method, path, _ = line.decode("latin-1").split(" ", 2)
                length, close = 0, False
                while True:
                    header = reader.readline(8192)
                    if header in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = header.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection":
                        close = b"close" in value.lower()
                data = reader.read(length) if length else b""
                if method == "GET":
                    body = json.dumps({p: {"latencies": s["lat"], "sent": s["sent"], "ids": len(s["ids"]),
                                           "requests": s["n"],
                                           "first": s["first"], "last": s["last"]} for p, s in seen.items()}).encode()
                    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                                 + str(len(body)).encode() + b"\r\n\r\n" + body)
                else:
                    if path == "/slow":
                        eventlet.sleep(5.0)
                    record(path, data)
                    conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
                if close:
                    return
        except (OSError, ValueError):
            return
        finally:
            reader.close()
            conn.close()

    sock = eventlet.listen(("127.0.0.1", port), backlog=1024)
    print("ready", flush=True)
    while True:
        conn, _ = sock.accept()
        eventlet.spawn_n(serve, conn)


def stats(ports) -> dict:
    out = {}
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=30) as resp:
            out.update(json.loads(resp.read()))
    return out


def http_floor_rps(ports: list[int], concurrency: int, requests: int = 1000) -> float:
    """Plain signed-size POSTs from one eventlet process to the receivers: what the machine allows."""
    from eventlet.greenpool import GreenPool

    from notifications import channels
    from notifications.channels import post_webhook

    HttpPool = getattr(channels, "HttpPool", None)  # absent from a baseline's code (before 051806d): no floor
    if HttpPool is None:
        return 0.0

    body = json.dumps({"specversion": "1.0", "id": "floor", "time": datetime.now().astimezone().isoformat(),
                       "data": {"padding": "x" * 300}}).encode()
    pool, http = GreenPool(concurrency), HttpPool()  # the service's own client: keep-alive connections
    for i in range(concurrency):  # connections opened first, as the service's are during a run
        pool.spawn_n(post_webhook, f"http://127.0.0.1:{ports[i % len(ports)]}/floor", body,
                     {"content-type": "application/json"}, 10.0, http)
    pool.waitall()
    started = time.time()
    for i in range(requests):
        pool.spawn_n(post_webhook, f"http://127.0.0.1:{ports[i % len(ports)]}/floor", body,
                     {"content-type": "application/json"}, 10.0, http)
    pool.waitall()
    http.close()
    return requests / (time.time() - started)


# -- the run --------------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--rate", type=float, default=200.0, help="events published per second")
    parser.add_argument("--receivers", type=int, default=4, help="receiver processes")
    args = parser.parse_args()

    from sqlalchemy import text

    from chassis.amqp import ConfirmingPublisher, OutgoingMessage, events_exchange
    from chassis.db import create_db_engine
    from chassis.migrations import upgrade
    from chassis.remote import StandaloneRpc
    from chassis.testing.infra import PgManager, VhostManager
    from contracts import Actor, Envelope
    from contracts.compliance import ClientRegistered
    from contracts.goals import GoalStatusChanged
    from contracts.org import OrgUnitChanged, PersonChanged, RoleGrant, RoleGrantsChanged

    vhosts, pg = VhostManager(AMQP), PgManager(PG)
    uri = vhosts.create()
    db_name = f"jx_bench_notif_{uuid.uuid4().hex[:6]}"
    db_url = pg.create(db_name)
    workdir = Path(tempfile.mkdtemp(prefix="jx-bench-notif-"))
    # the receivers: several processes (one eventlet server is slower than the service it measures)
    ports = [free_port() for _ in range(args.receivers)]
    receivers = [subprocess.Popen([sys.executable, __file__, "receiver", str(p)], stdout=subprocess.PIPE, text=True)
                 for p in ports]
    for process in receivers:
        process.stdout.readline()
    port_of = {}
    service = None
    try:
        print(f"notifications: {args.events} events x {args.subscribers} subscribers at {args.rate:.0f}/s "
              f"(twice: all live, then + one dead and one 5 s receiver)", flush=True)
        floor = raw_floor(uri)
        line("raw py-amqp request/reply p50 (the floor)", f"{floor:.2f} ms")
        http_floor = http_floor_rps(ports, concurrency=min(200, 4 * (args.subscribers - 2)), requests=5000)
        line("raw HTTP POST floor to the same receivers (keep-alive eventlet client, same concurrency)",
             f"{http_floor:.0f} requests/s")
        upgrade("notifications", db_url)
        service = Process("notifications.service:NotificationsService", {
            "AMQP_URI": uri, "DATABASE_URL": db_url, "WEBHOOK_TIMEOUT": 10.0, "DISPATCH_INTERVAL": 0.05,
            "REGISTRY_TIMEOUT": 0.2, "WEBHOOK_RETRY_BASE": 1.0, "WEBHOOK_RETRY_CAP": 30.0,
            "WEBHOOK_CONCURRENCY": max(200, 4 * args.subscribers),  # every receiver's 4 (max_in_flight) at once
            "max_workers": 32, "db_pool_size": 40}, workdir)
        engine = create_db_engine(db_url)
        scalar = lambda sql, **p: engine.connect().execute(text(sql), p).scalar()  # noqa: E731
        publishers = {s: ConfirmingPublisher(uri, declare=[events_exchange(s)]) for s in ("compliance", "goals")}

        def publish(service_name, *events):
            for event in events:
                envelope = Envelope.wrap(event)
                publishers[service_name].publish(OutgoingMessage(f"{service_name}.events", envelope.type,
                                                                 envelope.model_dump_json()))

        people = 100
        org = [OrgUnitChanged(org_unit_id="bench", version=1, name="bench"),
               PersonChanged(person_id="mgr", version=2, name="mgr", org_unit_id="bench"),
               PersonChanged(person_id="admin", version=3, name="admin", org_unit_id="bench"),
               RoleGrantsChanged(subject_id="admin", version=4, grants=[RoleGrant(role="admin")])]
        org += [PersonChanged(person_id=f"p{i}", version=10 + i, name=f"p{i}", org_unit_id="bench", manager_id="mgr")
                for i in range(people)]
        publish("compliance", *org)
        publish("compliance", ClientRegistered(client_id="bench", name="bench", scopes=[],
                                               event_patterns=["jixiao.goals.#"], dpa_ref="DPA"))
        deadline = time.time() + 60
        while scalar("select count(*) from chassis_org_people") < people + 2 or \
                scalar("select count(*) from clients") < 1:
            if time.time() > deadline:
                raise RuntimeError("read models did not fill")
            time.sleep(0.2)
        rpc = StandaloneRpc(uri, timeout=30, actor=Actor(subject="admin")).start()
        admin = rpc.caller().notifications

        def subscribe(path: str, url: str | None = None) -> None:
            port = port_of.setdefault(path, ports[len(port_of) % len(ports)])
            admin.create_subscription({"client_id": "bench", "url": url or f"http://127.0.0.1:{port}{path}",
                                       "event_types": ["jixiao.goals.goal.status_changed.v1"]})

        live = [f"/live/{i}" for i in range(args.subscribers - 2)]
        for path in live:
            subscribe(path)

        def cpu_seconds(pid: int) -> float:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        def phase(name: str, paths: list[str]) -> dict:
            before = stats(ports)
            cpu_before = cpu_seconds(service.proc.pid)
            started = time.time()
            interval = 1.0 / args.rate
            for i in range(args.events):
                publish("goals", GoalStatusChanged(goal_id=str(uuid.uuid4()), cycle_id="2026-q4",
                                                   responsible_id=f"p{i % people}", before="yellow", after="red",
                                                   on=date(2026, 12, 2), progress="0.2"))
                lag = started + (i + 1) * interval - time.time()
                if lag > 0:
                    time.sleep(lag)
            published = time.time() - started
            want = {p: before.get(p, {}).get("ids", 0) + args.events for p in paths}
            deadline = time.time() + 600
            while True:
                now = stats(ports)
                if all(now.get(p, {}).get("ids", 0) >= want[p] for p in paths) or time.time() > deadline:
                    break
                time.sleep(0.5)
            lat = [x for p in paths for x in now.get(p, {}).get("latencies", [])[before.get(p, {}).get("ids", 0):]]
            sent = [x for p in paths for x in now.get(p, {}).get("sent", [])[before.get(p, {}).get("ids", 0):]]
            tenths: list[list[float]] = [[] for _ in range(10)]  # where in the phase the tail is
            for at, x in zip(sent, lat, strict=True):
                tenths[min(9, max(0, int((at - started) / max(1e-9, published) * 10)))].append(x)
            p99_of = {p: percentile(now.get(p, {}).get("latencies", [])[before.get(p, {}).get("ids", 0):] or [0.0], 99)
                      for p in paths}
            worst = max(paths, key=p99_of.__getitem__)
            delivered = sum(now.get(p, {}).get("ids", 0) - before.get(p, {}).get("ids", 0) for p in paths)
            last = max(now[p]["last"] for p in paths if p in now)
            throughput = delivered / max(1e-9, last - started)
            missing = sum(max(0, want[p] - now.get(p, {}).get("ids", 0)) for p in paths)
            line(f"{name}: published in", f"{published:.1f} s")
            line(f"{name}: live deliveries (no loss: missing {missing})", f"{delivered}")
            line(f"{name}: event-to-delivery p50 / p99 (live)",
                 f"{percentile(lat, 50) * 1000:.0f} ms / {percentile(lat, 99) * 1000:.0f} ms "
                 f"(p99 = {percentile(lat, 99) * 1000 / floor:.0f} x floor; target <= 2000 ms)")
            ratio = f"{throughput / http_floor:.2f} x the HTTP floor" if http_floor else "no HTTP floor measured"
            line(f"{name}: p99 by tenth of the publishing time (s)",
                 " ".join(f"{percentile(t, 99):.1f}" if t else "-" for t in tenths))
            line(f"{name}: the worst receiver's p99 / the median receiver's p99",
                 f"{p99_of[worst] * 1000:.0f} ms ({worst}) / {percentile(list(p99_of.values()), 50) * 1000:.0f} ms")
            line(f"{name}: live delivery throughput", f"{throughput:.0f} deliveries/s ({ratio})")
            cpu = cpu_seconds(service.proc.pid) - cpu_before
            line(f"{name}: service CPU / wall (1.0 = one core saturated)",
                 f"{cpu / max(1e-9, time.time() - started):.2f}")
            line(f"{name}: service CPU per live delivery (inbox and other receivers included)",
                 f"{cpu * 1000 / max(1, delivered):.2f} ms")
            return {"throughput": throughput, "missing": missing}

        a = phase("A (all live)", live)
        subscribe("/slow")
        subscribe("/dead", url=f"http://127.0.0.1:{free_port()}/dead")
        b = phase("B (+ dead + 5 s)", live)
        line("throughput B / A (a slow or dead receiver must not lower it; target >= 0.9)",
             f"{b['throughput'] / a['throughput']:.2f}")
        inbox = scalar("select count(*) from notifications")
        line("inbox rows (2 per event: owner and manager)", f"{inbox} of {4 * args.events}")
        slow = stats(ports).get("/slow", {})
        line("the 5 s receiver meanwhile got", f"{slow.get('ids', 0)} events")
        dead = scalar("select count(*) from webhook_deliveries d join subscriptions s on s.id = d.subscription_id "
                      "where s.url like '%/dead' and d.attempts > 0")
        line("the dead receiver: deliveries tried (retrying with backoff)", f"{dead}")
        line("webhook attempt duration mean / max (live receivers)", "{:.1f} ms / {:.0f} ms".format(
            *engine.connect().execute(text("select avg(a.duration_ms), max(a.duration_ms) from delivery_attempts a "
                                           "join webhook_deliveries d on d.id = a.target join subscriptions s on "
                                           "s.id = d.subscription_id where s.url like '%/live/%'")).one()))
        row = engine.connect().execute(text(
            "select percentile_cont(0.5) within group (order by extract(epoch from created_at - event_time)), "
            "percentile_cont(0.5) within group (order by extract(epoch from delivered_at - created_at)) "
            "from webhook_deliveries where state = 'delivered'")).one()
        line("p50 event -> queued (consumed) / queued -> delivered", f"{row[0] * 1000:.0f} ms / {row[1] * 1000:.0f} ms")
        rpc.stop()
        engine.dispose()
    finally:
        if service is not None:
            service.stop()
        for process in receivers:
            process.kill()
        vhosts.delete(uri, wait=True)
        pg.drop(db_name)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "receiver":
        receiver(int(sys.argv[2]))
    else:
        main()
