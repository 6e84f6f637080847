"""Feedback's actions for the chassis policy engine (registered by `register()`, called from the service).

Resources: a person's records are `Resource(kind, owner=person)`; a manager's team views and coaching cadence
are owned by the manager; company settings (calendar, questionnaires, playbook) have no owner."""
from __future__ import annotations

from chassis.access.policy import Relation as R
from chassis.access.policy import Resource, Rule, register_rules

CHECKIN, REPORT, KEY_EVENT, ACTIVITY = "feedback.checkin", "feedback.report", "feedback.key_event", "feedback.activity"
TEAM, COACHING, SURVEY, PRAISE, COMPANY, UNIT = ("feedback.team", "feedback.coaching", "feedback.survey",
                                                 "feedback.praise", "feedback.company", "feedback.unit")
REVIEW = "feedback.review"  # a person's review and rating in a cycle (owner: the person)
_LINE = (R.SELF, R.DIRECT_MANAGER, R.INDIRECT_MANAGER, R.HR_SCOPE, R.HRBP_SCOPE)
_ABOVE = (R.DIRECT_MANAGER, R.INDIRECT_MANAGER, R.HR_SCOPE, R.HRBP_SCOPE)

# fmt: off
RULES: dict[str, Rule] = {
    "feedback.checkin.read":     Rule(CHECKIN, _LINE),
    "feedback.checkin.write":    Rule(CHECKIN, (R.SELF, R.DIRECT_MANAGER)),  # the two parties' notes, sign-off
    "feedback.checkin.schedule": Rule(CHECKIN, (R.DIRECT_MANAGER, R.HR_SCOPE), (R.SELF,)),
    "feedback.report.write":     Rule(REPORT, (R.SELF,)),
    "feedback.report.read":      Rule(REPORT, _LINE),
    "feedback.team.read":        Rule(TEAM, _LINE),  # a manager's team summary/board: the manager and above
    "feedback.unit.read":        Rule(UNIT, (R.HR_SCOPE, R.HRBP_SCOPE, R.ADMIN)),
    "feedback.key_event.record": Rule(KEY_EVENT, (R.DIRECT_MANAGER, R.INDIRECT_MANAGER, R.EMPLOYEE), (R.SELF,)),
    "feedback.key_event.read":   Rule(KEY_EVENT, _LINE),
    "feedback.key_event.respond": Rule(KEY_EVENT, (R.SELF,)),
    "feedback.activity.write":   Rule(ACTIVITY, (R.SELF,)),
    "feedback.activity.read":    Rule(ACTIVITY, _LINE),
    "feedback.coaching.write":   Rule(COACHING, (R.DIRECT_MANAGER, R.INDIRECT_MANAGER), (R.SELF,)),
    "feedback.coaching.read":    Rule(COACHING, _LINE),  # owner: the manager whose cadence it is
    "feedback.survey.open":      Rule(SURVEY, (R.SELF, R.DIRECT_MANAGER, R.HR_SCOPE)),
    "feedback.survey.read":      Rule(SURVEY, _LINE),
    "feedback.praise.give":      Rule(PRAISE, (R.EMPLOYEE,), (R.SELF,)),
    "feedback.review.self":      Rule(REVIEW, (R.SELF,)),
    "feedback.review.manager":   Rule(REVIEW, (R.DIRECT_MANAGER,), (R.SELF,)),
    "feedback.review.read":      Rule(REVIEW, _LINE),
    # calibrators: the levels above the manager and HR/HRBP of the unit (never one's own rating)
    "feedback.review.calibrate": Rule(REVIEW, (R.INDIRECT_MANAGER, R.HR_SCOPE, R.HRBP_SCOPE), (R.SELF,)),
    "feedback.company.manage":   Rule(COMPANY, (R.COMPANY_HR, R.ADMIN)),
    "feedback.company.read":     Rule(COMPANY, (R.EMPLOYEE, R.COMPANY_HR, R.ADMIN)),
}
# fmt: on

_registered = False


def register() -> None:
    global _registered
    if not _registered:
        register_rules(RULES)
        _registered = True


def of(kind: str, person_id: str | None) -> Resource:
    return Resource(kind, owner=person_id)


def company() -> Resource:
    return Resource(COMPANY)


def unit(org_unit_id: str) -> Resource:
    return Resource(UNIT, org_unit=org_unit_id)
