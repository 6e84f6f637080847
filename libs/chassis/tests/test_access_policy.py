"""The pure access policy and the tolerant org index (no database, no broker)."""
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chassis.access.org import Forest, Grant, Member, OrgIndex, OrgUnit, PersonStatus, Role
from chassis.access.policy import (
    CLIENT_SCOPES,
    RULES,
    Actor,
    Resource,
    can,
    client_can,
    register_table,
    require,
    resolve_actor,
)
from chassis.errors import Forbidden, InvalidInput, NotFound
from contracts.access import COMPLIANCE, GOALS

# the chassis knows no action: these tests decide goals' and compliance's actions, as those services register them
register_table(COMPLIANCE)
register_table(GOALS)

UNITS = [OrgUnit("hq", "HQ"), OrgUnit("rd", "R&D", "hq"), OrgUnit("rd-p", "Platform", "rd"),
         OrgUnit("sales", "Sales", "hq")]
PEOPLE = [
    Member("CEO", "hq"), Member("G", "rd", "CEO"), Member("M", "rd-p", "G"), Member("T", "rd-p", "M"),
    Member("P", "rd-p", "M"), Member("H1", "hq", "CEO"), Member("H2", "hq", "CEO"),
    Member("L", "rd-p", "M", PersonStatus.TERMINATED),
]
GRANTS = [Grant("H1", Role.HR, "rd"), Grant("H2", Role.HR, "sales"), Grant("A", Role.AUDITOR)]
ORG = OrgIndex(UNITS, PEOPLE, GRANTS)
GOAL = Resource("goal", owner="T")


def who(subject):
    return resolve_actor(ORG, subject)


def test_relationships_decide_goal_reads():
    allowed = {s for s in ("CEO", "G", "M", "T", "P", "H1", "H2") if can(who(s), "goal.read", GOAL, ORG).allowed}
    assert allowed == {"CEO", "G", "M", "T", "H1"}


def test_vetoes_and_unknowns_deny():
    assert not can(who("T"), "goal.approve", GOAL, ORG).allowed  # approving one's own goal
    assert can(who("M"), "goal.approve", GOAL, ORG).allowed
    assert "unknown action" in can(who("T"), "goal.explode", GOAL, ORG).reason
    assert not can(who("L"), "goal.read", Resource("goal", owner="L"), ORG).allowed
    assert not can(Actor("X"), "person.lookup", Resource("person", owner="T"), ORG).allowed


def test_require_raises_forbidden_with_the_reason():
    require(who("T"), "goal.update", GOAL, ORG)
    with pytest.raises(Forbidden, match=r"no rule allows goal\.update"):
        require(who("G"), "goal.update", GOAL, ORG)
    with pytest.raises(InvalidInput):
        Actor("")
    with pytest.raises(NotFound):
        resolve_actor(ORG, "nobody")


def test_goals_align_upwards_and_units_own_their_goals():
    assert ORG.direct_reports("M") == ("T", "P", "L") and ORG.direct_reports("T") == ()
    assert can(who("T"), "goal.read", Resource("goal", owner="G"), ORG).allowed  # T's manager's manager
    assert not can(who("T"), "goal.browse", Resource("goal", owner="G"), ORG).allowed
    platform = Resource("goal", owner="M", org_unit="rd-p", unit_owned=True)
    assert can(who("P"), "goal.read", platform, ORG).allowed  # a member of the owning unit
    assert not can(who("P"), "goal.read", Resource("goal", org_unit="rd-p"), ORG).allowed  # filed there only
    assert can(who("M"), "goal.create", replace(platform, owner=None), ORG).allowed  # M leads rd-p
    assert not can(who("P"), "goal.create", replace(platform, owner=None), ORG).allowed
    assert can(who("T"), "goal.progress", GOAL, ORG).allowed and not can(who("M"), "goal.progress", GOAL, ORG).allowed


def test_clients_only_get_what_their_scopes_open():
    assert client_can(["goals:read"], "goal.read", GOAL).allowed
    assert client_can(["goals:*"], "goal.read", GOAL).allowed
    assert not client_can(["reviews:read"], "goal.read", GOAL).allowed
    assert not client_can(["*"], "goal.update", GOAL).allowed  # not open to clients at all
    assert set(CLIENT_SCOPES) <= set(RULES)


def test_the_index_tolerates_events_in_any_order():
    # a unit whose parent has not arrived yet is a root for now; a person whose unit is unknown is nobody's scope
    index = OrgIndex([OrgUnit("child", "C", "missing")], [Member("x", "nowhere", "ghost")],
                     [Grant("h", Role.HR, "child")])
    assert index.unit_within("child", "child")
    assert not index.unit_within("child", "missing")
    assert can(resolve_actor(index, "h"), "goal.read", Resource("goal", org_unit="child"), index).allowed
    assert not can(resolve_actor(index, "h"), "goal.read", Resource("goal", owner="x"), index).allowed


def test_loops_grant_nothing():
    index = OrgIndex([OrgUnit("a", "A", "b"), OrgUnit("b", "B", "a")],
                     [Member("p", "a", "q"), Member("q", "a", "p")], [Grant("h", Role.HR, "a")])
    assert not index.reports_to("p", "q")
    assert not can(resolve_actor(index, "h"), "goal.read", Resource("goal", owner="p"), index).allowed


parents = st.dictionaries(st.sampled_from("abcdefgh"), st.one_of(st.none(), st.sampled_from("abcdefghz")))


@settings(database=None, deadline=None, max_examples=300)
@given(parents)
def test_forest_within_agrees_with_walking_up(parent_of):
    forest = Forest(parent_of)

    def walk_up(node, root):
        seen = set()
        while node is not None and node in parent_of and node not in seen:
            if node == root:
                return True
            seen.add(node)
            node = parent_of[node]
        return False

    def on_loop(node):
        seen = set()
        while node is not None and node in parent_of:
            if node in seen:
                return True
            seen.add(node)
            node = parent_of[node]
        return False

    for node in parent_of:
        for root in parent_of:
            expected = walk_up(node, root) and not on_loop(node)
            assert forest.within(node, root) == expected, (node, root)
