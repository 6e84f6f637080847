"""Red / yellow / green warnings from a goal's schedule, and KPI colour bands.

Schedule rule (``colour_for``), for progress ``actual`` in [0, 1] on date ``d``:

1. complete (actual >= 1)                          -> GREEN  (there is no separate DONE colour;
                                                              StatusReport.complete tells it apart)
2. overdue (d > due) and not complete              -> RED    (so never GREEN when overdue)
3. actual >= expected(d)                           -> GREEN
4. expected(d) - actual >= expected(d) - expected(d - N weeks), i.e. actual <= expected(d - N weeks)
                                                   -> RED    (behind by N weeks' worth of progress)
5. otherwise                                       -> YELLOW

``expected`` follows the schedule: linear from start (0) to due (1) by default, or piecewise-linear
through milestones (date, fraction). For the N-weeks look-back the curve before the start date is
the backward extension of its first segment, so for a linear schedule the red margin is exactly
N*7/(due - start) on every day, including the first N weeks (a goal is not red on day one).
N is the cycle's ``red_after_weeks`` (2 by default).

The arithmetic is exact (fractions.Fraction), so the set-based SQL sweep, which works in whole
days (``linear_sweep_terms``), can be compared to this reference without rounding noise.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from goals.domain.decimals import ONE, ZERO, to_decimal
from goals.domain.errors import InvalidInput
from goals.domain.progress import Direction, Thresholds


class Colour(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True)
class Milestone:
    on: date
    fraction: Decimal


@dataclass(frozen=True)
class Schedule:
    """When a goal should progress: ``start`` < ``due``; optional milestones in between.

    Milestone dates are strictly increasing within [start, due], fractions non-decreasing in [0, 1];
    a milestone on the due date must be 1. The curve is anchored at (start, 0) and (due, 1) unless
    a milestone on the start date says otherwise.
    """

    start: date
    due: date
    milestones: tuple[Milestone, ...] = ()

    def __post_init__(self) -> None:
        if self.due <= self.start:
            raise InvalidInput("due", "must be after the start date")
        object.__setattr__(self, "milestones", tuple(self.milestones))
        previous_on, previous_fraction = None, ZERO
        for i, milestone in enumerate(self.milestones):
            field = f"milestones[{i}]"
            fraction = to_decimal(milestone.fraction, f"{field}.fraction")
            if not self.start <= milestone.on <= self.due:
                raise InvalidInput(f"{field}.on", "must be within the goal's start and due dates")
            if previous_on is not None and milestone.on <= previous_on:
                raise InvalidInput(f"{field}.on", "milestone dates must be strictly increasing")
            if not previous_fraction <= fraction <= ONE:
                raise InvalidInput(f"{field}.fraction", "fractions must be non-decreasing within [0, 1]")
            if milestone.on == self.due and fraction != ONE:
                raise InvalidInput(f"{field}.fraction", "a milestone on the due date must be 1")
            previous_on, previous_fraction = milestone.on, fraction

    @property
    def span_days(self) -> int:
        return (self.due - self.start).days

    def points(self) -> list[tuple[date, Fraction]]:
        """The corners of the expected-progress curve, (date, fraction), from the start to the due date.
        Consecutive corners are the linear pieces the SQL sweep stores (schedule_segments)."""
        days, fractions = self._points()
        return [(self.start + timedelta(days=day), fraction) for day, fraction in zip(days, fractions, strict=True)]

    def _points(self) -> tuple[list[int], list[Fraction]]:
        days, fractions = [0], [Fraction(0)]
        for milestone in self.milestones:
            day = (milestone.on - self.start).days
            if day == 0:
                fractions[0] = Fraction(milestone.fraction)
            elif day < self.span_days:
                days.append(day)
                fractions.append(Fraction(milestone.fraction))
        days.append(self.span_days)
        fractions.append(Fraction(1))
        return days, fractions

    def curve(self, day: int, *, extend_back: bool = False) -> Fraction:
        """Expected fraction ``day`` days after the start; 1 from the due date on.

        Before the start it is 0, or with ``extend_back`` the first segment continued backwards.
        """
        days, fractions = self._points()
        if day >= days[-1]:
            return Fraction(1)
        if day < 0 and not extend_back:
            return Fraction(0)
        i = max(0, bisect.bisect_right(days, day) - 1)
        slope = (fractions[i + 1] - fractions[i]) / (days[i + 1] - days[i])
        return fractions[i] + slope * (day - days[i])

    def expected(self, on: date) -> Fraction:
        return self.curve((on - self.start).days)


@dataclass(frozen=True)
class StatusTerms:
    """The numbers the rule needs on one date: expected(d), the red floor expected(d - N weeks)
    (extended back before the start) and whether the goal is past due."""

    expected: Fraction
    red_floor: Fraction
    overdue: bool


def _check_weeks(red_after_weeks: int) -> None:
    if isinstance(red_after_weeks, bool) or not isinstance(red_after_weeks, int) or red_after_weeks < 1:
        raise InvalidInput("red_after_weeks", "must be a positive integer")


def status_terms(schedule: Schedule, on: date, red_after_weeks: int = 2) -> StatusTerms:
    _check_weeks(red_after_weeks)
    day = (on - schedule.start).days
    return StatusTerms(
        expected=schedule.curve(day),
        red_floor=schedule.curve(day - 7 * red_after_weeks, extend_back=True),
        overdue=on > schedule.due,
    )


def _check_actual(actual: Decimal) -> Fraction:
    actual = to_decimal(actual, "actual")
    if not ZERO <= actual <= ONE:
        raise InvalidInput("actual", "progress must be between 0 and 1")
    return Fraction(actual)


def colour_for(terms: StatusTerms, actual: Decimal) -> Colour:
    """The colour rule of this module applied to precomputed terms."""
    value = _check_actual(actual)
    if value >= 1:
        return Colour.GREEN
    if terms.overdue:
        return Colour.RED
    if value >= terms.expected:
        return Colour.GREEN
    if value <= terms.red_floor:
        return Colour.RED
    return Colour.YELLOW


def _to_decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


@dataclass(frozen=True)
class StatusReport:
    colour: Colour
    expected: Decimal
    actual: Decimal
    red_floor: Decimal
    overdue: bool
    complete: bool

    @property
    def deficit(self) -> Decimal:
        """How far behind the schedule (negative when ahead)."""
        return self.expected - self.actual


def schedule_status(schedule: Schedule, actual: Decimal, on: date, red_after_weeks: int = 2) -> StatusReport:
    """Colour of a goal with progress ``actual`` on date ``on`` (see the module docstring)."""
    actual = to_decimal(actual, "actual")
    terms = status_terms(schedule, on, red_after_weeks)
    colour = colour_for(terms, actual)
    return StatusReport(
        colour=colour,
        expected=_to_decimal(terms.expected),
        actual=actual,
        red_floor=_to_decimal(terms.red_floor),
        overdue=terms.overdue,
        complete=actual >= ONE,
    )


@dataclass(frozen=True)
class LinearSweepTerms:
    """Whole-day terms of the rule for a linear schedule, as the daily SQL sweep computes them.

    ``elapsed_days`` = clamp(d - start, 0, span); ``span_days`` = due - start (> 0);
    ``red_lag_days`` = 7 * N; ``overdue`` = d > due. Then expected(d) = elapsed/span and the red
    margin is red_lag/span. Multiplying through by span keeps the comparison exact in SQL:

        CASE WHEN progress >= 1                                   THEN 'green'
             WHEN :today > due_on                                 THEN 'red'
             WHEN progress * span_days >= elapsed_days            THEN 'green'
             WHEN progress * span_days <= elapsed_days - red_lag  THEN 'red'
             ELSE 'yellow' END
        -- span_days = due_on - start_on
        -- elapsed_days = LEAST(span_days, GREATEST(0, :today - start_on)), red_lag = 7 * red_after_weeks
    """

    elapsed_days: int
    span_days: int
    red_lag_days: int
    overdue: bool

    @property
    def expected(self) -> Fraction:
        return Fraction(self.elapsed_days, self.span_days)

    @property
    def red_margin(self) -> Fraction:
        return Fraction(self.red_lag_days, self.span_days)


def linear_sweep_terms(start: date, due: date, on: date, red_after_weeks: int = 2) -> LinearSweepTerms:
    """Reference for the SQL sweep of linear schedules (see LinearSweepTerms)."""
    _check_weeks(red_after_weeks)
    span = (due - start).days
    if span <= 0:
        raise InvalidInput("due", "must be after the start date")
    return LinearSweepTerms(
        elapsed_days=min(span, max(0, (on - start).days)),
        span_days=span,
        red_lag_days=7 * red_after_weeks,
        overdue=on > due,
    )


def linear_sweep_colour(terms: LinearSweepTerms, actual: Decimal) -> Colour:
    """The SQL CASE expression of LinearSweepTerms, in Python; equals schedule_status for linear
    schedules on every date."""
    scaled = _check_actual(actual) * terms.span_days
    if scaled >= terms.span_days:
        return Colour.GREEN
    if terms.overdue:
        return Colour.RED
    if scaled >= terms.elapsed_days:
        return Colour.GREEN
    if scaled <= terms.elapsed_days - terms.red_lag_days:
        return Colour.RED
    return Colour.YELLOW


def kpi_colour(direction: Direction, target: Decimal, thresholds: Thresholds, actual: Decimal) -> Colour:
    """Band of a measured KPI value (see progress.Thresholds for what the thresholds mean)."""
    if direction is Direction.AT_LEAST:
        green, yellow = actual >= thresholds.green, actual >= thresholds.yellow
    elif direction is Direction.AT_MOST:
        green, yellow = actual <= thresholds.green, actual <= thresholds.yellow
    else:
        deviation = abs(actual - target)
        green, yellow = deviation <= thresholds.green, deviation <= thresholds.yellow
    return Colour.GREEN if green else Colour.YELLOW if yellow else Colour.RED
