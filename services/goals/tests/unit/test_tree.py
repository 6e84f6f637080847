from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goals.domain.errors import Conflict, InvalidInput
from goals.domain.tree import ancestors, check_reparent, children_map, descendants, roll_up

# company -> sales unit -> alice, bob; company -> ops unit -> carol
PARENTS = {
    "company": None,
    "sales": "company",
    "ops": "company",
    "alice": "sales",
    "bob": "sales",
    "carol": "ops",
}


def test_ancestors_nearest_first():
    assert ancestors("alice", PARENTS) == ["sales", "company"]
    assert ancestors("company", PARENTS) == []


def test_ids_outside_the_mapping_are_treated_as_roots():
    assert ancestors("x", {"x": "outside"}) == ["outside"]


def test_ancestors_reports_a_stored_loop():
    with pytest.raises(Conflict) as error:
        ancestors("a", {"a": "b", "b": "c", "c": "b"})
    assert error.value.ids == ("b", "c")


def test_children_and_descendants():
    assert children_map(PARENTS) == {"company": ["ops", "sales"], "sales": ["alice", "bob"], "ops": ["carol"]}
    assert descendants("company", PARENTS) == ["ops", "carol", "sales", "alice", "bob"]
    assert descendants("alice", PARENTS) == []


def test_descendants_detects_a_loop_through_the_start():
    with pytest.raises(Conflict):
        descendants("a", {"a": "b", "b": "a"})


def test_reparent_allows_moves_that_keep_a_tree():
    check_reparent("carol", "sales", PARENTS)
    check_reparent("sales", None, PARENTS)
    check_reparent("alice", "bob", PARENTS)


def test_goal_cannot_be_its_own_parent():
    with pytest.raises(Conflict) as error:
        check_reparent("sales", "sales", PARENTS)
    assert error.value.ids == ("sales",) and error.value.field == "parent_id"


def test_goal_cannot_become_its_own_ancestor():
    with pytest.raises(Conflict) as error:
        check_reparent("company", "alice", PARENTS)
    # the loop: company, then the path from alice up to it
    assert error.value.ids == ("company", "alice", "sales")


def test_roll_up_weighted_mean_of_children():
    weights = {"sales": D(60), "ops": D(40), "alice": D(1), "bob": D(3), "carol": D(5)}
    own = {"alice": D("1"), "bob": D("0.2"), "carol": D("0.5"), "company": D("0.99")}
    result = roll_up(PARENTS, own, weights)
    assert result["sales"] == (D(1) * 1 + D("0.2") * 3) / 4  # 0.4
    assert result["ops"] == D("0.5")
    assert result["company"] == (D("0.4") * 60 + D("0.5") * 40) / 100


def test_roll_up_defaults_missing_progress_to_zero_and_zero_weights_to_plain_mean():
    result = roll_up({"p": None, "a": "p", "b": "p"}, {"a": D(1)}, {"a": D(0), "b": D(0)})
    assert result == {"p": D("0.5"), "a": D(1), "b": D(0)}


def test_roll_up_clamps_leaf_progress():
    assert roll_up({"a": None}, {"a": D(2)}, {}) == {"a": D(1)}
    assert roll_up({"a": None}, {"a": D(-1)}, {}) == {"a": D(0)}


def test_roll_up_rejects_negative_weight():
    with pytest.raises(InvalidInput) as error:
        roll_up(PARENTS, {}, {"bob": D(-1)})
    assert error.value.field == "weights.bob"


def test_roll_up_reports_loops():
    with pytest.raises(Conflict) as error:
        roll_up({"r": None, "a": "b", "b": "a", "c": "a"}, {}, {})
    assert set(error.value.ids) == {"a", "b"}


def test_roll_up_handles_very_deep_trees_without_recursion():
    depth = 5000
    parents = {f"g{i}": (f"g{i - 1}" if i else None) for i in range(depth)}
    result = roll_up(parents, {f"g{depth - 1}": D("0.7")}, {})
    assert result["g0"] == D("0.7")


progress_values = st.decimals(min_value=-1, max_value=2, places=3)
weight_values = st.decimals(min_value=0, max_value=100, places=2)


@st.composite
def trees(draw):
    size = draw(st.integers(1, 40))
    parents = {"n0": None}
    for i in range(1, size):
        parents[f"n{i}"] = draw(st.sampled_from([None, *[f"n{j}" for j in range(i)]]))
    own = {k: draw(progress_values) for k in parents if draw(st.booleans())}
    weights = {k: draw(weight_values) for k in parents if draw(st.booleans())}
    return parents, own, weights


@given(trees())
def test_roll_up_is_always_within_bounds_and_between_children(tree):
    parents, own, weights = tree
    result = roll_up(parents, own, weights)
    assert set(result) == set(parents)
    assert all(D(0) <= value <= D(1) for value in result.values())
    children = children_map(parents)
    for node, kids in children.items():
        values = [result[k] for k in kids]
        assert min(values) <= result[node] <= max(values)


@given(trees(), st.data())
def test_reparent_check_agrees_with_ancestry(tree, data):
    parents = tree[0]
    goal = data.draw(st.sampled_from(sorted(parents)))
    new_parent = data.draw(st.sampled_from(sorted(parents)))
    would_loop = goal == new_parent or goal in ancestors(new_parent, parents)
    if would_loop:
        with pytest.raises(Conflict):
            check_reparent(goal, new_parent, parents)
    else:
        check_reparent(goal, new_parent, parents)
        moved = {**parents, goal: new_parent}
        roll_up(moved, {}, {})  # still a tree: no loop error
