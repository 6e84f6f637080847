from datetime import UTC, date, datetime

import pytest

from goals.domain.commitments import Commitment, CommitmentState, move, overdue
from goals.domain.errors import InvalidInput, NotAllowed

AT = datetime(2025, 5, 1, tzinfo=UTC)


def promised(**kwargs) -> Commitment:
    return Commitment("c1", "g1", "Two extra QA engineers for the release", "manager", date(2025, 4, 30), **kwargs)


@pytest.mark.parametrize(
    "path",
    [
        [CommitmentState.DELIVERED],
        [CommitmentState.MISSED],
        [CommitmentState.MISSED, CommitmentState.DELIVERED],
    ],
)
def test_allowed_paths(path):
    commitment = promised()
    for state in path:
        before = commitment.state
        commitment, change = move(commitment, state, actor_id="manager", at=AT, note="done")
        assert (change.before, change.after, change.commitment_id) == (before, state, "c1")
        assert commitment.state is state


@pytest.mark.parametrize(
    "start,to",
    [
        (CommitmentState.DELIVERED, CommitmentState.MISSED),
        (CommitmentState.DELIVERED, CommitmentState.PROMISED),
        (CommitmentState.MISSED, CommitmentState.PROMISED),
        (CommitmentState.PROMISED, CommitmentState.PROMISED),
    ],
)
def test_forbidden_moves(start, to):
    with pytest.raises(NotAllowed) as error:
        move(promised(state=start), to, actor_id="m", at=AT)
    assert error.value.ids == ("c1",)


def test_validation():
    with pytest.raises(InvalidInput):
        Commitment("c", "g", " ", "m")
    with pytest.raises(InvalidInput):
        move(promised(), CommitmentState.DELIVERED, actor_id="m", at=datetime(2025, 5, 1))
    with pytest.raises(InvalidInput):
        move(promised(), CommitmentState.DELIVERED, actor_id="m", at=AT, note="x" * 2001)
    assert Commitment("c", "g", "budget", "m", state="missed").state is CommitmentState.MISSED


def test_overdue_lists_promises_past_their_date():
    items = [
        promised(),
        Commitment("c2", "g1", "laptop", "m", date(2025, 5, 1)),
        Commitment("c3", "g1", "training", "m"),
        Commitment("c0", "g1", "budget", "m", date(2025, 1, 1), CommitmentState.DELIVERED),
    ]
    assert overdue(items, date(2025, 5, 1)) == ["c1"]
    assert overdue(items, date(2025, 5, 2)) == ["c1", "c2"]
