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

from .conftest import TODAY_QUARTER

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
                                                          "dpa": {"ref": "DPA-9", "expires_on": "2027-12-31"}})
    if client.ok:
        made["API client"] = client.json()["client_id"]
        key = suite.call("POST", f"/clients/{made['API client']}/keys", "root", body={})
        if key.ok:
            made["API key"] = key.json()["key_id"]
    return made


def test_the_suite_makes_the_records_it_probes(hidden):
    made_by_the_suite = {"goal", "proposal", "commitment", "appeal", "data-subject request", "360 request",
                         "import job", "legal hold", "API client", "API key"}
    assert set(hidden) >= made_by_the_suite, sorted(made_by_the_suite - set(hidden))


def _survey_about_e1(suite) -> str:
    code = f"q{uuid.uuid4().hex[:6]}"
    body = {"subject_id": "E1", "questionnaire_code": code, "about": "Q4 launch",
            "reviewer_ids": ["E3", "E4", "E5"], "closes_on": (date(2026, 12, 3) + timedelta(days=14)).isoformat()}
    eventually(suite, "PUT", f"/feedback/questionnaires/{code}", "H1", {
        "title": "Project close", "questions": [{"code": "communication", "text": "沟通效率"}]})
    return str(eventually(suite, "POST", "/feedback/surveys", "M1", body)["id"])


def eventually(suite, method: str, path: str, subject: str, body) -> dict:
    """The answer once the service has caught up with the org directory (its read model fills from events)."""
    answers: list = []

    def attempt() -> bool:
        response = suite.call(method, path, subject, body=body)
        answers.append(response)
        return response.ok

    try:
        wait_for(attempt, timeout=15, message=f"{method} {path} as {subject}")
    except BaseException as exc:
        raise AssertionError(f"{method} {path} as {subject}: {answers[-1].status_code} {answers[-1].text}") from exc
    return answers[-1].json()


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
