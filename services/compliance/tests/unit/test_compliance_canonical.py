import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.domain.canonical import canonical_json, decimal_text, normalise, utc_text
from compliance.domain.errors import InvalidInput

PROPERTY = settings(database=None, deadline=None, max_examples=150)


class Colour(StrEnum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


class Mixed(Enum):
    DAY = date(2024, 1, 2)


def test_sorted_keys_no_whitespace_raw_utf8():
    assert canonical_json({"b": 1, "a": "绩效", "c": [True, None, False]}) == (
        '{"a":"绩效","b":1,"c":[true,null,false]}'.encode()
    )


def test_nested_objects_are_sorted_too():
    assert canonical_json({"z": {"y": 1, "x": 2}}) == b'{"z":{"x":2,"y":1}}'


def test_control_characters_quote_and_backslash_are_escaped():
    assert canonical_json('a\n"\\\x01') == b'"a\\n\\"\\\\\\u0001"'


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1.50"), "1.5"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-0.00"), "0"),
        (Decimal("0E-7"), "0"),
        (Decimal("0.000100"), "0.0001"),
        (Decimal("-12.3400"), "-12.34"),
    ],
)
def test_decimals_are_plain_strings_without_trailing_zeros(value, text):
    assert decimal_text(value) == text
    assert canonical_json({"v": value}) == f'{{"v":"{text}"}}'.encode()


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("sNaN"), Decimal("1E+1001")]
)
def test_non_finite_and_huge_decimals_are_rejected(value):
    with pytest.raises(InvalidInput) as raised:
        canonical_json({"amount": value})
    assert raised.value.errors[0].path == ("amount",)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(1.0, b"1"), (-0.0, b"0"), (1e22, b"10000000000000000000000"), (0.1, b"0.1"), (1e-07, b"1e-07"), (2.5, b"2.5")],
)
def test_floats_integral_become_integers_others_shortest_repr(value, encoded):
    assert canonical_json(value) == encoded


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_are_rejected(value):
    with pytest.raises(InvalidInput):
        canonical_json([value])


def test_datetimes_become_utc_with_microseconds():
    shanghai = timezone(timedelta(hours=8))
    assert utc_text(datetime(2024, 5, 1, 8, 0, tzinfo=shanghai)) == "2024-05-01T00:00:00.000000Z"
    assert canonical_json(datetime(2024, 5, 1, 0, 0, 0, 5, tzinfo=UTC)) == b'"2024-05-01T00:00:00.000005Z"'


def test_naive_datetimes_are_rejected_with_their_path():
    with pytest.raises(InvalidInput) as raised:
        canonical_json({"when": [datetime(2024, 5, 1)]})
    assert raised.value.errors[0].path == ("when", 0)
    assert raised.value.errors[0].pointer == "/when/0"


def test_dates_uuids_enums_tuples():
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    value = {"d": date(2024, 2, 29), "u": ident, "c": Colour.RED, "l": Level.HIGH, "m": Mixed.DAY, "t": (1, 2)}
    assert normalise(value) == {
        "d": "2024-02-29",
        "u": "12345678-1234-5678-1234-567812345678",
        "c": "red",
        "l": 3,
        "m": "2024-01-02",
        "t": [1, 2],
    }
    assert type(normalise(Colour.RED)) is str
    assert type(normalise(Level.HIGH)) is int


def test_enum_keys_become_plain_strings():
    assert canonical_json({Colour.RED: 1}) == b'{"red":1}'


@pytest.mark.parametrize("value", [{1: "a"}, {"a": {1, 2}}, {"a": b"bytes"}, {"a": object()}])
def test_values_without_a_canonical_form_are_rejected(value):
    with pytest.raises(InvalidInput):
        canonical_json(value)


def test_rejection_names_the_deepest_path():
    with pytest.raises(InvalidInput) as raised:
        canonical_json({"a": [1, {"b": {3}}]})
    assert raised.value.errors[0].path == ("a", 1, "b")


def test_unpaired_surrogates_are_rejected():
    with pytest.raises(InvalidInput):
        canonical_json({"a": "\ud800"})


# properties ------------------------------------------------------------------------------------

decimals = st.decimals(allow_nan=False, allow_infinity=False).filter(lambda d: d.is_zero() or abs(d.adjusted()) < 1000)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | decimals
    | st.datetimes(timezones=st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-720, 840)))
    | st.dates()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=25,
)


def _reordered(value, rnd):
    if isinstance(value, dict):
        keys = list(value)
        rnd.shuffle(keys)
        return {key: _reordered(value[key], rnd) for key in keys}
    if isinstance(value, list):
        return [_reordered(item, rnd) for item in value]
    return value


@PROPERTY
@given(values, st.randoms(use_true_random=False))
def test_canonical_json_does_not_depend_on_key_order(value, rnd):
    assert canonical_json(_reordered(value, rnd)) == canonical_json(value)


@PROPERTY
@given(values)
def test_a_json_round_trip_does_not_change_the_bytes(value):
    encoded = canonical_json(value)
    assert canonical_json(json.loads(encoded)) == encoded


@PROPERTY
@given(values)
def test_normalise_is_idempotent(value):
    once = normalise(value)
    assert normalise(once) == once


@PROPERTY
@given(decimals, st.integers(0, 5))
def test_equal_decimals_have_equal_text(value, extra_zeros):
    padded = Decimal(f"{value:f}" + ("0" * extra_zeros if "." in f"{value:f}" else ""))
    assert decimal_text(padded) == decimal_text(value)
    assert Decimal(decimal_text(value)) == value


def test_shuffle_helper_really_reorders():
    rnd = random.Random(4)
    original = {str(i): i for i in range(10)}
    assert list(_reordered(original, rnd)) != list(original)
