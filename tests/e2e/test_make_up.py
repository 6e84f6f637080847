"""`make up` as a newcomer runs it: the whole suite starts, answers, and stops cleanly on Ctrl-C — embedded (one
process, in-memory broker, SQLite under a var dir) and with a real broker (one `nameko run` per service)."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from chassis.testing.plugin import wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "goals", "feedback", "incentives", "compliance", "notifications")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, headers: dict | None = None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def post(port: int, path: str, body: dict, headers: dict | None = None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json", **(headers or {})},
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class Suite:
    def __init__(self, tmp_path: Path, env: dict):
        self.ports = {name: free_port() for name in SERVICES}
        self.log = tmp_path / "suite.log"
        self.env = {**os.environ, "VAR_DIR": str(tmp_path / "var"), "ENVIRONMENT": "development", **env,
                    "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::Warning:nameko.cli.commands",
                    **{f"{name.upper()}_HTTP_ADDRESS": f"127.0.0.1:{port}" for name, port in self.ports.items()}}
        if "AMQP_URI" not in env:
            self.env.pop("AMQP_URI", None)  # embedded
        self.proc = subprocess.Popen([sys.executable, "-m", "chassis.suite", "up"], cwd=ROOT, env=self.env,
                                     stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)

    def wait_ready(self):
        for name, port in self.ports.items():
            wait_for(lambda: self.proc.poll() is not None or get(port, "/health/ready")[0] == 200, timeout=120,
                     interval=0.3, message=f"{name} ready")
            assert self.proc.poll() is None, self.log.read_text()[-4000:]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def login(port: int, user: str) -> dict:
    status, body = post(port, "/api/v1/dev/login", {"user": user})
    assert status == 200, body
    return {"Authorization": f"Bearer {json.loads(body)['access_token']}"}


def test_embedded_suite_starts_serves_relays_an_event_and_stops(tmp_path):
    suite = Suite(tmp_path, {})
    try:
        suite.wait_ready()
        gateway = suite.ports["gateway"]
        status, body = get(gateway, "/health/ready")
        assert status == 200 and json.loads(body)["status"] == "ready"
        assert get(gateway, "/metrics")[0] == 200
        for name in SERVICES:
            assert (tmp_path / "var" / f"{name}.db").exists()
        # one event end to end, in one process on the in-memory broker: HR creates a cycle through the gateway,
        # goals commits it with its event, the relay publishes it, compliance seals it into the audit log
        hr = wait_for(lambda: post(gateway, "/api/v1/dev/login", {"user": "hr"})[0] == 200 and login(gateway, "hr"),
                      timeout=60, message="the seeded demo organisation")
        status, body = wait_for(lambda: (lambda r: r[0] == 201 and r)(post(
            gateway, "/api/v1/cycles", {"name": "FY2027", "period": "year", "year": 2027}, hr)), timeout=60,
            message="goals knows HR from the org events")
        cycle_id = json.loads(body)["id"]
        auditor = login(gateway, "auditor")

        def audited():
            status, body = get(gateway, "/api/v1/audit/entries?type=jixiao.goals.cycle.created.v1", auditor)
            return status == 200 and [e for e in json.loads(body)["items"] if e["subject"] == cycle_id]

        [entry] = wait_for(audited, timeout=60, message="the cycle's event in the audit log")
        assert entry["actor"] == "E1010"
    finally:
        code = suite.stop()
    assert code == 0, suite.log.read_text()[-4000:]
    assert "suite stopped" in suite.log.read_text()


def test_with_a_broker_every_service_is_its_own_process(tmp_path, amqp_uri, pg):
    names = {name: f"jxt_up_{int(time.time())}_{name}" for name in ("goals", "feedback", "incentives", "compliance")}
    env = {"AMQP_URI": amqp_uri}
    for name, database in names.items():
        env[f"{name.upper()}_DATABASE_URL"] = pg.create(database)
    suite = Suite(tmp_path, env)
    try:
        suite.wait_ready()
        children = subprocess.run(["pgrep", "-P", str(suite.proc.pid)], capture_output=True, text=True).stdout
        assert len(children.split()) == len(SERVICES)  # one `nameko run` per service
    finally:
        code = suite.stop()
        for database in names.values():
            pg.drop(database)
    assert code == 0, suite.log.read_text()[-4000:]
    assert subprocess.run(["pgrep", "-P", str(suite.proc.pid)], capture_output=True).returncode != 0
