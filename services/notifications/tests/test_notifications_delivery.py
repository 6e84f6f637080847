"""Deliveries end to end on RabbitMQ + PostgreSQL: suite events in; the inbox, email through a real SMTP server
(aiosmtpd) and SMS through the provider's HTTP API (a real local sink) out; and the rules a user would notice."""
from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest

from chassis.errors import ServiceError
from chassis.testing.plugin import wait_for
from contracts.compliance import AppealDecided, AppealSubmitted
from contracts.goals import GoalStatusChanged
from notifications.service import NotificationsService


def fails(call, *args) -> ServiceError:
    try:
        result = call(*args)
    except ServiceError as error:
        return error
    pytest.fail(f"expected an error, got {result!r}")


def start(harness, run_services, **extra):
    return run_services({NotificationsService: harness.config(**extra)}, AMQP_URI=harness.amqp_uri)


def test_an_appeal_reaches_hr_and_the_appellant_in_their_languages_once(harness, run_services):
    start(harness, run_services)
    harness.org(units=[("q4-sales", None)],
                people=[("emp-1", "q4-sales", "mgr-1"), ("mgr-1", "q4-sales", None), ("hr-1", "q4-sales", None)],
                grants={"hr-1": [("hr", "q4-sales")]})
    harness.as_("emp-1").set_preferences({"language": "en", "email": "emp-1@example.com", "phone": "+8613800138000",
                                          "channels": ["email", "sms"], "timezone": "Asia/Shanghai"})
    harness.as_("hr-1").set_preferences({"language": "zh-CN", "email": "hr-1@example.com", "channels": ["email"]})

    due = datetime(2026, 12, 16, 10, 0, tzinfo=UTC)
    submitted = AppealSubmitted(appeal_id="ap-2026-q4-1", appellant="emp-1", org_unit_id="q4-sales",
                                target_kind="rating", target_ref="rating-2026-emp-1", owning_service="feedback",
                                due_at=due)
    [envelope] = harness.publish("compliance", submitted)
    harness.publish_raw("compliance", envelope)  # redelivered: still one notification each

    wait_for(lambda: len(harness.smtp.messages()) >= 2, message="two emails")
    wait_for(lambda: harness.receiver.to(harness.sms_path), message="an SMS")
    inbox = harness.rows("select person_id, kind, title from notifications where event_id = :e order by person_id",
                         e=envelope.id)
    assert [(r.person_id, r.kind) for r in inbox] == [("emp-1", "appeal.submitted"), ("hr-1", "appeal.submitted")]
    assert "申诉" in inbox[1].title and "appeal" in inbox[0].title.lower()

    mails = {m["To"]: m for m in harness.smtp.messages()}
    assert set(mails) == {"emp-1@example.com", "hr-1@example.com"}
    assert "2026-12-16" in mails["hr-1@example.com"].get_payload(decode=True).decode()
    [sms] = harness.receiver.to(harness.sms_path)
    form = parse_qs(sms["body"].decode())
    assert form["To"] == ["+8613800138000"] and form["From"] == ["+15005550006"]
    assert "ap-2026-q4-1" in form["Body"][0]
    assert sms["headers"]["authorization"] == "Basic " + base64.b64encode(f"{harness.sms_sid}:token".encode()).decode()
    # the HR person set no phone: no SMS for them; every attempt is recorded
    wait_for(lambda: harness.scalar("select count(*) from delivery_attempts") == 3, message="attempts recorded")
    attempts = harness.rows("select channel, outcome from delivery_attempts order by id")
    assert sorted(attempts) == [("email", "ok"), ("email", "ok"), ("sms", "ok")]
    assert len(harness.smtp.messages()) == 2 and len(harness.receiver.requests) == 1

    # the inbox over RPC: unread counts, mark read
    page = harness.as_("hr-1").list_inbox({})
    assert page["unread"] == 1 and page["items"][0]["kind"] == "appeal.submitted"
    marked = harness.as_("hr-1").mark_read({"notification_ids": [page["items"][0]["notification_id"]]})
    assert marked == {"unread": 0, "marked": 1}
    assert harness.as_("emp-1").unread_count({}) == {"unread": 1, "marked": 0}


def test_a_decision_email_and_sms_show_no_rating_and_no_reason(harness, run_services):
    start(harness, run_services)
    harness.org(units=[("q4-ops", None)], people=[("emp-2", "q4-ops", None)])
    harness.as_("emp-2").set_preferences({"language": "en", "email": "emp-2@example.com", "phone": "+8613900139000",
                                          "channels": ["email", "sms"]})
    decided = AppealDecided(appeal_id="ap-2026-q4-2", appellant="emp-2", outcome="amended",
                            reason="rating raised from 2.5 to 3.5; bonus 12000", target_kind="rating",
                            target_ref="rating-2026-emp-2", owning_service="feedback",
                            amendment={"rating": 3.5, "bonus": 12000}, decided_by="hr-9")
    harness.publish("compliance", decided)
    wait_for(lambda: harness.smtp.messages() and harness.receiver.requests, message="email and SMS")
    texts = [harness.smtp.messages()[0].get_payload(decode=True).decode(), harness.smtp.messages()[0]["Subject"],
             harness.receiver.requests[0]["body"].decode(), harness.scalar("select body from notifications")]
    for text in texts:
        assert "3.5" not in text and "12000" not in text and "raised" not in text, text
    assert "amended" in texts[0]


def test_a_template_with_a_field_it_may_not_show_is_refused(harness, run_services):
    start(harness, run_services)
    harness.org(units=[("hq", None)], people=[("hr-boss", "hq", None), ("emp-3", "hq", "hr-boss")],
                grants={"hr-boss": [("hr", "hq")]})
    hr = harness.as_("hr-boss")
    error = fails(hr.save_template, {"kind": "appeal.decided", "language": "en", "channel": "sms",
                                     "title": "Appeal", "body": "Decided: {outcome}, new rating {amendment}"})
    assert error.status == 400 and error.errors[0]["field"] == "body" and "amendment" in error.errors[0]["message"]
    error = fails(hr.save_template, {"kind": "appeal.decided", "language": "en", "channel": "email",
                                     "title": "Appeal {appeal_id}", "body": "{target_ref.__class__}"})
    assert error.status == 400 and error.errors[0]["field"] == "body"
    saved = hr.save_template({"kind": "appeal.decided", "language": "en", "channel": "sms",
                              "title": "Appeal", "body": "Jixiao: appeal {appeal_id} is {outcome}."})
    assert saved["custom"] is True and "outcome" in saved["allowed_fields"]
    assert fails(harness.as_("emp-3").save_template, {"kind": "appeal.decided", "language": "en", "channel": "sms",
                                                      "title": "x", "body": "y"}).status == 403
    assert harness.scalar("select count(*) from templates") == 1


def test_quiet_hours_defer_email_and_low_priority_waits_for_the_digest(harness, run_services):
    start(harness, run_services)
    harness.org(units=[("q4-rnd", None)], people=[("emp-4", "q4-rnd", "mgr-4"), ("mgr-4", "q4-rnd", None)])
    # quiet all day but one minute: whatever the clock says now, the email waits
    now_local = datetime.now(UTC) + timedelta(hours=8)
    start_q = (now_local - timedelta(minutes=1)).strftime("%H:%M")
    end_q = (now_local - timedelta(minutes=2)).strftime("%H:%M")
    harness.as_("emp-4").set_preferences({"language": "zh-CN", "email": "emp-4@example.com", "channels": ["email"],
                                          "quiet_hours": {"start": start_q, "end": end_q}})
    red = GoalStatusChanged(goal_id=str(uuid.uuid4()), cycle_id="2026-q4", responsible_id="emp-4", before="yellow",
                            after="red", on=datetime(2026, 12, 2).date(), progress="0.31")
    green = GoalStatusChanged(goal_id=str(uuid.uuid4()), cycle_id="2026-q4", responsible_id="emp-4", before="red",
                              after="green", on=datetime(2026, 12, 2).date(), progress="0.80")
    harness.publish("goals", red, green)
    wait_for(lambda: harness.scalar("select count(*) from outgoing") >= 1, message="email planned")
    # only the red one is a notification (to the owner and their manager); the email waits for the quiet hours
    assert harness.scalar("select count(*) from notifications") == 2
    row = harness.rows("select state, due_at from outgoing")[0]
    assert row.state == "pending" and row.due_at > datetime.now(UTC) + timedelta(hours=23)
    assert harness.smtp.messages() == []


def test_an_erased_person_keeps_no_contact_details_and_gets_nothing_more(harness, run_services):
    from contracts.compliance import ErasureRequested

    start(harness, run_services)
    harness.org(units=[("q4-hq", None)], people=[("emp-5", "q4-hq", None)])
    harness.as_("emp-5").set_preferences({"email": "emp-5@example.com", "phone": "+8613700137000",
                                          "channels": ["email", "sms"]})
    harness.publish("compliance", AppealDecided(appeal_id="ap-5", appellant="emp-5", outcome="upheld", reason="-",
                                                target_kind="rating", target_ref="r-5", owning_service="feedback",
                                                decided_by="hr-9"))
    wait_for(lambda: harness.scalar("select count(*) from notifications") == 1, message="notified")
    harness.publish("compliance", ErasureRequested(request_id="dsr-5", person_id="emp-5", pseudonym="anon-5f3a",
                                                   services=["goals", "notifications"]))
    wait_for(lambda: harness.scalar("select count(*) from chassis_outbox where event_type = :t",
                                    t="jixiao.notifications.erasure.completed.v1") == 1, message="answered")
    assert harness.scalar("select count(*) from preferences") == 0
    assert harness.rows("select person_id from notifications") == [("anon-5f3a",)]
    assert harness.scalar("select count(*) from outgoing where person_id = 'emp-5'") == 0


def test_over_the_hourly_limit_and_low_priority_items_arrive_in_one_digest(harness, run_services):
    from contracts.goals import ProposalResolved

    start(harness, run_services, EMAIL_PER_HOUR=1)
    harness.org(units=[("q4-fin", None)], people=[("emp-6", "q4-fin", "mgr-6"), ("mgr-6", "q4-fin", None)])
    harness.as_("emp-6").set_preferences({"language": "en", "email": "emp-6@example.com", "channels": ["email"],
                                          "digest_hour": 9})
    decided = [AppealDecided(appeal_id=f"ap-6-{i}", appellant="emp-6", outcome="upheld", reason="-",
                             target_kind="rating", target_ref=f"r-6-{i}", owning_service="feedback",
                             decided_by="hr-9") for i in range(2)]
    resolved = ProposalResolved(negotiation_id="n-6", proposal_id="pr-6", cycle_id="2026-q4", owner_id="emp-6",
                                manager_id="mgr-6", outcome="accepted", comment="ok")
    harness.publish("compliance", decided[0])
    wait_for(lambda: len(harness.smtp.messages()) == 1, message="the first email at once")
    harness.publish("compliance", decided[1])
    harness.publish("goals", resolved)
    wait_for(lambda: harness.scalar("select count(*) from outgoing where state = 'digest'") == 2, message="digest")
    reasons = sorted(r[0] for r in harness.rows("select reason from outgoing where state = 'digest'"))
    assert reasons == ["low priority", "rate limit"]
    # the digest hour comes (the rows fall due): one email with both
    assert harness.execute("update outgoing set due_at = now() - interval '1 minute' where state = 'digest'") == 2
    wait_for(lambda: len(harness.smtp.messages()) == 2, message="the digest email")
    digest = next(m for m in harness.smtp.messages() if "digest" in m["Subject"].lower())
    text = digest.get_payload(decode=True).decode()
    assert "ap-6-1" in text and "pr-6" in text and "(2 notifications)" in digest["Subject"]
    wait_for(lambda: harness.scalar("select count(*) from outgoing where reason = 'digest' and state = 'sent'") == 2,
             message="digest rows sent")
    time.sleep(1.0)
    assert len(harness.smtp.messages()) == 2
