"""Issue 15 #6: two gateway processes (`nameko run`, as two replicas) over one PostgreSQL database share one rate
limit: requests spread over both get 429 with Retry-After once the shared burst is spent, not twice the burst; and
failed authentications are counted across both."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid

import pytest
import requests
import yaml

from chassis.testing.plugin import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica:
    def __init__(self, tmp_path, config: dict):
        self.port = free_port()
        path = tmp_path / f"gateway-{uuid.uuid4().hex[:6]}.yaml"
        path.write_text(yaml.safe_dump({"SERVICE_CONTAINER_CLS": "chassis.container.ServiceContainer",
                                        "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.port}",
                                        "LOGGING": {"version": 1, "root": {"level": "WARNING"}}, **config}))
        self.log = tmp_path / f"{path.stem}.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "nameko", "run", "--config", str(path),
                                      "gateway.service:GatewayService"], stdout=open(self.log, "ab"),
                                     stderr=subprocess.STDOUT, env={**os.environ, "PYTHONWARNINGS": "ignore"})

    def get(self, path: str, **headers: str) -> requests.Response:
        return requests.get(f"http://127.0.0.1:{self.port}{path}", headers=headers, timeout=10)

    def ready(self) -> bool:
        try:
            return self.get("/health/live").status_code == 200
        except OSError:
            return False

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def replicas(tmp_path, amqp_uri, pg_database):
    database = pg_database("gateway")
    config = {"AMQP_URI": amqp_uri, "DATABASE_URL": database, "ENVIRONMENT": "test", "JWT_DEV_SECRET": "",
              "RATE_LIMIT_PER_SECOND": 0.1, "RATE_LIMIT_BURST": 4, "AUTH_FAILURES_PER_MINUTE": 3}
    started = [Replica(tmp_path, config) for _ in range(2)]
    try:
        for replica in started:
            wait_for(lambda r=replica: r.ready() or r.proc.poll() is not None, timeout=90, interval=0.2,
                     message="gateway replica up")
            assert replica.proc.poll() is None, replica.log.read_text()[-3000:]
        yield started
    finally:
        for replica in started:
            replica.stop()


def test_two_replicas_share_one_limit(replicas):
    first, second = replicas
    answers = [(first if i % 2 else second).get("/api/v1") for i in range(8)]
    assert [a.status_code for a in answers] == [200] * 4 + [429] * 4  # one burst of 4 between both, not 4 each
    for limited in answers[4:]:
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.headers["content-type"].startswith("application/problem+json")


def test_failed_authentications_are_counted_across_replicas(replicas):
    """A credential guessed at through both replicas is throttled at the shared count, not at twice it."""
    first, second = replicas
    answers = [(first if i % 2 else second).get("/api/v1/me", Authorization="Bearer not-a-token")
               for i in range(6)]
    assert [a.status_code for a in answers] == [401] * 3 + [429] * 3
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers[3:])

