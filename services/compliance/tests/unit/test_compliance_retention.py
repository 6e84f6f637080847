from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from compliance.domain.errors import InvalidInput
from compliance.domain.org import Person, PersonStatus
from compliance.domain.retention import (
    LegalHold,
    RetainedRecord,
    RetentionAction,
    RetentionBasis,
    RetentionPolicy,
    add_years,
    anonymize_person,
    decide_retention,
    holds_on_subject,
    mask_email,
    mask_phone,
    pseudonym,
)

KEY = b"p" * 32
POLICIES = {
    "review": RetentionPolicy(anonymize_after_years=3, purge_after_years=5),
    "feedback": RetentionPolicy(purge_after_years=2),
    "person": RetentionPolicy(basis=RetentionBasis.ENDED, anonymize_after_years=2),
}


def at(year, month=1, day=1):
    return datetime(year, month, day, tzinfo=UTC)


def record(kind="review", created=at(2020), ended=None, subject="E1", anonymized=False, id="r1"):
    return RetainedRecord(kind, id, subject, created, ended, anonymized)


def test_policy_needs_an_action_and_a_sane_order():
    with pytest.raises(ValidationError):
        RetentionPolicy()
    with pytest.raises(ValidationError):
        RetentionPolicy(anonymize_after_years=5, purge_after_years=3)
    with pytest.raises(ValidationError):
        RetentionPolicy(purge_after_years=-1)
    with pytest.raises(ValidationError):
        RetentionPolicy(purge_after_years=2, forever=True)


@pytest.mark.parametrize(
    ("now", "action", "reason"),
    [
        (at(2022, 12, 31), RetentionAction.KEEP, "anonymize on 2023-01-01"),
        (at(2023), RetentionAction.ANONYMIZE, "identifiable retention of 3 years ended 2023-01-01"),
        (at(2025), RetentionAction.PURGE, "retention of 5 years ended 2025-01-01"),
    ],
)
def test_two_stage_policy(now, action, reason):
    decision = decide_retention(record(), POLICIES, [], now)
    assert (decision.action, decision.reason) == (action, reason)


def test_anonymized_records_wait_for_purge_or_stay():
    decision = decide_retention(record(anonymized=True), POLICIES, [], at(2024))
    assert (decision.action, decision.reason, decision.due_at) == (
        RetentionAction.KEEP,
        "purge on 2025-01-01",
        at(2025),
    )
    person = record("person", ended=at(2020), anonymized=True)
    assert decide_retention(person, POLICIES, [], at(2040)).reason == "anonymized; kept without a time limit"


def test_purge_only_policy():
    assert decide_retention(record("feedback"), POLICIES, [], at(2021)).action is RetentionAction.KEEP
    assert decide_retention(record("feedback"), POLICIES, [], at(2022)).action is RetentionAction.PURGE


def test_ended_basis_waits_for_the_end():
    active = record("person", created=at(2000))
    assert decide_retention(active, POLICIES, [], at(2030)).action is RetentionAction.KEEP
    assert "starts when it ends" in decide_retention(active, POLICIES, [], at(2030)).reason
    left = record("person", created=at(2000), ended=at(2021, 6, 30))
    assert decide_retention(left, POLICIES, [], at(2023, 6, 29)).action is RetentionAction.KEEP
    assert decide_retention(left, POLICIES, [], at(2023, 6, 30)).action is RetentionAction.ANONYMIZE


def test_types_without_policy_are_kept():
    decision = decide_retention(record("checkin"), POLICIES, [], at(2099))
    assert (decision.action, decision.reason) == (RetentionAction.KEEP, "no retention policy for checkin")


def test_legal_holds_exempt_matching_records_until_released():
    hold = LegalHold("H-7", "labour arbitration 2024-031", at(2024), subject="E1")
    decision = decide_retention(record(), POLICIES, [hold], at(2026))
    assert (decision.action, decision.reason) == (RetentionAction.KEEP, "legal hold H-7: labour arbitration 2024-031")
    released = LegalHold("H-7", "labour arbitration", at(2024), subject="E1", released_at=at(2025, 6))
    assert decide_retention(record(), POLICIES, [released], at(2026)).action is RetentionAction.PURGE
    not_yet = LegalHold("H-8", "future", at(2030), subject="E1")
    assert decide_retention(record(), POLICIES, [not_yet], at(2026)).action is RetentionAction.PURGE


@pytest.mark.parametrize(
    ("hold", "covered"),
    [
        (LegalHold("h", "r", at(2020), subject="E2"), False),
        (LegalHold("h", "r", at(2020), record_type="review"), True),
        (LegalHold("h", "r", at(2020), record_type="goal"), False),
        (LegalHold("h", "r", at(2020), record_ids=frozenset({"r1"})), True),
        (LegalHold("h", "r", at(2020), subject="E1", record_ids=frozenset({"r2"})), False),
    ],
)
def test_hold_criteria_all_have_to_match(hold, covered):
    assert hold.covers(record(), at(2026)) is covered


def test_holds_need_a_scope_and_a_reason():
    with pytest.raises(InvalidInput):
        LegalHold("h", "reason", at(2020))
    with pytest.raises(InvalidInput):
        LegalHold("h", " ", at(2020), subject="E1")


def test_holds_on_subject():
    holds = [
        LegalHold("a", "r", at(2020), subject="E1"),
        LegalHold("b", "r", at(2020), subject="E2"),
        LegalHold("c", "r", at(2020), subject="E1", released_at=at(2021)),
        LegalHold("d", "r", at(2020), record_type="review"),
    ]
    assert [h.id for h in holds_on_subject("E1", holds, at(2022))] == ["a"]


def test_add_years_handles_leap_days():
    assert add_years(at(2024, 2, 29), 1) == at(2025, 2, 28)
    assert add_years(at(2024, 2, 29), 4) == at(2028, 2, 29)
    assert add_years(at(2023, 3, 1), 2) == at(2025, 3, 1)


def test_pseudonyms_are_stable_and_keyed():
    assert pseudonym(KEY, "E1") == pseudonym(KEY, "E1")
    assert pseudonym(KEY, "E1") != pseudonym(KEY, "E2")
    assert pseudonym(KEY, "E1") != pseudonym(b"q" * 32, "E1")
    assert pseudonym(KEY, "E1").startswith("anon_")
    assert len(pseudonym(KEY, "E1")) == 25
    with pytest.raises(InvalidInput):
        pseudonym(b"short", "E1")


@pytest.mark.parametrize(
    ("email", "masked"),
    [("zhang.san@example.com", "z********@example.com"), ("a@b.cn", "*@b.cn"), ("nonsense", "********")],
)
def test_mask_email(email, masked):
    assert mask_email(email) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("+8613812345678", "+86*******5678"), ("13812345678", "138****5678"), ("1234567", "*******")],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


def test_anonymize_person_keeps_analytics_and_drops_identity():
    person = Person(
        "E1", "张三", "rd", "z@example.com", "+8613800138000", "E0", "软件", "P6", None, "上海", PersonStatus.TERMINATED
    )
    anonymous = anonymize_person(person, KEY)
    assert anonymous.employee_number == anonymous.name == pseudonym(KEY, "E1")
    assert (anonymous.email, anonymous.phone, anonymous.location, anonymous.manager_id) == (None, None, None, None)
    assert (anonymous.org_unit_id, anonymous.job_family, anonymous.grade, anonymous.status) == (
        "rd", "软件", "P6", PersonStatus.TERMINATED,
    )  # fmt: skip
