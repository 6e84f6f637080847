"""Feedback over HTTP, against the real feedback, goals and compliance services: the routes forward to the
service, bad input is a 4xx naming the field, the "my team" dashboard gains the feedback sections, and an
anonymous 360 answer's reviewer appears in no response of any feedback route the subject's side can call."""
from __future__ import annotations

import json

import pytest

from chassis.testing.plugin import wait_for

from .conftest import FAST, ORG_PEOPLE, Client, Seeded, seed_org

PEOPLE = {"M1", "E1", "E2", "H1", "A1"}


@pytest.fixture
def feedback_stack(pg_database, gateway_config, run_services, keys):
    from compliance.service import ComplianceService
    from feedback.service import FeedbackService
    from gateway.service import GatewayService
    from goals.service import GoalsService

    containers = run_services({
        ComplianceService: {"DATABASE_URL": pg_database("compliance"), "BOOTSTRAP_ADMINS": "root",
                            "DSR_SERVICES": "goals,feedback", "DSR_TIMEOUT": 3.0},
        GoalsService: {"DATABASE_URL": pg_database("goals")},
        FeedbackService: {"DATABASE_URL": pg_database("feedback")},
        GatewayService: {**gateway_config, "BOOTSTRAP_ADMINS": "root"},
    }, **FAST)
    seed_org(Client(containers["gateway"], keys.token("root")))
    for person_id, *_ in ORG_PEOPLE:
        wait_for(lambda p=person_id: Client(containers["gateway"], keys.token(p)).get("/api/v1/me").status_code
                 == 200, message=f"the gateway knows {person_id}")
    return Seeded(containers, keys)


def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def _until_known(client, path, body):
    """The feedback service learns the directory from compliance's events: retry while it has not yet."""
    found = {}

    def attempt():
        response = client.post(path, body)
        found["r"] = response
        return response.status_code not in (403,)
    wait_for(attempt, message="feedback knows the directory")
    return found["r"]


def test_feedback_routes_anonymous_360_and_the_dashboard(feedback_stack):
    s = feedback_stack
    hr, mgr, e1, e2, a1 = (s.as_(p) for p in ("H1", "M1", "E1", "E2", "A1"))
    _ok(s.as_("root").put("/api/v1/feedback/questionnaires/light", {"title": "Light", "questions": [
        {"code": "communication", "text": "沟通效率"}, {"code": "support", "text": "专业支持"}]}))
    # M1 asks E2, H1 and A1 about E1 after the project
    opened = _until_known(mgr, "/api/v1/feedback/surveys", {
        "subject_id": "E1", "questionnaire_code": "light", "about": "Q4 launch",
        "reviewer_ids": ["E2", "H1", "A1"], "closes_on": "2026-12-20"})
    survey = _ok(opened, 201)
    bad = mgr.post("/api/v1/feedback/surveys", {"subject_id": "E1", "questionnaire_code": "light", "about": "x",
                                                "reviewer_ids": ["E2"], "threshold": 2, "closes_on": "2026-12-20"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "threshold"
    seen = []
    for who in (e2, hr, a1):
        seen.append(_ok(who.post(f"/api/v1/feedback/surveys/{survey['id']}/answers",
                                 {"scores": {"communication": 4, "support": 5}, "comment": "好搭档"}), 201))
    twice = e2.post(f"/api/v1/feedback/surveys/{survey['id']}/answers", {"scores": {"communication": 1, "support": 1}})
    assert twice.status_code == 400 and twice.json()["errors"][0]["field"] == "request_id"
    # everything the subject's side reads: the request, the closed request, their key events, their export
    seen.append(_ok(e1.get(f"/api/v1/feedback/surveys/{survey['id']}")))
    seen.append(_ok(mgr.get(f"/api/v1/feedback/surveys/{survey['id']}")))
    seen.append(_ok(mgr.post(f"/api/v1/feedback/surveys/{survey['id']}/close", {})))
    seen.append(_ok(e1.get("/api/v1/feedback/key-events", person_id="E1")))
    assert seen[-2]["released"] and seen[-2]["answered"] == 3
    text = json.dumps(seen, ensure_ascii=False)
    for reviewer in ("E2", "H1", "A1"):
        assert f'"{reviewer}"' not in text

    # bad input names the field; a closed report period writes nothing
    closed = e1.post("/api/v1/feedback/reports", {"kind": "weekly", "period": "2026-W40", "done": "late"})
    assert closed.status_code == 400 and closed.json()["errors"][0]["field"] == "period"
    assert _ok(e1.post("/api/v1/feedback/reports", {"kind": "weekly", "period": "2026-W49", "done": "demo"}))[
        "period"] == "2026-W49"
    # the manager's dashboard gains the feedback sections
    cycle = _ok(hr.post("/api/v1/cycles", {"name": "FY", "period": "year", "year": 2026}), 201)
    board = _ok(mgr.get("/api/v1/dashboard/my-team", cycle_id=cycle["id"]))
    for section in ("checkins_due", "missing_reports", "zero_activity", "coaching_cadence"):
        assert board[section]["status"] == "ok", board[section]
    assert set(board["missing_reports"]["data"]["people"]) == {"E1", "E2"}
    assert board["coaching_cadence"]["data"]["below_standard"] is True
