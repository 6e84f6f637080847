from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from goals.domain.board import BoardRow, aggregate
from goals.domain.status import Colour


def test_aggregates_per_group():
    rows = [
        BoardRow("g1", "sales", Colour.GREEN, D("1"), D(30), D("0.9")),
        BoardRow("g2", "sales", Colour.RED, D("0.2"), D(70), None),
        BoardRow("g3", "ops", "yellow", D("0.5"), D(0), D("0.4")),
        BoardRow("g4", "ops", Colour.YELLOW, D("0.3"), D(0), D("0.5")),
    ]
    result = aggregate(rows)
    assert list(result) == ["ops", "sales"]
    sales = result["sales"]
    assert (sales.count, sales.green, sales.yellow, sales.red) == (2, 1, 0, 1)
    assert sales.weighted_progress == D("0.4400")  # (30*1 + 70*0.2) / 100
    assert sales.average_confidence == D("0.9000")  # the missing confidence is ignored
    ops = result["ops"]
    assert ops.yellow == 2 and ops.weighted_progress == D("0.4000")  # zero weights: plain mean
    assert ops.average_confidence == D("0.4500")


def test_no_confidence_at_all_and_rounding():
    [only] = aggregate([BoardRow("g", "x", Colour.GREEN, D(1) / 3, D(1))], places=2).values()
    assert only.average_confidence is None and only.weighted_progress == D("0.33")
    assert aggregate([]) == {}


rows = st.lists(
    st.builds(
        BoardRow,
        goal_id=st.uuids().map(str),
        group=st.sampled_from(["a", "b", "c"]),
        colour=st.sampled_from(list(Colour)),
        progress=st.decimals(0, 1, places=3),
        weight=st.decimals(0, 100, places=2),
        confidence=st.none() | st.decimals(0, 1, places=2),
    ),
    max_size=40,
)


@given(rows)
def test_counts_add_up_and_progress_stays_in_range(board):
    result = aggregate(board)
    assert sum(a.count for a in result.values()) == len(board)
    for a in result.values():
        assert a.green + a.yellow + a.red == a.count
        assert 0 <= a.weighted_progress <= 1
        assert a.average_confidence is None or 0 <= a.average_confidence <= 1
