import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.domain.errors import InvalidInput, NotFound
from compliance.domain.org import (
    OrgIndex,
    OrgUnit,
    Person,
    Role,
    RoleGrant,
    describe_loop,
    find_loops,
    manager_chain,
    reports_to,
    unit_ancestors,
    unit_descendants,
)

PROPERTY = settings(database=None, deadline=None, max_examples=100)

UNITS = [
    OrgUnit("hq", "总部"),
    OrgUnit("rd", "研发中心", "hq"),
    OrgUnit("rd-p", "平台部", "rd"),
    OrgUnit("rd-a", "算法部", "rd"),
    OrgUnit("sales", "销售部", "hq"),
]
PEOPLE = [
    Person("E1", "CEO", "hq"),
    Person("E2", "VP R&D", "rd", manager_id="E1"),
    Person("E3", "Platform lead", "rd-p", manager_id="E2"),
    Person("E4", "Engineer", "rd-p", manager_id="E3"),
    Person("E5", "Seller", "sales", manager_id="E1"),
]


@pytest.fixture
def org():
    return OrgIndex(UNITS, PEOPLE, [RoleGrant("E5", Role.HR, "sales"), RoleGrant("ops", Role.ADMIN)])


def test_unit_tree_queries(org):
    assert org.ancestors("rd-p") == ["rd", "hq"]
    assert org.ancestors("hq") == []
    assert org.descendants("rd") == ["rd-p", "rd-a"]
    assert set(org.descendants("hq")) == {"rd", "rd-p", "rd-a", "sales"}
    assert org.unit_within("rd-p", "hq")
    assert org.unit_within("rd", "rd")
    assert not org.unit_within("rd", "rd-p")
    assert not org.unit_within("sales", "rd")
    assert not org.unit_within("nope", "hq")


def test_manager_queries(org):
    assert org.manager_chain("E4") == ["E3", "E2", "E1"]
    assert org.manager_chain("E1") == []
    assert org.manager_of("E4") == "E3"
    assert org.manager_of("nobody") is None
    assert org.reports_to("E4", "E3")
    assert org.reports_to("E4", "E1")
    assert not org.reports_to("E4", "E4")
    assert not org.reports_to("E3", "E4")
    assert not org.reports_to("E5", "E2")
    assert not org.reports_to("E4", "nobody")
    assert org.reporting_line("E2") == ["E3", "E4"]


def test_lookups_and_grants(org):
    assert org.person("E4").name == "Engineer"
    assert org.person("E4").id == "E4"
    assert org.unit("rd").name == "研发中心"
    assert org.grants_of("ops") == (RoleGrant("ops", Role.ADMIN),)
    assert org.grants_of("E4") == ()
    assert len(org.people) == 5
    assert set(org.units) == {"hq", "rd", "rd-p", "rd-a", "sales"}


@pytest.mark.parametrize(
    "call",
    [
        lambda o: o.ancestors("x"),
        lambda o: o.descendants("x"),
        lambda o: o.manager_chain("x"),
        lambda o: o.reporting_line("x"),
    ],
)
def test_unknown_ids_are_not_found(org, call):
    with pytest.raises(NotFound):
        call(org)


def _paths(error):
    return {e.path: e.message for e in error.errors}


def test_inconsistent_directory_reports_every_problem_with_paths():
    units = [OrgUnit("a", "A", "b"), OrgUnit("b", "B", "a"), OrgUnit("c", "C", "ghost"), OrgUnit("c", "C again")]
    people = [
        Person("P1", "One", "a", manager_id="P2"),
        Person("P2", "Two", "a", manager_id="P1"),
        Person("P3", "Three", "nowhere", manager_id="P9"),
        Person("P3", "Three again", "a"),
    ]
    with pytest.raises(InvalidInput) as raised:
        OrgIndex(units, people, [RoleGrant("P1", Role.HRBP, "zzz")])
    paths = _paths(raised.value)
    assert paths[("units", "c")] == "duplicate org unit id"
    assert paths[("people", "P3")] == "duplicate employee number"
    assert "org unit loop" in paths[("units", "a", "parent_id")]
    assert paths[("grants", 0, "org_unit_id")] == "unknown org unit"
    assert "manager loop: P1 → P2 → P1" == paths[("people", "P1", "manager_id")]


def test_unknown_parent_manager_and_unit_are_reported():
    with pytest.raises(InvalidInput) as raised:
        OrgIndex([OrgUnit("a", "A", "ghost")], [Person("P1", "One", "nowhere", manager_id="P9")])
    paths = _paths(raised.value)
    assert paths == {
        ("units", "a", "parent_id"): "unknown parent org unit",
        ("people", "P1", "org_unit_id"): "unknown org unit",
        ("people", "P1", "manager_id"): "unknown manager",
    }


def test_self_manager_is_a_loop():
    with pytest.raises(InvalidInput) as raised:
        OrgIndex([OrgUnit("a", "A")], [Person("P1", "One", "a", manager_id="P1")])
    assert raised.value.errors[0].message == "manager loop: P1 → P1"


def test_role_grants_scope_rules():
    RoleGrant("x", Role.HR, "a")
    RoleGrant("x", Role.AUDITOR)
    with pytest.raises(InvalidInput):
        RoleGrant("x", Role.HRBP)
    with pytest.raises(InvalidInput):
        RoleGrant("x", Role.ADMIN, "a")


def test_pure_helpers():
    parents = {"hq": None, "rd": "hq", "rd-p": "rd", "sales": "hq"}
    assert unit_ancestors("rd-p", parents) == ["rd", "hq"]
    assert unit_descendants("hq", parents) == ["rd", "sales", "rd-p"]
    managers = {"E1": None, "E2": "E1", "E3": "E2"}
    assert manager_chain("E3", managers) == ["E2", "E1"]
    assert reports_to("E3", "E1", managers)
    assert not reports_to("E1", "E3", managers)
    with pytest.raises(NotFound):
        manager_chain("E9", managers)
    with pytest.raises(NotFound):
        unit_descendants("zz", parents)


def test_pure_helpers_detect_loops():
    with pytest.raises(InvalidInput, match="manager loop: E2 → E3 → E2"):
        manager_chain("E1", {"E1": "E2", "E2": "E3", "E3": "E2"})
    with pytest.raises(InvalidInput, match="org unit loop"):
        unit_ancestors("a", {"a": "a"})
    assert sorted(unit_descendants("a", {"a": "b", "b": "a"})) == ["b"]


def test_find_loops_reports_each_loop_once():
    loops = find_loops({"a": "b", "b": "c", "c": "a", "d": "a", "e": "e", "f": None, "g": "ghost"})
    assert sorted(sorted(loop) for loop in loops) == [["a", "b", "c"], ["e"]]
    assert describe_loop(("a", "b")) == "a → b → a"


# properties ------------------------------------------------------------------------------------


@st.composite
def forests(draw):
    """A random forest: node i's parent is an earlier node or none."""
    size = draw(st.integers(1, 40))
    return {
        f"n{i}": (None if i == 0 or (draw(st.booleans()) and i % 5 == 0) else f"n{draw(st.integers(0, i - 1))}")
        for i in range(size)
    }


@PROPERTY
@given(forests(), st.data())
def test_index_answers_match_naive_walks(parents, data):
    units = [OrgUnit(node, node, parent) for node, parent in parents.items()]
    people = [Person(node, node, "n0", manager_id=parent) for node, parent in parents.items()]
    org = OrgIndex(units, people)
    nodes = list(parents)
    for _ in range(20):
        a = data.draw(st.sampled_from(nodes))
        b = data.draw(st.sampled_from(nodes))
        assert org.reports_to(a, b) == reports_to(a, b, parents)
        assert org.unit_within(a, b) == (a == b or b in unit_ancestors(a, parents))
        assert org.manager_chain(a) == manager_chain(a, parents)
        assert sorted(org.descendants(a)) == sorted(unit_descendants(a, parents))


@PROPERTY
@given(st.dictionaries(st.integers(0, 15).map(str), st.none() | st.integers(0, 15).map(str), max_size=16))
def test_find_loops_finds_exactly_the_nodes_on_cycles(parents):
    def on_cycle(node):
        seen = set()
        current = parents.get(node)
        while current is not None and current not in seen:
            if current == node:
                return True
            seen.add(current)
            current = parents.get(current)
        return False

    loops = find_loops(parents)
    members = [node for loop in loops for node in loop]
    assert len(members) == len(set(members))
    assert set(members) == {node for node in parents if on_cycle(node)}
