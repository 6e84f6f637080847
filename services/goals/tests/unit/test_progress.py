from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goals.domain.errors import InvalidInput
from goals.domain.progress import (
    Direction,
    KeyResult,
    Kpi,
    Thresholds,
    check_thresholds,
    kpi_attainment,
    kpi_ratio,
    kr_progress,
    objective_progress,
    target_met,
    update_key_result,
    update_kpi,
    weighted_mean,
)

AT = datetime(2025, 3, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "start,target,current,expected",
    [
        (0, 100, 25, D("0.25")),
        (0, 100, 150, D(1)),
        (0, 100, -5, D(0)),
        (10, 2, 6, D("0.5")),  # decreasing target: from 10 down to 2
        (10, 2, 1, D(1)),
        (10, 2, 12, D(0)),
        (5, 5, 5, D(1)),  # start == target: binary
        (5, 5, 6, D(0)),
    ],
)
def test_kr_progress(start, target, current, expected):
    assert kr_progress(D(start), D(target), D(current)) == expected


def test_objective_progress_is_weighted():
    krs = [KeyResult("a", 0, 10, 10, weight=D(3)), KeyResult("b", 0, 10, 0, weight=D(1))]
    assert objective_progress(krs) == D("0.75")


def test_objective_progress_with_zero_weights_or_no_key_results():
    assert objective_progress([KeyResult("a", 0, 10, 5, weight=D(0)), KeyResult("b", 0, 10, 10, weight=D(0))]) == D(
        "0.75"
    )
    assert objective_progress([]) == D(0)


def test_key_result_validation():
    with pytest.raises(InvalidInput) as error:
        KeyResult("a", 0, 1.5, 0)
    assert error.value.field == "target"
    with pytest.raises(InvalidInput):
        KeyResult("a", 0, 1, 0, weight=D(-1))
    with pytest.raises(InvalidInput):
        KeyResult("a", D("NaN"), 1, 0)


def test_weighted_mean():
    assert weighted_mean([]) == 0
    assert weighted_mean([(D(1), D(1)), (D(3), D(0))]) == D("0.25")


@pytest.mark.parametrize(
    "direction,target,actual,ratio",
    [
        (">=", 90, 81, D("0.9")),
        (">=", 90, 99, D("1.1")),
        (">=", 0, 5, D(1)),
        (">=", 0, -1, D(0)),
        (">=", 10, -3, D(0)),
        ("<=", 2, 4, D("0.5")),  # first response 4 h against <= 2 h
        ("<=", 2, 1, D(2)),
        ("<=", 0, 0, D(1)),
        ("<=", 0, 1, D(0)),
        ("<=", 2, 0, D(1)),
        ("=", 100, 100, D(1)),
        ("=", 100, 98, D("0.98")),
        ("=", 100, 250, D(0)),
        ("=", 0, 1, D(0)),
    ],
)
def test_kpi_ratio(direction, target, actual, ratio):
    assert kpi_ratio(Direction(direction), D(target), D(actual)) == ratio
    assert kpi_attainment(Direction(direction), D(target), D(actual)) == min(ratio, D(1))


@given(
    st.sampled_from(list(Direction)),
    st.decimals(min_value=-1000, max_value=1000, places=2),
    st.decimals(min_value=-1000, max_value=1000, places=2),
)
def test_ratio_reaches_one_exactly_when_the_target_is_met(direction, target, actual):
    ratio = kpi_ratio(direction, target, actual)
    assert ratio >= 0
    assert (ratio >= 1) == target_met(direction, target, actual)
    assert 0 <= kpi_attainment(direction, target, actual) <= 1


@pytest.mark.parametrize(
    "direction,green,yellow",
    [(">=", 90, 95), ("<=", 2, 1), ("=", -1, 1), ("=", 2, 1)],
)
def test_threshold_order_is_checked_per_direction(direction, green, yellow):
    with pytest.raises(InvalidInput) as error:
        check_thresholds(Direction(direction), Thresholds(D(green), D(yellow)))
    assert error.value.field == "thresholds.yellow"


def test_kpi_progress():
    kpi = Kpi("k", ">=", D(90), "%", Thresholds(D(90), D(80)))
    assert kpi.direction is Direction.AT_LEAST and kpi.progress == 0
    assert Kpi("k", ">=", D(90), "%", Thresholds(D(90), D(80)), actual=D(45)).progress == D("0.5")


def test_update_key_result_records_before_and_after():
    kr = KeyResult("kr1", 0, 200, 50, unit="customers")
    updated, change = update_key_result(kr, D(100), actor_id="u1", at=AT, comment="two deals", confidence=D("0.8"))
    assert updated.current == 100 and kr.current == 50
    assert (change.before_value, change.after_value) == (D(50), D(100))
    assert (change.before_progress, change.after_progress) == (D("0.25"), D("0.5"))
    assert (change.subject_id, change.actor_id, change.at, change.comment) == ("kr1", "u1", AT, "two deals")
    assert change.confidence == D("0.8")


def test_update_kpi_first_measurement_has_no_before_value():
    kpi = Kpi("k", "<=", D(2), "h", Thresholds(D(2), D(4)))
    updated, change = update_kpi(kpi, D(4), actor_id="u1", at=AT)
    assert updated.actual == 4
    assert change.before_value is None and change.before_progress == 0 and change.after_progress == D("0.5")
    assert change.confidence is None


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"confidence": D("1.1")}, "confidence"),
        ({"confidence": D(-1)}, "confidence"),
        ({"confidence": 0.5}, "confidence"),
        ({"comment": "x" * 2001}, "comment"),
        ({"at": datetime(2025, 3, 1)}, "at"),
    ],
)
def test_update_validation(kwargs, field):
    args = {"actor_id": "u", "at": AT, **kwargs}
    with pytest.raises(InvalidInput) as error:
        update_key_result(KeyResult("kr", 0, 1, 0), D(1), **args)
    assert error.value.field == field


def test_update_rejects_float_values():
    with pytest.raises(InvalidInput) as error:
        update_key_result(KeyResult("kr", 0, 1, 0), 0.5, actor_id="u", at=AT)
    assert error.value.field == "value"
