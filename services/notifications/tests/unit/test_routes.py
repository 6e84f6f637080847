"""Who is told: the routing table and recipient resolution."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from notifications.domain import routes
from notifications.domain.templates import BUILT_IN, LANGUAGES, built_in, check_template


class Directory:
    def __init__(self, people, hr=None, admins=(), inactive=()):
        self.people = people  # person -> (unit, manager)
        self.hr = hr or {}
        self._admins = list(admins)
        self.inactive = set(inactive)
        self.parents = {}

    def is_active(self, person):
        return person in self.people and person not in self.inactive

    def manager_of(self, person):
        return self.people.get(person, (None, None))[1]

    def unit_of(self, person):
        return self.people.get(person, (None, None))[0]

    def hr_for_unit(self, unit):
        return list(self.hr.get(unit, []))

    def admins(self):
        return self._admins


ORG = Directory({"emp": ("sales", "mgr"), "mgr": ("sales", None), "hr": ("sales", None), "adm": ("hq", None),
                 "gone": ("sales", "mgr")}, hr={"sales": ["hr"]}, admins=["adm"], inactive=["gone"])


def only(event_type, data):
    [route] = routes.routes_for(event_type, data)
    return route


def test_a_goal_turning_red_tells_its_owner_and_their_manager_but_other_colours_tell_no_one():
    data = {"goal_id": "g1", "responsible_id": "emp", "after": "red", "before": "yellow"}
    route = only("jixiao.goals.goal.status_changed.v1", data)
    assert routes.recipients(route, data, ORG) == ["emp", "mgr"]
    assert routes.routes_for("jixiao.goals.goal.status_changed.v1", {**data, "after": "green"}) == []


def test_a_proposal_goes_to_the_other_party():
    data = {"proposal_id": "p", "owner_id": "emp", "manager_id": "mgr", "proposed_by": "owner"}
    route = only("jixiao.goals.proposal.opened.v1", data)
    assert routes.recipients(route, data, ORG) == ["mgr"]
    assert routes.recipients(route, {**data, "proposed_by": "manager"}, ORG) == ["emp"]
    assert routes.recipients(route, {**data, "proposed_by": "nobody"}, ORG) == []


def test_an_appeal_reaches_the_hr_of_the_unit_and_the_appellant_once_each():
    data = {"appeal_id": "a", "appellant": "emp", "org_unit_id": "sales"}
    route = only("jixiao.compliance.appeal.submitted.v1", data)
    assert routes.recipients(route, data, ORG) == ["hr", "emp"]
    # no unit on the event: the HR of the appellant's unit
    assert routes.recipients(route, {**data, "org_unit_id": None}, ORG) == ["hr", "emp"]


def test_people_who_left_or_are_unknown_are_not_told():
    data = {"appeal_id": "a", "appellant": "gone", "org_unit_id": None}
    assert routes.recipients(only("jixiao.compliance.appeal.decided.v1", data), data, ORG) == []
    data = {"appeal_id": "a", "appellant": "stranger"}
    assert routes.recipients(only("jixiao.compliance.appeal.decided.v1", data), data, ORG) == []


def test_an_incomplete_dsr_reaches_the_administrators_and_a_completed_one_no_one():
    data = {"request_id": "r", "kind": "erasure", "state": "incomplete"}
    assert routes.recipients(only("jixiao.compliance.dsr.closed.v1", data), data, ORG) == ["adm"]
    assert routes.routes_for("jixiao.compliance.dsr.closed.v1", {**data, "state": "completed"}) == []


def test_no_route_allows_a_forbidden_field_and_every_kind_has_both_languages_that_pass_their_own_check():
    for route in routes.KINDS.values():
        assert not set(route.fields) & routes.FORBIDDEN_FIELDS, route.kind
        assert set(BUILT_IN[route.kind]) == set(LANGUAGES), route.kind
        for language in LANGUAGES:
            for channel in ("inbox", "email", "sms"):
                check_template(built_in(route.kind, language, channel))


@given(st.dictionaries(st.sampled_from(["appeal_id", "appellant", "outcome", "reason", "amendment", "rating",
                                        "target_kind", "bonus"]), st.text(max_size=30)))
def test_template_fields_never_carry_more_than_the_allow_list(data):
    route = routes.KINDS["appeal.decided"]
    fields = routes.template_fields(route, data)
    assert set(fields) == set(route.fields)
    assert not set(fields) & routes.FORBIDDEN_FIELDS
