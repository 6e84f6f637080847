"""Data-subject requests across services: the export fans out with a timeout (a silent service leaves it visibly
incomplete), and the erasure saga runs with a small test-only service implementing the erasure contract —
completed only when every part completed, incomplete under a legal hold."""
import time

import pytest
from sqlalchemy import select

from chassis import Database, Service, event_handler, rpc
from chassis.errors import Forbidden, InvalidInput, NotFound
from chassis.testing.plugin import wait_for
from chassis.testing.toy import Note, create_schema
from contracts.compliance import (
    ErasureRequested,
    ExportSubjectData,
    SubjectDataExport,
    erasure_completed_event,
)


class ErasureProbe(Service):
    """Holds notes about people (text = the person id); implements export_subject_data and the erasure contract."""

    name = "erasure_probe"
    uow = Database()

    @rpc
    def export_subject_data(self, payload):
        request = ExportSubjectData.model_validate(payload)
        with self.uow as uow:
            notes = uow.session.scalars(select(Note).where(Note.text == request.subject)).all()
            records = {"note": [{"id": n.id, "text": n.text} for n in notes]}
        return SubjectDataExport(service=self.name, subject=request.subject, records=records,
                                 summary=f"{len(notes)} notes").model_dump(mode="json")

    @rpc
    def add_note(self, note_id, text):
        with self.uow as uow:
            uow.session.add(Note(id=note_id, text=text))

    @event_handler("compliance", ErasureRequested.type)
    def on_erasure(self, event):
        request = ErasureRequested.model_validate(event.data)
        with self.uow as uow:
            held_ids = {i for hold in request.holds if hold.record_type in (None, "note") for i in hold.record_ids}
            held_all = any(h.record_type == "note" and not h.record_ids for h in request.holds)
            held, erased = [], 0
            for note in uow.session.scalars(select(Note).where(Note.text == request.person_id)):
                if held_all or note.id in held_ids:
                    held.append(note.id)
                else:
                    note.text, erased = request.pseudonym, erased + 1
            uow.publish(erasure_completed_event(self.name)(request_id=request.request_id,
                                                           person_id=request.person_id, erased_records=erased,
                                                           held_records=held))


@pytest.fixture
def probe_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'probe.db'}"
    create_schema(url)
    return url


@pytest.fixture
def with_probe(start_compliance, probe_url, seed_org, callers):
    def start(services, **config):
        containers = start_compliance(extra={ErasureProbe: {"DATABASE_URL": probe_url}}, DSR_SERVICES=services,
                                      **config)
        seed_org()
        for n, subject in enumerate(["T", "T", "P"]):
            callers("root").erasure_probe.add_note(f"n{n}", subject)
        return containers
    return start


def test_export_gathers_every_service_and_shows_who_did_not_answer(with_probe, callers):
    with_probe("erasure_probe,silent")
    export = callers("T").compliance.request_data_export({})
    request = export["request"]
    assert request["subject"] == "T" and request["state"] == "incomplete"
    parts = {p["service"]: p for p in request["parts"]}
    assert parts["compliance"]["status"] == "done" and parts["erasure_probe"]["status"] == "done"
    assert parts["silent"]["status"] == "failed" and "did not answer within 1s" in parts["silent"]["detail"]
    document = export["document"]
    assert document["incomplete"] is True and document["missing"] == ["silent"]
    assert [n["id"] for n in document["services"]["erasure_probe"]["records"]["note"]] == ["n0", "n1"]
    assert document["services"]["compliance"]["records"]["person"][0]["email"] == "t@example.com"
    assert "erasure_probe: 2 note" in export["summary"] and "INCOMPLETE" in export["summary"]
    assert callers("T").compliance.get_dsr({"request_id": request["request_id"]})["document"] == document

    hr = callers("H").compliance.request_data_export({"person_id": "T"})  # HR in scope, on T's behalf
    assert hr["request"]["requested_by"] == "H"
    with pytest.raises(Forbidden):
        callers("P").compliance.request_data_export({"person_id": "T"})
    with pytest.raises(NotFound, match="no request"):  # a colleague does not learn that T asked (issue 10 item 8)
        callers("P").compliance.get_dsr({"request_id": request["request_id"]})
    with pytest.raises(InvalidInput) as raised:
        callers("T").compliance.request_data_export({"person_id": ""})
    assert raised.value.errors[0]["field"] == "person_id"


def test_the_erasure_saga_completes_only_when_every_service_did(with_probe, callers, audit_log):
    with_probe("erasure_probe")
    root = callers("root").compliance
    held = root.place_hold({"reason": "litigation 2026-17", "subject": "P", "record_type": "note"})

    started = callers("T").compliance.request_erasure({})
    assert started["state"] == "collecting"
    assert {p["service"]: p["status"] for p in started["parts"]} == {"compliance": "done", "erasure_probe": "pending"}
    # once erased, T is no longer in the directory: the administrator (or HR) follows the request
    done = wait_for(lambda: (lambda r: r if r["request"]["state"] != "collecting" else None)(
        root.get_dsr({"request_id": started["request_id"]})), message="erasure settled")
    assert done["request"]["state"] == "completed" and done["request"]["outstanding"] == []
    with pytest.raises(NotFound):
        root.get_person({"person_id": "T"})
    assert callers("root").erasure_probe.export_subject_data({"request_id": "x", "subject": "T"})["records"] == {
        "note": []}
    audit_log.wait(lambda es: len(es) == 1, type="jixiao.compliance.person.erased.v1", subject="T")

    # P's notes are under a legal hold: the probe keeps them, and the request stays visibly incomplete
    hr = callers("H").compliance  # HR files for people in their scope
    request = hr.request_erasure({"person_id": "P"})
    settled = wait_for(lambda: (lambda r: r if r["request"]["state"] != "collecting" else None)(
        root.get_dsr({"request_id": request["request_id"]})), message="erasure settled")["request"]
    assert settled["state"] == "incomplete"
    parts = {p["service"]: p for p in settled["parts"]}
    # the hold covers notes only: compliance erased the directory record, the probe kept the held note
    assert parts["compliance"]["status"] == "done" and parts["erasure_probe"]["status"] == "blocked"
    assert parts["erasure_probe"]["held_records"] == ["n2"]
    assert any("legal hold" in line for line in settled["outstanding"])

    root.release_hold({"hold_id": held["hold_id"]})
    retried = hr.retry_dsr({"request_id": request["request_id"]})
    assert retried["state"] == "collecting"
    final = wait_for(lambda: (lambda r: r if r["request"]["state"] == "completed" else None)(
        root.get_dsr({"request_id": request["request_id"]})), message="erasure completed after the hold")
    assert final["request"]["outstanding"] == []
    with pytest.raises(Forbidden):
        callers("T").compliance.request_erasure({"person_id": "P"})


def test_an_erasure_part_nobody_answers_fails_at_the_deadline(with_probe, callers, audit_log):
    with_probe("erasure_probe,silent", DSR_ANSWER_DEADLINE=1.5, DEADLINE_CHECK_INTERVAL=0.1)
    started = callers("T").compliance.request_erasure({})
    root = callers("root").compliance
    settled = wait_for(lambda: (lambda r: r if r["request"]["state"] != "collecting" else None)(
        root.get_dsr({"request_id": started["request_id"]})), message="the deadline passed")["request"]
    assert settled["state"] == "incomplete"  # never completed while a service did not answer
    assert {p["service"]: p["status"] for p in settled["parts"]} == {
        "compliance": "done", "erasure_probe": "done", "silent": "failed"}
    assert settled["outstanding"] == ["silent: failed (no answer within 1.5s)"]
    [closed] = audit_log.wait(lambda es: len(es) >= 1, type="jixiao.compliance.dsr.closed.v1", subject="T")
    assert closed["data"]["state"] == "incomplete" and closed["data"]["outstanding"] == settled["outstanding"]


def test_an_export_is_accepted_at_once_and_names_the_part_that_did_not_answer(with_probe, callers, audit_log):
    """issue 8 item 8: the export no longer waits for the slowest service inside the caller's call; it runs as a
    saga in the background and is read back, each silent part named."""
    with_probe("erasure_probe,silent", DSR_TIMEOUT=3.0)
    me = callers("T").compliance
    started = time.monotonic()
    accepted = me.start_data_export({})
    assert time.monotonic() - started < 2.0  # not the 3 s the silent service is given
    assert accepted["state"] == "collecting" and accepted["subject"] == "T"
    assert {p["service"]: p["status"] for p in accepted["parts"]} == {
        "compliance": "pending", "erasure_probe": "pending", "silent": "pending"}
    done = wait_for(lambda: (lambda r: r if r["request"]["state"] != "collecting" else None)(
        me.get_dsr({"request_id": accepted["request_id"]})), message="the export gathered")
    assert done["request"]["state"] == "incomplete"
    assert done["request"]["outstanding"] == ["silent: failed (did not answer within 3s)"]
    assert done["document"]["missing"] == ["silent"]
    assert [n["id"] for n in done["document"]["services"]["erasure_probe"]["records"]["note"]] == ["n0", "n1"]
    assert done["document"]["services"]["compliance"]["records"]["person"][0]["person_id"] == "T"
    [closed] = audit_log.wait(lambda es: len(es) >= 1, type="jixiao.compliance.dsr.closed.v1", subject="T")
    assert closed["data"]["request_id"] == accepted["request_id"] and closed["data"]["state"] == "incomplete"
    with pytest.raises(Forbidden):  # the same rule as the synchronous form
        callers("P").compliance.start_data_export({"person_id": "T"})


def test_every_service_of_the_suite_answers_its_part(start_compliance, seed_org, callers, pg_database):
    """issue 8 item 8: goals, feedback and incentives each answer the export (even while they hold little), so a
    request over the real suite completes."""
    from feedback.service import FeedbackService
    from goals.service import GoalsService
    from incentives.service import IncentivesService
    from notifications.service import NotificationsService

    start_compliance({GoalsService: {"DATABASE_URL": pg_database("goals")},
                      FeedbackService: {"DATABASE_URL": pg_database("feedback")},
                      IncentivesService: {"DATABASE_URL": pg_database("incentives")},
                      NotificationsService: {"DATABASE_URL": pg_database("notifications")}},
                     DSR_SERVICES="goals,feedback,incentives,notifications", DSR_TIMEOUT=5.0)
    seed_org()
    me = callers("T").compliance

    def exported():
        accepted = me.start_data_export({})
        done = wait_for(lambda: (lambda r: r if r["request"]["state"] != "collecting" else None)(
            me.get_dsr({"request_id": accepted["request_id"]})), message="the export gathered")
        return done if done["request"]["state"] == "completed" else None
    # the services' read models learn of T shortly after the directory does: ask again until every part answers
    done = wait_for(exported, timeout=60, interval=0.5, message="every part answered")
    assert {p["service"]: p["status"] for p in done["request"]["parts"]} == {
        "compliance": "done", "goals": "done", "feedback": "done", "incentives": "done", "notifications": "done"}
    assert set(done["document"]["services"]) == {"compliance", "goals", "feedback", "incentives", "notifications"}
