"""Resource commitments: what someone (usually the manager) promised a goal owner.

    PROMISED ──► DELIVERED
        │            ▲
        └──► MISSED ─┘   (a late delivery is still recorded; the history keeps the miss)

DELIVERED is final. Each transition yields a before/after record for the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from goals.domain.errors import InvalidInput, NotAllowed

MAX_TEXT_LENGTH = 2000


class CommitmentState(StrEnum):
    PROMISED = "promised"
    DELIVERED = "delivered"
    MISSED = "missed"


TRANSITIONS: dict[CommitmentState, frozenset[CommitmentState]] = {
    CommitmentState.PROMISED: frozenset({CommitmentState.DELIVERED, CommitmentState.MISSED}),
    CommitmentState.MISSED: frozenset({CommitmentState.DELIVERED}),
    CommitmentState.DELIVERED: frozenset(),
}


@dataclass(frozen=True)
class Commitment:
    id: str
    goal_id: str
    description: str
    provider_id: str
    due_on: date | None = None
    state: CommitmentState = CommitmentState.PROMISED

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", CommitmentState(self.state))
        if not self.description.strip():
            raise InvalidInput("description", "must not be blank", ids=[self.id])
        if len(self.description) > MAX_TEXT_LENGTH:
            raise InvalidInput("description", f"must be at most {MAX_TEXT_LENGTH} characters", ids=[self.id])


@dataclass(frozen=True)
class CommitmentChange:
    commitment_id: str
    before: CommitmentState
    after: CommitmentState
    actor_id: str
    at: datetime
    note: str


def move(
    commitment: Commitment, to: CommitmentState, *, actor_id: str, at: datetime, note: str = ""
) -> tuple[Commitment, CommitmentChange]:
    """The commitment in state ``to`` and the change record; NotAllowed for a forbidden move."""
    to = CommitmentState(to)
    if to not in TRANSITIONS[commitment.state]:
        raise NotAllowed(
            f"commitment {commitment.id} cannot go from {commitment.state.value} to {to.value}",
            field="state",
            ids=[commitment.id],
        )
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("at", "must be a timezone-aware datetime")
    if len(note) > MAX_TEXT_LENGTH:
        raise InvalidInput("note", f"must be at most {MAX_TEXT_LENGTH} characters")
    updated = replace(commitment, state=to)
    return updated, CommitmentChange(commitment.id, commitment.state, to, actor_id, at, note)


def overdue(commitments: Iterable[Commitment], on: date) -> list[str]:
    """Ids of promised commitments whose due date has passed on ``on`` (candidates to mark missed)."""
    return sorted(
        c.id for c in commitments if c.state is CommitmentState.PROMISED and c.due_on is not None and c.due_on < on
    )
