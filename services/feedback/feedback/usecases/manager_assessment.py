"""The manager's own assessment (纳入其自身绩效考核): components that fill themselves from part 1 — the coaching
cadence (trailing average of touches per month against the company standard) and the team's weekly-report
participation over the same months — when the cycle's formula names them (`coaching`, `participation`).
People who manage nobody get neither (missing, so neutral)."""
from __future__ import annotations

from decimal import Decimal

from feedback import models as m
from feedback.domain import reviews as rules
from feedback.domain.calendar import previous_months
from feedback.repositories import FeedbackUnitOfWork as Uow
from feedback.usecases import coaching, reports
from feedback.usecases.common import settings, team_of, today

COMPONENTS = ("coaching", "participation")


def on_scale(scale: rules.Scale, fraction: Decimal) -> Decimal:
    """A fraction in [0, 1] as a score on the cycle's scale."""
    fraction = min(Decimal(1), max(Decimal(0), fraction))
    return scale.low + (scale.high - scale.low) * fraction


def components(uow: Uow, cycle: m.ReviewCycle, people: list[str], formula: rules.RatingFormula
               ) -> dict[str, dict[str, Decimal | None]]:
    wanted = [name for name in COMPONENTS if name in formula.weights]
    if not wanted:
        return {}
    from feedback.usecases.reviews import pinned

    _, scale = pinned(uow, cycle)
    s = settings(uow)
    on = today(uow)
    month = on.strftime("%Y-%m")
    found: dict[str, dict[str, Decimal | None]] = {}
    for person in people:
        team = team_of(uow, person)
        if not team:
            continue
        values: dict[str, Decimal | None] = {}
        if "coaching" in wanted:
            cadence = coaching.compute(uow, person, month)
            values["coaching"] = on_scale(scale, cadence.average / s.coaching_standard)
        if "participation" in wanted:
            expected = submitted = 0
            for past in previous_months(month, s.coaching_window_months):
                e, n = reports.rate_of(uow, team, past, on)
                expected, submitted = expected + e, submitted + n
            values["participation"] = (on_scale(scale, Decimal(submitted) / expected) if expected else None)
        found[person] = values
    return found
