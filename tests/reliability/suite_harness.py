"""The fault harness's own world: a RabbitMQ node and a PostgreSQL instance of its own (temp dirs, free loopback
ports), the suite as one `nameko run` process per service, and a steady load through the gateway.

It never touches the shared broker (5672) or database (5432) the other tests use: it may kill, stop and restart
its own freely. Everything it starts is stopped by `close()`, also after a failure.
"""
from __future__ import annotations

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

    def __init__(self, base: Path):
        self.dir = base / "rabbitmq"
        self.dir.mkdir()
        self.port, self.dist_port = free_port(), free_port()
        self.node = f"jxfaults{uuid.uuid4().hex[:8]}@localhost"
        (self.dir / "enabled_plugins").write_text("[].\n")  # no management plugin: 15672 is the shared node's
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
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

    def __init__(self, base: Path):
        self.dir = base / "postgres"
        self.dir.mkdir()
        shutil.chown(self.dir, "postgres")
        self.port = free_port()
        self.data = self.dir / "data"
        self.as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def as_postgres(self, *cmd: str, timeout: float = 120) -> None:
        out = subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True,
                             timeout=timeout)
        assert out.returncode == 0, out.stdout + out.stderr

    def start(self) -> None:
        self.as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-o",
                         f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200",
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
    "gateway": "gateway.service:GatewayService",
}


class ServiceProcess:
    """One service as `nameko run`, restartable on the same port and config."""

    def __init__(self, name: str, config: dict[str, object], work: Path):
        self.name, self.port = name, free_port()
        self.config = work / f"{name}.yaml"
        self.log = work / f"{name}.log"
        self.config.write_text(yaml.safe_dump({
            "SERVICE_CONTAINER_CLS": "chassis.container.ServiceContainer",
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.port}",
            "LOGGING": {"version": 1, "disable_existing_loggers": False,
                        "handlers": {"stderr": {"class": "logging.StreamHandler"}},
                        "root": {"level": "WARNING", "handlers": ["stderr"]}},
            **config}))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, ready_timeout: float = 90) -> None:
        env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
        self.proc = subprocess.Popen([sys.executable, "-m", "nameko", "run", "--config", str(self.config),
                                      SERVICES[self.name]], env=env, stdout=open(self.log, "ab"),
                                     stderr=subprocess.STDOUT)
        wait_until(self.ready, ready_timeout, f"{self.name} ready (log {self.log})")

    def ready(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/health/ready", timeout=2).status_code == 200
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
        self.rabbit = OwnRabbit(self.base)
        self.postgres = OwnPostgres(self.base)
        self.services: dict[str, ServiceProcess] = {}
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.tokens: dict[str, str] = {}
        self.urls: dict[str, str] = {}

    def start(self) -> None:
        from chassis.migrations import upgrade

        self.rabbit.start()
        self.postgres.start()
        for package in ("compliance", "goals", "feedback", "gateway"):
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
            "gateway": {"DATABASE_URL": self.urls["gateway"], "JWT_PUBLIC_KEYS": public, "JWT_ISSUER": ISSUER,
                        "JWT_AUDIENCE": AUDIENCE, "BOOTSTRAP_ADMINS": "root", "RATE_LIMIT_PER_SECOND": 1e9,
                        "RATE_LIMIT_BURST": 10**9},
        }
        for name, config in configs.items():
            self.services[name] = ServiceProcess(name, {**common, **config}, self.base)
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
        for part in (self.rabbit.stop, self.postgres.stop):
            try:
                part()
            except Exception:
                pass
        if not os.environ.get("JIXIAO_FAULTS_KEEP"):
            shutil.rmtree(self.base, ignore_errors=True)
