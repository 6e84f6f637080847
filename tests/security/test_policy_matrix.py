"""The authorization matrix, generated from the policy (issue 10 #9): every action the suite knows (what each
service registers, declared in `contracts.access`) x every relationship an actor can have to a record.

The oracle is NOT the decision engine: it is the table of facts below, written by hand from the org chart (who is
whose manager, who is HR where), and each rule's own allow/veto lists. The engine must agree for every pair, so a
relation check that drifts (an indirect manager taken for a direct one, HR elsewhere taken for HR of the unit, a
vetoed self slipping through) fails here by name.

    U1 Company ── U2 Sales     D1 (U1) ─ M1 (U2, unit lead) ─ E1, E2 (U2)
               └─ U3 Support   H1 hr U1 · H2 hr U3 (HR elsewhere) · B1 hrbp U1 · A1 auditor · root admin
"""
from __future__ import annotations

import importlib

import pytest

from chassis.access.org import Grant, Member, OrgIndex, OrgUnit, Role
from chassis.access.policy import CLIENT_SCOPES, RULES, Actor, Relation, Resource, can, client_can, scopes_of

SERVICES = ("goals", "feedback", "incentives", "compliance", "notifications")
for service in SERVICES:  # each service registers its own actions, as its service module does; the matrix covers all
    importlib.import_module(f"{service}.access").register()

UNITS = [OrgUnit("U1", "Company"), OrgUnit("U2", "Sales", "U1"), OrgUnit("U3", "Support", "U1")]
PEOPLE = [Member("D1", "U1"), Member("M1", "U2", "D1"), Member("E1", "U2", "M1"), Member("E2", "U2", "M1"),
          Member("H1", "U1"), Member("H2", "U3"), Member("B1", "U1"), Member("A1", "U1"), Member("root", "U1")]
GRANTS = [Grant("H1", Role.HR, "U1"), Grant("H2", Role.HR, "U3"), Grant("B1", Role.HRBP, "U1"),
          Grant("A1", Role.AUDITOR), Grant("root", Role.ADMIN)]
ORG = OrgIndex(UNITS, PEOPLE, GRANTS)
EVERYONE = {p.id for p in PEOPLE}
PERSONAS = {  # persona -> subject
    "self": "E1", "direct manager": "M1", "indirect manager": "D1", "peer": "E2", "HR of the unit": "H1",
    "HR elsewhere": "H2", "HRBP": "B1", "auditor": "A1", "admin": "root",
}
R = Relation

# Who holds which relation to each kind of record, by hand from the chart above.
FACTS: dict[str, tuple[Resource, dict[Relation, set[str]]]] = {
    "E1's record": (None, {  # resource built per rule kind: Resource(kind, owner="E1")
        R.SELF: {"E1"}, R.DIRECT_MANAGER: {"M1"}, R.INDIRECT_MANAGER: {"D1"}, R.HR_SCOPE: {"H1"},
        R.HRBP_SCOPE: {"B1"}, R.EMPLOYEE: EVERYONE, R.REPORTS_TO_OWNER: set(), R.UNIT_MEMBER: set(),
        R.UNIT_LEAD: set(), R.UNIT_HEAD: set(), R.UNIT_MANAGER: set(), R.COLLEAGUE: {"E1", "E2", "M1"},
        R.COMPANY_HR: set(), R.AUDITOR: {"A1"}, R.ADMIN: {"root"}}),
    "Sales' own record": (None, {  # Resource(kind, org_unit="U2", unit_owned=True)
        R.SELF: set(), R.DIRECT_MANAGER: set(), R.INDIRECT_MANAGER: set(), R.HR_SCOPE: {"H1"},
        R.HRBP_SCOPE: {"B1"}, R.EMPLOYEE: EVERYONE, R.REPORTS_TO_OWNER: set(), R.UNIT_MEMBER: {"E1", "E2", "M1"},
        R.UNIT_LEAD: {"M1"}, R.UNIT_HEAD: {"M1"}, R.UNIT_MANAGER: {"D1"}, R.COLLEAGUE: {"E1", "E2", "M1"},
        R.COMPANY_HR: set(), R.AUDITOR: {"A1"}, R.ADMIN: {"root"}}),
    "a company-wide record": (None, {  # Resource(kind)
        R.SELF: set(), R.DIRECT_MANAGER: set(), R.INDIRECT_MANAGER: set(), R.HR_SCOPE: set(), R.HRBP_SCOPE: set(),
        R.EMPLOYEE: EVERYONE, R.REPORTS_TO_OWNER: set(), R.UNIT_MEMBER: set(), R.UNIT_LEAD: set(),
        R.UNIT_HEAD: set(), R.UNIT_MANAGER: set(), R.COLLEAGUE: set(), R.COMPANY_HR: {"H1"},
        R.AUDITOR: {"A1"}, R.ADMIN: {"root"}}),
}


def resource(record: str, kind: str) -> Resource:
    if record == "E1's record":
        return Resource(kind, owner="E1")
    if record == "Sales' own record":
        return Resource(kind, org_unit="U2", unit_owned=True)
    return Resource(kind)


def expected(rule, facts: dict[Relation, set[str]], subject: str) -> bool:
    holds = {relation for relation, who in facts.items() if subject in who}
    return bool(holds & set(rule.allow)) and not holds & set(rule.veto)


def policy_actor(subject: str) -> Actor:
    grants = ORG.grants_of(subject)
    person = ORG.person(subject)
    return Actor(subject, frozenset(g.role for g in grants), scopes_of(grants), person.org_unit_id)


CASES = [(action, record) for action in sorted(RULES) for record in FACTS]


def test_the_matrix_covers_every_declared_action():
    from contracts.access import TABLES

    assert set(RULES) == {action for table in TABLES.values() for action in table.rules}
    assert len(RULES) > 80


def test_the_facts_cover_every_relation():
    for _, facts in FACTS.values():
        assert set(facts) == set(Relation)


@pytest.mark.parametrize(("action", "record"), CASES, ids=[f"{a}@{r}" for a, r in CASES])
def test_every_persona_gets_what_the_rule_says(action, record):
    rule = RULES[action]
    facts = FACTS[record][1]
    target = resource(record, rule.kind)
    wrong = {}
    for persona, subject in PERSONAS.items():
        decision = can(policy_actor(subject), action, target, ORG)
        if decision.allowed != expected(rule, facts, subject):
            wrong[persona] = decision.reason
    assert not wrong, f"{action} on {record}: {wrong}"
    # a record of another kind is never reachable through this action
    assert not can(policy_actor("root"), action, Resource(rule.kind + "-other", owner="E1"), ORG).allowed


@pytest.mark.parametrize("action", sorted(RULES))
def test_api_clients_need_the_scope_the_policy_names(action):
    rule = RULES[action]
    target = Resource(rule.kind, owner="E1")
    needed = CLIENT_SCOPES.get(action)
    assert not client_can((), action, target).allowed  # without any scope: nothing
    if needed is None:
        assert not client_can(("*",), action, target).allowed  # not open to clients at all
        return
    assert client_can((needed,), action, target).allowed
    area = needed.split(":", 1)[0]
    others = [s for s in ("goals:read", "org:read", "reviews:read", "audit:read", "incentives:read") if s != needed
              and not s.startswith(area + ":")]
    assert not client_can(tuple(others), action, target).allowed  # another area's scopes do not open it


def test_nobody_outside_the_directory_and_no_unknown_action():
    stranger = Actor("ghost")
    for action in RULES:
        rule = RULES[action]
        for record in FACTS:
            target = resource(record, rule.kind)
            allowed = can(stranger, action, target, ORG).allowed
            assert not allowed, f"{action} on {record} allowed to someone the directory does not know"
    assert not can(policy_actor("root"), "goal.delete-everything", Resource("goal"), ORG).allowed
