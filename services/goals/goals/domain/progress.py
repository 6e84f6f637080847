"""Progress of key results and objectives, KPI attainment, and progress updates.

Progress is a Decimal fraction in [0, 1]. Confidence on an update is a Decimal in [0, 1]
(0 = "will certainly miss", 1 = "certain to hit"), the same scale as progress so that boards can
average it directly; None means the person gave none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from goals.domain.decimals import ONE, ZERO, clamp01, to_decimal
from goals.domain.errors import InvalidInput

MAX_COMMENT_LENGTH = 2000


class Direction(StrEnum):
    AT_LEAST = ">="
    AT_MOST = "<="
    EQUAL = "="


def weighted_mean(pairs: Iterable[tuple[Decimal, Decimal]]) -> Decimal:
    """Mean of ``(weight, value)`` pairs; 0 when there are none or all weights are 0."""
    total_weight = ZERO
    total = ZERO
    for weight, value in pairs:
        total_weight += weight
        total += weight * value
    return total / total_weight if total_weight else ZERO


def kr_progress(start: Decimal, target: Decimal, current: Decimal) -> Decimal:
    """Fraction of the way from ``start`` to ``target``, clamped to [0, 1].

    Works for decreasing targets (start 10 -> target 2). When start == target there is no way to
    tell "better" from "worse", so the result is 1 exactly at the target and 0 otherwise; a
    "hold at least/at most" target belongs in a KPI.
    """
    if start == target:
        return ONE if current == target else ZERO
    return clamp01((current - start) / (target - start))


@dataclass(frozen=True)
class KeyResult:
    id: str
    start: Decimal
    target: Decimal
    current: Decimal
    unit: str = ""
    weight: Decimal = ONE

    def __post_init__(self) -> None:
        for name in ("start", "target", "current", "weight"):
            object.__setattr__(self, name, to_decimal(getattr(self, name), name))
        if self.weight < ZERO:
            raise InvalidInput("weight", "must not be negative", ids=[self.id])

    @property
    def progress(self) -> Decimal:
        return kr_progress(self.start, self.target, self.current)


def objective_progress(key_results: Iterable[KeyResult]) -> Decimal:
    """Weighted mean of the key results' progress; equal weights if all are 0; 0 if none."""
    key_results = list(key_results)
    pairs = [(kr.weight, kr.progress) for kr in key_results]
    if pairs and not any(w for w, _ in pairs):
        pairs = [(ONE, p) for _, p in pairs]
    return clamp01(weighted_mean(pairs))


@dataclass(frozen=True)
class Thresholds:
    """Colour bands of a KPI.

    For ">=" the value is GREEN at or above ``green``, YELLOW at or above ``yellow`` (yellow <= green).
    For "<=" it is GREEN at or below ``green``, YELLOW at or below ``yellow`` (yellow >= green).
    For "=" both are tolerances (absolute deviation from the target): GREEN within ``green``,
    YELLOW within ``yellow`` (0 <= green <= yellow). Anything else is RED.
    """

    green: Decimal
    yellow: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "green", to_decimal(self.green, "green"))
        object.__setattr__(self, "yellow", to_decimal(self.yellow, "yellow"))


def check_thresholds(direction: Direction, thresholds: Thresholds, field: str = "thresholds") -> None:
    green, yellow = thresholds.green, thresholds.yellow
    if direction is Direction.AT_LEAST and yellow > green:
        raise InvalidInput(f"{field}.yellow", "for '>=' the yellow threshold must not exceed green")
    if direction is Direction.AT_MOST and yellow < green:
        raise InvalidInput(f"{field}.yellow", "for '<=' the yellow threshold must not be below green")
    if direction is Direction.EQUAL and not ZERO <= green <= yellow:
        raise InvalidInput(f"{field}.yellow", "for '=' the tolerances must satisfy 0 <= green <= yellow")


def kpi_ratio(direction: Direction, target: Decimal, actual: Decimal) -> Decimal:
    """Attainment ratio, not capped above (overachievement shows as > 1), never negative.

    ">=": actual / target; "<=": target / actual; "=": 1 - |actual - target| / |target|.
    When a ratio is meaningless (zero or negative operands) it is 1 if the target is met, else 0.
    The ratio is >= 1 exactly when the target is met.
    """
    if direction is Direction.AT_LEAST:
        if target > 0 and actual > 0:
            return actual / target
        return ONE if actual >= target else ZERO
    if direction is Direction.AT_MOST:
        if target > 0 and actual > 0:
            return target / actual
        return ONE if actual <= target else ZERO
    if actual == target:
        return ONE
    if target == 0:
        return ZERO
    return max(ZERO, ONE - abs(actual - target) / abs(target))


def kpi_attainment(direction: Direction, target: Decimal, actual: Decimal) -> Decimal:
    """Progress of a KPI: the attainment ratio capped at 1."""
    return min(ONE, kpi_ratio(direction, target, actual))


def target_met(direction: Direction, target: Decimal, actual: Decimal) -> bool:
    if direction is Direction.AT_LEAST:
        return actual >= target
    if direction is Direction.AT_MOST:
        return actual <= target
    return actual == target


@dataclass(frozen=True)
class Kpi:
    """A KPI goal's indicator; ``actual`` is the latest measured value (None before the first).

    A ``cumulative`` KPI adds up over the period (sales volume, tickets closed): its value is judged against
    the schedule like a key result, since it cannot be in its band before the period ends. Any other KPI is a
    level (a rate, a response time) judged by its band whenever it is measured."""

    id: str
    direction: Direction
    target: Decimal
    unit: str
    thresholds: Thresholds
    actual: Decimal | None = None
    cumulative: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "direction", Direction(self.direction))
        object.__setattr__(self, "target", to_decimal(self.target, "target"))
        if self.actual is not None:
            object.__setattr__(self, "actual", to_decimal(self.actual, "actual"))
        check_thresholds(self.direction, self.thresholds)

    @property
    def progress(self) -> Decimal:
        if self.actual is None:
            return ZERO
        return kpi_attainment(self.direction, self.target, self.actual)


@dataclass(frozen=True)
class ProgressChange:
    """Before/after record of one progress update (the audit trail and the event payload)."""

    subject_id: str
    before_value: Decimal | None
    after_value: Decimal
    before_progress: Decimal
    after_progress: Decimal
    comment: str
    confidence: Decimal | None
    actor_id: str
    at: datetime


def _check_update(comment: str, confidence: Decimal | None, at: datetime) -> Decimal | None:
    if len(comment) > MAX_COMMENT_LENGTH:
        raise InvalidInput("comment", f"must be at most {MAX_COMMENT_LENGTH} characters")
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("at", "must be a timezone-aware datetime")
    if confidence is None:
        return None
    confidence = to_decimal(confidence, "confidence")
    if not ZERO <= confidence <= ONE:
        raise InvalidInput("confidence", "must be between 0 and 1")
    return confidence


def update_key_result(
    kr: KeyResult,
    value: Decimal,
    *,
    actor_id: str,
    at: datetime,
    comment: str = "",
    confidence: Decimal | None = None,
) -> tuple[KeyResult, ProgressChange]:
    """Record a new current value for a key result; returns the updated KR and the change record."""
    confidence = _check_update(comment, confidence, at)
    updated = replace(kr, current=to_decimal(value, "value"))
    change = ProgressChange(
        kr.id, kr.current, updated.current, kr.progress, updated.progress, comment, confidence, actor_id, at
    )
    return updated, change


def update_kpi(
    kpi: Kpi,
    value: Decimal,
    *,
    actor_id: str,
    at: datetime,
    comment: str = "",
    confidence: Decimal | None = None,
) -> tuple[Kpi, ProgressChange]:
    """Record a new measured value for a KPI; returns the updated KPI and the change record."""
    confidence = _check_update(comment, confidence, at)
    actual = to_decimal(value, "value")
    updated = replace(kpi, actual=actual)
    change = ProgressChange(
        kpi.id, kpi.actual, actual, kpi.progress, updated.progress, comment, confidence, actor_id, at
    )
    return updated, change
