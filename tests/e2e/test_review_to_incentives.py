"""Issue 12 end to end, through the gateway only: a year-end review over the goals cycle running now (2026) for a
small sales org, from open to published; the employee appeals the rating through compliance, HR amends it, the
rating gets a new version with the appeal as its reason, and incentives' bonus proposal and development plan follow
— each rating version paid once, even when the broker delivers the rating events again.

Everything a person does is an HTTP call with an RS256 token, as the gateway tests sign them; the services run on
this test's RabbitMQ vhost and PostgreSQL databases. The only thing done behind the gateway is the fault: the
rating events are published again exactly as feedback's outbox relay sends them (same envelope id, signed), which
is what a relay that crashed between publishing and marking a row sent does."""
from __future__ import annotations

import json
import time
from decimal import Decimal

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import create_engine, text

from chassis.amqp import ConfirmingPublisher, OutgoingMessage, events_exchange
from chassis.testing.plugin import wait_for, wait_for_directory
from chassis.testing.services import http_port

ISSUER, AUDIENCE = "https://idp.e2e.jixiao.dev", "jixiao-e2e"
FAST = {"EVENT_RETRY_DELAYS": [0.05, 0.1], "OUTBOX_POLL_INTERVAL": 0.1}

# Company (U1) ── Sales (U2): D1 heads sales under the company; M1 (grade M3) manages E1 and E2 (P2) and reports to
# D1; H1 is HR and B1 the HRBP of the company (so of Sales too).
UNITS = [("U1", "Company", None), ("U2", "Sales", "U1")]
PEOPLE = [("D1", "Sales director", "U2", None, "M4"), ("M1", "Sales manager", "U2", "D1", "M3"),
          ("E1", "Account executive one", "U2", "M1", "P2"), ("E2", "Account executive two", "U2", "M1", "P2"),
          ("H1", "HR", "U1", None, "P4"), ("B1", "HRBP", "U1", None, "P4")]
GRANTS = {"H1": [{"role": "hr", "org_unit_id": "U1"}], "B1": [{"role": "hrbp", "org_unit_id": "U1"}]}
FORMULA = {"expression": "manager * 0.7 + self * 0.3",
           "components": [{"name": "manager", "weight": "0.7", "required": True}, {"name": "self", "weight": "0.3"}],
           "scale": {"low": 1, "high": 5, "bands": [{"label": "S", "min": "4.5"}, {"label": "A", "min": "3.75"},
                                                    {"label": "B", "min": "2.75"}, {"label": "C", "min": "2"},
                                                    {"label": "D", "min": "1"}]}}
MULTIPLIERS = {"S": "2", "A": "1.5", "B": "1", "C": "0.5", "D": "0"}
BASE = Decimal("20000")


class Http:
    """One person's HTTP client to the gateway, with their bearer token."""

    def __init__(self, port: int, token: str):
        self.base, self.session = f"http://127.0.0.1:{port}/api/v1", requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def send(self, method: str, path: str, body=None, if_match: str | None = None, **query) -> requests.Response:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if if_match is not None:
            headers["If-Match"] = if_match
        return self.session.request(method, self.base + path, params=query or None, timeout=20, headers=headers,
                                    data=None if body is None else json.dumps(body))

    def call(self, method: str, path: str, body=None, expect: int = 200, if_match: str | None = None, **query):
        response = self.send(method, path, body, if_match, **query)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def get(self, path, expect=200, **query):
        return self.call("GET", path, expect=expect, **query)

    def post(self, path, body, expect=200, if_match=None):
        return self.call("POST", path, body, expect=expect, if_match=if_match)

    def put(self, path, body, expect=200):
        return self.call("PUT", path, body, expect=expect)


@pytest.fixture
def suite(pg_database, run_services):
    """compliance, goals, feedback, incentives and the gateway; the org created through the gateway by `root`."""
    from compliance.service import ComplianceService
    from feedback.service import FeedbackService
    from gateway.service import GatewayService
    from goals.service import GoalsService
    from incentives.service import IncentivesService

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    containers = run_services({
        ComplianceService: {"DATABASE_URL": pg_database("compliance"), "BOOTSTRAP_ADMINS": "root"},
        GoalsService: {"DATABASE_URL": pg_database("goals")},
        FeedbackService: {"DATABASE_URL": pg_database("feedback")},
        IncentivesService: {"DATABASE_URL": pg_database("incentives")},
        GatewayService: {"DATABASE_URL": pg_database("gateway"), "BOOTSTRAP_ADMINS": "root",
                         "JWT_PUBLIC_KEYS": public, "JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE,
                         "ENVIRONMENT": "test", "ACTOR_CACHE_SECONDS": 0.2, "AUTH_FAILURES_PER_MINUTE": 6000,
                         "RPC_TIMEOUT": 5},
    }, **FAST)
    port = http_port(containers["gateway"])

    def as_(subject: str) -> Http:
        now = int(time.time())
        return Http(port, jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now,
                                      "exp": now + 900}, key, algorithm="RS256"))

    root = as_("root")
    for unit, name, parent in UNITS:
        root.put(f"/org-units/{unit}", {"name": name, "parent_id": parent})
    for person, name, unit, manager, grade in PEOPLE:
        root.put(f"/people/{person}", {"name": name, "org_unit_id": unit, "manager_id": manager, "grade": grade})
    for subject, grants in GRANTS.items():
        root.put(f"/people/{subject}/grants", {"grants": grants})
    people = {person: as_(person) for person, *_ in PEOPLE}
    for person, client in people.items():
        wait_for(lambda c=client: c.send("GET", "/me").status_code == 200, message=f"the gateway knows {person}")
    # and every service has the grants too: HR's first call goes to goals (org events arrive in batches)
    wait_for_directory(containers, people=[p for p, *_ in PEOPLE], grant_subjects=GRANTS)
    return containers, people


def until(client: Http, method: str, path: str, body, expect: int, what: str):
    """A service learns the directory from compliance's events: retry while it does not know the people yet."""
    found = {}

    def attempt():
        response = found["response"] = client.send(method, path, body)
        return response.status_code == expect or response.status_code not in (403, 404, 422)
    wait_for(attempt, message=what)
    response = found["response"]
    assert response.status_code == expect, f"{what}: {response.status_code} {response.text}"
    return response.json()


def outbox(container, event_type: str) -> list[tuple[str, str, str]]:
    """(event id, body, headers) of a service's outbox rows of one type, as its relay publishes them."""
    engine = create_engine(container.config["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(
                "select event_id, body, headers from chassis_outbox where event_type = :type order by seq"),
                {"type": event_type})]
    finally:
        engine.dispose()


def redeliver(amqp_uri: str, event_type: str, rows) -> None:
    """Publish the same envelopes again on feedback.events (signed with feedback's key, as the relay does)."""
    publisher = ConfirmingPublisher(amqp_uri, declare=[events_exchange("feedback")])
    try:
        for event_id, body, headers in rows:
            publisher.publish(OutgoingMessage("feedback.events", event_type, body, json.loads(headers or "{}"),
                                              message_id=event_id, type=event_type))
    finally:
        publisher.close()


def duplicates_absorbed(container) -> float:
    """How many events a service's consumers recognised as already handled (its /metrics, by the inbox)."""
    body = requests.get(f"http://127.0.0.1:{http_port(container)}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
               if line.startswith("jixiao_events_consumed_total{") and 'outcome="duplicate"' in line)


def test_a_rating_appealed_and_amended_reaches_the_bonus_proposal_and_the_plan_once(suite, amqp_uri):
    containers, people = suite
    hr, hrbp, mgr, e1, e2 = (people[p] for p in ("H1", "B1", "M1", "E1", "E2"))

    # the goals cycle running now (2026, today is in December), open, with E2's goal for the year
    year = hr.post("/cycles", {"name": "FY2026", "period": "year", "year": 2026}, expect=201)
    hr.post(f"/cycles/{year['id']}/transitions", {"to": "open"})
    goal = until(mgr, "POST", "/goals", {
        "cycle_id": year["id"], "title": "New key accounts", "kind": "kpi", "owner": {"id": "E2"}, "weight": "100",
        "kpi": {"direction": ">=", "target": "12", "green": "12", "yellow": "9"}}, 201, "goals knows the line")

    # HR opens the year-end review over it (the formula pinned; ratings approved by grade)
    cycle = until(hr, "POST", "/feedback/review-cycles", {
        "goals_cycle_id": year["id"], "name": "Year-end 2026", "formula": FORMULA, "people": ["E1", "E2"],
        "grades": {"E1": "P2", "E2": "P2"}, "approval_table": {"M>=3": ["skip_level", "hrbp"], "*": ["hrbp"]},
        "deadlines": {"self_review": "2026-12-14", "manager_review": "2026-12-21", "calibration": "2026-12-28"}},
        201, "feedback knows the directory")
    assert cycle["goals_cycle_id"] == year["id"] and cycle["stage"] == "draft"
    base = f"/feedback/review-cycles/{cycle['id']}"
    # incentives' pool for Sales pays this review cycle's ratings
    pool = until(hr, "PUT", "/incentives/pools/sales_fy2026", {
        "name": "Sales FY2026", "org_unit_id": "U2", "review_cycle_id": cycle["id"], "starts_on": "2026-01-01",
        "ends_on": "2026-12-31", "budget": "100000", "multipliers": MULTIPLIERS, "default_base": str(BASE)},
        200, "incentives knows the directory")
    assert pool["review_cycle_id"] == cycle["id"]

    def advance(stage):
        assert hr.post(base + "/advance", {"to_stage": stage})["stage"] == stage

    advance("self_review")
    e1.put(base + "/self-review", {"items": [{"code": goal["id"], "score": "4", "comment": "two big logos"}]})
    e2.put(base + "/self-review", {"items": [{"code": goal["id"], "score": "4", "comment": "the key account"}]})
    advance("manager_review")
    form = mgr.get(base + "/review", person_id="E2")  # the review form shows the goal from the running cycle
    assert [(g["id"], g["title"]) for g in form["goals"]] == [(goal["id"], "New key accounts")], form
    off_scale = mgr.put(base + "/reviews/E2/manager-review", {"items": [{"code": goal["id"], "score": "9"}]},
                        expect=422)  # the cycle's scale: a rule the OpenAPI cannot state
    assert off_scale["errors"][0]["field"] == "items[0].score"
    assert mgr.get(base + "/review", person_id="E2")["manager_review"] is None  # nothing written
    mgr.put(base + "/reviews/E1/manager-review", {"items": [{"code": goal["id"], "score": "4"}]})
    mgr.put(base + "/reviews/E2/manager-review", {"items": [{"code": goal["id"], "score": "3"}]})
    advance("calibration")
    ratings = {r["person_id"]: r for r in hr.get(base + "/calibration")["items"]}
    assert {p: (r["label"], Decimal(r["score"])) for p, r in ratings.items()} == {
        "E1": ("A", Decimal("4")), "E2": ("B", Decimal("3.3"))}
    rid = ratings["E2"]["id"]
    change = {"label": "C", "reason": "calibrated against the Sales unit"}
    assert hr.post(f"/feedback/ratings/{rid}/adjustments", change, expect=409, if_match='"7"')["errors"][0][
        "field"] == "expected_version"
    hr.post(f"/feedback/ratings/{rid}/adjustments", change, if_match='"1"')
    current = {r["person_id"]: r for r in hr.get(base + "/calibration")["items"]}["E2"]
    assert (current["label"], current["version"]) == ("C", 2)
    for rating in (ratings["E1"], current):  # approval by grade (P2): the HRBP of the unit approves
        assert rating["waiting_for"] == "B1", rating
        hrbp.post(f"/feedback/ratings/{rating['id']}/decision", {"decision": "approve"})
    advance("finalized")
    advance("published")

    mine = e2.get(base + "/review")
    assert (mine["rating"]["label"], mine["rating"]["version"]) == ("C", 2)

    # incentives' input: the bonus proposal from the finalized C (multiplier 0.5) and an improvement plan
    def proposals():
        return hrbp.get("/incentives/proposals", person_id="E2")["items"]

    wait_for(lambda: len(proposals()) == 1, message="incentives proposes E2's bonus from the finalized rating")
    [first] = proposals()
    assert (first["rating_id"], first["rating_version"], first["rating_label"], Decimal(first["total"])) == (
        rid, 2, "C", BASE * Decimal("0.5"))
    plan = e2.get("/incentives/people/E2/idp")
    assert (plan["track"], plan["rating_label"], plan["version"]) == ("improvement", "C", 1)

    # the appeal: compliance asks feedback whether the rating is the appellant's own
    foreign = e1.post("/appeals", {"target_kind": "rating", "target_ref": rid, "reasons": "not mine"}, expect=422)
    assert foreign["errors"][0]["field"] == "target_ref"
    appeal = e2.post("/appeals", {"target_kind": "rating", "target_ref": rid,
                                  "reasons": "the Q4 key account win is missing"}, expect=201)
    hr.post(f"/appeals/{appeal['appeal_id']}/decision", {
        "outcome": "amended", "reason": "key account win confirmed", "amendment": {"label": "B"}})

    wait_for(lambda: e2.get(base + "/review")["rating"]["label"] == "B", message="feedback applies the amendment")
    rating = e2.get(base + "/review")["rating"]
    assert rating["version"] == 3
    assert [(h["version"], h["kind"], h["label"]) for h in rating["history"]] == [
        (1, "computed", "B"), (2, "calibration", "C"), (3, "amendment", "B")]
    assert (rating["history"][-1]["appeal_id"], rating["history"][-1]["reason"]) == (
        appeal["appeal_id"], "key account win confirmed")

    # incentives follows: a new proposal version for rating version 3 (B: multiplier 1), the old one superseded
    wait_for(lambda: len(proposals()) == 2, message="incentives re-proposes from the amended rating")
    by_version = {p["version"]: p for p in proposals()}
    assert (by_version[1]["status"], by_version[1]["rating_label"], Decimal(by_version[1]["total"])) == (
        "superseded", "C", BASE * Decimal("0.5"))
    second = by_version[2]
    assert (second["rating_version"], second["rating_label"], Decimal(second["total"])) == (3, "B", BASE)
    plan = e2.get("/incentives/people/E2/idp")  # checked last: redelivery must not change it either

    # the bonus is approved along its chain by grade (P2: the direct manager, then the HRBP) and counts once
    assert [(a["step"], a["person_id"]) for a in second["approvers"]] == [("direct_manager", "M1"), ("hrbp", "B1")]
    assert mgr.post(f"/incentives/proposals/{second['id']}/approve", {"reason": "key account"})["status"] == "pending"
    assert hrbp.post(f"/incentives/proposals/{second['id']}/approve", {"reason": "ok"})["status"] == "approved"
    assert Decimal(hr.get("/incentives/pools/sales_fy2026")["approved"]) == BASE

    # the broker delivers every rating event again: nothing is proposed, planned or paid twice
    feedback = containers["feedback"]
    finalized = outbox(feedback, "jixiao.feedback.rating.finalized.v1")
    amended = outbox(feedback, "jixiao.feedback.rating.amended.v1")
    assert len(finalized) == 2 and len(amended) == 1  # E1's and E2's; E2's one amendment
    duplicates = duplicates_absorbed(containers["incentives"])
    redeliver(amqp_uri, "jixiao.feedback.rating.finalized.v1", finalized)
    redeliver(amqp_uri, "jixiao.feedback.rating.amended.v1", amended)
    wait_for(lambda: duplicates_absorbed(containers["incentives"]) >= duplicates + 3,
             message="incentives received the three rating events again (and its inbox absorbed them)")
    assert [(p["version"], p["status"]) for p in sorted(proposals(), key=lambda p: p["version"])] == [
        (1, "superseded"), (2, "approved")]
    assert Decimal(hr.get("/incentives/pools/sales_fy2026")["approved"]) == BASE
    assert e2.get("/incentives/people/E2/idp") == plan
    assert len(outbox(feedback, "jixiao.feedback.rating.amended.v1")) == 1  # feedback applied the appeal once
    # the development plan follows the amended rating too (issue 12: "incentives/IDP follow")
    assert (plan["rating_label"], plan["version"]) == ("B", 2), plan
