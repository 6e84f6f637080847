from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.domain.dsr import DsrKind, DsrRequest, DsrState, PartStatus
from compliance.domain.errors import Conflict, InvalidInput, NotFound

PROPERTY = settings(database=None, deadline=None, max_examples=200)
T0 = datetime(2024, 5, 1, tzinfo=UTC)
SERVICES = ["compliance", "goals", "feedback", "incentives"]


def opened(kind=DsrKind.ERASURE, days=15):
    return DsrRequest.open(id="dsr-1", kind=kind, subject="E1", requested_by="E1", at=T0, deadline_days=days)


def collecting(kind=DsrKind.ERASURE):
    return opened(kind).start(SERVICES, T0)


def test_open_sets_the_deadline():
    request = opened(days=15)
    assert request.state is DsrState.REQUESTED
    assert request.due_at == T0 + timedelta(days=15)
    with pytest.raises(InvalidInput):
        opened(days=0)


def test_kinds_and_states_loaded_as_plain_strings_work():
    request = DsrRequest.open(id="d", kind="access", subject="E1", requested_by="E1", at=T0, deadline_days=30)
    assert request.kind == DsrKind.ACCESS
    loaded = replace(collecting(), state="collecting", kind="erasure")
    assert loaded.record_blocked("goals", T0, ["g1"], "hold").part("goals").status == PartStatus.BLOCKED
    with pytest.raises(InvalidInput):
        DsrRequest.open(id="d", kind="delete", subject="E1", requested_by="E1", at=T0, deadline_days=30)


def test_start_fans_out_one_pending_part_per_service():
    request = opened().start([*SERVICES, "goals"], T0)
    assert request.state is DsrState.COLLECTING
    assert [p.service for p in request.parts] == SERVICES
    assert {p.status for p in request.parts} == {PartStatus.PENDING}
    with pytest.raises(Conflict):
        request.start(SERVICES, T0)
    with pytest.raises(InvalidInput):
        opened().start([], T0)


def test_access_request_completes_when_every_export_is_in():
    request = collecting(DsrKind.ACCESS)
    with pytest.raises(InvalidInput):
        request.record_done("goals", T0)
    for number, service in enumerate(SERVICES):
        request = request.record_done(service, T0 + timedelta(hours=number), export_ref=f"exports/dsr-1/{service}.json")
    assert request.state is DsrState.COMPLETED
    assert request.closed_at == T0 + timedelta(hours=3)
    assert request.part("goals").export_ref == "exports/dsr-1/goals.json"
    assert request.outstanding() == []


def test_an_erasure_that_a_service_cannot_finish_is_incomplete_never_done():
    request = collecting()
    request = request.record_done("compliance", T0).record_done("goals", T0)
    request = request.record_failed("feedback", T0, "database unavailable")
    assert request.state is DsrState.COLLECTING
    request = request.record_done("incentives", T0)
    assert request.state is DsrState.INCOMPLETE
    assert request.outstanding() == ["feedback: failed (database unavailable)"]


def test_a_legal_hold_blocks_erasure_of_held_records_with_the_reason():
    request = collecting()
    for service in ("compliance", "goals", "feedback"):
        request = request.record_done(service, T0)
    request = request.record_blocked("incentives", T0, ["bonus-17", "bonus-18"], "legal hold H-7: arbitration")
    assert request.state is DsrState.INCOMPLETE
    assert request.part("incentives").held_records == ("bonus-17", "bonus-18")
    assert request.outstanding() == ["incentives: 2 records kept under legal hold (legal hold H-7: arbitration)"]
    with pytest.raises(InvalidInput):
        collecting().record_blocked("goals", T0, [], "hold")
    with pytest.raises(Conflict):
        collecting(DsrKind.ACCESS).record_blocked("goals", T0, ["g1"], "hold")


def test_retry_resends_failed_and_blocked_parts_only():
    request = collecting()
    request = request.record_done("compliance", T0).record_failed("goals", T0, "timeout")
    request = request.record_blocked("feedback", T0, ["r1"], "hold").record_done("incentives", T0)
    retried = request.retry(T0 + timedelta(days=1))
    assert retried.state is DsrState.COLLECTING
    assert retried.closed_at is None
    assert {p.service: p.status for p in retried.parts} == {
        "compliance": PartStatus.DONE,
        "goals": PartStatus.PENDING,
        "feedback": PartStatus.PENDING,
        "incentives": PartStatus.DONE,
    }
    finished = retried.record_done("goals", T0).record_done("feedback", T0)
    assert finished.state is DsrState.COMPLETED
    with pytest.raises(Conflict):
        finished.retry(T0)


def test_redelivered_reports_are_no_ops_and_contradictions_conflict():
    request = collecting().record_done("goals", T0)
    assert request.record_done("goals", T0 + timedelta(minutes=5)) is request
    with pytest.raises(Conflict):
        request.record_failed("goals", T0, "late failure")
    with pytest.raises(NotFound):
        request.record_done("payroll", T0)
    with pytest.raises(InvalidInput):
        request.record_failed("feedback", T0, "  ")


def test_reports_before_the_fan_out_are_refused():
    with pytest.raises(NotFound):
        opened().record_done("goals", T0)


def test_services_that_never_answer_fail_at_the_deadline_and_leave_the_request_incomplete():
    day = timedelta(days=1)
    request = collecting().record_done("compliance", T0).record_done("goals", T0 + timedelta(hours=2))
    assert request.expire(T0 + day - timedelta(seconds=1), day) is request  # not yet
    expired = request.expire(T0 + day, day)
    assert expired.state is DsrState.INCOMPLETE and expired.closed_at == T0 + day
    assert {p.service: p.status for p in expired.parts} == {
        "compliance": PartStatus.DONE, "goals": PartStatus.DONE, "feedback": PartStatus.FAILED,
        "incentives": PartStatus.FAILED}
    assert expired.outstanding() == ["feedback: failed (no answer within 1d)",
                                     "incentives: failed (no answer within 1d)"]
    assert expired.expire(T0 + 2 * day, day) is expired  # settled: nothing more to expire
    # a retried part has its own clock
    retried = expired.retry(T0 + 2 * day)
    half = retried.record_done("feedback", T0 + 2 * day).expire(T0 + 2 * day + timedelta(hours=12), day)
    assert half.state is DsrState.COLLECTING and half.part("incentives").status is PartStatus.PENDING
    assert "no answer within 90s" in collecting().expire(T0 + timedelta(seconds=90), timedelta(seconds=90)
                                                         ).part("goals").detail


def test_overdue_until_completed():
    request = collecting()
    assert not request.is_overdue(T0 + timedelta(days=15))
    assert request.is_overdue(T0 + timedelta(days=15, seconds=1))
    done = request
    for service in SERVICES:
        done = done.record_done(service, T0)
    assert not done.is_overdue(T0 + timedelta(days=90))


outcomes = st.sampled_from(["done", "failed", "blocked"])


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(SERVICES), outcomes), max_size=12))
def test_erasure_is_completed_only_when_every_service_erased_everything(reports):
    request = collecting()
    for service, outcome in reports:
        try:
            if outcome == "done":
                request = request.record_done(service, T0)
            elif outcome == "failed":
                request = request.record_failed(service, T0, "error")
            else:
                request = request.record_blocked(service, T0, ["x"], "hold")
        except Conflict:
            pass  # a service contradicting its earlier report
    statuses = [part.status for part in request.parts]
    assert (request.state is DsrState.COMPLETED) == all(s is PartStatus.DONE for s in statuses)
    assert (request.state is DsrState.INCOMPLETE) == (
        PartStatus.PENDING not in statuses and any(s is not PartStatus.DONE for s in statuses)
    )
