"""Performance stars (每季度发布"绩效之星"故事集): nominations per quarter with a story (the goal path and what was
learned), the person's consent, approval, publication to the dashboard, and points for the star."""
from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

from incentives.domain.errors import InvalidInput, NotAllowed

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


class StarState(StrEnum):
    NOMINATED = "nominated"
    APPROVED = "approved"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


def quarter_of(on: date) -> str:
    return f"{on.year}-Q{(on.month - 1) // 3 + 1}"


def check_quarter(quarter: str, today: date) -> None:
    """A star is for the running quarter or one already over, never a future one."""
    found = _QUARTER.match(quarter)
    if found is None:
        raise InvalidInput("quarter", "a quarter is written 2026-Q4")
    if (int(found.group(1)), int(found.group(2))) > (today.year, (today.month - 1) // 3 + 1):
        raise InvalidInput("quarter", f"{quarter} has not started")


def may_publish(state: StarState, consent: bool) -> None:
    if state is not StarState.APPROVED:
        raise NotAllowed(f"a {state.value} story cannot be published (approve it first)", field="status")
    if not consent:
        raise NotAllowed("the person has not consented to publishing their story", field="consent")


def may_approve(state: StarState) -> None:
    if state is not StarState.NOMINATED:
        raise NotAllowed(f"a {state.value} story cannot be approved", field="status")
