"""Feedback over HTTP, against the real feedback, goals and compliance services: the routes forward to the
service, bad input is a 4xx naming the field, the "my team" dashboard gains the feedback sections, and an
anonymous 360 answer's reviewer appears in no response of any feedback route the subject's side can call."""
from __future__ import annotations

import json

import pytest

from chassis.testing.plugin import wait_for

from .conftest import FAST, seed_and_wait

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
    return seed_and_wait(containers, keys)


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
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "request_id"  # a state: 422
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
    assert closed.status_code == 422 and closed.json()["errors"][0]["field"] == "period"  # closed: a state
    assert _ok(e1.post("/api/v1/feedback/reports", {"kind": "weekly", "period": "2026-W49", "done": "demo"}))[
        "period"] == "2026-W49"
    # the manager's dashboard gains the feedback sections
    cycle = _ok(hr.post("/api/v1/cycles", {"name": "FY", "period": "year", "year": 2026}), 201)
    board = _ok(mgr.get("/api/v1/dashboard/my-team", cycle_id=cycle["id"]))
    for section in ("checkins_due", "missing_reports", "zero_activity", "coaching_cadence"):
        assert board[section]["status"] == "ok", board[section]
    assert set(board["missing_reports"]["data"]["people"]) == {"E1", "E2"}
    assert board["coaching_cadence"]["data"]["below_standard"] is True


FORMULA = {"expression": "manager * 0.7 + self * 0.3",
           "components": [{"name": "manager", "weight": "0.7", "required": True}, {"name": "self", "weight": "0.3"}],
           "scale": {"low": 1, "high": 5, "bands": [{"label": "S", "min": "4.5"}, {"label": "A", "min": "3.75"},
                                                    {"label": "B", "min": "2.75"}, {"label": "C", "min": "2"},
                                                    {"label": "D", "min": "1"}]}}


def test_a_review_cycle_from_open_to_published_and_an_amended_appeal_reaches_the_rating(feedback_stack):
    """Year-end 2026 over HTTP: HR opens the cycle, E1 reviews themself, M1 reviews both, HR calibrates (If-Match),
    finalizes and publishes; E2 appeals through compliance (which asks feedback whether the rating is E2's), HR
    amends it, and feedback applies it as a new version with the appeal as its reason (RatingAmended)."""
    from sqlalchemy import create_engine, text

    s = feedback_stack
    hr, mgr, e1, e2 = (s.as_(p) for p in ("H1", "M1", "E1", "E2"))
    cycle = _ok(_until_known(hr, "/api/v1/feedback/review-cycles", {
        "goals_cycle_id": "FY2026", "name": "Year-end 2026", "formula": FORMULA, "people": ["E1", "E2"],
        "deadlines": {"self_review": "2026-12-20", "manager_review": "2026-12-28"}}), 201)
    base = f"/api/v1/feedback/review-cycles/{cycle['id']}"

    def advance(stage):
        return _ok(hr.post(base + "/advance", {"to_stage": stage}))

    skipped = hr.post(base + "/advance", {"to_stage": "manager_review"})
    assert skipped.status_code == 422 and skipped.json()["errors"][0]["field"] == "to_stage"
    advance("self_review")
    assert _ok(e1.put(base + "/self-review", {"items": [{"code": "g1", "score": "4", "comment": "shipped"}]}))[
        "state"] == "self_submitted"
    advance("manager_review")
    off = mgr.put(base + "/reviews/E2/manager-review", {"items": [{"code": "g1", "score": "9"}]})
    assert off.status_code == 422 and off.json()["errors"][0]["field"] == "items[0].score"  # the cycle's scale
    for person, score in (("E1", "4"), ("E2", "3")):
        _ok(mgr.put(base + f"/reviews/{person}/manager-review", {"items": [{"code": "g1", "score": score}]}))
    advance("calibration")
    ratings = {r["person_id"]: r for r in _ok(hr.get(base + "/calibration"))["items"]}
    assert {p: r["label"] for p, r in ratings.items()} == {"E1": "A", "E2": "B"}  # E2: no self review, not dragged
    rid = ratings["E2"]["id"]
    change = {"label": "C", "reason": "calibrated against the unit"}
    stale = hr.post(f"/api/v1/feedback/ratings/{rid}/adjustments", change, headers={"If-Match": '"7"'})
    assert stale.status_code == 409, stale.text
    adjusted = _ok(hr.post(f"/api/v1/feedback/ratings/{rid}/adjustments", change, headers={"If-Match": '"1"'}))
    assert (adjusted["label"], adjusted["version"]) == ("C", 2)
    advance("finalized")
    advance("published")
    mine = _ok(e2.get(base + "/review"))
    assert mine["rating"]["label"] == "C" and [c["name"] for c in mine["rating"]["components"]] == ["manager", "self"]
    _ok(e2.post(base + "/acknowledgement", {}))

    # the appeal: compliance asks feedback whether the rating exists and is the appellant's
    others = e1.post("/api/v1/appeals", {"target_kind": "rating", "target_ref": rid, "reasons": "not mine"})
    assert others.status_code == 422, others.text
    appeal = _ok(e2.post("/api/v1/appeals", {"target_kind": "rating", "target_ref": rid,
                                              "reasons": "the key account win is missing"}), 201)
    _ok(hr.post(f"/api/v1/appeals/{appeal['appeal_id']}/decision", {
        "outcome": "amended", "reason": "key account win confirmed", "amendment": {"label": "B"}}))
    wait_for(lambda: _ok(e2.get(base + "/review"))["rating"]["label"] == "B", message="the amendment applied")
    history = _ok(e2.get(base + "/review"))["rating"]["history"]
    assert [(h["kind"], h["label"]) for h in history] == [("computed", "B"), ("calibration", "C"),
                                                          ("amendment", "B")]
    assert history[-1]["appeal_id"] == appeal["appeal_id"] and history[-1]["reason"] == "key account win confirmed"
    engine = create_engine(s.containers["feedback"].config["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            bodies = [json.loads(b) for b in conn.execute(text(
                "select body from chassis_outbox where event_type = 'jixiao.feedback.rating.amended.v1'")).scalars()]
    finally:
        engine.dispose()
    assert [(b["data"]["label"], b["data"]["previous_label"], b["data"]["version"]) for b in bodies] == [
        ("B", "C", 3)]
