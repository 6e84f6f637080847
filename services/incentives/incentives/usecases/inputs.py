"""What incentives hears from the other services, checked before it is believed: feedback's weekly sales activity,
coaching cadence, participation and ratings; goals' indicator-measured goals and their progress. Each handler runs
in the event's own unit of work (the inbox makes a redelivery a no-op; unique keys make a second copy of a fact
under another event id harmless too)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from contracts import feedback as fb
from contracts import goals as g
from contracts.envelope import Envelope
from incentives import models as m
from incentives.domain import points as ledger
from incentives.domain.bonus import weekly_lead_values
from incentives.domain.errors import InvalidInput
from incentives.domain.rules import variable_name
from incentives.settings import IncentivesSettings
from incentives.usecases import bonus, points, talent
from incentives.usecases.common import Uow, month_key, payload_of, week_key


def _observe(uow: Uow, person_id: str, period: str, values: dict[str, Decimal], source: str) -> None:
    now = uow.now()
    uow.inputs.observe([{"person_id": person_id, "period": period, "name": name, "value": value, "source": source,
                         "updated_at": now} for name, value in values.items()])


def check_weekly_leads(event: fb.WeeklyLeadsCounted) -> None:
    start = event.week_start
    if start.isoweekday() != 1 or week_key(start) != event.week:
        raise InvalidInput("week_start", f"{start} is not the Monday of {event.week}")
    counts = (event.visits, event.valid_leads, event.opportunities, event.demo_conversions)
    if min(counts) < 0:
        raise InvalidInput("valid_leads", "counts are never negative")
    if event.valid_leads > event.visits or event.demo_conversions > event.opportunities:
        raise InvalidInput("valid_leads", "more valid leads than visits, or more demos than opportunities")


def on_weekly_leads(uow: Uow, envelope: Envelope) -> None:
    event = payload_of(envelope, fb.WeeklyLeadsCounted)
    check_weekly_leads(event)
    with uow:
        _observe(uow, event.person_id, event.week,
                 weekly_lead_values(event.valid_leads, event.visits, event.opportunities, event.demo_conversions),
                 f"feedback:{envelope.id}")


def on_coaching_cadence(uow: Uow, envelope: Envelope) -> None:
    event = payload_of(envelope, fb.CoachingCadenceComputed)
    with uow:
        _observe(uow, event.manager_id, event.month,
                 {"coaching_touches": Decimal(event.touches), "coaching_weekly_notes": Decimal(event.weekly_notes),
                  "coaching_average": event.average, "coaching_standard": event.standard,
                  "coaching_below_standard": Decimal(1 if event.below_standard else 0)},
                 f"feedback:{envelope.id}")


def on_participation(uow: Uow, envelope: Envelope) -> None:
    event = payload_of(envelope, fb.ParticipationComputed)
    if event.scope != "person":
        return  # team and unit rates are not a person's indicator
    with uow:
        _observe(uow, event.scope_id, event.month, {"participation_rate": event.rate}, f"feedback:{envelope.id}")


def on_goal_created(uow: Uow, envelope: Envelope) -> None:
    event = payload_of(envelope, g.GoalCreated)
    if event.indicator_code is None or event.owner.kind != "person":
        return
    with uow:
        uow.inputs.track_goals([{"goal_id": event.goal_id, "person_id": event.responsible_id,
                                 "indicator_code": event.indicator_code, "cycle_id": event.cycle_id}])


def on_template_assigned(uow: Uow, envelope: Envelope) -> None:
    event = payload_of(envelope, g.TemplateAssigned)
    with uow:
        uow.inputs.track_goals([{"goal_id": goal.goal_id, "person_id": event.person_id,
                                 "indicator_code": goal.indicator_code, "cycle_id": event.cycle_id}
                                for goal in event.goals])


def on_goal_progressed(uow: Uow, envelope: Envelope) -> None:
    """The value of an indicator-measured goal becomes the person's indicator for the week and the month of the
    update (the latest update of a period wins)."""
    event = payload_of(envelope, g.GoalProgressed)
    with uow:
        goal = uow.inputs.tracked_goal(event.goal_id)
        if goal is None or goal.person_id != event.responsible_id:
            return  # not measured by an indicator, or not this person's (a stale or foreign event)
        on: date = event.at.date()
        name = variable_name(goal.indicator_code)
        for period in (week_key(on), month_key(on)):
            _observe(uow, goal.person_id, period, {name: event.after_value}, f"goals:{envelope.id}")


def on_praise(uow: Uow, envelope: Envelope, settings: IncentivesSettings) -> None:
    """Recognition earns points by rule (settings.praise_points), once per praise whatever the deliveries."""
    event = payload_of(envelope, fb.PraiseGiven)
    if not settings.praise_points or event.given_by == event.person_id:
        return
    with uow:
        ref = f"praise:{event.praise_id}"
        if not uow.points.claim_fact(ref, uow.now()):
            return
        points.credit_many(uow, "earned", ledger.RULES,
                           [(event.person_id, settings.praise_points, "recognition received", ref)],
                           event_source="rule")


def _rating_points(uow: Uow, rating: m.Rating, settings: IncentivesSettings) -> None:
    """A finalized rating earns points by rule (settings.rating_points), once per rating: an amendment does not
    pay again (nor take back what was earned)."""
    amount = settings.rating_points.get(rating.label, 0)
    ref = f"rating:{rating.rating_id}"
    if amount > 0 and uow.points.claim_fact(ref, uow.now()):
        points.credit_many(uow, "earned", ledger.RULES,
                           [(rating.person_id, amount, f"rating {rating.label} ({rating.review_cycle_id})", ref)],
                           event_source="rule")


def _component(components: Sequence[fb.RatingComponent], name: str) -> Decimal | None:
    return next((comp.score for comp in components if comp.name == name and comp.score is not None), None)


def on_rating(uow: Uow, envelope: Envelope, settings: IncentivesSettings) -> None:
    """A finalized or amended rating: kept as a new version; the bonus proposals of its cycle's pools follow (a
    new version each), the person's development plan is created or updated, and their 9-box place moves."""
    event = envelope.payload()
    if not isinstance(event, (fb.RatingFinalized, fb.RatingAmended)):
        raise InvalidInput("type", f"{envelope.type} is not a rating")
    amended = isinstance(event, fb.RatingAmended)
    if amended and event.version < 2:
        raise InvalidInput("version", "an amendment is version 2 or later")
    at = event.amended_at if isinstance(event, fb.RatingAmended) else event.finalized_at
    with uow:
        row = {"rating_id": event.rating_id, "version": event.version, "person_id": event.person_id,
               "review_cycle_id": event.review_cycle_id, "goals_cycle_id": event.goals_cycle_id,
               "label": event.label, "score": event.score,
               "components": [comp.model_dump(mode="json") for comp in event.components],
               "manager_id": event.manager_id, "reason": event.reason, "at": at,
               "attainment": _component(event.components, "goals"),
               "manager_score": _component(event.components, "manager")}
        if not uow.inputs.add_rating(row):
            return  # this version is known: a second delivery pays nothing twice
        rating = uow.inputs.latest_rating(event.person_id, event.review_cycle_id)
        if rating is None or (rating.rating_id, rating.version) != (event.rating_id, event.version):
            return  # an older version arriving after a newer one changes nothing
        bonus.proposals_for_rating(uow, rating, settings)
        talent.plan_from_rating(uow, rating, event.reason or ("amended" if amended else "finalized"))
        _rating_points(uow, rating, settings)
        talent.place(uow, event.person_id, event.review_cycle_id, settings)


EVENTS_FROM_FEEDBACK = (fb.WeeklyLeadsCounted.type, fb.CoachingCadenceComputed.type, fb.ParticipationComputed.type)
PRAISE_EVENTS = (fb.PraiseGiven.type,)
RATING_EVENTS = (fb.RatingFinalized.type, fb.RatingAmended.type)
EVENTS_FROM_GOALS = (g.GoalCreated.type, g.TemplateAssigned.type, g.GoalProgressed.type)
