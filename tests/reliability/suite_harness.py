"""The fault harness's own world: a RabbitMQ node and a PostgreSQL instance of its own (temp dirs, free loopback
ports), the suite as one `nameko run` process per service, a webhook receiver, and a steady load through the
gateway.

It never touches the shared broker (5672) or database (5432) the other tests use: it may kill, stop and restart
its own freely. Goals runs inside a network namespace of the harness's own (`SlowLink`: a veth pair on a private
/30, the broker and the database listening on its near end too), so its link can be slowed with `tc` without
touching the machine's loopback. Everything it starts is stopped by `close()`, also after a failure.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import requests
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ISSUER, AUDIENCE = "https://idp.faults.jixiao.dev", "jixiao-api"
PG_BIN = Path(shutil.which("pg_ctl") or "/usr/local/bin/pg_ctl").parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.3) -> float:
    """Seconds it took; AssertionError naming `what` after `timeout`."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not after {timeout:.0f} s")
        time.sleep(interval)
    return time.monotonic() - started


class OwnRabbit:
    """A RabbitMQ node of the harness's own (its own node name, ports, data and log dirs; epmd is shared)."""

    def __init__(self, base: Path, also_on: str | None = None):
        self.dir = base / "rabbitmq"
        self.dir.mkdir()
        self.port, self.dist_port = free_port(), free_port()
        self.node = f"jxfaults{uuid.uuid4().hex[:8]}@localhost"
        (self.dir / "enabled_plugins").write_text("[].\n")  # no management plugin: 15672 is the shared node's
        extra = f"listeners.tcp.2 = {also_on}:{self.port}\n" if also_on else ""  # the namespace's way in
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{self.port}\n{extra}"
                                                "loopback_users = none\n")
        shutil.chown(self.dir, "rabbitmq")  # rabbitmq-server runs as the rabbitmq user
        self.env = {**os.environ, "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_PORT": str(self.port),
                    "RABBITMQ_DIST_PORT": str(self.dist_port), "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
                    "RABBITMQ_LOG_BASE": str(self.dir / "log"), "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
                    "RABBITMQ_PID_FILE": str(self.dir / "pid")}
        self.proc: subprocess.Popen[bytes] | None = None
        self.uri = f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["rabbitmqctl", "-n", self.node, *args], capture_output=True, text=True,
                              timeout=timeout, env=self.env)

    def start(self) -> None:
        self.proc = subprocess.Popen(["rabbitmq-server"], env=self.env, stdout=open(self.dir / "out.log", "ab"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: self._accepts(), 120, f"RabbitMQ node {self.node} listening on {self.port}", 0.5)

    def _accepts(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, (self.dir / "out.log").read_text()[-2000:]
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            self.ctl("shutdown", timeout=60)
        except subprocess.TimeoutExpired:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc = None

    def queue_depths(self) -> dict[str, int]:
        out = self.ctl("-q", "list_queues", "name", "messages").stdout
        return {parts[0]: int(parts[1]) for parts in (line.split() for line in out.splitlines())
                if len(parts) == 2 and parts[1].isdigit()}


class OwnPostgres:
    """A PostgreSQL instance of the harness's own, run as the postgres user (root may not run it)."""

    def __init__(self, base: Path, also_on: str | None = None):
        self.dir = base / "postgres"
        self.dir.mkdir()
        shutil.chown(self.dir, "postgres")
        self.port = free_port()
        self.data = self.dir / "data"
        self.listen = "127.0.0.1" + (f",{also_on}" if also_on else "")
        self.as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        if also_on:  # the namespace's end of the veth pair, trusted like loopback (a throwaway instance)
            with open(self.data / "pg_hba.conf", "a") as hba:
                hba.write(f"host all all {also_on.rsplit('.', 1)[0]}.0/24 trust\n")

    def as_postgres(self, *cmd: str, timeout: float = 120) -> None:
        out = subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True,
                             timeout=timeout)
        assert out.returncode == 0, out.stdout + out.stderr

    def start(self) -> None:
        self.as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-o",
                         f"-p {self.port} -k {self.dir} -c listen_addresses={self.listen} -c max_connections=200",
                         "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def create(self, database: str) -> str:
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c",
                        f'CREATE DATABASE "{database}"'], check=True, capture_output=True, timeout=60)
        return self.url(database)


SERVICES = {
    "compliance": "compliance.service:ComplianceService",
    "goals": "goals.service:GoalsService",
    "feedback": "feedback.service:FeedbackService",
    "notifications": "notifications.service:NotificationsService",
    "gateway": "gateway.service:GatewayService",
}


class SlowLink:
    """A network namespace of the harness's own joined to the machine by a veth pair on a private /30: a service
    run inside reaches the broker and the database through it, and `slow()` shapes both ends with `tc` — netem
    delay and loss when the kernel has it, else (a kernel built without sch_netem) a token bucket at a modem's
    rate, which slows the same traffic by queueing. `problem` says why there is no namespace at all."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ns, self.outer, self.inner = f"jxf{tag}", f"jxo{tag}", f"jxi{tag}"
        octet = 16 + int(tag[:2], 16) % 200
        self.near, self.far = f"10.231.{octet}.1", f"10.231.{octet}.2"
        self.problem: str | None = None
        self.made = False
        self.shaping = ""
        steps = [["ip", "netns", "add", self.ns],
                 ["ip", "link", "add", self.outer, "type", "veth", "peer", "name", self.inner],
                 ["ip", "link", "set", self.inner, "netns", self.ns],
                 ["ip", "addr", "add", f"{self.near}/30", "dev", self.outer], ["ip", "link", "set", self.outer, "up"],
                 [*self.inside("ip", "addr", "add", f"{self.far}/30", "dev", self.inner)],
                 [*self.inside("ip", "link", "set", self.inner, "up")], [*self.inside("ip", "link", "set", "lo", "up")]]
        if shutil.which("ip") is None or shutil.which("tc") is None:
            self.problem = "no `ip`/`tc` (Debian package iproute2, `make deps`)"
            return
        for step in steps:
            out = subprocess.run(step, capture_output=True, text=True, timeout=30)
            if out.returncode != 0:
                self.problem = f"`{' '.join(step)}` refused: {out.stderr.strip()} (needs CAP_NET_ADMIN)"
                self.close()
                return
            self.made = True

    def inside(self, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *cmd]

    def slow(self, delay_ms: int = 400, loss_pct: float = 2.0) -> str:
        """Shape both directions; returns what was applied."""
        for prefix, dev in (([], self.outer), (["ip", "netns", "exec", self.ns], self.inner)):
            netem = [*prefix, "tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", f"{delay_ms}ms",
                     f"{delay_ms // 4}ms", "loss", f"{loss_pct}%"]
            out = subprocess.run(netem, capture_output=True, text=True, timeout=30)
            if out.returncode == 0:
                self.shaping = f"netem delay {delay_ms}±{delay_ms // 4} ms, loss {loss_pct} %"
                continue
            # "Specified qdisc kind is unknown": this kernel has no sch_netem; a token bucket slows by queueing
            tbf = [*prefix, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", "256kbit", "burst", "4kbit",
                   "latency", f"{delay_ms * 2}ms"]
            subprocess.run(tbf, capture_output=True, text=True, timeout=30, check=True)
            self.shaping = (f"tbf 256 kbit/s, queue up to {delay_ms * 2} ms (netem refused: "
                            f"{out.stderr.strip()[:80]})")
        return self.shaping

    def restore(self) -> None:
        for prefix, dev in (([], self.outer), (["ip", "netns", "exec", self.ns], self.inner)):
            subprocess.run([*prefix, "tc", "qdisc", "del", "dev", dev, "root"], capture_output=True, timeout=30)

    def close(self) -> None:
        subprocess.run(["ip", "link", "del", self.outer], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, timeout=30)


class WebhookReceiver:
    """A client's webhook endpoint on loopback: records every delivery (webhook-id, the CloudEvent) and answers
    204; a receiver deduplicates on webhook-id (notifications delivers at least once on the wire)."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.deliveries.append((self.headers.get("webhook-id", ""), json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ServiceProcess:
    """One service as `nameko run`, restartable on the same port and config."""

    def __init__(self, name: str, config: dict[str, object], work: Path, link: SlowLink | None = None):
        self.name, self.port = name, free_port()
        self.config = work / f"{name}.yaml"
        self.log = work / f"{name}.log"
        self.link = link  # run inside this namespace, reached at its far address
        self.host = link.far if link else "127.0.0.1"
        self.config.write_text(yaml.safe_dump({
            "SERVICE_CONTAINER_CLS": "chassis.container.ServiceContainer",
            "WEB_SERVER_ADDRESS": f"{self.host}:{self.port}",
            "LOGGING": {"version": 1, "disable_existing_loggers": False,
                        "handlers": {"stderr": {"class": "logging.StreamHandler"}},
                        "root": {"level": "WARNING", "handlers": ["stderr"]}},
            **config}))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, ready_timeout: float = 90) -> None:
        env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
        command = [sys.executable, "-m", "nameko", "run", "--config", str(self.config), SERVICES[self.name]]
        if self.link is not None:
            command = self.link.inside(*command)
        self.proc = subprocess.Popen(command, env=env, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        wait_until(self.ready, ready_timeout, f"{self.name} ready (log {self.log})")

    def ready(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
        try:
            return requests.get(f"http://{self.host}:{self.port}/health/ready", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@dataclass
class Outcome:
    kind: str
    status: int | str
    seconds: float
    at: float
    problem: bool = False           # the body was an RFC 9457 problem document
    created_id: str | None = None   # the resource a 2xx write made
    title: str = ""


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def between(self, start: float, end: float) -> list[Outcome]:
        with self.lock:
            return [o for o in self.outcomes if start <= o.at <= end]


class Suite:
    """The whole world of one harness run; `close()` stops everything it started."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="jxfaults-"))
        os.chmod(self.base, 0o755)
        self.link = SlowLink()
        near = self.link.near if self.link.made else None
        self.rabbit = OwnRabbit(self.base, also_on=near)
        self.postgres = OwnPostgres(self.base, also_on=near)
        self.receiver = WebhookReceiver()
        self.services: dict[str, ServiceProcess] = {}
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.tokens: dict[str, str] = {}
        self.urls: dict[str, str] = {}

    def start(self) -> None:
        from chassis.migrations import upgrade

        self.rabbit.start()
        self.postgres.start()
        for package in ("compliance", "goals", "feedback", "notifications", "gateway"):
            self.urls[package] = self.postgres.create(package)
            upgrade(package, self.urls[package])
        public = self.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        common = {"AMQP_URI": self.rabbit.uri, "ENVIRONMENT": "test"}
        configs: dict[str, dict[str, object]] = {
            "compliance": {"DATABASE_URL": self.urls["compliance"], "BOOTSTRAP_ADMINS": "root",
                           "AUDIT_KEY": "faults-audit-key-faults-audit-key-faults",
                           "PSEUDONYM_KEY": "faults-pseudonym-key-0123456789abcdef",
                           "AUDIT_WITNESS_PATH": str(self.base / "witness.jsonl"), "VAR_DIR": str(self.base)},
            "goals": {"DATABASE_URL": self.urls["goals"]},
            "feedback": {"DATABASE_URL": self.urls["feedback"]},
            # webhooks retried within seconds, not the production hour, so a fault's backlog drains in the test
            "notifications": {"DATABASE_URL": self.urls["notifications"], "DISPATCH_INTERVAL": 0.2,
                              "WEBHOOK_RETRY_BASE": 0.5, "WEBHOOK_RETRY_CAP": 4.0, "WEBHOOK_MAX_ATTEMPTS": 50},
            "gateway": {"DATABASE_URL": self.urls["gateway"], "JWT_PUBLIC_KEYS": public, "JWT_ISSUER": ISSUER,
                        "JWT_AUDIENCE": AUDIENCE, "BOOTSTRAP_ADMINS": "root", "RATE_LIMIT_PER_SECOND": 1e9,
                        "RATE_LIMIT_BURST": 10**9},
        }
        for name, config in configs.items():
            link = self.link if name == "goals" and self.link.made else None
            if link is not None:  # goals reaches the broker and the database through the veth pair
                config = {**config, "AMQP_URI": self.rabbit.uri.replace("127.0.0.1", link.near),
                          "DATABASE_URL": self.urls[name].replace("127.0.0.1", link.near)}
            self.services[name] = ServiceProcess(name, {**common, **config}, self.base, link)
            self.services[name].start()

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.services['gateway'].port}/api/v1"

    def token(self, subject: str) -> str:
        if subject not in self.tokens:
            now = int(time.time())
            self.tokens[subject] = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now,
                                               "exp": now + 4 * 3600}, self.key, algorithm="ES256")
        return self.tokens[subject]

    def call(self, method: str, path: str, subject: str, body: object = None, key: str | None = None,
             timeout: float = 30) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token(subject)}"}
        if key:
            headers["Idempotency-Key"] = key
        return requests.request(method, self.gateway + path, json=body, headers=headers, timeout=timeout)

    def close(self) -> None:
        for service in reversed(list(self.services.values())):
            try:
                service.stop()
            except Exception:
                pass
        for part in (self.rabbit.stop, self.postgres.stop, self.receiver.close, self.link.restore, self.link.close):
            try:
                part()
            except Exception:
                pass
        if not os.environ.get("JIXIAO_FAULTS_KEEP"):
            shutil.rmtree(self.base, ignore_errors=True)
