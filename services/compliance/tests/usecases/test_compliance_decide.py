"""`compliance.decide` (POST /access/decisions) answers for any action of the suite, as its owner declares it in
contracts.access: compliance registers every service's table. On SQLite and PostgreSQL, no broker; the org of the
fixture (T works in rd-p for M, who reports to G; P is T's colleague; H is HR for rd, S HR for sales)."""
from __future__ import annotations

import pytest

from compliance.usecases import directory
from contracts import compliance as c
from contracts.access import TABLES
from contracts.actor import Actor

CASES = [  # (owner, action, resource kind, owner of the resource, subject, allowed)
    ("compliance", "appeal.decide", "appeal", "T", "H", True),
    ("compliance", "appeal.decide", "appeal", "T", "M", False),  # never the direct manager (conflict of interest)
    ("goals", "goal.read", "goal", "T", "G", True),
    ("goals", "goal.read", "goal", "T", "P", False),
    ("feedback", "feedback.checkin.schedule", "feedback.checkin", "T", "M", True),
    ("feedback", "feedback.checkin.schedule", "feedback.checkin", "T", "T", False),  # vetoed: oneself
    ("incentives", "incentives.bonus.read", "incentives.bonus", "T", "H", True),
    ("incentives", "incentives.bonus.read", "incentives.bonus", "T", "S", False),  # HR of another unit
    ("notifications", "notification.preferences", "person", "T", "T", True),
    ("notifications", "notification.preferences", "person", "T", "P", False),
]


@pytest.mark.parametrize(("owner", "action", "kind", "resource_owner", "subject", "allowed"), CASES,
                         ids=[f"{case[1]}-{case[4]}" for case in CASES])
def test_decide_answers_every_owners_actions_as_declared(compliance, owner, action, kind, resource_owner, subject,
                                                          allowed):
    assert action in TABLES[owner].rules
    decision = compliance.run(directory.decide, Actor(subject=subject, kind="person"),
                              c.Decide(action=action, resource=c.ResourceRef(kind=kind, owner=resource_owner)))
    assert decision.allowed is allowed, decision.reason
    assert action in decision.reason


def test_decide_still_denies_what_nobody_declares(compliance):
    decision = compliance.run(directory.decide, Actor(subject="H", kind="person"),
                              c.Decide(action="goal.explode", resource=c.ResourceRef(kind="goal", owner="T")))
    assert not decision.allowed and "unknown action" in decision.reason
