"""Issue 8's rules as plain functions: who leads a unit (the reviewer of its red goals), who above the first line
creates and browses a unit's goals, who reads a goal by the cycle's visibility, and the retention clock."""
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from chassis.access.org import Member, OrgIndex, OrgUnit, PersonStatus
from chassis.access.policy import Actor, Resource, can
from contracts.compliance import HoldRef
from goals import access
from goals.access import unit_lead
from goals.usecases.retention import Policy, held, years_before

access.register()  # goals' actions in the chassis policy, as the service module registers them

# co > sales > (east, west); ceo heads co; vp heads sales; mgr heads east (reps below); lead heads west alone
UNITS = [OrgUnit("co", "Co"), OrgUnit("sales", "Sales", "co"), OrgUnit("east", "East", "sales"),
         OrgUnit("west", "West", "sales"), OrgUnit("empty", "Empty", "sales")]
PEOPLE = [Member("ceo", "co"), Member("vp", "sales", "ceo"), Member("mgr", "east", "vp"),
          Member("rep1", "east", "mgr"), Member("rep2", "east", "mgr"), Member("lead", "west", "vp"),
          Member("peer", "co", "ceo"), Member("gone", "east", "mgr", status=PersonStatus.TERMINATED)]
ORG = OrgIndex(UNITS, PEOPLE)


def unit_goal(unit):
    return Resource("goal", org_unit=unit, unit_owned=True)


def allowed(subject, action, resource):
    return can(Actor(subject), action, resource, ORG).allowed


def test_the_lead_of_a_unit_is_the_top_of_its_line():
    assert unit_lead(ORG, "east", "rep1") == "mgr"  # from the person answering, up while inside the unit
    assert unit_lead(ORG, "east", "mgr") == "mgr"
    assert unit_lead(ORG, "east", "vp") == "mgr"  # answered from above: the member whose manager is outside
    assert unit_lead(ORG, "sales", "rep2") == "vp"  # east is within sales
    assert unit_lead(ORG, "empty", "vp") == "ceo"  # nobody in it: the answering person's manager


def test_managers_above_the_first_line_create_and_browse_a_units_goals():
    creators = {p.id for p in PEOPLE if allowed(p.id, "goal.create", unit_goal("east"))}
    assert creators == {"mgr", "vp", "ceo"}
    assert allowed("lead", "goal.create", unit_goal("west"))  # no reports yet: the head of his unit
    assert not allowed("lead", "goal.create", unit_goal("east"))
    board = Resource("goal", org_unit="east")  # everything filed under east
    assert {p.id for p in PEOPLE if allowed(p.id, "goal.browse", board)} == {"mgr", "vp", "ceo"}
    # a head of a unit below does not browse the unit above
    assert not allowed("mgr", "goal.browse", Resource("goal", org_unit="sales"))


def test_visibility_opens_reading_to_employees_or_the_owners_unit():
    goal = Resource("goal", owner="rep1")
    assert {p.id for p in PEOPLE if allowed(p.id, "goal.read.company", goal)} == {
        p.id for p in PEOPLE if p.status != PersonStatus.TERMINATED}
    assert {p.id for p in PEOPLE if allowed(p.id, "goal.read.unit", goal)} == {"mgr", "rep1", "rep2"}
    assert not allowed("stranger", "goal.read.company", goal)


def test_retention_holds_and_policies():
    holds = [HoldRef(hold_id="h1", record_type="goal", record_ids=["g1"], reason="case"),
             HoldRef(hold_id="h2", record_type="checkin", reason="audit")]
    assert held(holds, "g1") and not held(holds, "g2")
    assert held([HoldRef(hold_id="h3", reason="everything")], "g2")
    assert years_before(datetime(2028, 2, 29, tzinfo=UTC), 1) == datetime(2027, 2, 28, tzinfo=UTC)
    with pytest.raises(ValidationError):
        Policy.model_validate({"purge_after_years": -1})
    assert Policy.model_validate({"anonymize_after_years": 3, "unknown": 1}).basis == "created"


@given(st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2100, 12, 31)), st.integers(0, 40))
def test_years_before_goes_back_whole_years(moment, years):
    back = years_before(moment, years)
    assert back <= moment and moment.year - back.year == years and back.month == moment.month
