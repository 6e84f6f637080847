"""Over RabbitMQ + PostgreSQL, what only the running service shows: RPC errors as problem documents naming the
field, the outbox's envelopes, the org and erasure events from compliance, and the 360's anonymity through every
RPC, event and the subject's data export."""
from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

from chassis.amqp import OutgoingMessage
from chassis.testing.plugin import wait_for
from contracts import Envelope
from contracts.compliance import ErasureRequested


def _company(s, uid):
    p = {k: f"{uid}-{k}" for k in ("mgr", "subj", "r1", "r2", "r3", "r4", "hr", "out")}
    s.org(units=[(f"{uid}-co", None)],
          people=[(p["mgr"], f"{uid}-co", None), (p["hr"], f"{uid}-co", None), (p["out"], f"{uid}-co", None)]
          + [(p[k], f"{uid}-co", p["mgr"]) for k in ("subj", "r1", "r2", "r3", "r4")],
          grants={p["hr"]: [("hr", f"{uid}-co")]})
    return p


def test_the_360_reviewer_is_named_in_no_response_event_or_export(feedback_service, uid):
    s = feedback_service
    p = _company(s, uid)
    hr, mgr, subject = s.as_(p["hr"]), s.as_(p["mgr"]), s.as_(p["subj"])
    hr.save_questionnaire({"code": f"q{uid}", "title": "Light", "questions": [
        {"code": "communication", "text": "沟通效率"}, {"code": "support", "text": "专业支持"}]})
    opened = mgr.open_survey({"subject_id": p["subj"], "questionnaire_code": f"q{uid}", "about": "Q4 launch",
                              "reviewer_ids": [p["r1"], p["r2"], p["r3"], p["r4"]],
                              "closes_on": (date(2026, 12, 2) + timedelta(days=14)).isoformat()})
    reviewers = [p["r1"], p["r2"], p["r3"]]
    responses = [opened]
    for i, who in enumerate(reviewers):
        responses.append(s.as_(who).answer_survey({"request_id": opened["id"], "comment": f"comment {i}",
                                                   "scores": {"communication": 3 + i % 2, "support": 4}}))
    # not invited (and outside the subject's line: the 404 of a missing request) / twice: 4xx naming the field,
    # nothing written
    stranger = s.fails(s.as_(p["out"]).answer_survey, {"request_id": opened["id"],
                                                       "scores": {"communication": 1, "support": 1}})
    assert stranger.status == 404 and stranger.errors[0]["field"] == "request_id"
    twice = s.fails(s.as_(p["r1"]).answer_survey, {"request_id": opened["id"],
                                                   "scores": {"communication": 1, "support": 1}})
    assert twice.status == 400 and twice.errors[0]["field"] == "request_id"
    assert s.scalar("select count(*) from survey_answers where survey_id = :i", i=opened["id"]) == 3
    view = subject.get_survey({"id": opened["id"]})
    assert view["released"] and view["answered"] == 3
    responses += [view, mgr.close_survey({"request_id": opened["id"]}),
                  subject.export_subject_data({"request_id": "r1", "subject": p["subj"]})]
    wait_for(lambda: s.outbox(".survey.closed.v1"), message="close event")
    events = [e for e in s.outbox() if e["type"].startswith("jixiao.feedback.")]
    text = json.dumps([responses, events], ensure_ascii=False)
    for reviewer in [*reviewers, p["r4"]]:
        assert reviewer not in text, f"{reviewer} leaked"
    # the audit side keeps only a keyed pseudonym of who answered, as the event and as its envelope's actor
    answered = [e for e in events if e["type"] == "jixiao.feedback.survey.answered.v1"]
    assert len(answered) == 3 and len({e["data"]["reviewer_pseudonym"] for e in answered}) == 3
    assert all(e["actor"]["subject"] == "pseudonym:" + e["data"]["reviewer_pseudonym"] for e in answered)
    assert s.scalar("select count(*) from survey_answers where pseudonym like :r", r=f"%{uid}%") == 0


def test_bad_input_over_rpc_names_the_field_and_writes_nothing(feedback_service, uid):
    s = feedback_service
    p = _company(s, uid)
    rep = s.as_(p["r1"])
    rep.register_customer({"customer_id": f"{uid}-acme", "name": "ACME", "latitude": "31.23", "longitude": "121.47"})
    bad = s.fails(rep.record_visit, {"customer_id": f"{uid}-acme", "visited_at": "2026-12-01T10:00:00Z",
                                     "check_in": {"latitude": "95", "longitude": "121", "accuracy_m": "5"}})
    assert bad.status == 400 and bad.errors[0]["field"] == "check_in.latitude"
    future = s.fails(rep.record_visit, {"customer_id": f"{uid}-acme", "visited_at": "2031-01-01T10:00:00Z"})
    assert future.status == 400 and future.errors[0]["field"] == "visited_at"
    closed = s.fails(rep.submit_report, {"period": "2026-W40", "done": "late"})
    assert closed.status == 400 and closed.errors[0]["field"] == "period"
    other = s.fails(s.as_(p["out"]).schedule_checkins, {"month": "2026-12", "manager_id": p["mgr"]})
    assert other.status == 403 and other.errors[0]["field"] == "manager_id"
    assert s.scalar("select count(*) from visits where person_id = :p", p=p["r1"]) == 0
    assert s.scalar("select count(*) from reports where person_id = :p", p=p["r1"]) == 0
    assert s.scalar("select count(*) from checkins where manager_id = :p", p=p["mgr"]) == 0


def test_export_and_erasure_on_request(feedback_service, uid):
    s = feedback_service
    p = _company(s, uid)
    mgr, rep = s.as_(p["mgr"]), s.as_(p["r2"])
    rep.submit_report({"period": "2026-W49", "done": "demo for ACME", "blockers": ["my mother was ill"]})
    mgr.record_key_event({"person_id": p["r2"], "polarity": "positive", "title": "helped a newcomer",
                          "occurred_on": "2026-12-01"})
    mgr.record_coaching({"person_id": p["r2"], "on": "2026-12-01", "minutes": 30, "topic": "pipeline"})
    assert s.fails(s.as_(p["out"]).export_subject_data, {"request_id": "x", "subject": p["r2"]}).status == 403
    export = rep.export_subject_data({"request_id": "x", "subject": p["r2"]})
    assert export["service"] == "feedback" and len(export["records"]["reports"]) == 1
    assert len(export["records"]["key_events"]) == 1 and len(export["records"]["coaching_touches"]) == 1
    pseudonym = f"anon-{uuid.uuid4().hex[:8]}"
    envelope = Envelope.wrap(ErasureRequested(request_id=f"dsr-{uid}", person_id=p["r2"], pseudonym=pseudonym,
                                              services=["feedback"]))
    for _ in range(2):  # redelivery changes nothing
        s._publisher.publish(OutgoingMessage("compliance.events", envelope.type, envelope.model_dump_json()))
    wait_for(lambda: [e for e in s.outbox(".erasure.completed.v1") if e["data"]["request_id"] == f"dsr-{uid}"],
             message="erasure answered")
    assert len([e for e in s.outbox(".erasure.completed.v1") if e["data"]["request_id"] == f"dsr-{uid}"]) == 1
    assert s.scalar("select count(*) from reports where person_id = :p", p=p["r2"]) == 0
    assert s.scalar("select done from reports where person_id = :p", p=pseudonym) == ""
    assert s.scalar("select person_id from key_events where recorded_by = :m", m=p["mgr"]) == pseudonym
