"""Rows as contract views."""
from __future__ import annotations

from contracts import feedback as c
from feedback import models as m
from feedback.domain.checkins import visible_to


def checkin(row: m.Checkin, points, viewer: str | None, today) -> c.CheckinView:
    shown = visible_to(points, viewer or "")
    return c.CheckinView(
        id=row.id, month=row.month, manager_id=row.manager_id, person_id=row.person_id, due_from=row.due_from,
        due_by=row.due_by, state=row.state, overdue=row.state == "scheduled" and today > row.due_by,
        held_on=row.held_on, signed_by_manager=row.signed_by_manager, signed_by_person=row.signed_by_person,
        goals=[c.GoalSnapshot.model_validate(g) for g in row.goals],
        points=[c.CheckinPointView(id=p.id, author_id=p.author_id, section=p.section, text=p.text,
                                   visibility=p.visibility, goal_id=p.goal_id, support_needed=p.support_needed)
                for p in shown],
        version=row.version)


def report(row: m.Report) -> c.ReportView:
    return c.ReportView(id=row.id, person_id=row.person_id, manager_id=row.manager_id, team_id=row.team_id,
                        kind=row.kind, period=row.period, done=row.done, blockers=row.blockers,
                        next_plan=row.next_plan, goal_ids=row.goal_ids, extra=row.extra,
                        submitted_at=row.submitted_at, updated_at=row.updated_at, version=row.version)


def key_event(row: m.KeyEvent) -> c.KeyEventView:
    return c.KeyEventView(id=row.id, person_id=row.person_id, recorded_by=row.recorded_by, polarity=row.polarity,
                          title=row.title, occurred_on=row.occurred_on, evidence_text=row.evidence_text,
                          evidence_url=row.evidence_url, goal_id=row.goal_id, response=row.response,
                          recorded_at=row.recorded_at)


def visit(row: m.Visit) -> c.VisitView:
    return c.VisitView(id=row.id, person_id=row.person_id, customer_id=row.customer_id, visited_at=row.visited_at,
                       distance_m=row.distance_m, opportunity_id=row.opportunity_id, valid=row.valid,
                       invalid_reasons=row.invalid_reasons, notes=row.notes, objections=row.objections)


def opportunity(row: m.Opportunity) -> c.OpportunityView:
    return c.OpportunityView(id=row.id, person_id=row.person_id, customer_id=row.customer_id, stage=row.stage,
                             amount=row.amount, next_step=row.next_step, created_at=row.created_at,
                             updated_at=row.updated_at)


def coaching(row: m.CoachingTouch) -> c.CoachingView:
    return c.CoachingView(id=row.id, manager_id=row.manager_id, person_id=row.person_id, on=row.on,
                          minutes=row.minutes, topic=row.topic, notes=row.notes, goal_id=row.goal_id)
