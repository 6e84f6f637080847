"""The suite as an attacker sees it (issue 10 #9): every service and the gateway on the real RabbitMQ and
PostgreSQL, started once for the module (conftest.py); the organisation created through the gateway by the
administrator.

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

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from kombu import Connection, Exchange, Producer

from chassis.access.org import Grant, Member, OrgIndex, OrgUnit, Role
from chassis.access.policy import Actor as PolicyActor
from chassis.access.policy import Resource, can, scopes_of
from chassis.testing.plugin import wait_for

from .conftest import AUDIENCE, GRANTS, ISSUER, PEOPLE, PERSONAS, UNITS, pem

# the same organisation as the policy sees it: the oracle of the route matrix
ORG = OrgIndex([OrgUnit(u, n, p) for u, n, p in UNITS], [Member(p, u, m) for p, u, m in PEOPLE],
               [Grant(s, Role(g["role"]), g.get("org_unit_id")) for s, gs in GRANTS.items() for g in gs])


def policy_allows(subject: str, action: str, resource: Resource) -> bool:
    grants = ORG.grants_of(subject)
    roles = {g.role for g in grants} | ({Role.ADMIN} if subject == "root" else set())
    person = ORG.person(subject)
    actor = PolicyActor(subject, frozenset(roles), scopes_of(grants), person.org_unit_id if person else None)
    return can(actor, action, resource, ORG).allowed


# -- JWT -----------------------------------------------------------------------------------------------------

def test_jwt_attacks_are_refused(suite):
    now = int(time.time())
    public_pem = pem(suite.private).encode()
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


# -- the edge matrix: every route x every persona and API clients with and without the scope -----------------

# The oracle, written by hand from the documented roles (docs/access.md, gateway/README.md), not from
# gateway.scopes: which areas each persona may enter at the edge. Past the edge the service decides by relation
# (the policy matrix, test_policy_matrix.py, and the route matrix above).
PERSON_AREAS = {"goals": "rw", "org": "r", "privacy": "rw", "appeals": "rw", "feedback": "rw", "incentives": "rw"}
EDGE_ORACLE = {
    "self": PERSON_AREAS, "direct manager": PERSON_AREAS, "indirect manager": PERSON_AREAS, "peer": PERSON_AREAS,
    "HR of the unit": {**PERSON_AREAS, "org": "rw"}, "HR elsewhere": {**PERSON_AREAS, "org": "rw"},
    # everyone in the directory is an employee first: the auditor (A1, a member of U1) too
    "HRBP": {**PERSON_AREAS, "org": "rw"}, "auditor": {**PERSON_AREAS, "audit": "r", "compliance": "r"},
    "admin": "everything",
}
AREAS = ("goals", "org", "audit", "privacy", "appeals", "clients", "compliance", "feedback", "incentives")


def _edge_allows(areas, scope: str) -> bool:
    if areas == "everything":
        return True
    area, verb = scope.split(":", 1)
    return verb[0] in areas.get(area, "")


def _edge_refused(response) -> bool:
    return response.status_code == 403 and "insufficient-scope" in response.text


def _scoped_routes(suite) -> list:
    return [route for route in suite.routes() if route.scope]  # None: public; "": any authenticated caller


def _address(route) -> str:
    """The route with made-up ids and a query parameter no route takes: the scope is checked before the query and
    the body, so an admitted caller gets 400 there and nothing runs (an empty body would run for real, e.g. the
    caller's own erasure)."""
    return route.path.format(**{param: f"missing-{param}" for param in route.params}) + "?edge-probe=1"


def _edge_call(suite, route, **credentials):
    headers = {"Content-Type": "application/json"} if route.body is not None else {}
    if "subject" in credentials:
        headers["Authorization"] = f"Bearer {suite.token(credentials['subject'])}"
    else:
        headers["X-Api-Key"] = credentials["api_key"]
    data = b"[]" if route.body is not None else None  # not an object: refused after the scope check
    response = suite.session.request(route.method, suite.base + _address(route), data=data, headers=headers,
                                     timeout=15)
    assert _edge_refused(response) or response.status_code == 400, (route.method, route.path, response.text)
    return response


def test_every_route_admits_exactly_the_personas_whose_roles_reach_its_area(suite):
    wrong = []
    routes = _scoped_routes(suite)
    assert len(routes) > 150
    for route in routes:
        for persona, subject in PERSONAS.items():
            response = _edge_call(suite, route, subject=subject)
            if _edge_refused(response) == _edge_allows(EDGE_ORACLE[persona], route.scope):
                wrong.append((route.method, route.path, route.scope, persona,
                              f"{response.status_code} {response.text[:160]}"))
            assert response.status_code < 500, (route.method, route.path, persona, response.text)
    by_persona: dict[str, list] = {}
    for method, path, scope, persona, status in wrong:
        by_persona.setdefault(persona, []).append(f"{method} {path} ({scope}) -> {status}")
    assert not wrong, {persona: (len(found), found[:8]) for persona, found in by_persona.items()}


def test_every_route_admits_api_clients_with_its_scope_and_refuses_those_without(suite):
    holding = {}  # scope -> a client holding exactly it; area -> a client holding every scope of the other areas
    for area in AREAS:
        for verb in ("read", "write"):
            scope = f"{area}:{verb}"
            holding[scope] = _client_key(suite, f"{area}-{verb}-{uuid.uuid4().hex[:6]}", [scope])
        others = [f"{other}:{verb}" for other in AREAS if other != area for verb in ("read", "write")]
        holding[area] = _client_key(suite, f"not-{area}-{uuid.uuid4().hex[:6]}", others)
    wrong = []
    for route in _scoped_routes(suite):
        area = route.scope.split(":", 1)[0]
        for label, key in (("with the scope", holding[route.scope]), ("without it", holding[area])):
            response = _edge_call(suite, route, api_key=key)
            if _edge_refused(response) != (label == "without it"):
                wrong.append((route.method, route.path, route.scope, label, response.status_code))
            assert response.status_code < 500, (route.method, route.path, label, response.text)
    assert not wrong, wrong
