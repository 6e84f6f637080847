"""Helpers shared by the benchmarks: vhosts, databases, `nameko run` processes, percentiles."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
AMQP = os.environ.get("JIXIAO_TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
PG = os.environ.get("JIXIAO_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


SUITE_PACKAGES = ("compliance", "goals", "feedback", "gateway")


def fresh_infra(prefix: str, packages: tuple[str, ...] = SUITE_PACKAGES) -> tuple[str, dict[str, str], list]:
    """A fresh RabbitMQ vhost and one migrated PostgreSQL database per package, on the shared broker and server:
    (AMQP URI, {package: database URL}, cleanup steps that remove them again)."""
    from chassis.migrations import upgrade
    from chassis.testing.infra import PgManager, VhostManager

    vhosts, pg = VhostManager(AMQP), PgManager(PG)
    amqp_uri = vhosts.create()
    stamp = str(int(time.time()))
    urls = {}
    for package in packages:
        urls[package] = pg.create(f"{prefix}_{package}_{stamp}")
        upgrade(package, urls[package])
    cleanup = [lambda: vhosts.delete(amqp_uri)] + [lambda n=f"{prefix}_{p}_{stamp}": pg.drop(n) for p in urls]
    return amqp_uri, urls, cleanup


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """`nameko run <service>` in its own process, ready once its /health/ready answers 200. Its output goes to
    `log` when given, else to `$BENCH_LOG_DIR/<module>.log` when that is set, else nowhere."""

    def __init__(self, service: str, config: dict, workdir: Path, log: Path | None = None,
                 python_path: list[Path] = ()):
        """`python_path`: folders put first on the child's PYTHONPATH (e.g. another version of a package)."""
        self.port = free_port()
        self.log = log
        path = workdir / f"{service.replace(':', '_')}-{uuid.uuid4().hex[:6]}.yaml"
        path.write_text(yaml.safe_dump({
            "SERVICE_CONTAINER_CLS": "chassis.container.ServiceContainer",
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.port}",
            "LOGGING": {"version": 1, "root": {"level": "WARNING"}},
            **config}))
        env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
        module = service.split(":")[0]
        if (ROOT / "bench" / f"{module.split('.')[0]}.py").exists():
            # a service defined in bench/ (bench_services): only then is bench/ put on the path, where its folders
            # (bench/goals, bench/compliance) would otherwise shadow the real packages
            env["PYTHONPATH"] = f"{ROOT / 'bench'}:{os.environ.get('PYTHONPATH', '')}"
        if python_path:
            env["PYTHONPATH"] = ":".join([*map(str, python_path), env.get("PYTHONPATH", "")])
        log_dir = os.environ.get("BENCH_LOG_DIR")
        if log is None and log_dir:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            log = Path(log_dir) / f"{module}.log"
        output = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115 (the child's)
        self.proc = subprocess.Popen([sys.executable, "-m", "nameko", "run", "--config", str(path), service],
                                     env=env, stdout=output, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{service} did not become ready" + (f" (see {log})" if log else ""))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
