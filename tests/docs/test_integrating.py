"""docs/integrating.md runs as written: its AMQP consumer and its webhook receiver, extracted from the page, against
the live suite (compliance, goals, notifications and the gateway on RabbitMQ and PostgreSQL). A client is registered
and asks for its consumer and its subscription through the gateway, with its own API key, as the page says; a cycle
created now reaches both programs, and the receiver refuses a tampered body."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jwt
import pytest
import requests
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chassis.testing.plugin import wait_for
from chassis.testing.services import http_port
from contracts.catalogue import VHOST

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "integrating.md"
ISSUER, AUDIENCE = "https://idp.docs.test", "jixiao-docs-test"


def snippet(name: str) -> str:
    """The ```python block of the page whose first line is `# <name> …`."""
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
    [found] = [block for block in blocks if block.startswith(f"# {name} ")]
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Program:
    """A snippet as its own process; what it prints, line by line."""

    def __init__(self, tmp_path: Path, name: str, env: dict[str, str]):
        path = tmp_path / name
        path.write_text(snippet(name))
        self.out = tmp_path / f"{name}.out"
        self.proc = subprocess.Popen([sys.executable, str(path)], stdout=open(self.out, "wb"),
                                     stderr=subprocess.STDOUT, env={**os.environ, **env})

    def lines(self) -> list[str]:
        return self.out.read_text().splitlines()

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def suite(pg_database, run_services):
    from compliance.service import ComplianceService
    from gateway.service import GatewayService
    from goals.service import GoalsService
    from notifications.service import NotificationsService

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    containers = run_services({
        ComplianceService: {"DATABASE_URL": pg_database("compliance"), "BOOTSTRAP_ADMINS": "root",
                            "DSR_SERVICES": "goals", "DSR_TIMEOUT": 1.0},
        GoalsService: {"DATABASE_URL": pg_database("goals")},
        NotificationsService: {"DATABASE_URL": pg_database("notifications"), "DISPATCH_INTERVAL": 0.1},
        GatewayService: {"DATABASE_URL": pg_database("gateway"), "JWT_PUBLIC_KEYS": public, "JWT_ISSUER": ISSUER,
                         "JWT_AUDIENCE": AUDIENCE, "ENVIRONMENT": "test", "ACTOR_CACHE_SECONDS": 0.2,
                         "RPC_TIMEOUT": 10, "BOOTSTRAP_ADMINS": "root"},
    }, EVENT_RETRY_DELAYS=[0.05, 0.1], OUTBOX_POLL_INTERVAL=0.1)
    base = f"http://127.0.0.1:{http_port(containers['gateway'])}"

    def call(method: str, path: str, body=None, *, api_key: str | None = None) -> requests.Response:
        if api_key:
            auth = f"ApiKey {api_key}"
        else:
            now = int(time.time())
            auth = "Bearer " + jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "root", "iat": now,
                                           "exp": now + 600}, private, algorithm="RS256")
        return requests.request(method, base + path, json=body, headers={"Authorization": auth}, timeout=30)

    assert call("PUT", "/api/v1/org-units/HQ", {"name": "总部 HQ", "parent_id": None}).ok
    assert call("PUT", "/api/v1/people/root", {"name": "Root", "org_unit_id": "HQ", "manager_id": None}).ok
    assert call("PUT", "/api/v1/people/root/grants", {"grants": [{"role": "admin"}]}).ok
    return call


def test_the_pages_consumer_and_receiver_get_the_events_of_the_live_suite(suite, tmp_path, amqp_uri):
    # registration, as section 1 of the page
    client = suite("POST", "/api/v1/clients", {"name": "CRM", "scopes": ["goals:read", "webhooks:write"],
                                               "event_patterns": ["jixiao.goals.*"],
                                               "dpa": {"ref": "DPA-2026-07", "expires_on": "2027-06-30"}})
    assert client.status_code == 201, client.text
    client_id = client.json()["client_id"]
    key = suite("POST", f"/api/v1/clients/{client_id}/keys", {})
    assert key.status_code == 201, key.text
    api_key = key.json()["api_key"]

    # AMQP, as section 2: the client asks for its own consumer with its key (once the registry event is in)
    consumer = wait_for(lambda: (r := suite("POST", "/api/v1/event-consumers", {"client_id": client_id},
                                            api_key=api_key)).status_code == 201 and r.json(),
                        timeout=60, message="the consumer provisioned")
    assert consumer["vhost"] == unquote(urlsplit(amqp_uri).path[1:]) and consumer["password"]  # the suite's vhost
    assert suite("GET", "/api/v1/event-consumers", api_key=api_key).json()["consumers"][0]["password"] is None

    # webhooks, as section 3: a subscription to the receiver, run from the page on this machine
    port = free_port()
    subscription = suite("POST", "/api/v1/webhooks/subscriptions", {
        "client_id": client_id, "url": f"http://127.0.0.1:{port}/hook", "event_types": ["jixiao.goals.#"]},
        api_key=api_key)
    assert subscription.status_code == 201, subscription.text
    secret = subscription.json()["secret"]

    programs = [Program(tmp_path, "consumer.py", {"JIXIAO_AMQP_URI": consumer["amqp_uri"],
                                                  "JIXIAO_QUEUE": consumer["queue"]}),
                Program(tmp_path, "receiver.py", {"WEBHOOK_SECRET": secret, "PORT": str(port)})]
    try:
        # an event of the current quarter (today is 2026-12-03): a cycle created through the gateway
        created = wait_for(lambda: (r := suite("POST", "/api/v1/cycles", {
            "name": "2026 Q4 销售目标 sales goals", "period": "quarter", "year": 2026, "index": 4})).status_code
            == 201 and r.json(), timeout=60, message="goals knows root is an administrator")
        for program in programs:
            wait_for(lambda p=program: any(line.startswith("jixiao.goals.cycle.created.v1 ") for line in p.lines()),
                     timeout=60, message=f"{program.out.name} printed the event")
        printed = [{line for line in p.lines() if line.startswith("jixiao.goals.cycle.created.v1 ")}
                   for p in programs]
        assert printed[0] == printed[1] and len(printed[0]) == 1  # the same event, once each
        assert next(iter(printed[0])).endswith(f" {created['id']}")  # subject: the cycle

        # the receiver refuses what the suite did not sign, and a stale signature
        body = json.dumps({"id": "forged", "type": "jixiao.goals.cycle.created.v1"}).encode()
        stamp = str(int(time.time()))
        good = "v1=" + hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        url = f"http://127.0.0.1:{port}/hook"
        assert requests.post(url, data=body + b" ", headers={"webhook-id": "x1", "webhook-timestamp": stamp,
                                                             "webhook-signature": good}).status_code == 401
        old = str(int(time.time()) - 600)
        stale = "v1=" + hmac.new(secret.encode(), old.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert requests.post(url, data=body, headers={"webhook-id": "x2", "webhook-timestamp": old,
                                                      "webhook-signature": stale}).status_code == 401
        assert requests.post(url, data=body, headers={}).status_code == 401
    finally:
        for program in programs:
            program.stop()
        subprocess.run(["rabbitmqctl", "delete_user", consumer["username"]], capture_output=True, timeout=60)


def test_one_vhost_everywhere():
    """The catalogue, the deployment and this page name the same vhost."""
    from contracts.catalogue import asyncapi

    assert asyncapi()["servers"]["production"]["pathname"] == f"/{VHOST}"
    assert {c["bindings"]["amqp"]["exchange"]["vhost"] for c in asyncapi()["channels"].values()} == {VHOST}
    documents = [d for path in sorted((ROOT / "deploy" / "k8s").rglob("*.yaml"))
                 for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    vhosts = {d["spec"]["name"] for d in documents if d.get("kind") == "Vhost"}
    vhosts |= {d["spec"]["vhost"] for d in documents if d.get("kind") in ("Permission", "TopicPermission")}
    assert vhosts == {VHOST}
    deployed = [*(ROOT / "deploy" / "k8s").rglob("*.yaml"), ROOT / "deploy" / "README.md"]  # not compose: local
    uris = set(re.findall(r"amqp://\S+?@[\w.-]+:\d+/([\w-]*)", "\n".join(p.read_text() for p in deployed)))
    assert uris == {VHOST}, uris
    assert f"vhost is **`{VHOST}`**" in PAGE.read_text()
