"""Coaching cadence: touches per month against a standard (default 3). The cadence of a month is the average
of the trailing window of months ending with it, so one busy month does not hide a thin quarter."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from feedback.domain.errors import InvalidInput


def average(touches_per_month: Sequence[int]) -> Decimal:
    if not touches_per_month:
        return Decimal(0)
    return (Decimal(sum(touches_per_month)) / len(touches_per_month)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)


def below_standard(avg: Decimal, standard: Decimal) -> bool:
    return avg < standard


def check_touch(on: date, today: date, manager: str, person: str) -> None:
    if on > today:
        raise InvalidInput("on", "a coaching touch cannot be in the future")
    if manager == person:
        raise InvalidInput("person_id", "a manager does not coach themself")
