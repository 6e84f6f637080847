"""Gateway test helpers: signing keys and tokens, an HTTP client, org events published as compliance would."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from chassis.amqp import ConfirmingPublisher, OutgoingMessage, events_exchange
from chassis.testing.services import http_port
from contracts.envelope import Envelope
from contracts.org import OrgUnitChanged, PersonChanged, RoleGrant, RoleGrantsChanged

ISSUER = "https://idp.test.jixiao.dev"
AUDIENCE = "jixiao-api-test"


@dataclass
class Keys:
    rsa: rsa.RSAPrivateKey
    ec: ec.EllipticCurvePrivateKey
    public_pem: str  # both public keys, as GATEWAY_JWT_PUBLIC_KEYS takes them
    issuer: str = ISSUER
    audience: str = AUDIENCE

    def token(self, subject: str, *, algorithm: str = "RS256", key=None, issuer: str = ISSUER,
              audience: str = AUDIENCE, lifetime: float = 600, **claims) -> str:
        now = int(time.time())
        body = {"iss": issuer, "aud": audience, "sub": subject, "iat": now, "exp": now + int(lifetime), **claims}
        if key is None:
            key = self.rsa if algorithm == "RS256" else self.ec
        return jwt.encode(body, key, algorithm=algorithm)


def _pem(private) -> str:
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="session")
def keys() -> Keys:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    return Keys(rsa_key, ec_key, _pem(rsa_key) + _pem(ec_key))


@pytest.fixture
def gateway_config(keys, pg_database):
    """Config of a gateway under test: its own migrated database, the test keys, short caches."""
    return {
        "DATABASE_URL": pg_database("gateway"),
        "JWT_PUBLIC_KEYS": keys.public_pem,
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
        "ENVIRONMENT": "test",
        "ACTOR_CACHE_SECONDS": 0.2,
        "API_KEY_CACHE_SECONDS": 0.5,
        "AUTH_FAILURES_PER_MINUTE": 6000,  # tests poll with tokens the read model may not know yet
        "RPC_TIMEOUT": 3,
        "EVENT_RETRY_DELAYS": [0.05, 0.1],
    }


class Client:
    """HTTP to one container, keeping the connection alive like a real client would."""

    def __init__(self, container, token: str | None = None):
        self.base = f"http://127.0.0.1:{http_port(container)}"
        self.session = requests.Session()
        self.token = token

    def as_(self, token: str | None) -> Client:
        other = Client.__new__(Client)
        other.base, other.session, other.token = self.base, self.session, token
        return other

    def request(self, method: str, path: str, *, body=None, headers: dict | None = None, raw: bytes | None = None,
                timeout: float = 15, **params) -> requests.Response:
        headers = dict(headers or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        data = raw
        if body is not None:
            data = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        return self.session.request(method, self.base + path, data=data, headers=headers,
                                    params=params or None, timeout=timeout)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body, **kw)


def _publish_org(amqp_uri: str, *events) -> None:
    """Org directory events, as compliance publishes them."""
    publisher = ConfirmingPublisher(amqp_uri, declare=[events_exchange("compliance")])
    try:
        for event in events:
            envelope = Envelope.wrap(event)
            publisher.publish(OutgoingMessage("compliance.events", envelope.type, envelope.model_dump_json()))
    finally:
        publisher.close()


@pytest.fixture
def publish_org(amqp_uri):
    """`publish_org(*events)`: org directory events into compliance's exchange, as compliance publishes them."""
    return lambda *events: _publish_org(amqp_uri, *events)


@pytest.fixture
def http():
    """`http(container, token=None)` -> a Client."""
    return Client


@pytest.fixture
def small_org() -> list:
    """A unit, a manager with two reports, an HR person (hr over the unit), an auditor, someone who left."""
    return [
        OrgUnitChanged(org_unit_id="U1", version=1, name="Unit one"),
        PersonChanged(person_id="M1", version=1, name="Manager", org_unit_id="U1"),
        PersonChanged(person_id="E1", version=1, name="Employee one", org_unit_id="U1", manager_id="M1"),
        PersonChanged(person_id="E2", version=1, name="Employee two", org_unit_id="U1", manager_id="M1"),
        PersonChanged(person_id="H1", version=1, name="HR", org_unit_id="U1"),
        PersonChanged(person_id="A1", version=1, name="Auditor", org_unit_id="U1"),
        PersonChanged(person_id="X1", version=1, name="Gone", org_unit_id="U1", status="terminated"),
        RoleGrantsChanged(subject_id="H1", version=1, grants=[RoleGrant(role="hr", org_unit_id="U1")]),
        RoleGrantsChanged(subject_id="A1", version=1, grants=[RoleGrant(role="auditor")]),
    ]


FAST = {"EVENT_RETRY_DELAYS": [0.05, 0.1], "OUTBOX_POLL_INTERVAL": 0.1}


@pytest.fixture(scope="session")
def trained_objection_tagger() -> None:
    """Feedback tags a sales visit's objections with a model trained once per process (jieba's dictionary and the
    classifier: ~10 s on a busy machine), which an RPC timeout would not wait for: trained before the suite starts."""
    from feedback.objections import default_tagger

    default_tagger()


@pytest.fixture
def stack(pg_database, gateway_config, run_services, tmp_path):
    """`stack(**gateway_config)`: compliance, goals and the gateway on this test's broker and databases; `root` is
    the bootstrap administrator of both compliance and the gateway. Compliance's audit witness is this test's own
    file: the default <VAR_DIR> one is shared by every run on the machine, and another chain's signed checkpoints
    there are, to verify_audit, entries that differ from the witness (a break at sequence 1)."""
    from compliance.service import ComplianceService
    from feedback.service import FeedbackService
    from gateway.service import GatewayService
    from goals.service import GoalsService

    def start(everything=False, **gateway_overrides):
        services = {
            ComplianceService: {"DATABASE_URL": pg_database("compliance"), "BOOTSTRAP_ADMINS": "root",
                                "DSR_SERVICES": "goals", "DSR_TIMEOUT": 1.0, "AUDIT_SEAL_INTERVAL": 0.05,
                                "AUDIT_WITNESS_PATH": str(tmp_path / "compliance-audit-witness.jsonl")},
            GoalsService: {"DATABASE_URL": pg_database("goals")},
            FeedbackService: {"DATABASE_URL": pg_database("feedback")},  # the dashboard's feedback sections
            GatewayService: {**gateway_config, "BOOTSTRAP_ADMINS": "root", **gateway_overrides},
        }
        if everything:  # every route answered by its service (the fuzzing of the whole API)
            from incentives.service import IncentivesService
            from notifications.service import NotificationsService
            services[IncentivesService] = {"DATABASE_URL": pg_database("incentives")}
            services[NotificationsService] = {"DATABASE_URL": pg_database("notifications")}
        return run_services(services, **FAST)
    return start


# U1 ── U2:  M1 manages E1 and E2 (U2); H1 is HR for U1; A1 audits.
ORG_UNITS = [("U1", "Company", None), ("U2", "Platform", "U1")]
ORG_PEOPLE = [("M1", "Manager", "U2", None), ("E1", "Employee one", "U2", "M1"), ("E2", "Employee two", "U2", "M1"),
              ("H1", "HR", "U1", None), ("A1", "Auditor", "U1", None)]
ORG_GRANTS = {"H1": [{"role": "hr", "org_unit_id": "U1"}], "A1": [{"role": "auditor"}], "root": [{"role": "admin"}]}


def seed_org(root: Client) -> None:
    """The organisation, created through the gateway by the bootstrap administrator."""
    for unit_id, name, parent in ORG_UNITS:
        response = root.put(f"/api/v1/org-units/{unit_id}", {"name": name, "parent_id": parent})
        assert response.status_code == 200, response.text
    for person_id, name, unit, manager in ORG_PEOPLE:
        response = root.put(f"/api/v1/people/{person_id}", {"name": name, "org_unit_id": unit,
                                                             "manager_id": manager})
        assert response.status_code == 200, response.text
    for subject, grants in ORG_GRANTS.items():
        response = root.put(f"/api/v1/people/{subject}/grants", {"grants": grants})
        assert response.status_code == 200, response.text


def seed_and_wait(containers: dict, keys) -> Seeded:
    """The organisation seeded through the gateway, and every running service caught up with it: the gateway knowing
    a person says nothing of whether goals or feedback has that person's grant yet (org events arrive in batches,
    in each service's own time), and a test's first call as HR or root goes there."""
    from chassis.testing.plugin import wait_for, wait_for_directory

    seed_org(Client(containers["gateway"], keys.token("root")))
    wait_for_directory(containers, people=[p for p, *_ in ORG_PEOPLE], grant_subjects=ORG_GRANTS)
    for person_id, *_ in ORG_PEOPLE:  # and the gateway's actor cache refilled after the grants landed
        wait_for(lambda p=person_id: Client(containers["gateway"], keys.token(p)).get("/api/v1/me").status_code
                 == 200, message=f"the gateway knows {person_id}")
    return Seeded(containers, keys)


@pytest.fixture
def seeded_with(stack, keys):
    """`seeded_with(**gateway_config)`: the stack with the organisation in place and every service's read model
    caught up; `.as_(subject)` is a client with that subject's token."""
    return lambda **gateway_overrides: seed_and_wait(stack(**gateway_overrides), keys)


@pytest.fixture
def seeded(seeded_with):
    return seeded_with()


class Seeded:
    def __init__(self, containers, keys):
        self.containers = containers
        self.keys = keys
        self._clients: dict[str, Client] = {}

    def as_(self, subject: str) -> Client:
        if subject not in self._clients:
            self._clients[subject] = Client(self.containers["gateway"], self.keys.token(subject))
        return self._clients[subject]
