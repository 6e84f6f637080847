"""RPC latency and throughput: the chassis against a raw py-amqp request/reply floor (and stock nameko), measured
in the same run on the same broker.

    python bench/rpc_bench.py [--calls 3000] [--seconds 8]

Sequential p50 (one call at a time) and throughput with 16 calls in flight. Every side runs in its own process:
the server under test and the client never share a GIL.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import AMQP, Process, percentile

QUEUE = "raw-rpc"


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

    latencies = []
    for _ in range(calls):
        started = time.perf_counter()
        send()
        while not replies:
            conn.drain_events()
        replies.clear()
        latencies.append(time.perf_counter() - started)
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
    return {"p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "rps_16": done / elapsed}


# -- the chassis (and stock nameko for reference) ---------------------------------------------------------------
def green_client(uri: str, calls: int, seconds: float, stock: bool) -> dict:
    import eventlet

    eventlet.monkey_patch()
    if stock:
        from nameko.standalone.rpc import ClusterRpcProxy

        proxy_cm = ClusterRpcProxy({"AMQP_URI": uri}, timeout=10)
        proxy = proxy_cm.start()
        call = lambda: proxy.stock_ping.ping(1)  # noqa: E731
    else:
        from chassis.remote import StandaloneRpc

        client = StandaloneRpc(uri, timeout=10).start()
        caller = client.caller()
        call = lambda: caller.bench_ping.ping(1)  # noqa: E731
    for _ in range(50):
        call()
    latencies = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - started)
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
    return {"p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "rps_16": done[0] / elapsed}


STOCK_SERVICE = '''
from nameko.rpc import rpc

class StockPing:
    name = "stock_ping"

    @rpc
    def ping(self, value):
        return value
'''


def run_json(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()

    import eventlet

    eventlet.monkey_patch()
    from chassis.testing.infra import VhostManager

    vhosts = VhostManager(AMQP)
    uri = vhosts.create()
    workdir = Path(tempfile.mkdtemp(prefix="jx-bench-"))
    results = {}
    try:
        server = subprocess.Popen([sys.executable, __file__, "raw-server", uri], stdout=subprocess.PIPE, text=True)
        server.stdout.readline()
        results["raw py-amqp"] = run_json(["raw-client", uri, str(args.calls), str(args.seconds)])
        server.kill()

        ping = Process("bench_services:BenchPing", {"AMQP_URI": uri, "max_workers": 32}, workdir)
        results["chassis"] = run_json(["green-client", uri, str(args.calls), str(args.seconds), "chassis"])
        ping.stop()

        (workdir / "stock_service.py").write_text(STOCK_SERVICE)
        stock = subprocess.Popen([sys.executable, "-m", "nameko", "run", "--broker", uri, "stock_service"], cwd=workdir,
                                 env={**os.environ, "AMQP_URI": uri,
                                      "PYTHONWARNINGS": "ignore::DeprecationWarning"},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(5)
        results["stock nameko"] = run_json(["green-client", uri, str(args.calls), str(args.seconds), "stock"])
        stock.kill()
    finally:
        vhosts.delete(uri, wait=True)

    raw, chassis = results["raw py-amqp"], results["chassis"]
    print(f"{'':<14}{'p50 ms':>9}{'p99 ms':>9}{'calls/s @16':>13}")
    for name, r in results.items():
        print(f"{name:<14}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['rps_16']:>13.0f}")
    print(f"chassis throughput / raw = {chassis['rps_16'] / raw['rps_16']:.2f}  (target >= 0.5)")
    print(f"chassis p50 / raw        = {chassis['p50_ms'] / raw['p50_ms']:.2f}  (target <= 1.5)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "raw-server":
        raw_server(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "raw-client":
        print(json.dumps(raw_client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "green-client":
        print(json.dumps(green_client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5] == "stock")))
    else:
        main()
