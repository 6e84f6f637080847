"""The domain rules applied to stored goals: progress, KPI bands, schedules and colours of model rows.

The colour of one goal is decided here in Python when something changes it (a progress update, a new target,
an accepted proposal); the daily sweep decides the same thing for every open goal at once in SQL (sweep.py).
Both follow domain/goal.py's `goal_status`; the tests compare them.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from itertools import pairwise

from goals.domain.decimals import ZERO, fits_places
from goals.domain.errors import InvalidInput
from goals.domain.progress import (
    Direction,
    KeyResult,
    Kpi,
    Thresholds,
    check_thresholds,
    kpi_attainment,
    objective_progress,
)
from goals.domain.status import Colour, Milestone, Schedule, kpi_colour, schedule_status

PROGRESS_QUANTUM = Decimal("1e-9")  # NUMERIC(12, 9): progress is stored, compared and swept at this precision
FRACTION_PLACES = 6
AMOUNT_QUANTUM = Decimal("0.000001")  # NUMERIC(20, 6): targets, thresholds and values
AMOUNT_LIMIT = Decimal(10) ** 14


def fits_amount(value: Decimal) -> bool:
    """True when a computed amount fits its NUMERIC(20, 6) column once rounded to 6 places."""
    return value.is_finite() and abs(value) < AMOUNT_LIMIT - AMOUNT_QUANTUM / 2


def stored_progress(value: Decimal) -> Decimal:
    """Progress as stored: truncated (never rounded up to a completion that did not happen)."""
    return value.quantize(PROGRESS_QUANTUM, rounding=ROUND_DOWN)


def decimal_of(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def domain_key_results(key_results: Sequence) -> list[KeyResult]:
    return [KeyResult(kr.id, kr.start_value, kr.target, kr.current, kr.unit, kr.weight) for kr in key_results]


def own_progress(goal, key_results: Sequence) -> Decimal:
    """From the KPI's latest value (0 before the first) or the key results."""
    if goal.kind == "kpi":
        if goal.actual is None:
            return ZERO
        return stored_progress(kpi_attainment(Direction(goal.direction), goal.target, goal.actual))
    return stored_progress(objective_progress(domain_key_results(key_results)))


def kpi_of(goal) -> Kpi:
    """A stored KPI goal's indicator. A KPI goal always has its direction, target and bands (create_goal and
    assign_template write them together); a goal without them is not a KPI goal, or a corrupt row."""
    if goal.direction is None or goal.target is None or goal.green is None or goal.yellow is None:
        raise ValueError(f"goal {goal.id} ({goal.kind}) has no complete KPI")
    return Kpi(goal.id, Direction(goal.direction), goal.target, goal.unit, Thresholds(goal.green, goal.yellow),
               goal.actual, goal.cumulative)


def kpi_band(goal) -> str | None:
    """The band of a level KPI's latest value; None before the first value and for a cumulative KPI, which
    the schedule judges (domain.progress.Kpi)."""
    if goal.kind != "kpi" or goal.actual is None or goal.cumulative:
        return None
    return kpi_colour(Direction(goal.direction), goal.target, Thresholds(goal.green, goal.yellow), goal.actual).value


def check_kpi(direction: str, target: Decimal, green: Decimal, yellow: Decimal, field: str = "kpi") -> None:
    check_thresholds(Direction(direction), Thresholds(green, yellow), field=field)


def scaled_thresholds(goal, new_target: Decimal, field: str = "kpi_target") -> tuple[Decimal, Decimal]:
    """A KPI's bands follow a new target for '>=' and '<=' (green 90 / yellow 80 for 90 become 85 / 75.56 for
    85); for '=' they are tolerances and stay. Unscaled when a target is not positive. A target so far from the
    old one that a band would not fit its column is refused, naming `field`."""
    old = goal.target
    if goal.direction == "=" or old is None or old <= 0 or new_target <= 0 or old == new_target:
        return goal.green, goal.yellow
    scaled = (goal.green * new_target / old, goal.yellow * new_target / old)
    if not all(fits_amount(band) for band in scaled):
        raise InvalidInput(field, "the KPI's green and yellow bands, which follow the target, would go beyond "
                                  "10^14 with this target")
    return scaled[0].quantize(AMOUNT_QUANTUM), scaled[1].quantize(AMOUNT_QUANTUM)


def build_schedule(start: date, due: date, milestones: Sequence[tuple[date, Decimal]] = (),
                   field: str = "milestones") -> Schedule:
    for i, (_, fraction) in enumerate(milestones):
        if not fits_places(fraction, FRACTION_PLACES):
            raise InvalidInput(f"{field}[{i}].fraction", f"must have at most {FRACTION_PLACES} decimals")
    return Schedule(start, due, tuple(Milestone(on, fraction) for on, fraction in milestones))


def segments_of(schedule: Schedule) -> list[tuple[date, date, Decimal, Decimal]]:
    """The linear pieces of a milestone schedule, (from, to, from fraction, to fraction)."""
    points = schedule.points()
    return [(a_on, b_on, decimal_of(a_fraction), decimal_of(b_fraction))
            for (a_on, a_fraction), (b_on, b_fraction) in pairwise(points)]


def milestones_of(goal, segments: Sequence) -> list[tuple[date, Decimal]]:
    """The milestones a schedule was given as, recovered from its stored pieces."""
    if goal.schedule != "milestones" or not segments:
        return []
    found = []
    if segments[0].from_fraction != ZERO:
        found.append((goal.start_on, segments[0].from_fraction))
    found.extend((segment.to_on, segment.to_fraction) for segment in segments[:-1])
    return found


def schedule_of(goal, segments: Sequence) -> Schedule:
    return build_schedule(goal.start_on, goal.due_on, milestones_of(goal, segments))


def colour_of(goal, segments: Sequence, on: date, red_after_weeks: int) -> Colour:
    """The colour of a stored goal on `on`: a measured KPI by its band, everything else by its schedule
    (domain.goal.goal_status), with the stored (rolled-up) progress."""
    progress = min(goal.progress, Decimal(1))
    if goal.kind == "kpi" and goal.kpi_band is not None:
        if progress >= 1:
            return Colour.GREEN
        if on > goal.due_on:
            return Colour.RED
        return Colour(goal.kpi_band)
    return schedule_status(schedule_of(goal, segments), progress, on, red_after_weeks).colour
