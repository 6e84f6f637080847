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


@pytest.fixture(scope="package")
def suite(vhosts, pg, pg_template):
    """One seeded suite for the package (started once: ~1 min on a busy machine). Modules run in name order and
    the stateful schemathesis run, which writes anything its schemas allow as the administrator, comes last."""
    with running_suite(vhosts, pg, pg_template) as running:
        yield running


# -- a review cycle through the gateway, as HR, managers and peers run one --------------------------------------

FORMULA = {"expression": "manager * 0.6 + self * 0.2 + peer * 0.2",
           "components": [{"name": "manager", "weight": "0.6", "required": True},
                          {"name": "self", "weight": "0.2"}, {"name": "peer", "weight": "0.2"}],
           "scale": {"low": 1, "high": 5, "bands": [{"label": "S", "min": "4.5"}, {"label": "A", "min": "3.75"},
                                                    {"label": "B", "min": "2.75"}, {"label": "C", "min": "2"},
                                                    {"label": "D", "min": 1}]}}


def scores(*values: int, comment: str = "") -> list[dict]:
    return [{"code": f"g{i}", "kind": "goal", "score": value, "comment": comment} for i, value in enumerate(values)]


def eventually(suite: Suite, method: str, path: str, subject: str, body=None, timeout: float = 20) -> Any:
    """The answer once the service has caught up with what it learns from events (the org directory, ratings)."""
    answers: list = []

    def attempt() -> bool:
        response = suite.call(method, path, subject, body=body)
        answers.append(response)
        return response.ok

    try:
        wait_for(attempt, timeout=timeout, message=f"{method} {path} as {subject}")
    except BaseException as exc:
        raise AssertionError(f"{method} {path} as {subject}: {answers[-1].status_code} {answers[-1].text}") from exc
    return answers[-1].json() if answers[-1].content else None


class ReviewCycle:
    """One review cycle of the running quarter over `people`, driven stage by stage through the gateway."""

    def __init__(self, suite: Suite, people: list[str], name: str = "Q4 2026 review"):
        self.suite = suite
        body = {"goals_cycle_id": f"q4-2026-{uuid.uuid4().hex[:6]}", "name": name, "formula": FORMULA,
                "people": people, "manager_waits_for_self": False,
                "deadlines": {"self_review": "2026-12-18", "manager_review": "2026-12-24"}}
        self.id = eventually(suite, "POST", "/feedback/review-cycles", "H1", body)["id"]

    def advance(self, stage: str) -> dict:
        return self.suite.ok("POST", f"/feedback/review-cycles/{self.id}/advance", "H1", {"to_stage": stage})

    def self_review(self, person: str, *values: int) -> None:
        self.suite.ok("PUT", f"/feedback/review-cycles/{self.id}/self-review", person,
                      {"items": scores(*values, comment="my quarter")})

    def manager_review(self, manager: str, person: str, values: tuple[int, ...], peers: list[str]) -> None:
        self.suite.ok("PUT", f"/feedback/review-cycles/{self.id}/reviews/{person}/manager-review", manager,
                      {"items": scores(*values, comment="solid delivery"), "peers": peers})

    def peer_review(self, peer: str, person: str, value: int, comment: str):
        return self.suite.call("POST", f"/feedback/review-cycles/{self.id}/reviews/{person}/peer-reviews", peer,
                               body={"items": scores(value), "comment": comment})

    def review_of(self, person: str, reader: str):
        query = "" if person == reader else f"?person_id={person}"
        return self.suite.call("GET", f"/feedback/review-cycles/{self.id}/review{query}", reader)

    def ratings(self) -> dict[str, dict]:
        view = self.suite.ok("GET", f"/feedback/review-cycles/{self.id}/calibration", "H1")
        return {rating["person_id"]: rating for rating in view["items"]}
