"""Kill the notifications process (SIGKILL) mid-delivery and start it again: every notification is in the inbox
exactly once, and every webhook delivery reaches the receiver at least once (deduplicated by its id)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import yaml

from chassis.testing.plugin import wait_for
from contracts.compliance import AppealSubmitted, ClientRegistered


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NamekoProcess:
    """The service as its own `nameko run` process, as in production."""

    def __init__(self, tmp_path, config: dict):
        self.port = free_port()
        self.path = tmp_path / f"notifications-{uuid.uuid4().hex[:6]}.yaml"
        self.path.write_text(yaml.safe_dump({"SERVICE_CONTAINER_CLS": "chassis.container.ServiceContainer",
                                             "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.port}",
                                             "LOGGING": {"version": 1, "root": {"level": "WARNING"}}, **config}))
        self.log = tmp_path / f"{self.path.stem}.log"

    def start(self):
        env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
        self.proc = subprocess.Popen([sys.executable, "-m", "nameko", "run", "--config", str(self.path),
                                      "notifications.service:NotificationsService"],
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, env=env)
        wait_for(lambda: self.ready() or self.proc.poll() is not None, timeout=60, interval=0.2, message="ready")
        assert self.proc.poll() is None, self.log.read_text()[-3000:]
        return self

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health/ready", timeout=5) as resp:
                return resp.status == 200
        except OSError:
            return False

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def test_killed_mid_delivery_the_inbox_is_exactly_once_and_the_wire_at_least_once(harness, tmp_path):
    config = {**harness.config(LEASE_SECONDS=2.0), "AMQP_URI": harness.amqp_uri}
    first = NamekoProcess(tmp_path, config).start()
    second = None
    try:
        people = [(f"emp-{i}", "q4-stores", None) for i in range(40)]
        harness.org(units=[("q4-stores", None)], people=[*people, ("hr-s", "q4-stores", None),
                                                         ("admin-1", "q4-stores", None)],
                    grants={"hr-s": [("hr", "q4-stores")], "admin-1": [("admin", None)]})
        harness.publish("compliance", ClientRegistered(client_id="hris-1", name="HRIS", scopes=[],
                                                       event_patterns=["jixiao.compliance.appeal.#"],
                                                       dpa_ref="DPA-2026-11"))
        wait_for(lambda: harness.scalar("select count(*) from clients") == 1, timeout=60, message="client read model")
        harness.receiver.behaviour["/hris"] = (200, 0.1)
        harness.as_("admin-1").create_subscription({"client_id": "hris-1", "url": harness.receiver.url("/hris"),
                                                    "event_types": ["jixiao.compliance.appeal.submitted.v1"],
                                                    "max_in_flight": 2})
        due = datetime.now(UTC) + timedelta(days=14)
        envelopes = harness.publish("compliance", *[
            AppealSubmitted(appeal_id=f"ap-k-{i}", appellant=f"emp-{i}", org_unit_id="q4-stores",
                            target_kind="rating", target_ref=f"r-{i}", owning_service="feedback", due_at=due)
            for i in range(40)])
        wait_for(lambda: len(harness.receiver.to("/hris")) >= 6, timeout=60, message="deliveries under way")
        first.kill()  # SIGKILL: claimed deliveries keep their lease, uncommitted batches roll back
        delivered_before = len(harness.receiver.to("/hris"))
        assert delivered_before < 40

        second = NamekoProcess(tmp_path, config).start()
        wanted = {e.id for e in envelopes}
        wait_for(lambda: {json.loads(r["body"])["id"] for r in harness.receiver.to("/hris")} >= wanted,
                 timeout=90, message="every event delivered after the restart")
        # the inbox: exactly one per event and person (the HR and the appellant), whatever was redelivered
        assert harness.scalar("select count(*) from notifications") == 80
        assert harness.scalar("select count(distinct (event_id, person_id)) from notifications") == 80
        received = [r["headers"]["webhook-id"] for r in harness.receiver.to("/hris")]
        assert len(set(received)) == 40 and len(received) >= 40
        wait_for(lambda: harness.scalar("select count(*) from webhook_deliveries where state = 'delivered'") == 40,
                 timeout=60, message="all recorded delivered")
    finally:
        first.stop()
        if second is not None:
            second.stop()
