"""Sales activity with double verification: customers, opportunities, visits; weekly valid leads; zero-activity
detection; the team's most frequent objections."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import delete

from chassis.ids import new_id
from contracts import feedback as c
from contracts.actor import Actor
from feedback import access, views
from feedback import models as m
from feedback.domain import activity as rules
from feedback.domain.calendar import month_bounds, parse_month, week_key, week_start
from feedback.domain.errors import InvalidInput
from feedback.objections import default_tagger
from feedback.repositories import FeedbackUnitOfWork as Uow
from feedback.usecases.common import active, load, missing, require, settings, subject_of, team_of, today


def register_customer(uow: Uow, actor: Actor | None, command: c.RegisterCustomer) -> c.RegisterCustomer:
    with uow:
        require(uow, actor, "feedback.activity.write", access.of(access.ACTIVITY, subject_of(actor)), "actor")
        row = uow.repo.get(m.Customer, command.customer_id, lock=True)
        if row is None:
            row = m.Customer(id=command.customer_id, registered_by=subject_of(actor), registered_at=uow.now())
            uow.repo.add(row)
        row.name, row.latitude, row.longitude = command.name, command.latitude, command.longitude
        return command


def record_opportunity(uow: Uow, actor: Actor | None, command: c.RecordOpportunity) -> c.OpportunityView:
    with uow:
        person = subject_of(actor)
        require(uow, actor, "feedback.activity.write", access.of(access.ACTIVITY, person), "actor")
        load(uow, m.Customer, command.customer_id, "customer_id")
        now = uow.now()
        if command.opportunity_id is None:
            row = m.Opportunity(id=new_id(), person_id=person, customer_id=command.customer_id, created_at=now,
                                demo_at=None)
            uow.repo.add(row)
        else:
            row = _own_opportunity(uow, actor, person, command.opportunity_id, lock=True)
            if row.customer_id != command.customer_id:
                raise InvalidInput("customer_id", "the opportunity belongs to another customer")
        if command.stage == "demo" and row.demo_at is None:
            row.demo_at = now  # a demo conversion, counted in the week it happened
        row.stage, row.amount, row.next_step, row.updated_at = command.stage, command.amount, command.next_step, now
        uow.session.flush()
        return views.opportunity(row)


def _own_opportunity(uow: Uow, actor: Actor | None, person: str, opportunity_id: str, *,
                     lock: bool = False) -> m.Opportunity:
    """One's own opportunity. Someone else's is, to whoever may not read their activity, the 404 of a missing
    one (no existence to learn); to their line, plainly not theirs (400)."""
    row = load(uow, m.Opportunity, opportunity_id, "opportunity_id", lock=lock)
    if row.person_id != person:
        require(uow, actor, "feedback.activity.read", access.of(access.ACTIVITY, row.person_id), "opportunity_id",
                hidden=missing(m.Opportunity, opportunity_id))
        raise InvalidInput("opportunity_id", "not one of your opportunities")
    return row


def record_visit(uow: Uow, actor: Actor | None, command: c.RecordVisit) -> c.VisitView:
    """A visit, validated at once: valid only with a near check-in AND a linked opportunity entered (or moved)
    within the window. Bad input (future time, unknown customer, someone else's opportunity) writes nothing."""
    with uow:
        person = subject_of(actor)
        require(uow, actor, "feedback.activity.write", access.of(access.ACTIVITY, person), "actor")
        visited_at = command.visited_at if command.visited_at.tzinfo else command.visited_at.replace(tzinfo=UTC)
        rules.check_visit_time(visited_at, uow.now())
        customer = load(uow, m.Customer, command.customer_id, "customer_id")
        opportunity = None
        if command.opportunity_id is not None:
            opportunity = _own_opportunity(uow, actor, person, command.opportunity_id)
            if opportunity.customer_id != customer.id:
                raise InvalidInput("opportunity_id", "the opportunity belongs to another customer")
        s = settings(uow)
        check_in = command.check_in
        verdict = rules.verify(
            check_in=None if check_in is None else (float(check_in.latitude), float(check_in.longitude),
                                                    float(check_in.accuracy_m)),
            customer=(float(customer.latitude), float(customer.longitude)),
            opportunity_at=None if opportunity is None else _entered(opportunity, visited_at),
            visited_at=visited_at, radius_m=float(s.visit_radius_m), max_accuracy_m=float(s.visit_max_accuracy_m),
            window=timedelta(hours=s.opportunity_window_hours))
        tags = [t.tag for t in default_tagger().tag(command.notes)] if command.notes.strip() else []
        row = m.Visit(id=new_id(), person_id=person, customer_id=customer.id, visited_at=visited_at,
                      week=week_key(visited_at.date()),
                      latitude=None if check_in is None else check_in.latitude,
                      longitude=None if check_in is None else check_in.longitude,
                      accuracy_m=None if check_in is None else check_in.accuracy_m,
                      distance_m=verdict.distance_m, opportunity_id=command.opportunity_id, valid=verdict.valid,
                      invalid_reasons=list(verdict.reasons), notes=command.notes, objections=tags,
                      created_at=uow.now())
        uow.repo.add(row)
        if verdict.valid and opportunity is not None:  # valid means linked to an opportunity
            uow.publish(c.VisitValidated(visit_id=row.id, person_id=person, customer_id=customer.id,
                                         opportunity_id=opportunity.id, visited_at=visited_at, week=row.week,
                                         distance_m=verdict.distance_m))
            uow.session.execute(delete(m.ZeroActivity).where(m.ZeroActivity.person_id == person))
        return views.visit(row)


def _entered(opportunity: m.Opportunity, visited_at: datetime) -> datetime:
    """The opportunity entry nearest the visit: its creation or its last move."""
    return min((opportunity.created_at, opportunity.updated_at), key=lambda t: abs(t - visited_at))


def _week_range(week: str) -> tuple[datetime, datetime]:
    start = datetime.combine(week_start(week), time(), tzinfo=UTC)
    return start, start + timedelta(days=7)


def weekly_leads(uow: Uow, actor: Actor | None, command: c.GetWeeklyLeads) -> c.WeeklyLeadsView:
    with uow:
        person = command.person_id or subject_of(actor)
        require(uow, actor, "feedback.activity.read", access.of(access.ACTIVITY, person), "person_id")
        start, end = _week_range(command.week)
        visits, valid, opportunities, demos = uow.activity.weekly_counts(command.week, start, end, person).get(
            person, [0, 0, 0, 0])
        return c.WeeklyLeadsView(person_id=person, week=command.week, visits=visits, valid_leads=valid,
                                 opportunities=opportunities, demo_conversions=demos)


def publish_weekly_leads(uow: Uow, week: str) -> int:
    """The weekly sweep (for the week just ended): one WeeklyLeadsCounted per person with any activity, once."""
    with uow:
        if not uow.sweeps.claim("leads", week, uow.now()):
            return 0
        start, end = _week_range(week)
        index = uow.access.index
        counts = uow.activity.weekly_counts(week, start, end)
        uow.publish(*(c.WeeklyLeadsCounted(person_id=p, manager_id=index.manager_of(p), week=week,
                                           week_start=start.date(), visits=n[0], valid_leads=n[1],
                                           opportunities=n[2], demo_conversions=n[3])
                      for p, n in sorted(counts.items())))
        return len(counts)


def detect_zero_activity(uow: Uow, people: list[str] | None = None) -> int:
    """The weekly sweep: sales people (anyone who ever recorded a visit or an opportunity, or `people`) with no
    valid visit in the last N full weeks are flagged once per episode (cleared by their next valid visit)."""
    from sqlalchemy import insert, select

    with uow:
        on = today(uow)
        weeks = settings(uow).zero_activity_weeks
        index = uow.access.index
        last_valid = uow.activity.last_valid()
        if people is None:
            people = list(last_valid.keys() | uow.activity.opportunity_people())
        people = [p for p in people if active(index, p)]
        flagged = set(uow.session.scalars(select(m.ZeroActivity.person_id)))
        found = rules.zero_activity(people, {p: d for p, d in last_valid.items() if d is not None}, on, weeks)
        new = sorted((p, last) for p, last in found if p not in flagged)
        if new:
            uow.session.execute(insert(m.ZeroActivity), [
                {"person_id": p, "manager_id": index.manager_of(p), "weeks": weeks, "last_valid_on": last,
                 "detected_on": on} for p, last in new])
        uow.publish(*(c.ZeroActivityDetected(person_id=p, manager_id=index.manager_of(p), weeks=weeks,
                                             last_valid_on=last, detected_on=on) for p, last in new))
        return len(new)


def team_objections(uow: Uow, actor: Actor | None, command: c.GetTeamObjections) -> c.TeamObjectionsView:
    with uow:
        manager = command.manager_id or subject_of(actor)
        require(uow, actor, "feedback.team.read", access.of(access.TEAM, manager), "manager_id")
        year, month = parse_month(command.month)
        first, last = month_bounds(year, month)
        start = datetime.combine(first, time(), tzinfo=UTC)
        end = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
        tags = uow.activity.objection_tags(team_of(uow, manager), start, end)
        counts = Counter(tag for visit in tags for tag in set(visit))
        return c.TeamObjectionsView(manager_id=manager, month=command.month, visits=len(tags),
                                    counts=dict(counts.most_common()))
