"""Appeals against a rating or a goal result.

submitted → under_review → upheld | amended, or withdrawn by the appellant before a decision.
Who may review and decide is the access policy's call (HR in scope, "appeal.decide"); this module
checks states, deadlines and content. Transitions return a new appeal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from compliance.domain.canonical import normalise
from compliance.domain.errors import Conflict, InvalidInput, NotAllowed

MAX_TEXT = 5000
MAX_ATTACHMENTS = 20


class AppealState(StrEnum):
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    UPHELD = "upheld"  # the original result stands
    AMENDED = "amended"  # the result is changed as the amendment says
    WITHDRAWN = "withdrawn"


OPEN_STATES = frozenset({AppealState.SUBMITTED, AppealState.UNDER_REVIEW})


class AppealTargetKind(StrEnum):
    RATING = "rating"
    GOAL_RESULT = "goal_result"


@dataclass(frozen=True, slots=True)
class AppealTarget:
    kind: AppealTargetKind
    ref: str  # id of the rating or goal result in the owning service


@dataclass(frozen=True, slots=True)
class AppealDecision:
    outcome: AppealState
    reason: str
    decided_by: str
    decided_at: datetime
    amendment: Mapping[str, Any] | None = None  # the corrected values, JSON-native


def _text(value: str, field: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidInput.at((field,), f"{field} is required")
    if len(text) > MAX_TEXT:
        raise InvalidInput.at((field,), f"{field} is longer than {MAX_TEXT} characters")
    return text


@dataclass(frozen=True, slots=True)
class Appeal:
    id: str
    appellant: str
    target: AppealTarget
    reasons: str
    attachments: tuple[str, ...]  # references to stored files, never the files
    state: AppealState
    submitted_at: datetime
    due_at: datetime
    reviewer: str | None = None
    review_started_at: datetime | None = None
    decision: AppealDecision | None = None
    withdrawn_at: datetime | None = None

    @classmethod
    def submit(
        cls,
        *,
        id: str,
        appellant: str,
        target: AppealTarget,
        reasons: str,
        attachments: Iterable[str] = (),
        at: datetime,
        decision_days: int,
    ) -> Appeal:
        """A new appeal, to be decided within `decision_days` calendar days."""
        if decision_days < 1:
            raise InvalidInput.at(("decision_days",), "must be at least 1")
        refs = tuple(ref.strip() for ref in attachments)
        if len(refs) > MAX_ATTACHMENTS:
            raise InvalidInput.at(("attachments",), f"at most {MAX_ATTACHMENTS} attachments")
        for position, ref in enumerate(refs):
            if not ref or len(ref) > 200:
                raise InvalidInput.at(("attachments", position), "an attachment reference is 1 to 200 characters")
        if len(set(refs)) != len(refs):
            raise InvalidInput.at(("attachments",), "the same attachment is listed twice")
        return cls(
            id=id,
            appellant=appellant,
            target=target,
            reasons=_text(reasons, "reasons"),
            attachments=refs,
            state=AppealState.SUBMITTED,
            submitted_at=at,
            due_at=at + timedelta(days=decision_days),
        )

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def start_review(self, reviewer: str, at: datetime) -> Appeal:
        if self.state != AppealState.SUBMITTED:
            raise Conflict(f"appeal {self.id} is {self.state}; only a submitted appeal can go under review")
        return replace(self, state=AppealState.UNDER_REVIEW, reviewer=reviewer, review_started_at=at)

    def decide(
        self, outcome: AppealState, reason: str, *, by: str, at: datetime, amendment: Mapping[str, Any] | None = None
    ) -> Appeal:
        """Uphold, or amend with the corrected values. The policy has already checked `by`."""
        if outcome not in (AppealState.UPHELD, AppealState.AMENDED):
            raise InvalidInput.at(("outcome",), "the outcome is upheld or amended")
        outcome = AppealState(outcome)
        if self.state != AppealState.UNDER_REVIEW:
            raise Conflict(f"appeal {self.id} is {self.state}; only an appeal under review can be decided")
        if outcome == AppealState.AMENDED:
            if not amendment:
                raise InvalidInput.at(("amendment",), "an amended decision must say what changes")
            amendment = normalise(amendment, ("amendment",))
        elif amendment:
            raise InvalidInput.at(("amendment",), "an upheld decision changes nothing")
        else:
            amendment = None
        decision = AppealDecision(outcome, _text(reason, "reason"), by, at, amendment)
        return replace(self, state=outcome, decision=decision)

    def withdraw(self, by: str, at: datetime) -> Appeal:
        """Only the appellant withdraws, and only before a decision."""
        if by != self.appellant:
            raise NotAllowed("only the appellant can withdraw an appeal")
        if not self.is_open:
            raise Conflict(f"appeal {self.id} is {self.state} and can no longer be withdrawn")
        return replace(self, state=AppealState.WITHDRAWN, withdrawn_at=at)

    def is_overdue(self, now: datetime) -> bool:
        return self.is_open and now > self.due_at


@dataclass(frozen=True, slots=True)
class TargetFacts:
    """What the owning service confirms about an appealed target (goals: the goal; feedback: the rating)."""

    owner_id: str | None  # the person whose result it is
    responsible_id: str | None = None  # the person answering for it (a unit's goal)
    rated_by: str | None = None  # who rated or scored it: never the reviewer of an appeal against it
    org_unit_id: str | None = None
    current: Mapping[str, Any] | None = None  # the values an amendment may change, as they stand


def not_appealable(appellant: str, target: AppealTarget, facts: TargetFacts | None) -> str | None:
    """Why `appellant` may not appeal `target`, or None. A missing target and someone else's read the same, so
    the answer never confirms that a colleague's result exists."""
    if facts is None or appellant not in (facts.owner_id, facts.responsible_id):
        return f"there is no {target.kind.replace('_', ' ')} {target.ref!r} of yours to appeal"
    return None


def may_not_review(reviewer: str, appellant: str, rated_by: str | None) -> str | None:
    """Why `reviewer` may not take up an appeal, or None: nobody reviews their own appeal, nor one against a
    result they rated."""
    if reviewer == appellant:
        return "nobody reviews their own appeal"
    if rated_by is not None and reviewer == rated_by:
        return "the person who rated the result does not review the appeal against it"
    return None


def amendment_changes(amendment: Mapping[str, Any] | None, current: Mapping[str, Any] | None
                      ) -> list[dict[str, Any]]:
    """The structured form of an amendment, one change per field: {field, before, after}; `before` is the value
    the owning service confirmed at submission (None when it did not say)."""
    if not amendment:
        return []
    current = current or {}
    return [{"field": key, "before": current.get(key), "after": value} for key, value in sorted(amendment.items())]


def ensure_no_open_appeal(existing: Iterable[Appeal], appellant: str, target: AppealTarget) -> None:
    """One open appeal per person and result: a second would race the first decision."""
    for appeal in existing:
        if appeal.is_open and appeal.appellant == appellant and appeal.target == target:
            raise Conflict(f"appeal {appeal.id} against this {target.kind.replace('_', ' ')} is still open")
