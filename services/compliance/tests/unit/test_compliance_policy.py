import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chassis.access.org import Grant, Member
from chassis.access.org import OrgIndex as ReadModelIndex
from chassis.errors import Forbidden, InvalidInput, NotFound
from compliance import access
from compliance.domain.org import OrgIndex, OrgUnit, Person, PersonStatus, Role, RoleGrant
from compliance.domain.policy import RULES, Actor, Resource, Scope, can, require, resolve_actor
from contracts.access import owners_of

access.register()  # every service's declared actions, as the compliance service registers them

PROPERTY = settings(database=None, deadline=None, max_examples=200)

# hq ─┬─ rd ── rd-p      T (the target) works in rd-p for M, who reports to G (VP R&D), who reports to CEO.
#     ├─ sales           P is T's colleague in rd-p (same unit, not in T's reporting line); R reports to T.
#     └─ hrd             H1 is HR for rd, H2 is HR for sales, B is HRBP for rd-p, C is HR for the company.
UNITS = [
    OrgUnit("hq", "总部"),
    OrgUnit("rd", "研发中心", "hq"),
    OrgUnit("rd-p", "平台部", "rd"),
    OrgUnit("sales", "销售部", "hq"),
    OrgUnit("hrd", "人力资源部", "hq"),
]
PEOPLE = [
    Person("CEO", "Chief", "hq"),
    Person("G", "VP R&D", "rd", manager_id="CEO"),
    Person("M", "Platform lead", "rd-p", manager_id="G"),
    Person("T", "Target", "rd-p", manager_id="M"),
    Person("P", "Peer", "rd-p", manager_id="M"),
    Person("R", "Report", "rd-p", manager_id="T"),
    Person("C", "HR company", "hrd", manager_id="CEO"),
    Person("H1", "HR R&D", "hrd", manager_id="CEO"),
    Person("H2", "HR Sales", "hrd", manager_id="CEO"),
    Person("B", "HRBP Platform", "hrd", manager_id="CEO"),
    Person("A", "Auditor", "hq", manager_id="CEO"),
    Person("D", "Admin", "hq", manager_id="CEO"),
    Person("L", "Left", "rd-p", manager_id="M", status=PersonStatus.TERMINATED),
]
GRANTS = [
    RoleGrant("H1", Role.HR, "rd"),
    RoleGrant("H2", Role.HR, "sales"),
    RoleGrant("B", Role.HRBP, "rd-p"),
    RoleGrant("C", Role.HR, "hq"),
    RoleGrant("A", Role.AUDITOR),
    RoleGrant("D", Role.ADMIN),
]
ORG = OrgIndex(UNITS, PEOPLE, GRANTS)

SCENARIOS = {
    "self": "T",
    "direct_manager": "M",
    "indirect_manager": "G",
    "same_unit_non_report": "P",
    "owners_report": "R",
    "hr_in_scope": "H1",
    "hr_outside_scope": "H2",
    "hrbp_in_scope": "B",
    "auditor": "A",
    "admin": "D",
}
STRANGER = Actor("X")

RESOURCES = {
    "person": Resource("person", owner="T"),
    "goal": Resource("goal", owner="T"),
    "review": Resource("review", owner="T"),
    "appeal": Resource("appeal", owner="T"),
    "export": Resource("export", owner="T"),
    "audit": Resource("audit"),
    "client": Resource("client"),
    "org": Resource("org", org_unit="rd"),
    "settings": Resource("settings"),
    "orgunit": Resource("orgunit", org_unit="rd"),
    "grants": Resource("grants"),
    "cycle": Resource("cycle", org_unit="rd"),
    "customfield": Resource("customfield", owner="T"),
    "checkin": Resource("checkin", owner="T"),
    "feedback": Resource("feedback", owner="T"),
    "incentive": Resource("incentive", owner="T"),
    "talent": Resource("talent", owner="T"),
    "dsr": Resource("dsr", owner="T"),
    "hold": Resource("hold"),
    "retention": Resource("retention"),
}

_ALL_MEMBERS = set(SCENARIOS)
_READERS = {"self", "direct_manager", "indirect_manager", "hr_in_scope", "hrbp_in_scope"}
# The authorization matrix: who may do what to T's records (or the organisation's). Everything not
# listed, and everything for a stranger, is denied.
EXPECTED = {
    "person.lookup": _ALL_MEMBERS,
    "person.read": _READERS | {"admin"},
    "person.update": {"hr_in_scope", "admin"},
    "goal.read": _READERS | {"owners_report"},  # goals align upwards: a report reads their manager's goals
    "goal.browse": _READERS,
    # a cycle's visibility (issue 8): company-wide every member; unit-wide the members of the owner's unit
    "goal.read.company": _ALL_MEMBERS,
    "goal.read.unit": {"self", "direct_manager", "same_unit_non_report", "owners_report"},
    "goal.update": {"self", "direct_manager"},
    "goal.progress": {"self"},
    "customfield.write": {"direct_manager", "indirect_manager", "hr_in_scope"},
    "review.read": _READERS,
    "audit.read": {"auditor"},
    "audit.verify": {"auditor", "admin"},
    "appeal.create": {"self"},
    "appeal.read": {"self", "hr_in_scope", "hrbp_in_scope"},
    "appeal.withdraw": {"self"},
    "appeal.decide": {"hr_in_scope"},
    "appeal.review": {"hr_in_scope", "hrbp_in_scope"},  # HRBP investigates (issue 8), never the rating manager
    "dsr.request": {"self", "hr_in_scope"},
    "export.read": {"self"},
    "client.manage": {"admin"},
    "org.import": {"hr_in_scope", "admin"},
    "org.snapshot": {"admin"},
    "org.resync": {"admin"},
    "settings.update": {"admin"},
    "notification.preferences": {"self", "hr_in_scope", "admin"},  # notifications': a person's contact details
    "orgunit.manage": {"hr_in_scope", "admin"},
    "grants.manage": {"admin"},
    "goal.create": {"self", "direct_manager", "hr_in_scope"},
    "goal.approve": {"direct_manager", "indirect_manager"},
    "cycle.manage": {"hr_in_scope", "admin"},
    "review.write": {"self", "direct_manager"},
    "review.calibrate": {"hr_in_scope", "hrbp_in_scope"},
    "checkin.read": {"self", "direct_manager", "indirect_manager", "hrbp_in_scope"},
    "checkin.write": {"self", "direct_manager"},
    "feedback.give": _ALL_MEMBERS,
    "incentive.read": {"self", "direct_manager", "hr_in_scope"},
    "incentive.manage": {"hr_in_scope", "admin"},
    "talent.read": {"direct_manager", "indirect_manager", "hr_in_scope", "hrbp_in_scope"},
    "dsr.read": {"self", "hr_in_scope", "admin"},
    "hold.manage": {"admin"},
    "retention.manage": {"admin"},
}


def test_the_matrix_covers_every_rule():
    # compliance registers every service's table (its `decide` answers for any action); the actions on records of
    # kinds this matrix has no resource for (feedback.checkin, incentives.bonus, webhook...) are those services'
    # own, in their tests and in tests/security/test_policy_matrix.py
    foreign = {action for action, rule in RULES.items() if rule.kind not in RESOURCES}
    assert foreign and all(owner != "compliance" for action in foreign for owner in owners_of(action))
    assert set(EXPECTED) == set(RULES) - foreign


@pytest.mark.parametrize("scenario", [*SCENARIOS, "stranger"])
@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_authorization_matrix(action, scenario):
    actor = STRANGER if scenario == "stranger" else resolve_actor(ORG, SCENARIOS[scenario])
    decision = can(actor, action, RESOURCES[RULES[action].kind], ORG)
    assert decision.allowed == (scenario in EXPECTED[action]), decision.reason


def test_reasons_say_why():
    assert can(resolve_actor(ORG, "G"), "goal.read", RESOURCES["goal"], ORG).reason == (
        "goal.read allowed: the actor is an indirect manager of the owner"
    )
    assert can(resolve_actor(ORG, "P"), "goal.read", RESOURCES["goal"], ORG).reason == (
        "no rule allows goal.read to this actor"
    )
    assert "unknown action" in can(resolve_actor(ORG, "D"), "goal.delete", RESOURCES["goal"], ORG).reason


# roles combined with relationships ------------------------------------------------------------


def _hr(subject, unit="hq"):
    return Actor(subject, frozenset({Role.HR}), frozenset({Scope(Role.HR, unit)}))


def test_hr_cannot_decide_their_own_appeal():
    decision = can(_hr("T"), "appeal.decide", Resource("appeal", owner="T"), ORG)
    assert not decision.allowed
    assert "conflict of interest" in decision.reason


def test_hr_who_is_the_direct_manager_cannot_decide_the_appeal():
    assert not can(_hr("M"), "appeal.decide", Resource("appeal", owner="T"), ORG).allowed
    assert can(_hr("G"), "appeal.decide", Resource("appeal", owner="T"), ORG).allowed


def test_nobody_updates_their_own_directory_record():
    assert not can(_hr("H1"), "person.update", Resource("person", owner="H1"), ORG).allowed
    admin = Actor("D", frozenset({Role.ADMIN}))
    assert not can(admin, "person.update", Resource("person", owner="D"), ORG).allowed
    assert can(admin, "person.update", Resource("person", owner="T"), ORG).allowed


def test_a_manager_who_is_also_auditor_keeps_manager_rights_only_where_they_apply():
    actor = Actor("M", frozenset({Role.AUDITOR}))
    assert can(actor, "goal.read", RESOURCES["goal"], ORG).allowed
    assert can(actor, "audit.read", RESOURCES["audit"], ORG).allowed
    assert not can(actor, "person.update", RESOURCES["person"], ORG).allowed


def test_people_who_left_are_denied_everything():
    actor = resolve_actor(ORG, "L")
    for action, rule in RULES.items():
        assert not can(actor, action, Resource(rule.kind, owner="L"), ORG).allowed


def test_role_without_scope_or_scope_without_role_grants_nothing():
    role_only = Actor("H9", frozenset({Role.HR}))
    scope_only = Actor("H9", scopes=frozenset({Scope(Role.HR, "hq")}))
    hrbp_scope_as_hr = Actor("H9", frozenset({Role.HR}), frozenset({Scope(Role.HRBP, "hq")}))
    for actor in (role_only, scope_only, hrbp_scope_as_hr):
        assert not can(actor, "person.update", RESOURCES["person"], ORG).allowed


def test_action_and_resource_kind_must_match():
    decision = can(resolve_actor(ORG, "T"), "goal.read", Resource("person", owner="T"), ORG)
    assert not decision.allowed
    assert decision.reason == "goal.read applies to a goal, not a person"


def test_hr_scope_follows_the_owner_not_where_the_record_was_filed():
    moved = Resource("goal", owner="T", org_unit="sales")  # filed while T was in sales
    assert can(resolve_actor(ORG, "H1"), "goal.read", moved, ORG).allowed
    assert not can(resolve_actor(ORG, "H2"), "goal.read", moved, ORG).allowed


def test_unowned_resources_use_their_org_unit():
    team_goal = Resource("goal", org_unit="sales")
    assert can(resolve_actor(ORG, "H2"), "goal.read", team_goal, ORG).allowed
    assert not can(resolve_actor(ORG, "H1"), "goal.read", team_goal, ORG).allowed
    erased_owner = Resource("goal", owner="gone", org_unit="rd")
    assert can(resolve_actor(ORG, "H1"), "goal.read", erased_owner, ORG).allowed
    assert not can(resolve_actor(ORG, "H1"), "goal.read", Resource("goal"), ORG).allowed


def test_a_units_own_goal_is_read_by_its_members_and_scoped_by_the_unit():
    rd_goal = Resource("goal", owner="G", org_unit="rd", unit_owned=True)  # G answers for R&D's goal
    readers = {s for s in ("CEO", "G", "M", "T", "P", "R", "H1", "H2", "A", "D") if
               can(resolve_actor(ORG, s), "goal.read", rd_goal, ORG).allowed}
    assert readers == {"CEO", "G", "M", "T", "P", "R", "H1"}  # members below rd, G's manager, HR for rd
    assert can(resolve_actor(ORG, "T"), "goal.read", rd_goal, ORG).reason == (
        "goal.read allowed: the actor is a member of the owning org unit")
    assert not can(resolve_actor(ORG, "T"), "goal.browse", rd_goal, ORG).allowed
    assert not can(resolve_actor(ORG, "T"), "goal.update", rd_goal, ORG).allowed
    # everything merely filed under a unit (its board) is not the unit's own: members do not read it
    assert not can(resolve_actor(ORG, "T"), "goal.read", Resource("goal", org_unit="rd"), ORG).allowed
    # HR scope follows the owning unit, not the unit of the person answering for it
    sales_goal = Resource("goal", owner="G", org_unit="sales", unit_owned=True)
    assert can(resolve_actor(ORG, "H2"), "goal.read", sales_goal, ORG).allowed
    assert not can(resolve_actor(ORG, "H1"), "goal.read", sales_goal, ORG).allowed


def test_reading_upwards_is_for_a_persons_single_goals_only():
    assert can(resolve_actor(ORG, "R"), "goal.read", RESOURCES["goal"], ORG).reason == (
        "goal.read allowed: the actor is in the owner's reporting line")
    assert can(resolve_actor(ORG, "T"), "goal.read", Resource("goal", owner="CEO"), ORG).allowed
    assert not can(resolve_actor(ORG, "R"), "goal.browse", RESOURCES["goal"], ORG).allowed
    assert not can(resolve_actor(ORG, "R"), "goal.update", RESOURCES["goal"], ORG).allowed
    assert not can(resolve_actor(ORG, "M"), "goal.read", Resource("goal", owner="R"), ORG).reason.endswith(
        "reporting line")  # M reads R's goals as R's indirect manager, not upwards


def test_a_unit_lead_creates_the_units_goals():
    platform = Resource("goal", org_unit="rd-p", unit_owned=True)
    creators = {s for s in ("CEO", "G", "M", "T", "P", "R", "H1", "H2", "C", "D") if
                can(resolve_actor(ORG, s), "goal.create", platform, ORG).allowed}
    # M and T have direct reports in rd-p; G and CEO are managers up the chain of rd-p's head M, who decompose
    # strategy down the tree (issue 8 item 3)
    assert creators == {"CEO", "G", "M", "T", "H1", "C"}
    assert can(resolve_actor(ORG, "M"), "goal.create", platform, ORG).reason == (
        "goal.create allowed: the actor is a lead of the owning org unit")
    rd = Resource("goal", org_unit="rd", unit_owned=True)
    assert can(resolve_actor(ORG, "G"), "goal.create", rd, ORG).allowed  # M, in rd-p below rd, reports to G
    assert not can(resolve_actor(ORG, "P"), "goal.create", rd, ORG).allowed


def test_company_wide_resources_are_for_company_hr_and_administrators():
    company = Resource("cycle")
    allowed = {s for s in ("C", "H1", "H2", "D", "CEO", "A") if
               can(resolve_actor(ORG, s), "cycle.manage", company, ORG).allowed}
    assert allowed == {"C", "D"}
    assert can(resolve_actor(ORG, "C"), "cycle.manage", company, ORG).reason == (
        "cycle.manage allowed: the actor is HR for the whole company")
    # in a service's read model, a unit whose parent has not arrived yet is no company
    read_model = ReadModelIndex([OrgUnit("lost", "Lost", "not-yet-known")], [Member("P", "lost")],
                                [Grant("P", Role.HR, "lost")])
    assert not can(resolve_actor(read_model, "P"), "cycle.manage", company, read_model).allowed
    assert can(resolve_actor(ORG, "H1"), "cycle.manage", RESOURCES["cycle"], ORG).allowed  # a unit's cycle


def test_custom_fields_are_never_set_by_the_person_themself():
    hr_self = Actor("T", frozenset({Role.HR}), frozenset({Scope(Role.HR, "hq")}))
    decision = can(hr_self, "customfield.write", Resource("customfield", owner="T"), ORG)
    assert not decision.allowed and "conflict of interest" in decision.reason
    assert can(hr_self, "customfield.write", Resource("customfield", owner="P"), ORG).allowed


def test_require_raises_forbidden_with_the_reason():
    require(resolve_actor(ORG, "T"), "goal.update", RESOURCES["goal"], ORG)
    with pytest.raises(Forbidden, match=r"no rule allows goal\.update"):
        require(resolve_actor(ORG, "G"), "goal.update", RESOURCES["goal"], ORG)


def test_an_actor_needs_a_subject():
    with pytest.raises(InvalidInput):
        Actor("")


def test_resolve_actor_reads_grants_from_the_directory():
    assert resolve_actor(ORG, "H1") == Actor("H1", frozenset({Role.HR}), frozenset({Scope(Role.HR, "rd")}), "hrd")
    assert resolve_actor(ORG, "T") == Actor("T", org_unit="rd-p")
    service_account = OrgIndex(UNITS, PEOPLE, [RoleGrant("svc-audit", Role.AUDITOR)])
    assert resolve_actor(service_account, "svc-audit") == Actor("svc-audit", frozenset({Role.AUDITOR}))
    with pytest.raises(NotFound):
        resolve_actor(ORG, "X")


# properties ------------------------------------------------------------------------------------

people_ids = st.sampled_from([p.employee_number for p in PEOPLE]) | st.text(max_size=5)
resources = st.builds(
    Resource,
    kind=st.sampled_from(sorted({rule.kind for rule in RULES.values()})) | st.text(max_size=8),
    owner=st.none() | people_ids,
    org_unit=st.none() | st.sampled_from([u.id for u in UNITS]) | st.text(max_size=5),
    unit_owned=st.booleans(),
)
actions = st.sampled_from(sorted(RULES)) | st.text(max_size=20)
known = {p.employee_number for p in PEOPLE}


@PROPERTY
@given(st.text(min_size=1, max_size=10).filter(lambda s: s not in known), actions, resources)
@example("gone", "goal.read", Resource("goal", owner="gone"))  # an id equal to the owner's is not "self"
def test_a_stranger_is_never_allowed_anything(subject, action, resource):
    assert not can(Actor(subject), action, resource, ORG).allowed


@PROPERTY
@given(st.text(max_size=30).filter(lambda a: a not in RULES), resources, st.sampled_from(sorted(known)))
def test_unknown_actions_are_denied_even_to_the_most_privileged(action, resource, subject):
    everything = Actor(
        subject, frozenset(Role), frozenset({Scope(Role.HR, "hq"), Scope(Role.HRBP, "hq")}), org_unit="hq"
    )
    assert not can(everything, action, resource, ORG).allowed


@PROPERTY
@given(st.sampled_from(sorted(RULES)), resources, st.sampled_from(sorted(known)))
def test_decisions_are_deterministic_and_explained(action, resource, subject):
    actor = resolve_actor(ORG, subject)
    first = can(actor, action, resource, ORG)
    assert first == can(actor, action, resource, ORG)
    assert first.reason
