"""The non-monetary reward menu (flexible leave, key-project participation, internal trainer qualification...):
eligibility by grade, last rating and tenure, and the life of a redemption.

A redemption takes the points and one unit of stock when requested (so two people can never both take the
last item), is approved (when the item needs it) and fulfilled, or is declined / cancelled, which gives both
back exactly once: only the transition out of an open state refunds, and a state is left only once.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from incentives.domain.errors import InvalidInput, NotAllowed

_GRADE = re.compile(r"^([A-Za-z]*)(\d+)$")


def grade_level(grade: str | None) -> tuple[str, int] | None:
    found = _GRADE.match((grade or "").strip())
    return (found.group(1).upper(), int(found.group(2))) if found else None


@dataclass(frozen=True)
class Eligibility:
    min_grade: str | None = None  # "P5": P5 and above on the P track (other tracks: not eligible)
    ratings: tuple[str, ...] = ()  # the last finalized rating must be one of these (empty: any, or none)
    min_tenure_months: int = 0

    def check(self) -> None:
        if self.min_grade is not None and grade_level(self.min_grade) is None:
            raise InvalidInput("eligibility.min_grade", "a grade is a track and a level, such as P5")
        if not 0 <= self.min_tenure_months <= 600:
            raise InvalidInput("eligibility.min_tenure_months", "0 to 600 months")


def months_between(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (1 if end.day < start.day else 0)


def why_not_eligible(rule: Eligibility, *, grade: str | None, last_rating: str | None, hired_on: date | None,
                     today: date) -> str | None:
    """None when eligible; otherwise the reason, for the person to read."""
    if rule.min_grade is not None:
        wanted, have = grade_level(rule.min_grade), grade_level(grade)
        if have is None or wanted is None or have[0] != wanted[0] or have[1] < wanted[1]:
            return f"needs grade {rule.min_grade} or above (yours: {grade or 'unknown'})"
    if rule.ratings and last_rating not in rule.ratings:
        return f"needs a last rating of {'/'.join(rule.ratings)} (yours: {last_rating or 'none'})"
    if rule.min_tenure_months:
        tenure = None if hired_on is None else months_between(hired_on, today)
        if tenure is None or tenure < rule.min_tenure_months:
            return f"needs {rule.min_tenure_months} months of tenure (yours: {tenure if tenure is not None else '?'})"
    return None


class RedemptionState(StrEnum):
    REQUESTED = "requested"  # points and stock held, waiting for approval
    APPROVED = "approved"
    FULFILLED = "fulfilled"
    DECLINED = "declined"
    CANCELLED = "cancelled"


OPEN = (RedemptionState.REQUESTED, RedemptionState.APPROVED)
REFUNDED = (RedemptionState.DECLINED, RedemptionState.CANCELLED)
_MOVES: dict[RedemptionState, Sequence[RedemptionState]] = {
    RedemptionState.APPROVED: (RedemptionState.REQUESTED,),
    RedemptionState.FULFILLED: (RedemptionState.APPROVED,),
    RedemptionState.DECLINED: (RedemptionState.REQUESTED,),
    RedemptionState.CANCELLED: OPEN,
}


def may_move(state: RedemptionState, to: RedemptionState) -> None:
    if state not in _MOVES.get(to, ()):
        raise NotAllowed(f"a {state.value} redemption cannot become {to.value}", field="status")


def refunds(to: RedemptionState) -> bool:
    return to in REFUNDED


def may_try_stock(stock: int | None, in_flight: int, quantity: int) -> bool:
    """Whether a redemption that read `stock` should try the write now, while redemptions of the same item holding
    `in_flight` units are already writing: only if the stock as read covers them all (unlimited stock always).
    Otherwise it would most likely queue behind their lock on the stock's row and lose; it waits for them instead
    and decides on a fresh read. A hint only: the conditional update of the stock stays the guard."""
    return stock is None or in_flight + quantity <= stock


def check_quantity(quantity: int, stock: int | None, cost: int, balance: int) -> None:
    """Refuse a redemption the balance or the stock cannot cover; beyond both, the balance is named (what the
    person can act on)."""
    if quantity < 1:
        raise InvalidInput("quantity", "at least 1")
    if cost * quantity > balance:
        raise NotAllowed(f"person has {balance} points, {cost * quantity} needed", field="points")
    if stock is not None and quantity > stock:
        raise NotAllowed(f"only {stock} left in stock", field="quantity")
