"""IDOR probes on every id-taking route (issue 10 #8, #9), derived from the gateway's route table so that a new
route is probed, or refused a place, without anyone remembering to add it here.

Each route's first path parameter is classified below: a *record* whose existence a stranger may not know (a goal
in a private cycle, an appeal, a 360 request...) or an id *everyone may know exists* (a person, an org unit, a
library code), with the reason. A route with an unclassified parameter fails `test_every_id_taking_route_is_
classified` by name.

For every record route, called by a peer (E2) and by HR of another unit (H2) with a valid body generated from the
route's own OpenAPI schema (schemathesis, derandomized):
- a missing id is answered 4xx as a problem document, never 2xx or 5xx, and nothing changes;
- where the suite has such a record (E1's, in the running quarter), the existing-but-hidden id gets exactly what
  the missing one gets: the same status and the same problem, the id aside (404 for both: a 403 beside a 404
  confirms existence — "existence is not disclosed", docs/security.md).
"""
from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import date, timedelta

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode

from chassis.testing.plugin import wait_for
from gateway.api import PREFIX
from gateway.routes import build_routes, compliance, dashboard, feedback, goals, incentives, notifications
from gateway.settings import load_gateway_settings

from .conftest import TODAY_QUARTER, ReviewCycle, eventually

AREAS = {"goals": goals.routes(), "compliance": compliance.routes(), "dashboard": dashboard.routes(),
         "feedback": feedback.routes(), "notifications": notifications.routes(), "incentives": incentives.routes()}
SERVICE_OF = {(route.method, route.path): area for area, routes in AREAS.items() for route in routes}
ROUTE_TABLE = build_routes(load_gateway_settings({}), "test", None)  # what the gateway serves (meta included)
ID_ROUTES = [route for route in ROUTE_TABLE if route.params]
PROBERS = ("E2", "H2")  # a peer of the owner, and HR of another unit

# What a record route's first parameter names: the record kind (made below when the suite can make it). The
# patterns are anchored on the route's path.
RECORDS: dict[str, str] = {
    r"^/goals/\{(goal_id|parent_goal_id)\}": "goal",
    r"^/proposals/\{proposal_id\}": "proposal",
    r"^/commitments/\{commitment_id\}": "commitment",
    r"^/reviews/\{review_id\}": "goal status review",
    r"^/appeals/\{appeal_id\}": "appeal",
    r"^/privacy/requests/\{request_id\}": "data-subject request",
    r"^/holds/\{hold_id\}": "legal hold",
    r"^/imports/\{job_id\}": "import job",
    r"^/goals/imports/\{job_id\}": "goals import job",
    r"^/clients/\{client_id\}": "API client",
    r"^/api-keys/\{key_id\}": "API key",
    r"^/feedback/checkins/\{checkin_id\}": "check-in",
    r"^/feedback/key-events/\{key_event_id\}": "key event",
    r"^/feedback/surveys/\{(id|request_id)\}": "360 request",
    r"^/feedback/ratings/\{rating_id\}": "rating",
    r"^/webhooks/subscriptions/\{subscription_id\}": "webhook subscription",
    r"^/incentives/proposals/\{proposal_id\}": "incentive proposal",
    r"^/incentives/redemptions/\{redemption_id\}": "redemption",
    r"^/incentives/idps/\{plan_id\}": "development plan",
    r"^/incentives/nominations/\{nomination_id\}": "nomination",
    r"^/incentives/stars/\{star_id\}": "star",
}
# Ids whose existence is no secret to an authenticated employee, and why.
KNOWN_TO_ALL: dict[str, str] = {
    r"^/cycles/\{cycle_id\}": "goals cycles are company-wide periods (what a person may see inside is checked)",
    r"^/feedback/review-cycles/\{(id|cycle_id)\}": "review cycles are company-wide periods",
    r"^/(org-units|incentives/points-budgets)/\{org_unit_id\}": "the org chart is the directory everyone reads",
    r"^/(incentives/)?people/\{person_id\}": "people are in the directory everyone reads",
    r"^/(indicators|templates|presets|feedback/questionnaires|feedback/playbook|incentives/pools|"
    r"incentives/process-rules|incentives/rewards)/\{(code|tag|template_code)\}": "library codes chosen by HR",
    r"^/feedback/report-templates/\{team_id\}": "a team's report template, named by its lead's team id",
    r"^/feedback/customers/\{customer_id\}": "the sales team's customer list, shared within the team",
    r"^/feedback/coaching-notes/\{week\}": "a calendar week of the caller's own notes",
    r"^/notification-templates/\{kind\}": "message templates by event kind and language",
}


def classify(route) -> tuple[str, str] | None:
    for table, label in ((RECORDS, "record"), (KNOWN_TO_ALL, "known")):
        for pattern, what in table.items():
            if re.match(pattern, route.path):
                return label, what
    return None


RECORD_ROUTES = [route for route in ID_ROUTES if (classify(route) or ("", ""))[0] == "record"]


def route_id(route) -> str:
    return f"{route.method} {route.path}"


def test_every_id_taking_route_is_classified():
    unclassified = [route_id(route) for route in ID_ROUTES if classify(route) is None]
    assert not unclassified, f"say whether these ids name a record a stranger may not know of: {unclassified}"
    assert len(RECORD_ROUTES) >= 40


def test_the_served_route_table_is_the_probed_one(suite):
    served = {route_id(route) for route in suite.routes() if route.params}
    assert served == {route_id(route) for route in ID_ROUTES}


# -- making E1's records --------------------------------------------------------------------------------------

def _private_quarter(suite) -> str:
    cycle = suite.ok("POST", "/cycles", "H1", {**TODAY_QUARTER, "name": f"Q4 2026 private {uuid.uuid4().hex[:6]}",
                                                "visibility": "private"})
    suite.ok("POST", f"/cycles/{cycle['id']}/transitions", "H1", {"to": "open"})
    return cycle["id"]


@pytest.fixture(scope="module")
def hidden(suite) -> dict[str, str]:
    """Kind -> the id of one of E1's records that neither E2 nor H2 may know exists."""
    made: dict[str, str] = {}
    cycle_id = _private_quarter(suite)
    goal = eventually(suite, "POST", "/goals", "E1", {
        "cycle_id": cycle_id, "title": "Close 40 deals", "kind": "kpi", "owner": {"id": "E1"},
        "kpi": {"direction": ">=", "target": "40", "green": "36", "yellow": "28"}})
    made["goal"] = goal["id"]
    commitment = suite.call("POST", f"/goals/{goal['id']}/commitments", "M1",
                            body={"kind": "training", "description": "negotiation course"})
    if commitment.ok:
        made["commitment"] = commitment.json()["id"]
    proposal = suite.call("POST", "/proposals", "E1", body={
        "changes": [{"goal_id": goal["id"], "field": "target", "value": "35"}], "rationale": "market shrank"})
    if proposal.ok:
        made["proposal"] = proposal.json().get("proposal_id") or proposal.json()["id"]
    appeal = suite.call("POST", "/appeals", "E1", body={"target_kind": "goal_result", "target_ref": goal["id"],
                                                          "reasons": "the target moved mid-quarter"})
    if appeal.ok:
        made["appeal"] = appeal.json()["appeal_id"]
    export = suite.call("POST", "/privacy/exports", "E1", body={})
    if export.ok:
        made["data-subject request"] = export.json()["request_id"]
    made["360 request"] = _survey_about_e1(suite)
    # records of HR and the administrator: an import H1 runs on its own unit, a hold, a client and its key
    csv = base64.b64encode(b"person_id,name,org_unit_id,manager_id\nE5,E5,U2,M1\n").decode()
    job = suite.call("POST", "/imports", "H1", body={"filename": "sales.csv", "content_base64": csv,
                                                     "within_unit": "U2"})
    if job.ok:
        made["import job"] = job.json()["job_id"]
    hold = suite.call("POST", "/holds", "root", body={"reason": "litigation 2026-17", "subject": "E1"})
    if hold.ok:
        made["legal hold"] = hold.json()["hold_id"]
    client = suite.call("POST", "/clients", "root", body={"name": f"bi-{uuid.uuid4().hex[:6]}",
                                                          "scopes": ["goals:read"],
                                                          "event_patterns": ["jixiao.goals.*"],
                                                          "dpa": {"ref": "DPA-9", "expires_on": "2027-12-31"}})
    if client.ok:
        made["API client"] = client.json()["client_id"]
        key = suite.call("POST", f"/clients/{made['API client']}/keys", "root", body={})
        if key.ok:
            made["API key"] = key.json()["key_id"]
    # the rest of E1's quarter: each maker answers its record's id, or records why it could not
    makers = {"goal status review": lambda: _red_goal_review(suite, cycle_id),
              "goals import job": lambda: _goals_import(suite, cycle_id),
              "check-in": lambda: _checkin_of_e1(suite), "key event": lambda: _key_event_about_e1(suite),
              "webhook subscription": lambda: _subscription(suite, made.get("API client"))}
    for kind, make in makers.items():
        _make(made, kind, make)
    _make_many(made, "a rated quarter", lambda: _rated_quarter(suite))
    _make_many(made, "points and careers", lambda: _points_and_careers(suite))
    return made


FAILED: dict[str, str] = {}  # kind -> why the suite could not make it (reported by the test below)


def _make(made: dict[str, str], kind: str, make) -> None:
    try:
        made[kind] = str(make())
    except AssertionError as exc:
        FAILED[kind] = str(exc)[:600]


def _make_many(made: dict[str, str], what: str, make) -> None:
    try:
        made.update(make())
    except AssertionError as exc:
        FAILED[what] = str(exc)[:600]


def _red_goal_review(suite, cycle_id: str) -> str:
    """An OKR of E1's that started two months ago with nothing done: red at once, and its status review opens
    for M1."""
    goal = eventually(suite, "POST", "/goals", "E1", {
        "cycle_id": cycle_id, "title": "Win accounts", "kind": "okr", "owner": {"id": "E1"},
        "start_on": "2026-10-01", "due_on": "2026-12-31", "key_results": [{"title": "accounts", "target": "10"}]})
    assert goal["colour"] == "red", goal
    found: list[str] = []

    def opened() -> bool:
        page = suite.ok("GET", "/reviews?limit=200", "M1")
        found.extend(review["id"] for review in page["items"] if review["goal_id"] == goal["id"])
        return bool(found)

    wait_for(opened, timeout=15, message="the red goal's review")
    return found[0]


def _goals_import(suite, cycle_id: str) -> str:
    """H1's dry run of a goals sheet for E1 (a job of H1's: E2 and H2 may not know of it)."""
    rows = [["编号", "上级目标", "目标名称", "类型", "负责人", "部门", "权重", "关键结果", "目标值", "方向", "绿灯阈值",
             "黄灯阈值"], ["k1", "", "Close 30 deals", "KPI", "E1", "", "50", "", "30", ">=", "30", "25"]]
    content = base64.b64encode(("\n".join(",".join(row) for row in rows) + "\n").encode()).decode()
    return eventually(suite, "POST", "/goals/imports", "H1", {
        "kind": "goals", "cycle_id": cycle_id, "filename": "goals.csv", "content_base64": content})["job_id"]


def _checkin_of_e1(suite) -> str:
    page = eventually(suite, "POST", "/feedback/checkins/schedule", "H1", {"month": "2026-12", "manager_id": "M1"})
    return next(item["id"] for item in page["items"] if item["person_id"] == "E1")


def _key_event_about_e1(suite) -> str:
    return eventually(suite, "POST", "/feedback/key-events", "M1", {
        "person_id": "E1", "polarity": "negative", "title": "missed the demo", "occurred_on": "2026-12-01"})["id"]


def _subscription(suite, client_id: str | None) -> str:
    assert client_id, "no API client to subscribe"
    return eventually(suite, "POST", "/webhooks/subscriptions", "root", {
        "client_id": client_id, "url": "https://hooks.example.com/jixiao", "event_types": ["jixiao.goals.#"]},
    )["subscription_id"]


def _rated_quarter(suite) -> dict[str, str]:
    """E1 through a Q4 review cycle to a finalized rating; then what incentives makes of it: a bonus proposal
    from a Sales pool, and the development plan."""
    cycle = ReviewCycle(suite, ["E1"], name="Q4 2026 review (IDOR)")
    cycle.advance("self_review")
    cycle.self_review("E1", 4, 4)
    cycle.manager_review("M1", "E1", (4, 5), peers=[])
    cycle.advance("manager_review")
    cycle.advance("calibration")
    made = {"rating": cycle.ratings()["E1"]["id"]}
    cycle.advance("finalized")
    pool = f"sales_q4_{uuid.uuid4().hex[:6]}"
    eventually(suite, "PUT", f"/incentives/pools/{pool}", "H1", {
        "name": "Sales Q4 2026", "org_unit_id": "U2", "review_cycle_id": cycle.id, "starts_on": "2026-10-01",
        "ends_on": "2026-12-31", "budget": "100000", "default_base": "10000",
        "multipliers": {"S": "2", "A": "1.5", "B": "1", "C": "0.5", "D": "0"}})
    made["incentive proposal"] = eventually(suite, "POST", "/incentives/proposals", "M1",
                                            {"pool_code": pool, "person_id": "E1"})["id"]
    made["development plan"] = eventually(suite, "GET", "/incentives/people/E1/idp", "E1")["id"]
    return made


def _points_and_careers(suite) -> dict[str, str]:
    """Points funded, granted to E1 and redeemed by E1; E1 nominated for T3 and as the quarter's star."""
    eventually(suite, "POST", "/incentives/points-budgets/U2/fund", "H1", {"points": 100})
    suite.ok("POST", "/incentives/people/E1/points", "M1", {"points": 30, "reason": "demo day"})
    reward = f"leave_{uuid.uuid4().hex[:6]}"
    suite.ok("PUT", f"/incentives/rewards/{reward}", "H1", {"name": "Flexible leave", "cost": 10})
    made = {"redemption": suite.ok("POST", "/incentives/redemptions", "E1", {"reward_code": reward})["id"]}
    made["nomination"] = suite.ok("POST", "/incentives/nominations", "M1", {
        "person_id": "E1", "sequence": "technical", "target_level": "T3", "reason": "led the Q4 migration"})["id"]
    made["star"] = suite.ok("POST", "/incentives/stars", "M1", {
        "person_id": "E1", "quarter": "2026-Q4", "title": "The Q4 migration", "goal_path": "Close 40 deals",
        "learned": "ask early"})["id"]
    return made


def test_the_suite_makes_the_records_it_probes(hidden):
    made_by_the_suite = set(RECORDS.values())  # every kind of record a route takes
    missing = sorted(made_by_the_suite - set(hidden))
    assert not missing, f"not made: {missing}; why: " + "; ".join(f"{k}: {v}" for k, v in FAILED.items())


def _survey_about_e1(suite) -> str:
    code = f"q{uuid.uuid4().hex[:6]}"
    body = {"subject_id": "E1", "questionnaire_code": code, "about": "Q4 launch",
            "reviewer_ids": ["E3", "E4", "E5"], "closes_on": (date(2026, 12, 3) + timedelta(days=14)).isoformat()}
    eventually(suite, "PUT", f"/feedback/questionnaires/{code}", "H1", {
        "title": "Project close", "questions": [{"code": "communication", "text": "沟通效率"}]})
    return str(eventually(suite, "POST", "/feedback/surveys", "M1", body)["id"])


# -- the probes -----------------------------------------------------------------------------------------------

_CASES: dict[str, object] = {}


def _valid_case(schema, route):
    """A request the route's OpenAPI schema calls valid: the first one hypothesis draws (derandomized, not shrunk:
    the same one every run)."""
    if route_id(route) not in _CASES:
        operation = schema[PREFIX + route.path][route.method]
        drawn: list = []

        @hypothesis.given(operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        @hypothesis.settings(max_examples=1, derandomize=True, database=None, phases=[hypothesis.Phase.generate],
                             suppress_health_check=list(hypothesis.HealthCheck), deadline=None)
        def draw(case):
            drawn.append(case)

        draw()
        _CASES[route_id(route)] = drawn[0]
    return _CASES[route_id(route)]


def _probe(suite, case, route, record_id: str, subject: str):
    case.path_parameters = {**case.path_parameters, route.params[0]: record_id}
    headers = {"Authorization": f"Bearer {suite.token(subject)}"}
    if case.headers:
        for name in ("Authorization", "X-Api-Key", "If-Match", "If-None-Match"):
            case.headers.pop(name, None)
    if route.if_match_required:  # a version the record could have: the edge lets it through to the service
        headers["If-Match"] = '"1"'
    return case.call(base_url=suite.root, session=suite.session, headers=headers, timeout=15)


def _shape(response, record_id: str) -> tuple:
    """What an answer tells: its status and its problem, with the probed id taken out."""
    try:
        body = response.json()
    except ValueError:
        return response.status_code, response.text.replace(record_id, "<id>")
    if not isinstance(body, dict):
        return response.status_code, body
    text = json.dumps({k: v for k, v in body.items() if k not in ("correlation_id", "instance")}, sort_keys=True)
    return response.status_code, text.replace(record_id, "<id>")


@pytest.fixture(scope="module")
def schema(suite):
    return schemathesis.openapi.from_dict(suite.openapi())


@pytest.mark.parametrize("route", RECORD_ROUTES, ids=route_id)
def test_a_missing_record_is_a_4xx_problem_and_changes_nothing(suite, schema, route):
    case = _valid_case(schema, route)
    for subject in PROBERS:
        missing = str(uuid.uuid4())
        response = _probe(suite, case, route, missing, subject)
        assert 400 <= response.status_code < 500, (subject, response.status_code, response.text)
        assert response.headers["content-type"][0].startswith("application/problem+json"), response.text
        assert "Traceback" not in response.text


# Services that had not adopted "404 for a record the caller may not know exists" on a kind of record at the
# deadline: the probe stays, expected to fail until they do (strict: it reports when it starts passing).
NOT_ADOPTED: dict[str, str] = {}


def _hidden_cases():
    for route in RECORD_ROUTES:
        kind = classify(route)[1]
        service = SERVICE_OF.get((route.method, route.path), "gateway")
        marks = []
        if kind in NOT_ADOPTED:
            marks.append(pytest.mark.xfail(strict=True, reason=f"{NOT_ADOPTED[kind]}: 403 for an existing "
                                                                f"{kind} the caller may not know of"))
        yield pytest.param(route, kind, service, marks=marks, id=route_id(route))


@pytest.mark.parametrize(("route", "kind", "service"), list(_hidden_cases()))
def test_an_existing_hidden_record_is_answered_as_a_missing_one(suite, schema, hidden, route, kind, service):
    if kind not in hidden:
        pytest.skip(f"the suite makes no {kind} for the probe yet ({service})")
    case = _valid_case(schema, route)
    for subject in PROBERS:
        missing = str(uuid.uuid4())
        as_missing = _shape(_probe(suite, case, route, missing, subject), missing)
        as_existing = _shape(_probe(suite, case, route, hidden[kind], subject), hidden[kind])
        assert as_existing == as_missing, f"{service}: {subject} tells an existing {kind} from a missing one"
        assert as_existing[0] != 200 and as_existing[0] < 500
