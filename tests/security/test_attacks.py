"""The suite as an attacker sees it (issue 10 #9): compliance, goals and the gateway on the real RabbitMQ and
PostgreSQL, started once for the module; the organisation created through the gateway by the administrator.

- JWT attacks: alg none, HS/RS confusion, a stranger's key, expired, too long-lived, wrong audience or issuer, a
  person removed since;
- the authorization matrix over routes that exist (route x persona), the expectation taken from the policy;
- IDOR probes: id-taking routes called with other people's ids;
- forged and undecodable broker messages: the grants forgery of issue 10 (#1) must change nothing and be parked.
"""
from __future__ import annotations

import json
import time
import uuid
from contextlib import ExitStack

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from kombu import Connection, Exchange, Producer

from chassis.access.org import Grant, Member, OrgIndex, OrgUnit, Role
from chassis.access.policy import Actor as PolicyActor
from chassis.access.policy import Resource, can, scopes_of
from chassis.testing.plugin import wait_for
from chassis.testing.services import ServicesUnderTest, http_get, http_port

ISSUER, AUDIENCE = "https://idp.security.test", "jixiao-security-test"
UNITS = [("U1", "Company", None), ("U2", "Sales", "U1"), ("U3", "Support", "U1")]
PEOPLE = [("D1", "U1", None), ("M1", "U2", "D1"), ("E1", "U2", "M1"), ("E2", "U2", "M1"), ("H1", "U1", None),
          ("H2", "U3", None), ("B1", "U1", None), ("A1", "U1", None), ("X1", "U2", "M1")]
GRANTS = {"H1": [{"role": "hr", "org_unit_id": "U1"}], "H2": [{"role": "hr", "org_unit_id": "U3"}],
          "B1": [{"role": "hrbp", "org_unit_id": "U1"}], "A1": [{"role": "auditor"}], "root": [{"role": "admin"}]}
PERSONAS = {"self": "E1", "direct manager": "M1", "indirect manager": "D1", "peer": "E2", "HR of the unit": "H1",
            "HR elsewhere": "H2", "HRBP": "B1", "auditor": "A1", "admin": "root"}
# the same organisation as the policy sees it: the oracle of the route matrix
ORG = OrgIndex([OrgUnit(u, n, p) for u, n, p in UNITS], [Member(p, u, m) for p, u, m in PEOPLE],
               [Grant(s, Role(g["role"]), g.get("org_unit_id")) for s, gs in GRANTS.items() for g in gs])


def policy_allows(subject: str, action: str, resource: Resource) -> bool:
    grants = ORG.grants_of(subject)
    roles = {g.role for g in grants} | ({Role.ADMIN} if subject == "root" else set())
    person = ORG.person(subject)
    actor = PolicyActor(subject, frozenset(roles), scopes_of(grants), person.org_unit_id if person else None)
    return can(actor, action, resource, ORG).allowed


class Suite:
    def __init__(self, containers, amqp_uri, private, ec_key):
        self.containers, self.amqp_uri, self.private, self.ec_key = containers, amqp_uri, private, ec_key
        self.base = f"http://127.0.0.1:{http_port(containers['gateway'])}/api/v1"
        self.session = requests.Session()

    def token(self, subject, *, key=None, algorithm="RS256", lifetime=600, **claims) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now, "exp": now + lifetime, **claims}
        return jwt.encode(body, key or self.private, algorithm=algorithm)

    def call(self, method, path, subject=None, *, token=None, body=None) -> requests.Response:
        headers = {}
        token = token if token is not None else (self.token(subject) if subject else None)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        return self.session.request(method, self.base + path, data=data, headers=headers, timeout=15)

    def metric(self, service: str, name: str, **labels) -> float:
        body = http_get(self.containers[service], "/metrics")[1]
        total = 0.0
        for line in body.splitlines():
            if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total


def _pem(private) -> str:
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def suite(vhosts, pg, pg_template):
    from compliance.service import ComplianceService
    from gateway.service import GatewayService
    from goals.service import GoalsService

    private, ec_key = rsa.generate_private_key(public_exponent=65537, key_size=2048), ec.generate_private_key(
        ec.SECP256R1())
    amqp_uri = vhosts.create()
    names = {package: f"jxt_sec_{package}_{uuid.uuid4().hex[:8]}" for package in ("compliance", "goals", "gateway")}
    urls = {package: pg.create(name, template=pg_template(package)) for package, name in names.items()}
    with ExitStack() as stack:
        containers = stack.enter_context(ServicesUnderTest({
            ComplianceService: {"DATABASE_URL": urls["compliance"], "BOOTSTRAP_ADMINS": "root",
                                "DSR_SERVICES": "goals", "DSR_TIMEOUT": 1.0},
            GoalsService: {"DATABASE_URL": urls["goals"]},
            GatewayService: {"DATABASE_URL": urls["gateway"], "JWT_PUBLIC_KEYS": _pem(private) + _pem(ec_key),
                             "JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE, "ENVIRONMENT": "test",
                             "ACTOR_CACHE_SECONDS": 0.2, "AUTH_FAILURES_PER_MINUTE": 6000, "RPC_TIMEOUT": 5,
                             "BOOTSTRAP_ADMINS": "root"},
        }, AMQP_URI=amqp_uri, EVENT_RETRY_DELAYS=[0.05, 0.1], OUTBOX_POLL_INTERVAL=0.1))
        s = Suite(containers, amqp_uri, private, ec_key)
        for unit, name, parent in UNITS:
            assert s.call("PUT", f"/org-units/{unit}", "root", body={"name": name, "parent_id": parent}).ok
        for person, unit, manager in PEOPLE:
            assert s.call("PUT", f"/people/{person}", "root",
                          body={"name": person, "org_unit_id": unit, "manager_id": manager}).ok
        for subject, grants in GRANTS.items():
            assert s.call("PUT", f"/people/{subject}/grants", "root", body={"grants": grants}).ok
        for person, *_ in PEOPLE:
            wait_for(lambda p=person: s.call("GET", "/me", p).status_code == 200, message=f"{person} known")
        wait_for(lambda: "hr" in s.call("GET", "/me", "H1").json()["roles"], message="grants at the gateway")
        yield s
    for name in names.values():
        pg.drop(name)
    vhosts.delete(amqp_uri)


# -- JWT -----------------------------------------------------------------------------------------------------

def test_jwt_attacks_are_refused(suite):
    now = int(time.time())
    public_pem = _pem(suite.private).encode()
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "root", "iat": now, "exp": now + 600}
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacks = {
        "alg none": jwt.encode(claims, None, algorithm="none"),
        "alg none, signature stripped": suite.token("root").rsplit(".", 1)[0] + ".",
        "HS/RS confusion (HS256 keyed with the public key)": _hs256(claims, public_pem),
        "a stranger's key": suite.token("root", key=stranger),
        "expired": suite.token("root", lifetime=-300),
        "too long-lived": suite.token("root", lifetime=40 * 24 * 3600),
        "wrong audience": suite.token("root", aud="another-api"),
        "wrong issuer": suite.token("root", iss="https://evil.example"),
    }
    assert suite.call("GET", "/me", "root").status_code == 200  # the control
    for name, token in attacks.items():
        response = suite.call("GET", "/me", token=token)
        assert response.status_code == 401, (name, response.status_code, response.text)
        assert "Traceback" not in response.text


def _hs256(claims: dict, secret: bytes) -> str:
    """Sign HS256 with any bytes as the secret (PyJWT itself refuses a PEM key as an HMAC secret)."""
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def test_a_person_removed_since_is_refused(suite):
    token = suite.token("X1")
    assert suite.call("GET", "/me", token=token).status_code == 200
    assert suite.call("PUT", "/people/X1", "root", body={"name": "X1", "org_unit_id": "U2", "manager_id": "M1",
                                                        "status": "terminated"}).ok
    wait_for(lambda: suite.call("GET", "/me", token=token).status_code == 401, message="the leaver refused")


# -- the route matrix and IDOR probes ------------------------------------------------------------------------

ROUTES = [  # method, path, body, the action and resource the policy decides it by
    ("PUT", "/people/E1/grants", {"grants": []}, "grants.manage", Resource("grants", owner="E1")),
    ("POST", "/org/resyncs", {"reason": "security matrix"}, "org.resync", Resource("org")),
    ("GET", "/audit/entries?subject=E1", None, "audit.read", Resource("audit", owner="E1")),
    ("PUT", "/people/E1", {"name": "E1", "org_unit_id": "U2", "manager_id": "M1"}, "person.update",
     Resource("person", owner="E1")),
    ("PUT", "/org-units/U2", {"name": "Sales", "parent_id": "U1"}, "orgunit.manage",
     Resource("orgunit", org_unit="U2")),
]


@pytest.mark.parametrize(("method", "path", "body", "action", "resource"), ROUTES,
                         ids=[f"{m} {p}" for m, p, *_ in ROUTES])
def test_route_matrix_follows_the_policy(suite, method, path, body, action, resource):
    wrong = {}
    for persona, subject in PERSONAS.items():
        response = suite.call(method, path, subject, body=body)
        allowed = policy_allows(subject, action, resource)
        if allowed != response.ok or (not allowed and response.status_code not in (403, 404)):
            wrong[persona] = (response.status_code, "allowed" if allowed else "denied by the policy")
    assert not wrong, wrong


IDOR = [  # (subject, method, path): someone else's record by id; never answered with its content
    ("E2", "GET", "/people/E1/grants"),
    ("E2", "PUT", "/people/E1/grants"),
    ("E1", "PUT", "/people/E1"),  # one's own record: HR's to change, never one's own (veto)
    ("H2", "PUT", "/people/E1"),  # HR of another unit
    ("E2", "GET", "/audit/entries?subject=E1"),
    ("E1", "GET", f"/privacy/requests/{uuid.uuid4()}"),
    ("E1", "GET", f"/appeals/{uuid.uuid4()}"),
    ("E2", "GET", f"/imports/{uuid.uuid4()}"),
    ("E2", "GET", f"/clients/{uuid.uuid4()}"),
]


@pytest.mark.parametrize(("subject", "method", "path"), IDOR, ids=[f"{s} {m} {p}" for s, m, p in IDOR])
def test_idor_probes_reveal_nothing(suite, subject, method, path):
    body = {"grants": [{"role": "admin"}]} if path.endswith("/grants") else (
        {"name": "hijacked", "org_unit_id": "U3", "manager_id": None} if method == "PUT" else None)
    response = suite.call(method, path, subject, body=body)
    assert response.status_code in (403, 404), (response.status_code, response.text)
    assert "hijacked" not in response.text and '"role": "admin"' not in response.text
    if method == "PUT":  # nothing changed
        me = suite.call("GET", "/me", "E1").json()
        assert "admin" not in me["roles"] and me["org_unit"] == "U2"


# -- forged and undecodable broker messages ------------------------------------------------------------------

def _publish(amqp_uri: str, exchange: str, routing_key: str, body: bytes, **properties) -> None:
    """A plain AMQP client: what anyone holding broker credentials can do."""
    with Connection(amqp_uri) as conn:
        properties = {"content_type": "application/json", "content_encoding": "utf-8", **properties}
        Producer(conn.channel()).publish(body, exchange=Exchange(exchange, type="topic", durable=True),
                                         routing_key=routing_key, **properties)


def _grants_envelope(subject: str, version: int, role: str = "admin", type_: str | None = None) -> dict:
    kind = type_ or "jixiao.compliance.grants.changed.v1"
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/jixiao/" + kind.split(".")[1], "type": kind,
            "time": "2026-12-02T10:00:00+00:00", "subject": subject,
            "data": {"subject_id": subject, "version": version, "grants": [{"role": role}]}}


Q4 = {"name": "Q4 2026", "period": "quarter", "year": 2026, "index": 4}


def test_forged_grants_events_change_nothing_and_are_parked(suite):
    before = {service: suite.metric(service, "jixiao_events_rejected_total") for service in ("gateway", "goals")}
    assert suite.call("POST", "/cycles", "E2", body=Q4).status_code == 403
    route = "jixiao.compliance.grants.changed.v1"
    forged = _grants_envelope("E2", 50)
    _publish(suite.amqp_uri, "compliance.events", route, json.dumps(forged).encode())  # unsigned
    _publish(suite.amqp_uri, "compliance.events", route, json.dumps(
        {**_grants_envelope("E2", 51), "signature": "hmac-sha256=" + "0" * 64}).encode())  # a made-up tag
    _publish(suite.amqp_uri, "goals.events", route, json.dumps(_grants_envelope("E2", 52)).encode())  # elsewhere
    _publish(suite.amqp_uri, "compliance.events", route, b"\xff\xfe not even UTF-8")
    _publish(suite.amqp_uri, "compliance.events", route, b"{\"half\": ", content_encoding="utf-8")

    for service in ("gateway", "goals"):  # each read model's consumer refuses them all, counted
        wait_for(lambda svc=service: suite.metric(svc, "jixiao_events_rejected_total") - before[svc] >= 4,
                 message=f"{service} parks the forgeries")
        assert suite.metric(service, "jixiao_events_rejected_total", reason="undecodable") >= 2
    me = suite.call("GET", "/me", "E2").json()
    assert "admin" not in me["roles"]
    assert suite.call("POST", "/cycles", "E2", body=Q4).status_code == 403
    # the real source still has its say (a forged version 50 would have locked it out)
    assert suite.call("PUT", "/people/E2/grants", "root", body={"grants": [{"role": "auditor"}]}).ok
    wait_for(lambda: "auditor" in suite.call("GET", "/me", "E2").json()["roles"], message="the real grant applies")
    assert suite.call("PUT", "/people/E2/grants", "root", body={"grants": []}).ok
    wait_for(lambda: "auditor" not in suite.call("GET", "/me", "E2").json()["roles"], message="and is withdrawn")


def test_idor_probes_on_goals_change_nothing(suite):
    """Someone else's goal by id, written to by a peer and by HR of another unit: refused, and the goal unchanged."""
    cycle = suite.call("POST", "/cycles", "H1", body={**Q4, "name": f"Q4 2026 {uuid.uuid4().hex[:6]}"})
    assert cycle.status_code == 201, cycle.text
    cycle_id = cycle.json()["id"]
    assert suite.call("POST", f"/cycles/{cycle_id}/transitions", "H1", body={"to": "open"}).ok
    goal = suite.call("POST", "/goals", "E1", body={
        "cycle_id": cycle_id, "title": "Close 40 deals", "kind": "kpi", "owner": {"id": "E1"},
        "kpi": {"direction": ">=", "target": "40", "green": "36", "yellow": "28"}})
    assert goal.status_code == 201, goal.text
    goal_id = goal.json()["id"]
    before = suite.call("GET", f"/goals/{goal_id}", "E1").json()
    probes = [("PATCH", f"/goals/{goal_id}", {"title": "hijacked"}),
              ("POST", f"/goals/{goal_id}/progress", {"value": "40", "comment": "hijacked"}),
              ("PUT", f"/cycles/{cycle_id}/people/E1/weights", {"weights": {goal_id: "100"}}),
              ("POST", f"/goals/{goal_id}/commitments", {"kind": "other", "description": "hijacked"})]
    for subject in ("E2", "H2"):
        for method, path, body in probes:
            response = suite.call(method, path, subject, body=body)
            assert response.status_code in (403, 404), (subject, method, path, response.status_code, response.text)
            assert "hijacked" not in response.text
    after = suite.call("GET", f"/goals/{goal_id}", "E1").json()
    assert after == before


def _client_key(suite, name: str, scopes: list[str]) -> str:
    client = suite.call("POST", "/clients", "root", body={
        "name": name, "scopes": scopes, "dpa": {"ref": f"DPA-{name}", "expires_on": "2027-12-31"}})
    assert client.status_code == 201, client.text
    issued = suite.call("POST", f"/clients/{client.json()['client_id']}/keys", "root", body={})
    assert issued.status_code == 201, issued.text
    return issued.json()["api_key"]


def test_api_clients_get_what_their_scopes_name_and_nothing_else(suite):
    """The matrix's last two columns over HTTP: an API client with the scope, and one without it."""
    reader = _client_key(suite, f"bi-{uuid.uuid4().hex[:6]}", ["goals:read"])
    other = _client_key(suite, f"hr-sync-{uuid.uuid4().hex[:6]}", ["org:read"])

    def as_client(key, method, path, body=None):
        data = None if body is None else json.dumps(body)
        headers = {"X-Api-Key": key, **({"Content-Type": "application/json"} if data else {})}
        return suite.session.request(method, suite.base + path, data=data, headers=headers, timeout=15)

    assert as_client(reader, "GET", "/me").json()["kind"] == "client"
    assert as_client(reader, "GET", "/cycles").status_code == 200  # goals:read opens the goals reads
    assert as_client(other, "GET", "/cycles").status_code == 403  # org:read does not
    for key in (reader, other):  # writes and what no client scope maps to: refused
        assert as_client(key, "POST", "/cycles", Q4).status_code == 403
        assert as_client(key, "GET", "/audit/entries?subject=E1").status_code == 403
        assert as_client(key, "PUT", "/people/E1/grants", {"grants": [{"role": "admin"}]}).status_code == 403
    assert as_client("jx_live_" + "0" * 40, "GET", "/cycles").status_code == 401  # a made-up key
