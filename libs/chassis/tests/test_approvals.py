"""Approval chains by grade (pure: the org index and a table, no database, no broker)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chassis.access.approvals import (
    Approval,
    ApprovalTable,
    Status,
    Step,
    approval_chain,
    approve,
    resubmit,
    send_back,
    start,
)
from chassis.access.org import Grant, Member, OrgIndex, OrgUnit, PersonStatus, Role
from chassis.errors import Conflict, Forbidden, InvalidInput

UNITS = [OrgUnit("hq", "HQ"), OrgUnit("sales", "Sales", "hq"), OrgUnit("east", "East", "sales")]
PEOPLE = [Member("ceo", "hq"), Member("vp", "sales", "ceo"), Member("mgr", "east", "vp"),
          Member("rep", "east", "mgr"), Member("rep2", "east", "mgr"), Member("bp", "hq", "ceo"),
          Member("bp2", "hq", "ceo"), Member("hr", "hq", "ceo"),
          Member("gone", "east", "vp", PersonStatus.TERMINATED), Member("orphan", "east", "gone")]
GRANTS = [Grant("bp", Role.HRBP, "sales"), Grant("bp2", Role.HRBP, "hq"), Grant("hr", Role.HR, "hq")]
ORG = OrgIndex(UNITS, PEOPLE, GRANTS)
TABLE = ApprovalTable.parse({"M>=3": ["direct_manager", "skip_level", "hrbp"], "P7": ["direct_manager", "hr"],
                             "*": ["direct_manager"]})


def chain_of(person, grade, requested_by=None, org=ORG, table=TABLE):
    chain = approval_chain(org, person, grade, table, requested_by=requested_by)
    return [(a.step.value, a.person_id) for a in chain.approvers], [s.value for s in chain.unresolved]


def test_the_grade_decides_the_steps():
    assert chain_of("rep", "P5") == ([("direct_manager", "mgr")], [])
    assert chain_of("rep", "M3") == ([("direct_manager", "mgr"), ("skip_level", "vp"), ("hrbp", "bp")], [])
    assert chain_of("rep", "M7")[0][-1] == ("hrbp", "bp")
    assert chain_of("rep", "P7") == ([("direct_manager", "mgr"), ("hr", "hr")], [])
    assert chain_of("rep", "P8") == ([("direct_manager", "mgr")], [])  # exact key: P7 only
    assert chain_of("rep", None) == ([("direct_manager", "mgr")], [])


def test_nobody_approves_their_own_item():
    # the manager requested the rep's bonus: the chain moves up past them
    assert chain_of("rep", "P5", requested_by="mgr") == ([("direct_manager", "vp")], [])
    # the HRBP's own item: the next HRBP up takes the step
    approvers, _ = chain_of("bp", "M3")
    assert ("hrbp", "bp") not in approvers and ("hrbp", "bp2") in approvers
    # a terminated manager is skipped
    assert chain_of("orphan", "P1") == ([("direct_manager", "vp")], [])


def test_the_skip_level_is_the_direct_managers_manager_whoever_requested():
    skip_only = ApprovalTable.parse({"*": ["skip_level"]})
    # the manager requested it: the skip-level step is still the manager's manager, not one further up
    assert chain_of("rep", "P5", requested_by="mgr", table=skip_only) == ([("skip_level", "vp")], [])
    assert chain_of("rep", "P5", table=skip_only) == ([("skip_level", "vp")], [])
    # with a direct-manager step before it, that step moved up to the vp: the skip-level is the next pair of eyes
    assert chain_of("rep", "M3", requested_by="mgr") == ([("direct_manager", "vp"), ("skip_level", "ceo"),
                                                          ("hrbp", "bp")], [])
    # a terminated direct manager: the skip-level is their manager
    assert chain_of("orphan", "P1", table=skip_only) == ([("skip_level", "vp")], [])


def test_a_step_nobody_can_take_is_reported_not_skipped():
    _, unresolved = chain_of("ceo", "M3")
    assert unresolved == ["direct_manager", "skip_level"]
    with pytest.raises(InvalidInput):
        start(approval_chain(ORG, "ceo", "M3", TABLE))


def test_a_person_at_two_steps_approves_once():
    # the skip-level is also HRBP of the unit: the HRBP step goes to the next HRBP up, a second pair of eyes
    org = OrgIndex(UNITS, PEOPLE, [*GRANTS, Grant("vp", Role.HRBP, "east")])
    assert chain_of("rep", "M3", org=org) == ([("direct_manager", "mgr"), ("skip_level", "vp"), ("hrbp", "bp")], [])
    # ... and when there is no other, they do not approve twice
    org = OrgIndex(UNITS, PEOPLE, [Grant("vp", Role.HRBP, "east")])
    assert chain_of("rep", "M3", org=org) == ([("direct_manager", "mgr"), ("skip_level", "vp")], ["hrbp"])


def test_bad_tables_are_refused_naming_the_key():
    for table in ({"M>=3": ["ceo"]}, {"M3+": ["hr"]}, {"*": []}, {}, {"*": ["hr", "hr"]}):
        with pytest.raises(InvalidInput):
            ApprovalTable.parse(table)
    with pytest.raises(InvalidInput):
        ApprovalTable.parse({"M3": ["hr"]}).steps_for("P1")


def test_approve_and_send_back_with_a_reason():
    approval = start(approval_chain(ORG, "rep", "M3", TABLE))
    with pytest.raises(Forbidden):
        approve(approval, "vp")  # not their turn yet
    with pytest.raises(Forbidden):
        approve(approval, "rep")
    approval = approve(approval, "mgr")
    with pytest.raises(InvalidInput):
        send_back(approval, "vp", "  ")
    approval = send_back(approval, "vp", "the budget line is wrong")
    assert approval.status is Status.SENT_BACK and approval.decisions[-1].reason == "the budget line is wrong"
    with pytest.raises(Conflict):
        approve(approval, "vp")
    approval = resubmit(approval)
    for who in ("mgr", "vp", "bp"):
        approval = approve(approval, who)
    assert approval.status is Status.APPROVED and approval.current is None
    assert Approval.from_json(approval.to_json()) == approval


# -- properties over generated org charts ---------------------------------------------------------------------------

@st.composite
def orgs(draw):
    n = draw(st.integers(2, 12))
    ids = [f"p{i}" for i in range(n)]
    units = [OrgUnit("u0", "root")] + [OrgUnit(f"u{i}", f"u{i}", f"u{draw(st.integers(0, i - 1))}")
                                       for i in range(1, draw(st.integers(1, 4)))]
    people = [Member(pid, draw(st.sampled_from([u.id for u in units])),
                     None if i == 0 else ids[draw(st.integers(0, i - 1))],
                     draw(st.sampled_from([PersonStatus.ACTIVE] * 4 + [PersonStatus.TERMINATED])))
              for i, pid in enumerate(ids)]
    grants = [Grant(draw(st.sampled_from(ids)), draw(st.sampled_from([Role.HR, Role.HRBP])),
                    draw(st.sampled_from([u.id for u in units]))) for _ in range(draw(st.integers(0, 4)))]
    return OrgIndex(units, people, grants), ids


STEPS = st.lists(st.sampled_from(list(Step)), min_size=1, max_size=4, unique=True)


@settings(max_examples=200, deadline=None)
@given(orgs(), STEPS, st.data())
def test_no_chain_names_the_subject_or_the_requester_or_anyone_twice(org_ids, steps, data):
    org, ids = org_ids
    person = data.draw(st.sampled_from(ids))
    requester = data.draw(st.sampled_from([None, *ids]))
    table = ApprovalTable.parse({"*": [s.value for s in steps]})
    chain = approval_chain(org, person, "P1", table, requested_by=requester)
    names = [a.person_id for a in chain.approvers]
    assert person not in names and (requester is None or requester not in names)
    assert len(names) == len(set(names))
    assert all(org.person(n).status != PersonStatus.TERMINATED for n in names if org.person(n) is not None)
    # every step is either taken, unresolved, or taken earlier by the same person
    assert len(chain.approvers) + len(chain.unresolved) <= len(steps)
    if chain.complete:
        approval = start(chain)
        for approver in chain.approvers:
            approval = approve(approval, approver.person_id)
        assert approval.status is Status.APPROVED
