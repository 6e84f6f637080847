"""Gateway throughput with wrk at 32 connections: no RPC, one RPC, and the "my team" dashboard, each beside a
stock nameko `@http` gateway doing the same fan-out to an echo service, measured in the same run (the ratio is the
figure: absolute rates on these shared machines vary 2-3x from day to day).

    python bench/gateway/gateway_bench.py [--seconds 10] [--connections 32] [--json out.json]

Runs compliance, goals, feedback and the gateway as four `nameko run` processes on a fresh RabbitMQ vhost and fresh
PostgreSQL databases, seeds a small organisation through the API, then points wrk at:

- no RPC:   GET /api/v1/me                    (authentication from cache, rate limit, scope, JSON)
- one RPC:  GET /api/v1/cycles/{id}           (goals.get_cycle: one indexed read)
- one RPC:  GET /api/v1/goals/{id}            (goals.get_goal: an access decision and a few reads)
- fan-out:  GET /api/v1/dashboard/my-team     (goals' team summary and feedback's team board, in parallel)

The reference (bench/gateway/stock_gateway.py, two more `nameko run` processes on the same broker): GET /ping
(no RPC), GET /one (one RPC), GET /fan/4 (the issue's four-RPC fan-out) and GET /fan/N with N the RPCs our
dashboard really makes. Each pair runs back to back (ours, then stock) so both see the same load; the load
average is printed at the start and the end.

Needs `wrk` (apt-get install -y wrk). Figures are recorded in bench/gateway/README.md.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def _bench_common():
    # by file, not by sys.path: a folder on sys.path named like a package (bench/gateway, bench/compliance)
    # would shadow the real package as a namespace
    spec = importlib.util.spec_from_file_location("bench_common", Path(__file__).resolve().parents[1] / "common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_common = _bench_common()
AMQP, PG, Process = _common.AMQP, _common.PG, _common.Process

ISSUER, AUDIENCE = "https://idp.bench.jixiao.dev", "jixiao-api"
TEAM = 20  # reports of the manager, each with three goals


def token(key, subject: str) -> str:
    now = int(time.time())
    return jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now, "exp": now + 3600}, key,
                      algorithm="ES256")


def seed(base: str, key) -> dict[str, str]:
    """An org through the API: a manager with TEAM reports, an open cycle, three goals each (one red)."""
    session = requests.Session()

    def call(method, path, subject, body=None):
        response = session.request(method, base + path, json=body, timeout=30,
                                   headers={"Authorization": f"Bearer {token(key, subject)}"})
        assert response.status_code < 300, (path, response.status_code, response.text)
        return response.json()

    call("PUT", "/api/v1/org-units/U1", "root", {"name": "Company"})
    call("PUT", "/api/v1/people/root/grants", "root", {"grants": [{"role": "admin"}]})
    call("PUT", "/api/v1/people/M1", "root", {"name": "Manager", "org_unit_id": "U1"})
    for n in range(TEAM):
        call("PUT", f"/api/v1/people/E{n}", "root", {"name": f"Employee {n}", "org_unit_id": "U1",
                                                      "manager_id": "M1"})
    deadline = time.time() + 30
    while session.get(base + "/api/v1/me", headers={"Authorization": f"Bearer {token(key, 'E0')}"}).status_code \
            != 200:
        assert time.time() < deadline, "the gateway never learnt the org"
        time.sleep(0.2)
    cycle = call("POST", "/api/v1/cycles", "root", {"name": "FY", "period": "year", "year": 2026})
    call("POST", f"/api/v1/cycles/{cycle['id']}/transitions", "root", {"to": "open"})
    goal_id = None
    for n in range(TEAM):
        for g in range(3):
            goal = call("POST", "/api/v1/goals", f"E{n}", {
                "cycle_id": cycle["id"], "title": f"Goal {g}", "kind": "kpi", "owner": {"id": f"E{n}"},
                "kpi": {"direction": ">=", "target": "100", "green": "90", "yellow": "70"}})
            if g:
                call("POST", f"/api/v1/goals/{goal['id']}/progress", f"E{n}", {"value": "95"})
            goal_id = goal_id or goal["id"]
    return {"cycle_id": cycle["id"], "goal_id": goal_id}


# counts the responses that were not 200 by status, so that a failing scenario says how it failed
STATUS_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) other = {} end
function response(status, headers, body)
  if status ~= 200 then other[tostring(status)] = (other[tostring(status)] or 0) + 1 end
end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("other")) do total[status] = (total[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(total) do table.insert(parts, status .. "=" .. n) end
  io.write("statuses: " .. table.concat(parts, ",") .. "\\n")
end
"""


def wrk(url: str, bearer: str, seconds: int, connections: int, threads: int = 2) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(STATUS_SCRIPT)
        script.flush()
        # --timeout: a slow answer counts in the latencies (wrk's default 2 s would drop it from them)
        out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
                              "--timeout", "30s", "-s", script.name, "-H", f"Authorization: Bearer {bearer}", url],
                             capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {p: _ms(re.search(rf"\s{p}%\s+([\d.]+\w+)", out).group(1)) for p in ("50", "90", "99")}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    statuses = re.search(r"statuses: (\S*)", out)
    return {"rps": rps, "p50_ms": latency["50"], "p90_ms": latency["90"], "p99_ms": latency["99"],
            "non_2xx": int(errors.group(1)) if errors else 0,
            "other_statuses": statuses.group(1) if statuses else ""}


class StockProcess:
    """One of stock_gateway.py's services under plain `nameko run` (no chassis), ready once `ready` answers."""

    def __init__(self, service: str, amqp_uri: str, workdir: Path, ready: str | None = None):
        self.port = _common.free_port()
        config = workdir / f"stock-{service.split(':')[1]}.yaml"
        config.write_text(json.dumps({"AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.port}",
                                      "max_workers": 64}))
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent),
               "PYTHONWARNINGS": "ignore::DeprecationWarning"}
        self.proc = subprocess.Popen([sys.executable, "-m", "nameko", "run", "--config", str(config), service],
                                     env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while ready is not None:
            try:
                if requests.get(f"http://127.0.0.1:{self.port}{ready}", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"stock {service} did not start")
            time.sleep(0.2)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def dashboard_calls() -> list[str]:
    """The RPCs one dashboard makes (the route's own declaration), for the fan-out it is compared with."""
    from gateway.routes.dashboard import DASHBOARD_RPCS

    return list(DASHBOARD_RPCS)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def figure(label: str, value: float, unit: str, reference: float, reference_label: str) -> None:
    """A line bench/run_all.py reads exactly: the figure beside its same-run reference."""
    print("BENCH-FIGURE " + json.dumps({"label": label, "value": round(value, 3), "unit": unit,
                                        "reference": round(reference, 3), "reference_label": reference_label}),
          flush=True)


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def pids_named(*names: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--gateway-workers", type=int, default=64)
    parser.add_argument("--only", help="run only the scenarios whose name contains this")
    parser.add_argument("--hold", type=int, default=0, help="seconds to keep the stack up afterwards")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    amqp_uri, urls, cleanup = _common.fresh_infra("jxbench")
    processes = []
    work = Path(tempfile.mkdtemp(prefix="jxbench-gateway-"))
    try:
        # "test": the production code paths without production's refusal of the guest broker user (the bench has no
        # per-service broker users) and its demand for signing keys
        common = {"AMQP_URI": amqp_uri, "ENVIRONMENT": "test"}
        processes.append(Process("compliance.service:ComplianceService", {
            **common, "DATABASE_URL": urls["compliance"], "BOOTSTRAP_ADMINS": "root",
            "AUDIT_KEY": "bench-audit-key-bench-audit-key-bench",
            "PSEUDONYM_KEY": "bench-pseudonym-key-0123456789abcdef"}, work))
        processes.append(Process("goals.service:GoalsService", {**common, "DATABASE_URL": urls["goals"]}, work))
        # the dashboard's feedback section (check-ins, reports, activity, coaching) comes from feedback
        feedback = Process("feedback.service:FeedbackService", {**common, "DATABASE_URL": urls["feedback"]}, work)
        processes.append(feedback)
        gateway = Process("gateway.service:GatewayService", {
            **common, "DATABASE_URL": urls["gateway"], "JWT_PUBLIC_KEYS": public, "JWT_ISSUER": ISSUER,
            "JWT_AUDIENCE": AUDIENCE, "BOOTSTRAP_ADMINS": "root", "RATE_LIMIT_PER_SECOND": 1e9,
            "RATE_LIMIT_BURST": 10**9, "MAX_WORKERS": args.gateway_workers}, work)
        processes.append(gateway)
        base = f"http://127.0.0.1:{gateway.port}"
        ids = seed(base, key)
        manager, employee = token(key, "M1"), token(key, "E0")
        stock_echo = StockProcess("stock_gateway:StockEcho", amqp_uri, work)
        stock = StockProcess("stock_gateway:StockGateway", amqp_uri, work, ready="/ping")
        processes += [stock_echo, stock]
        sbase = f"http://127.0.0.1:{stock.port}"
        dashboard_rpcs = len(dashboard_calls())
        # ours -> (url, bearer, [(stock label, stock url)])
        scenarios = {
            "no RPC (GET /api/v1/me)": (f"{base}/api/v1/me", employee, [("stock /ping", f"{sbase}/ping")]),
            "one RPC (GET /api/v1/cycles/{id})": (f"{base}/api/v1/cycles/{ids['cycle_id']}", employee,
                                                  [("stock one RPC", f"{sbase}/one")]),
            "one RPC (GET /api/v1/goals/{id})": (f"{base}/api/v1/goals/{ids['goal_id']}", employee,
                                                 [("stock one RPC", f"{sbase}/one")]),
            f"dashboard, {dashboard_rpcs} RPCs (GET /api/v1/dashboard/my-team)":
                (f"{base}/api/v1/dashboard/my-team?cycle_id={ids['cycle_id']}", manager,
                 [("stock 4-RPC fan-out", f"{sbase}/fan/4"),
                  (f"stock {dashboard_rpcs}-RPC fan-out", f"{sbase}/fan/{dashboard_rpcs}")]),
        }
        watched = {"gateway": [gateway.proc.pid], "goals": [processes[1].proc.pid],
                   "compliance": [processes[0].proc.pid], "feedback": [feedback.proc.pid],
                   "stock gateway": [stock.proc.pid], "stock echo": [stock_echo.proc.pid],
                   "rabbitmq": pids_named("beam.smp"), "postgres": []}
        results = {}
        print(f"load average at the start: {load_average()} ({os.cpu_count()} cores)", flush=True)

        def measure(name: str, url: str, bearer: str) -> dict:
            wrk(url, bearer, 2, args.connections)  # warm up: caches, pools, connections
            watched["postgres"] = pids_named("postgres")
            before = {who: cpu_seconds(pids) for who, pids in watched.items() if pids}
            r = wrk(url, bearer, args.seconds, args.connections)
            r["cpu_share"] = {who: round(max(0.0, cpu_seconds(pids) - before[who]) / args.seconds, 2)
                              for who, pids in watched.items() if pids}
            r["cpu_ms_per_request"] = {who: round(share * 1000 / r["rps"], 3) if r["rps"] else None
                                       for who, share in r["cpu_share"].items()}
            print(f"{name:58s} {r['rps']:8.0f} rps   p50 {r['p50_ms']:6.1f} ms   p90 {r['p90_ms']:6.1f} ms   "
                  f"p99 {r['p99_ms']:6.1f} ms   non-2xx {r['non_2xx']} {r['other_statuses']}", flush=True)
            print("    CPU (cores): " + ", ".join(f"{who} {share:.2f}" for who, share in r["cpu_share"].items()
                                                   if share), flush=True)
            # core-seconds per request: steadier than rates on a shared machine (compare runs by this)
            print("    CPU ms/request: " + ", ".join(f"{who} {ms:.3f}" for who, ms in r["cpu_ms_per_request"].items()
                                                      if ms), flush=True)
            return r

        for name, (url, bearer, references) in scenarios.items():
            if args.only and args.only not in name:
                continue
            ours = results[name] = measure(name, url, bearer)
            ours["references"] = {}
            for label, stock_url in references:
                ref = ours["references"][label] = measure(f"  {label}", stock_url, bearer)
                rps_ratio = ours["rps"] / ref["rps"] if ref["rps"] else float("nan")
                p99_ratio = ours["p99_ms"] / ref["p99_ms"] if ref["p99_ms"] else float("nan")
                print(f"    ours / {label}: rps {rps_ratio:.2f}x, p99 {p99_ratio:.2f}x", flush=True)
                figure(f"{name} rps", ours["rps"], "rps", ref["rps"], f"{label} rps (same run)")
                figure(f"{name} p99", ours["p99_ms"], "ms", ref["p99_ms"], f"{label} p99 (same run)")
        print(f"load average at the end: {load_average()}", flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        if args.hold:  # keep the stack up to experiment against it
            print(json.dumps({"base": base, "manager": manager, "employee": employee, **ids,
                              "pids": {k: v for k, v in watched.items() if k in ("gateway", "goals")}}), flush=True)
            time.sleep(args.hold)
    finally:
        for process in reversed(processes):
            process.stop()
        for step in cleanup:
            step()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
