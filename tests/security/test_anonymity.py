"""The anonymity of 360 feedback, as the people it is about would try to break it (issue 10 #9), through the
gateway, the broker and the audit log of the running suite:

- the threshold: nothing about the answers (aggregates, comments) before 3 invited reviewers have answered, for
  the subject, their manager, HR and the admin alike;
- no route the subject, their manager, HR of the unit, the HRBP or the auditor can call, no event a third party
  can read on the broker, no data export and no error message tells who answered: every answer treats the four
  invited reviewers alike (three answered, one did not);
- pseudonyms: per reviewer and request, keyed (not a plain digest of the person's id that a dictionary reverses),
  the answer's audit entry acts as the pseudonym, and nothing else audited in the same request names the reviewer.

The reviewers are in another unit (U3, Support), outside the subject's line, so only the survey could link them.

The peer reviews of a review cycle keep the same promise (the last test): E1's manager asks the same four people
to review E1, three answer; the subject, their line, HR, the HRBP and the auditor see no peer aggregate nor comment
before the cycle's minimum (3) is met, then the aggregate and the comments without a name, and nothing they can
read (the review, its late list, the audit log about E1) tells the three who answered from the one who did not.
Feedback's own tests (services/feedback/tests) hold the same rules at the use-case and RPC level.
"""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import date, timedelta

import pytest
from kombu import Connection, Exchange, Queue

from chassis.testing.plugin import wait_for

from .conftest import ReviewCycle

REVIEWERS = ["R1", "R2", "R3", "R4"]  # R4 is invited and never answers
ANSWERING = REVIEWERS[:3]
WATCHERS = {"subject": "E1", "manager": "M1", "indirect manager": "D1", "HR of the unit": "H1", "HRBP": "B1",
            "auditor": "A1"}


@pytest.fixture(scope="module")
def survey(suite):
    """Four reviewers from Support, an open 360 request about E1, a third party listening on feedback.events."""
    for person in REVIEWERS:
        suite.ok("PUT", f"/people/{person}", "root", {"name": f"Reviewer {person}", "org_unit_id": "U3",
                                                      "manager_id": None})
    for person in REVIEWERS:
        wait_for(lambda p=person: suite.call("GET", "/me", p).status_code == 200, message=f"{person} known")
    listener = Connection(suite.amqp_uri)
    queue = Queue(f"ext-anonymity-{uuid.uuid4().hex[:6]}", exchange=Exchange("feedback.events", type="topic",
                                                                               durable=True),
                  routing_key="jixiao.feedback.#", auto_delete=True)
    queue(listener.channel()).declare()
    code = f"q{uuid.uuid4().hex[:6]}"
    wait_for(lambda: suite.call("PUT", f"/feedback/questionnaires/{code}", "H1", body={
        "title": "Project close", "questions": [
            {"code": "communication", "text": "沟通效率"}, {"code": "support", "text": "专业支持"}]}).ok,
        message="feedback knows H1")
    body = {"subject_id": "E1", "questionnaire_code": code, "about": "Q4 2026 launch", "reviewer_ids": REVIEWERS,
            "closes_on": (date(2026, 12, 3) + timedelta(days=14)).isoformat()}
    opened: list = []
    wait_for(lambda: opened.append(suite.call("POST", "/feedback/surveys", "M1", body=body)) or opened[-1].ok,
             message="feedback knows the reviewers")
    yield {"id": opened[-1].json()["id"], "listener": listener, "queue": queue}
    listener.release()


def _answer(suite, survey_id: str, reviewer: str, score: int) -> str:
    request_id = f"anon-{uuid.uuid4().hex}"
    response = suite.call("POST", f"/feedback/surveys/{survey_id}/answers", reviewer, headers={
        "X-Request-Id": request_id}, body={"scores": {"communication": score, "support": 4},
                                          "comment": f"steady under pressure {score}"})
    assert response.status_code == 201, response.text
    assert response.json() == {"answered": True}
    return request_id


def test_nothing_is_shown_before_the_threshold(suite, survey):
    sid = survey["id"]
    _answer(suite, sid, "R1", 3)
    _answer(suite, sid, "R2", 5)
    for subject in ("E1", "M1", "H1"):
        view = suite.ok("GET", f"/feedback/surveys/{sid}", subject)
        assert (view["released"], view["aggregates"], view["comments"]) == (False, [], []), (subject, view)
        assert view["threshold"] >= 3
    too_low = suite.call("POST", "/feedback/surveys", "M1", body={
        "subject_id": "E1", "questionnaire_code": "x", "about": "a", "reviewer_ids": REVIEWERS, "threshold": 2,
        "closes_on": "2026-12-20"})
    assert too_low.status_code == 400 and "threshold" in too_low.text
    _answer(suite, sid, "R3", 4)
    view = suite.ok("GET", f"/feedback/surveys/{sid}", "E1")
    assert view["released"] and view["answered"] == 3 and len(view["comments"]) == 3


def _mentions(text: str) -> set[str]:
    return {person for person in REVIEWERS if re.search(rf"(?<![A-Za-z0-9]){person}(?![A-Za-z0-9])", text)}


def _readable_answers(suite, survey_id: str) -> dict[str, str]:
    """Every GET route of the gateway's table the watchers can address (no path id, the survey's id, E1 as the
    person), plus the subject's data export and the audit log, as each watcher."""
    answers: dict[str, str] = {}
    for route in suite.routes():
        if route.method != "GET":
            continue
        values = {"person_id": "E1", "id": survey_id, "request_id": survey_id}
        if not set(route.params) <= set(values) or ("{id}" in route.path and "surveys" not in route.path):
            continue
        path = route.path.format(**{p: values[p] for p in route.params})
        for role, subject in WATCHERS.items():
            response = suite.call("GET", path, subject)
            answers[f"{role} GET {path} ({response.status_code})"] = response.text
    for role, subject in WATCHERS.items():
        response = suite.call("GET", "/audit/entries?subject=E1", subject)
        answers[f"{role} audit about E1 ({response.status_code})"] = response.text
    export = suite.call("POST", "/privacy/exports", "E1", body={})
    assert export.status_code == 202, export.text
    location = f"/privacy/requests/{export.json()['request_id']}"
    done: list = []
    wait_for(lambda: done.append(suite.call("GET", location, "E1")) or done[-1].json()["request"]["state"] in (
        "completed", "incomplete"), timeout=30, message="E1's export")
    answers["subject's data export"] = done[-1].text
    return answers


def test_no_route_export_or_error_tells_who_answered(suite, survey):
    sid = survey["id"]
    wait_for(lambda: suite.ok("GET", f"/feedback/surveys/{sid}", "E1")["answered"] >= 3, message="three answers")
    # the subject and their line trying their luck: errors name nobody
    probes = [suite.call("POST", f"/feedback/surveys/{sid}/answers", who, body={"scores": {"communication": 1}})
              for who in ("E1", "M1", "H1")]
    probes.append(suite.call("POST", f"/feedback/surveys/{sid}/answers", "R1",  # twice: told, not others
                             body={"scores": {"communication": 1, "support": 1}}))
    assert all(400 <= p.status_code < 500 for p in probes), [p.text for p in probes]
    readable = _readable_answers(suite, sid)
    readable.update({f"error {i} ({p.status_code})": p.text for i, p in enumerate(probes)})
    leaks = {where: sorted(named) for where, text in readable.items()
             if (named := _mentions(text)) and named != set(REVIEWERS)}
    assert not leaks, f"answers that tell answering reviewers from the one who did not: {leaks}"
    assert sum(1 for where in readable if "GET" in where) >= 30  # the scan reached the API, not a handful


def test_events_on_the_broker_carry_keyed_pseudonyms_only(suite, survey):
    sid = survey["id"]
    request_ids = {reviewer: _answer(suite, sid, reviewer, 4) for reviewer in ["R4"]}  # the last one answers now
    events: list[dict] = []

    def drain() -> bool:
        queue = survey["queue"](survey["listener"].channel())
        while (message := queue.get(no_ack=True)) is not None:
            events.append(json.loads(message.body))
        return sum(1 for e in events if e["type"].endswith(".survey.answered.v1") and e["data"].get(
            "request_id") == sid) >= 1

    wait_for(drain, message="the answered event on feedback.events")
    answered = [e for e in events if e["type"].endswith(".survey.answered.v1")]
    text = json.dumps(events, ensure_ascii=False)
    assert not _mentions(text), "a reviewer's id on the broker"
    for event in answered:
        alias = event["data"]["reviewer_pseudonym"]
        assert event["actor"]["subject"] == f"pseudonym:{alias}"
        for reviewer in REVIEWERS:  # keyed: no plain digest of the id (or of request and id) reverses it
            for material in (reviewer, f"{sid}{reviewer}", f"{sid}:{reviewer}", f"{reviewer}:{sid}"):
                digests = {hashlib.new(name, material.encode()).hexdigest() for name in ("md5", "sha1", "sha256")}
                assert not any(alias in d or d.startswith(alias) for d in digests), (reviewer, alias)
    # the audit log: the answers act as their pseudonyms, and nothing audited as a reviewer mentions the request
    def entries(query: str) -> list[dict]:
        page = suite.ok("GET", f"/audit/entries?{query}", "A1")
        return page.get("items") or page.get("entries") or []

    wait_for(lambda: len(entries("type=jixiao.feedback.survey.answered.v1")) >= 4, message="the answers audited")
    audited = entries("type=jixiao.feedback.survey.answered.v1")
    assert all(entry["actor"].startswith("pseudonym:") for entry in audited), audited
    assert not _mentions(json.dumps(audited))
    for reviewer in REVIEWERS:
        assert sid not in json.dumps(entries(f"actor={reviewer}")), f"{reviewer}'s own audit trail names the request"
    assert request_ids


def test_peer_reviews_name_no_peer_and_show_aggregates_only_from_the_minimum(suite, survey):
    cycle = ReviewCycle(suite, ["E1"], name="Q4 2026 review (anonymity)")
    cycle.advance("self_review")
    cycle.self_review("E1", 4, 4)
    cycle.manager_review("M1", "E1", (4, 4), peers=REVIEWERS)
    cycle.advance("manager_review")
    # only the invited may answer, once; a refusal names nobody
    assert cycle.peer_review("E2", "E1", 5, "not asked").status_code == 404
    for reviewer, score in zip(ANSWERING[:2], (5, 3), strict=True):
        answered = cycle.peer_review(reviewer, "E1", score, f"reliable in the launch {score}")
        assert answered.status_code == 201 and answered.json() == {"answered": True}, answered.text
    twice = cycle.peer_review(ANSWERING[0], "E1", 1, "again")
    assert 400 <= twice.status_code < 500 and not _mentions(twice.text), twice.text

    def peers_seen(reader: str) -> dict:
        response = cycle.review_of("E1", reader)
        assert response.status_code == 200, (reader, response.text)
        return response.json()["peer"]

    for role, reader in WATCHERS.items():  # two answers: below the minimum, nothing about them
        if role in ("auditor",):
            continue
        peer = peers_seen(reader)
        assert (peer["counted"], peer["average"], peer["comments"]) == (False, None, []), (role, peer)
    answered = cycle.peer_review(ANSWERING[2], "E1", 4, "reliable in the launch 4")
    assert answered.status_code == 201, answered.text
    peer = peers_seen("E1")
    assert peer["counted"] and peer["answered"] == 3 and float(peer["average"]) == 4.0, peer
    assert sorted(peer["comments"]) == [f"reliable in the launch {n}" for n in (3, 4, 5)]

    readable: dict[str, str] = {}
    for role, reader in WATCHERS.items():
        for what, path in (("review", f"/feedback/review-cycles/{cycle.id}/review?person_id=E1"),
                           ("late list", f"/feedback/review-cycles/{cycle.id}/late"),
                           ("audit about E1", "/audit/entries?subject=E1&limit=200")):
            response = suite.call("GET", path, reader)
            readable[f"{role}: {what} ({response.status_code})"] = response.text
    leaks = {where: sorted(named) for where, text in readable.items()
             if (named := _mentions(text)) and named != set(REVIEWERS)}
    assert not leaks, f"what tells the peers who answered from the one who did not: {leaks}"
    assert sum(1 for where in readable if "(200)" in where) >= 6, sorted(readable)  # the reads were answered
