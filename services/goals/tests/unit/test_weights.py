import itertools
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goals.domain.errors import InvalidInput, WeightTotalError
from goals.domain.weights import check_weights, weight_violations


def test_exactly_one_hundred_passes():
    check_weights({"g1": D("33.33"), "g2": D("33.33"), "g3": D("33.34")})
    check_weights({"g1": D(100)})
    check_weights({"g1": D("40.50"), "g2": 59, "g3": D("0.5")})


def test_wrong_total_names_the_goals_and_the_total():
    with pytest.raises(WeightTotalError) as error:
        check_weights({"g2": D("33.33"), "g1": D("33.33"), "g3": D("33.33")})
    assert error.value.total == D("99.99")
    assert error.value.ids == ("g1", "g2", "g3")
    assert error.value.field == "weights"
    assert "99.99" in str(error.value) and "g1, g2, g3" in str(error.value)


def test_no_goals_is_a_total_of_zero():
    with pytest.raises(WeightTotalError) as error:
        check_weights({})
    assert error.value.total == 0 and error.value.ids == ()


@pytest.mark.parametrize("weight", [D(0), D(-5), D("100.01"), D("10.005"), 10.5, D("Infinity")])
def test_bad_single_weight_names_its_goal(weight):
    with pytest.raises(InvalidInput) as error:
        check_weights({"ok": D(50), "bad": weight})
    assert error.value.field == "weights.bad"
    assert not isinstance(error.value, WeightTotalError)


def test_violations_per_person():
    rows = [
        ("alice", "a1", D(60)),
        ("alice", "a2", D(40)),
        ("bob", "b1", D(60)),
        ("bob", "b2", D(30)),
        ("carol", "c1", D(-1)),
    ]
    errors = weight_violations(rows)
    assert sorted(errors) == ["bob", "carol"]
    assert isinstance(errors["bob"], WeightTotalError) and errors["bob"].total == 90
    assert errors["bob"].field == "weights.bob"
    assert errors["carol"].field == "weights.carol.c1"


cents = st.integers(min_value=1, max_value=10_000)


@given(st.lists(cents, min_size=1, max_size=30))
def test_accepted_exactly_when_the_cents_add_to_ten_thousand(amounts):
    weights = {f"g{i}": D(c) / 100 for i, c in enumerate(amounts)}
    if sum(amounts) == 10_000:
        check_weights(weights)
    else:
        with pytest.raises(WeightTotalError) as error:
            check_weights(weights)
        assert error.value.total == D(sum(amounts)) / 100
        assert set(error.value.ids) == set(weights)


@given(st.integers(1, 50), st.data())
def test_any_split_of_one_hundred_passes(n, data):
    cuts = sorted(data.draw(st.lists(st.integers(1, 9_999), min_size=n - 1, max_size=n - 1, unique=True)))
    bounds = [0, *cuts, 10_000]
    weights = {f"g{i}": D(b - a) / 100 for i, (a, b) in enumerate(itertools.pairwise(bounds))}
    check_weights(weights)
