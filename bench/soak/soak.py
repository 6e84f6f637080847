"""The suite's soak: a generated 10,000-person company and a steady, realistic mix through the gateway for a
bounded time, on PostgreSQL, reporting what a long run reveals and a short benchmark does not.

    python bench/soak/soak.py [--minutes 30] [--rate 12] [--workers 16] [--people 10000] [--warmup 3]
                              [--json var/bench/soak.json]

Runs compliance, goals, feedback and the gateway as four `nameko run` processes on a fresh RabbitMQ vhost and
fresh PostgreSQL databases. The company (one CEO, 10 divisions, 100 departments, 1,000 front-line managers and
their ~8,900 reports) goes in by compliance's bulk import and reaches the other services as events; HR assigns
every employee the sales preset's six goals in the current quarter (2026 Q4) and schedules this month's
check-ins, through the gateway. Then `--workers` clients pace themselves to
`--rate` requests/s in total (12/s, about twice a 10,000-person company's working-day peak of ~20
requests per person a day over eight hours) over this mix:

    progress update  POST /goals/{id}/progress            (an employee, Idempotency-Key)
    my goals         GET  /goals?cycle_id=                 (before a person's first update or read)
    goal read        GET  /goals/{id}
    board read       GET  /cycles/{id}/board?reports_of=   (a manager's reporting line)
    dashboard        GET  /dashboard/my-team               (five RPCs over two services)
    check-in notes   POST /feedback/checkins/{id}/notes    (a manager, on this month's 1:1)
    check-in list    GET  /feedback/checkins
    weekly report    POST /feedback/reports                (this week, 2026-W49; edits the same report)
    goal creation    POST /goals                           (Idempotency-Key)

It prints throughput and latency percentiles per kind, every status seen (any 5xx fails the run), the RSS of every
service process after the warm-up and at the end (growth > 10 % fails the run), the outbox backlog of every
service and the depth of every queue (consumer lag) sampled each 30 s, and the raw py-amqp request/reply floor
measured on the same broker at the start and at the end of the same run (bench/run_all.py's measure_floor) with
every latency as a multiple of it.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

BENCH = Path(__file__).resolve().parents[1]


def _by_file(name: str, path: Path):
    # by file, not by sys.path: bench/goals or bench/compliance on sys.path would shadow the real packages
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


common = _by_file("bench_common", BENCH / "common.py")
run_all = _by_file("bench_run_all", BENCH / "run_all.py")

ISSUER, AUDIENCE = "https://idp.soak.jixiao.dev", "jixiao-api"
QUARTER = {"name": "2026 Q4", "period": "quarter", "year": 2026, "index": 4}  # the quarter running now
MONTH, WEEK = "2026-12", "2026-W49"  # today is 2026-12-03
MIX = {"my goals": 0, "progress update": 22, "goal read": 14, "board read": 16, "dashboard": 8, "check-in notes": 8,
       "check-in list": 8, "weekly report": 18, "goal creation": 6}


class Company:
    """A generated company: CEO, VPs, directors, managers, employees; ids P0..P{n-1}."""

    VPS, DIRECTORS, MANAGERS = 10, 100, 1000

    def __init__(self, people: int):
        self.people = people
        first_manager = 1 + self.VPS + self.DIRECTORS
        self.first_employee = first_manager + self.MANAGERS
        self.managers = [f"P{i}" for i in range(first_manager, self.first_employee)]
        self.employees = [f"P{i}" for i in range(self.first_employee, people)]

    def manager_of(self, i: int) -> int | None:
        if i == 0:
            return None
        if i <= self.VPS:
            return 0
        if i <= self.VPS + self.DIRECTORS:
            return 1 + (i - 1 - self.VPS) // 10
        if i < self.first_employee:
            return 1 + self.VPS + (i - 1 - self.VPS - self.DIRECTORS) // 10
        return 1 + self.VPS + self.DIRECTORS + (i - self.first_employee) % self.MANAGERS

    def unit_of(self, i: int) -> str:
        if i == 0:
            return "CO"
        if i <= self.VPS:
            return f"D{i - 1}"
        if i <= self.VPS + self.DIRECTORS:
            return f"T{i - 1 - self.VPS}"
        return self.unit_of(self.manager_of(i))

    def units(self) -> list[tuple[str, str, str | None]]:
        return ([("CO", "Company", None)] + [(f"D{d}", f"Division {d}", "CO") for d in range(self.VPS)]
                + [(f"T{t}", f"Department {t}", f"D{t // 10}") for t in range(self.DIRECTORS)])

    def csv(self) -> str:
        lines = ["工号,姓名,部门,直属上级工号"]
        for i in range(self.people):
            manager = self.manager_of(i)
            lines.append(f"P{i},Person {i},{self.unit_of(i)},{'' if manager is None else f'P{manager}'}")
        return "\n".join(lines) + "\n"


class Api:
    """The gateway as each person sees it: a bearer token per subject (signed once), one session per thread."""

    def __init__(self, base: str, key):
        self.base, self.key = base, key
        self.tokens: dict[str, str] = {}
        self.local = threading.local()

    def token(self, subject: str) -> str:
        if subject not in self.tokens:
            now = int(time.time())
            self.tokens[subject] = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now,
                                               "exp": now + 6 * 3600}, self.key, algorithm="ES256")
        return self.tokens[subject]

    def call(self, method: str, path: str, subject: str, body=None, params=None, idempotent=False,
             timeout: float = 60, headers: dict[str, str] | None = None) -> requests.Response:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        headers = {**(headers or {}), "Authorization": f"Bearer {self.token(subject)}"}
        if idempotent:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        return session.request(method, self.base + "/api/v1" + path, json=body, params=params, headers=headers,
                               timeout=timeout)

    def ok(self, method: str, path: str, subject: str, body=None, **kw) -> dict:
        response = self.call(method, path, subject, body, **kw)
        assert response.status_code < 300, (method, path, response.status_code, response.text[:500])
        return response.json() if response.content else {}


def retry_until_ok(api: Api, method: str, path: str, subject: str, body=None, seconds: float = 120, **kw) -> dict:
    """A call that may answer 4xx until the org's events have reached the service (eventual consistency)."""
    deadline = time.monotonic() + seconds
    while True:
        response = api.call(method, path, subject, body, **kw)
        if response.status_code < 300:
            return response.json() if response.content else {}
        if time.monotonic() > deadline:
            raise AssertionError((method, path, response.status_code, response.text[:500]))
        time.sleep(0.5)


def seed(api: Api, company: Company) -> dict:
    for unit, name, parent in company.units():
        api.ok("PUT", f"/org-units/{unit}", "root", {"name": name, **({"parent_id": parent} if parent else {})})
    api.ok("PUT", "/people/root/grants", "root", {"grants": [{"role": "admin"}, {"role": "hr", "org_unit_id": "CO"}]})
    began = time.monotonic()
    import_people(api.amqp_uri, company.csv())
    print(f"imported {company.people:,} people in {time.monotonic() - began:.0f} s", flush=True)
    last = company.employees[-1]
    began = time.monotonic()
    retry_until_ok(api, "GET", "/me", last, seconds=1200)  # the org reaches the gateway by its events
    print(f"the last person imported could log in {time.monotonic() - began:.0f} s after the import "
          "(the gateway's org read model, by events)", flush=True)
    cycle = api.ok("POST", "/cycles", "root", QUARTER)
    api.ok("POST", f"/cycles/{cycle['id']}/transitions", "root", {"to": "open"})

    # HR gives every employee the quarter's goals from the sales preset (six each, one call per 250 people): each
    # call carries an Idempotency-Key and is retried with it until it answers 2xx, as a client should after a 504
    api.ok("POST", "/presets/sales/install", "root", {})
    began = time.monotonic()
    created = 0
    for first in range(0, len(company.employees), 250):
        chunk = company.employees[first:first + 250]
        key = uuid.uuid4().hex
        result = retry_until_ok(api, "POST", "/templates/account_executive/assignments", "root", {
            "cycle_id": cycle["id"], "assignees": [{"person_id": p} for p in chunk]}, seconds=600,
            headers={"Idempotency-Key": key})
        created += result.get("goals_created", 0)
    print(f"{created:,} goals assigned through the gateway in {time.monotonic() - began:.0f} s", flush=True)
    began = time.monotonic()
    scheduled = retry_until_ok(api, "POST", "/feedback/checkins/schedule", "root", {"month": MONTH},
                               timeout=600)
    print(f"{len(scheduled.get('items', [])):,} check-ins of {MONTH} scheduled in {time.monotonic() - began:.0f} s",
          flush=True)
    return {"cycle_id": cycle["id"]}


IMPORT = """
import base64, sys, time
import eventlet
eventlet.monkey_patch()
from chassis.remote import StandaloneRpc
from contracts import Actor

def wait(rpc, job_id, status):
    while (job := rpc.compliance.get_import({"job_id": job_id}))["status"] != status:
        if job["status"] == "failed":
            raise SystemExit(f"import failed: {job.get('detail')} {job['errors'][:3]}")
        time.sleep(1)
    return job

with StandaloneRpc(sys.argv[1], timeout=120, actor=Actor(subject="root")) as rpc:
    content = base64.b64encode(sys.stdin.buffer.read()).decode()
    job = rpc.compliance.start_import({"filename": "people.csv", "content_base64": content})
    planned = wait(rpc, job["job_id"], "planned")
    if planned["error_count"]:
        raise SystemExit(f"the generated file has errors: {planned['errors'][:5]}")
    rpc.compliance.apply_import({"job_id": job["job_id"]})
    print(wait(rpc, job["job_id"], "applied")["summary"], flush=True)
"""


def import_people(amqp_uri: str, csv: str) -> None:
    """Compliance's bulk import over RPC, as the gateway's POST /imports does (the people arrive by events). By
    RPC, not through the gateway: at the time of writing another change in the shared tree maps POST /imports to
    goals' import_file as well, and the gateway answered 400 for compliance's body."""
    subprocess.run([sys.executable, "-c", IMPORT, amqp_uri], input=csv.encode(), check=True, timeout=1800)


class Load:
    """Workers pacing themselves to a total rate over MIX; per kind: latencies and statuses. A person's first
    progress update or goal read is preceded by the list of their goals (`my goals`), a manager's first check-in
    notes by the list of their check-ins (`check-in list`), each counted under its own kind, as a browser does."""

    def __init__(self, api: Api, company: Company, world: dict, rate: float, workers: int):
        self.api, self.company, self.world = api, company, world
        self.rate, self.workers = rate, workers
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.failures: list[str] = []
        self.goals: dict[str, list[str]] = {}
        self.checkins: dict[str, list[str]] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.kinds, self.weights = list(MIX), list(MIX.values())

    def run_worker(self, index: int) -> None:
        rng = random.Random(index)
        interval = self.workers / self.rate
        next_at = time.monotonic() + interval * index / self.workers
        while not self.stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0 and self.stop.wait(delay):
                return
            next_at = max(next_at + interval, time.monotonic() - interval)  # never a burst to catch up
            kind = rng.choices(self.kinds, self.weights)[0]
            employee, manager = rng.choice(self.company.employees), rng.choice(self.company.managers)
            if kind in ("progress update", "goal read") and not self.goals.get(employee):
                kind = "my goals"
            if kind == "check-in notes" and not self.checkins.get(manager):
                kind = "check-in list"
            started = time.perf_counter()
            response = None
            try:
                response = self.request(kind, rng, employee, manager)
                status: int | str = response.status_code
            except requests.RequestException as error:
                status = type(error).__name__
            elapsed = (time.perf_counter() - started) * 1000
            with self.lock:
                self.latencies[kind].append(elapsed)
                self.statuses[kind][status] += 1
                if not (isinstance(status, int) and status < 400) and len(self.failures) < 50:
                    self.failures.append(f"{kind}: {status} {getattr(response, 'text', '')[:300]}")

    def request(self, kind: str, rng: random.Random, employee: str, manager: str) -> requests.Response:
        api, cycle = self.api, self.world["cycle_id"]
        if kind == "my goals":
            response = api.call("GET", "/goals", employee, params={"cycle_id": cycle})
            if response.status_code == 200:
                self.goals[employee] = [g["id"] for g in response.json()["items"] if g["kind"] == "kpi"]
            return response
        if kind == "progress update":
            return api.call("POST", f"/goals/{rng.choice(self.goals[employee])}/progress", employee,
                            {"value": str(rng.randint(40, 120)), "comment": "weekly update"}, idempotent=True)
        if kind == "goal read":
            return api.call("GET", f"/goals/{rng.choice(self.goals[employee])}", employee)
        if kind == "board read":
            return api.call("GET", f"/cycles/{cycle}/board", manager, params={"reports_of": manager})
        if kind == "dashboard":
            return api.call("GET", "/dashboard/my-team", manager, params={"cycle_id": cycle})
        if kind == "check-in list":
            response = api.call("GET", "/feedback/checkins", manager, params={"manager_id": manager,
                                                                              "month": MONTH})
            if response.status_code == 200:
                self.checkins[manager] = [item["id"] for item in response.json().get("items", [])]
            return response
        if kind == "check-in notes":
            return api.call("POST", f"/feedback/checkins/{rng.choice(self.checkins[manager])}/notes", manager,
                            {"points": [{"section": "progress", "text": "on track, pipeline reviewed"}]})
        if kind == "weekly report":
            return api.call("POST", "/feedback/reports", employee,
                            {"kind": "weekly", "period": WEEK, "done": f"visited {rng.randint(1, 9)} customers",
                             "next_plan": "close two deals"})
        if kind == "goal creation":
            return api.call("POST", "/goals", employee, {
                "cycle_id": cycle, "title": f"Side goal {rng.randint(1, 10**6)}", "kind": "kpi",
                "owner": {"id": employee}, "kpi": {"direction": ">=", "target": "10", "green": "9", "yellow": "7"}},
                idempotent=True)
        raise ValueError(kind)

    def snapshot(self) -> tuple[int, dict[str, Counter]]:
        with self.lock:
            return sum(len(v) for v in self.latencies.values()), {k: Counter(v) for k, v in self.statuses.items()}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def outbox(ports: dict[str, int]) -> dict[str, tuple[float, float]]:
    """Each service's (pending events, age of the oldest in s) from its /metrics."""
    found = {}
    for name, port in ports.items():
        try:
            text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        except requests.RequestException:
            continue
        pending = re.search(r"^jixiao_outbox_pending\{[^}]*\} ([\d.e+-]+)", text, re.M)
        oldest = re.search(r"^jixiao_outbox_oldest_pending_seconds\{[^}]*\} ([\d.e+-]+)", text, re.M)
        if pending:
            found[name] = (float(pending.group(1)), float(oldest.group(1)) if oldest else 0.0)
    return found


def queue_depths(vhost: str) -> dict[str, int]:
    out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "messages"],
                         capture_output=True, text=True, timeout=60)
    depths = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            depths[parts[0]] = int(parts[1])
    return depths


def pct(values: list[float], p: float) -> float:
    return common.percentile(values, p) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=3, help="minutes before the start RSS is taken")
    parser.add_argument("--rate", type=float, default=12, help="requests/s, all workers together")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    company = Company(args.people)
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    work = Path(tempfile.mkdtemp(prefix="jxsoak-"))
    amqp_uri, urls, cleanup = common.fresh_infra("jxsoak")
    vhost = unquote(urlsplit(amqp_uri).path.lstrip("/"))
    processes: dict[str, object] = {}
    failed = False
    try:
        base_config = {"AMQP_URI": amqp_uri, "ENVIRONMENT": "test", "LOGGING": {
            "version": 1, "disable_existing_loggers": False, "handlers": {"stderr": {"class": "logging.StreamHandler"}},
            "root": {"level": "WARNING", "handlers": ["stderr"]}}}
        specs = {
            "compliance": ("compliance.service:ComplianceService", {
                "DATABASE_URL": urls["compliance"], "BOOTSTRAP_ADMINS": "root", "RPC_TIMEOUT": 120,
                "AUDIT_KEY": "soak-audit-key-soak-audit-key-soak-audit",
                "PSEUDONYM_KEY": "soak-pseudonym-key-0123456789abcdef",
                "AUDIT_WITNESS_PATH": str(work / "witness.jsonl"), "VAR_DIR": str(work)}),
            "goals": ("goals.service:GoalsService", {"DATABASE_URL": urls["goals"]}),
            "feedback": ("feedback.service:FeedbackService", {"DATABASE_URL": urls["feedback"], "RPC_TIMEOUT": 600}),
            "gateway": ("gateway.service:GatewayService", {
                "DATABASE_URL": urls["gateway"], "JWT_PUBLIC_KEYS": public, "JWT_ISSUER": ISSUER,
                "JWT_AUDIENCE": AUDIENCE, "BOOTSTRAP_ADMINS": "root", "RATE_LIMIT_PER_SECOND": 1e9,
                "RATE_LIMIT_BURST": 10**9, "RPC_TIMEOUT": 600}),
        }
        for name, (service, config) in specs.items():
            processes[name] = common.Process(service, {**base_config, **config}, work, log=work / f"{name}.log")
        ports = {name: p.port for name, p in processes.items()}
        pids = {name: p.proc.pid for name, p in processes.items()}
        api = Api(f"http://127.0.0.1:{ports['gateway']}", key)
        api.amqp_uri = amqp_uri
        print(f"suite up (logs in {work}); seeding a {args.people:,}-person company", flush=True)
        world = seed(api, company)
        floor_start = run_all.measure_floor(2000, 5)
        print(f"raw py-amqp floor at the start: p50 {floor_start.p50_ms:.2f} ms, {floor_start.rps:,.0f} calls/s",
              flush=True)
        load = Load(api, company, world, args.rate, args.workers)
        threads = [threading.Thread(target=load.run_worker, args=(i,), daemon=True) for i in range(args.workers)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        total_seconds = args.minutes * 60
        rss_start: dict[str, int] = {}
        max_outbox: dict[str, tuple[float, float]] = {}
        max_queue: dict[str, int] = {}
        last_count, last_at = 0, started
        print(f"load: {args.rate:g} requests/s over {args.workers} workers for {args.minutes:g} min "
              f"(warm-up {args.warmup:g} min)", flush=True)
        while (elapsed := time.monotonic() - started) < total_seconds:
            time.sleep(min(30, max(1, total_seconds - elapsed)))
            elapsed = time.monotonic() - started
            if not rss_start and elapsed >= args.warmup * 60:
                rss_start = {name: rss_kib(pid) for name, pid in pids.items()}
            for name, (pending, age) in outbox(ports).items():
                old = max_outbox.get(name, (0.0, 0.0))
                max_outbox[name] = (max(old[0], pending), max(old[1], age))
            depths = queue_depths(vhost)
            for queue, depth in depths.items():
                max_queue[queue] = max(max_queue.get(queue, 0), depth)
            count, statuses = load.snapshot()
            now = time.monotonic()
            errors = sum(n for per in statuses.values() for s, n in per.items() if not (isinstance(s, int) and
                                                                                      s < 400))
            with load.lock:
                every = [v for values in load.latencies.values() for v in values]
            print(f"  {elapsed / 60:5.1f} min  {(count - last_count) / (now - last_at):6.1f} req/s  total {count:,}"
                  f"  so far p50 {pct(every, 50):.0f} ms p99 {pct(every, 99):.0f} ms"
                  f"  non-2xx/3xx {errors}  queued {sum(depths.values())}  RSS MiB "
                  + " ".join(f"{n} {rss_kib(p) / 1024:.0f}" for n, p in pids.items()), flush=True)
            last_count, last_at = count, now
            if any(p.proc.poll() is not None for p in processes.values()):
                print("a service process died", flush=True)
                failed = True
                break
        load.stop.set()
        for thread in threads:
            thread.join(timeout=90)
        duration = time.monotonic() - started
        rss_end = {name: rss_kib(pid) for name, pid in pids.items()}
        settle = time.monotonic() + 120  # the outboxes and queues drain once the load stops
        while time.monotonic() < settle and (any(p for p, _ in outbox(ports).values()) or
                                             any(queue_depths(vhost).values())):
            time.sleep(2)
        final_outbox, final_queues = outbox(ports), queue_depths(vhost)
        floor_end = run_all.measure_floor(2000, 5)
        floor_p50 = (floor_start.p50_ms + floor_end.p50_ms) / 2

        count, statuses = load.snapshot()
        print(f"\n== soak: {duration / 60:.1f} min, {count:,} requests, {count / duration:.1f} req/s "
              f"(target {args.rate:g}), {args.people:,} people", flush=True)
        print(f"raw py-amqp floor (same run): p50 {floor_start.p50_ms:.2f} ms at the start, "
              f"{floor_end.p50_ms:.2f} ms at the end; {floor_start.rps:,.0f} / {floor_end.rps:,.0f} calls/s")
        print(f"{'kind':18s} {'count':>7s} {'req/s':>7s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} "
              f"{'max ms':>8s} {'p99/raw p50':>11s}  statuses")
        five_xx = 0
        for kind in MIX:
            values = load.latencies.get(kind, [])
            per = statuses.get(kind, Counter())
            five_xx += sum(n for s, n in per.items() if not isinstance(s, int) or s >= 500)
            print(f"{kind:18s} {len(values):7d} {len(values) / duration:7.2f} {pct(values, 50):8.1f} "
                  f"{pct(values, 95):8.1f} {pct(values, 99):8.1f} {max(values or [0]):8.1f} "
                  f"{pct(values, 99) / floor_p50:10.0f}x  {dict(per)}")
            if values:
                common_figure(f"soak {kind} p99", pct(values, 99), "ms", floor_p50)
        every = [v for values in load.latencies.values() for v in values]
        print(f"{'all':18s} {len(every):7d} {len(every) / duration:7.2f} {pct(every, 50):8.1f} {pct(every, 95):8.1f} "
              f"{pct(every, 99):8.1f} {max(every or [0]):8.1f} {pct(every, 99) / floor_p50:10.0f}x")
        common_figure("soak throughput", count / duration, "req/s", floor_start.rps, "raw py-amqp calls/s, same run")
        print(f"5xx or no answer: {five_xx}")
        if load.failures:
            print("first failures:\n  " + "\n  ".join(load.failures[:10]))
        print("RSS MiB after the warm-up -> end (growth):")
        growth_failed = False
        for name in pids:
            start, end = rss_start.get(name, 0), rss_end[name]
            growth = (end - start) / start * 100 if start else float("nan")
            growth_failed |= not growth <= 10
            print(f"  {name:11s} {start / 1024:7.1f} -> {end / 1024:7.1f}  ({growth:+.1f} %)")
        print("outbox (max pending, max oldest s) during the run; pending at the end: "
              + ", ".join(f"{n} ({p:.0f}, {a:.1f}) {final_outbox.get(n, (float('nan'),))[0]:.0f}"
                          for n, (p, a) in max_outbox.items()))
        print("queues (consumer lag): max depth during the run "
              + ", ".join(f"{q} {d}" for q, d in sorted(max_queue.items(), key=lambda x: -x[1])[:8])
              + f"; total at the end {sum(final_queues.values())}")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({
                "minutes": duration / 60, "requests": count, "rate": count / duration,
                "floor": {"start": vars(floor_start), "end": vars(floor_end)},
                "kinds": {k: {"count": len(v), "p50": pct(v, 50), "p95": pct(v, 95), "p99": pct(v, 99),
                              "statuses": {str(s): n for s, n in statuses[k].items()}}
                          for k, v in load.latencies.items()},
                "rss_kib": {"start": rss_start, "end": rss_end}, "outbox_max": max_outbox,
                "queue_max": max_queue}, indent=2))
        failed = failed or five_xx > 0 or growth_failed or bool(sum(final_queues.values()))
        print("SOAK " + ("FAILED" if failed else "PASSED"), flush=True)
    finally:
        for process in reversed(list(processes.values())):
            process.stop()
        for step in cleanup:
            step()
        if not failed:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


def common_figure(label: str, value: float, unit: str, reference: float,
                  reference_label: str = "raw py-amqp p50, same run") -> None:
    print("BENCH-FIGURE " + json.dumps({"label": label, "value": round(value, 3), "unit": unit,
                                        "reference": round(reference, 3), "reference_label": reference_label}),
          flush=True)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(143)  # unwinds main's finally: the services, the vhost and the databases go too


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    sys.exit(main())
