"""Feedback's actions for the chassis policy engine: declared as data in `contracts.access.FEEDBACK` (compliance's
`decide` answers for them too), registered by `register()`, called from the service.

Resources: a person's records are `Resource(kind, owner=person)`; a manager's team views and coaching cadence
are owned by the manager; company settings (calendar, questionnaires, playbook) have no owner."""
from __future__ import annotations

from chassis.access.policy import Resource, register_table
from contracts.access import COMPLIANCE, FEEDBACK

CHECKIN, REPORT, KEY_EVENT, ACTIVITY = "feedback.checkin", "feedback.report", "feedback.key_event", "feedback.activity"
TEAM, COACHING, SURVEY, PRAISE, COMPANY, UNIT = ("feedback.team", "feedback.coaching", "feedback.survey",
                                                 "feedback.praise", "feedback.company", "feedback.unit")
REVIEW = "feedback.review"  # a person's review and rating in a cycle (owner: the person)


def register() -> None:
    """Feedback's actions (declared in contracts.access.FEEDBACK) in the chassis policy, and compliance's
    `dsr.request`, which the data-subject export checks (idempotent)."""
    register_table(FEEDBACK)
    register_table(COMPLIANCE, only=("dsr.request",))


def of(kind: str, person_id: str | None) -> Resource:
    return Resource(kind, owner=person_id)


def company() -> Resource:
    return Resource(COMPANY)


def unit(org_unit_id: str) -> Resource:
    return Resource(UNIT, org_unit=org_unit_id)
