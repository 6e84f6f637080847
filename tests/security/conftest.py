"""The suite as an attacker meets it: every service and the gateway on the real RabbitMQ and PostgreSQL, started once
per module, the organisation created through the gateway by the bootstrap administrator.

    U1 Company ── U2 Sales     D1 (U1) ─ M1 (U2, unit lead) ─ E1, E2, E3, E4, E5, X1 (U2)
               └─ U3 Support   H1 hr U1 · H2 hr U3 (HR elsewhere) · B1 hrbp U1 · A1 auditor · root admin
"""
from __future__ import annotations

import json
import time
import uuid
from contextlib import ExitStack, contextmanager
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from chassis.testing.plugin import wait_for
from chassis.testing.services import ServicesUnderTest, http_get, http_port

ISSUER, AUDIENCE = "https://idp.security.test", "jixiao-security-test"
UNITS = [("U1", "Company", None), ("U2", "Sales", "U1"), ("U3", "Support", "U1")]
PEOPLE = [("D1", "U1", None), ("M1", "U2", "D1"), ("E1", "U2", "M1"), ("E2", "U2", "M1"), ("E3", "U2", "M1"),
          ("E4", "U2", "M1"), ("E5", "U2", "M1"), ("H1", "U1", None), ("H2", "U3", None), ("B1", "U1", None),
          ("A1", "U1", None), ("X1", "U2", "M1")]
GRANTS = {"H1": [{"role": "hr", "org_unit_id": "U1"}], "H2": [{"role": "hr", "org_unit_id": "U3"}],
          "B1": [{"role": "hrbp", "org_unit_id": "U1"}], "A1": [{"role": "auditor"}], "root": [{"role": "admin"}]}
PERSONAS = {"self": "E1", "direct manager": "M1", "indirect manager": "D1", "peer": "E2", "HR of the unit": "H1",
            "HR elsewhere": "H2", "HRBP": "B1", "auditor": "A1", "admin": "root"}
TODAY_QUARTER = {"period": "quarter", "year": 2026, "index": 4}  # the quarter running now (2026-12-03)


def pem(private) -> str:
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class Suite:
    """HTTP as any subject (a fresh RS256 token each call), the services' metrics, the gateway's route table."""

    def __init__(self, containers, amqp_uri: str, private, ec_key, database_urls: dict[str, str]):
        self.containers, self.amqp_uri, self.private, self.ec_key = containers, amqp_uri, private, ec_key
        self.database_urls = database_urls
        self.root = f"http://127.0.0.1:{http_port(containers['gateway'])}"
        self.base = self.root + "/api/v1"
        self.session = requests.Session()

    def token(self, subject: str, *, key=None, algorithm: str = "RS256", lifetime: int = 600, **claims) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now, "exp": now + lifetime, **claims}
        return jwt.encode(body, key or self.private, algorithm=algorithm)

    def call(self, method: str, path: str, subject: str | None = None, *, token: str | None = None, body=None,
             headers: dict[str, str] | None = None) -> requests.Response:
        headers = dict(headers or {})
        token = token if token is not None else (self.token(subject) if subject else None)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        return self.session.request(method, self.base + path, data=data, headers=headers, timeout=15)

    def ok(self, method: str, path: str, subject: str, body=None) -> Any:
        response = self.call(method, path, subject, body=body)
        assert response.ok, (method, path, subject, response.status_code, response.text)
        return response.json() if response.content else None

    def metric(self, service: str, name: str, **labels: str) -> float:
        body = http_get(self.containers[service], "/metrics")[1]
        total = 0.0
        for line in body.splitlines():
            if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def routes(self) -> list:
        """The gateway's route table, as it serves it (gateway.api.Route)."""
        gateway = self.containers["gateway"]
        return list(next(dep for dep in gateway.dependencies if dep.attr_name == "api").api.routes)

    def openapi(self) -> dict:
        return self.session.get(self.root + "/api/openapi.json", timeout=15).json()


@contextmanager
def running_suite(vhosts, pg, pg_template, *, everything: bool = True, **gateway_overrides):
    from compliance.service import ComplianceService
    from gateway.service import GatewayService
    from goals.service import GoalsService

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    packages = ["compliance", "goals", "gateway"]
    if everything:
        packages += ["feedback", "incentives", "notifications"]
    amqp_uri = vhosts.create()
    names = {package: f"jxt_sec_{package}_{uuid.uuid4().hex[:8]}" for package in packages}
    urls = {package: pg.create(name, template=pg_template(package)) for package, name in names.items()}
    services: dict[Any, dict[str, Any]] = {
        ComplianceService: {"DATABASE_URL": urls["compliance"], "BOOTSTRAP_ADMINS": "root",
                            "DSR_SERVICES": ",".join(p for p in packages if p not in ("compliance", "gateway")),
                            "DSR_TIMEOUT": 1.0, "AUDIT_SEAL_INTERVAL": 0.05},
        GoalsService: {"DATABASE_URL": urls["goals"]},
        GatewayService: {"DATABASE_URL": urls["gateway"], "JWT_PUBLIC_KEYS": pem(private) + pem(ec_key),
                         "JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE, "ENVIRONMENT": "test",
                         "ACTOR_CACHE_SECONDS": 0.2, "AUTH_FAILURES_PER_MINUTE": 6000, "RPC_TIMEOUT": 5,
                         "BOOTSTRAP_ADMINS": "root", "RATE_LIMIT_PER_SECOND": 10_000, "RATE_LIMIT_BURST": 10_000,
                         **gateway_overrides},
    }
    if everything:
        from feedback.service import FeedbackService
        from incentives.service import IncentivesService
        from notifications.service import NotificationsService

        services[FeedbackService] = {"DATABASE_URL": urls["feedback"]}
        services[IncentivesService] = {"DATABASE_URL": urls["incentives"]}
        services[NotificationsService] = {"DATABASE_URL": urls["notifications"]}
    try:
        with ExitStack() as stack:
            containers = stack.enter_context(ServicesUnderTest(
                services, AMQP_URI=amqp_uri, EVENT_RETRY_DELAYS=[0.05, 0.1], OUTBOX_POLL_INTERVAL=0.1))
            suite = Suite(containers, amqp_uri, private, ec_key, urls)
            seed(suite)
            yield suite
    finally:
        for name in names.values():
            pg.drop(name)
        vhosts.delete(amqp_uri)


def seed(suite: Suite) -> None:
    for unit, name, parent in UNITS:
        suite.ok("PUT", f"/org-units/{unit}", "root", {"name": name, "parent_id": parent})
    for person, unit, manager in PEOPLE:
        suite.ok("PUT", f"/people/{person}", "root", {"name": person, "org_unit_id": unit, "manager_id": manager})
    for subject, grants in GRANTS.items():
        suite.ok("PUT", f"/people/{subject}/grants", "root", {"grants": grants})
    for person, *_ in PEOPLE:
        wait_for(lambda p=person: suite.call("GET", "/me", p).status_code == 200, message=f"{person} known")
    wait_for(lambda: "hr" in suite.call("GET", "/me", "H2").json()["roles"], message="grants at the gateway")


@pytest.fixture(scope="module")
def suite(vhosts, pg, pg_template):
    with running_suite(vhosts, pg, pg_template) as running:
        yield running
