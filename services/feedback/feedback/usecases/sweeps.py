"""What the timer does: overdue check-ins, zero activity, 360 requests to close (each run); the weekly leads
of the week just ended and the monthly cadence/participation of the month just ended (once each); retention."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import CursorResult, Delete, delete

from contracts import feedback as c
from contracts.actor import Actor
from feedback import models as m
from feedback.domain.calendar import month_key, week_key
from feedback.repositories import FeedbackUnitOfWork as Uow
from feedback.usecases import activity, checkins, coaching, reports, reviews, surveys
from feedback.usecases.common import settings, today


def run_as(uow: Uow, actor: Actor | None) -> c.SweepCounts:
    """The RPC: HR of the whole company or an admin runs the timer's work now."""
    from feedback import access
    from feedback.usecases.common import require

    with uow:
        require(uow, actor, "feedback.company.manage", access.company(), "actor")
    return c.SweepCounts(**run(uow))


def run(uow: Uow) -> dict[str, int]:
    with uow:
        on = today(uow)
    last_week = week_key(on - timedelta(days=7))
    last_month = month_key(on.replace(day=1) - timedelta(days=1))
    return {
        "checkins_overdue": checkins.flag_overdue(uow),
        "zero_activity": activity.detect_zero_activity(uow),
        "surveys_closed": surveys.close_due(uow),
        "weekly_leads": activity.publish_weekly_leads(uow, last_week),
        "cadence": coaching.publish_cadence(uow, last_month),
        "participation": reports.publish_participation(uow, last_month),
        "review_reminders": reviews.remind(uow),
        "purged": purge(uow),
    }


def purge(uow: Uow) -> int:
    """Retention: everything feedback stores older than `retention_days` is deleted (check-in points go with
    their check-in, answers and invitations with their request)."""
    with uow:
        cutoff = uow.now() - timedelta(days=settings(uow).retention_days)
        day = cutoff.date()
        session = uow.session
        n = 0
        for stmt in (
            delete(m.CheckinPoint).where(m.CheckinPoint.checkin_id.in_(
                m.Checkin.__table__.select().with_only_columns(m.Checkin.id).where(m.Checkin.created_at < cutoff))),
            delete(m.Checkin).where(m.Checkin.created_at < cutoff),
            delete(m.Report).where(m.Report.submitted_at < cutoff),
            delete(m.KeyEvent).where(m.KeyEvent.recorded_at < cutoff),
            delete(m.Visit).where(m.Visit.created_at < cutoff),
            delete(m.Opportunity).where(m.Opportunity.updated_at < cutoff,
                                        ~m.Opportunity.id.in_(m.Visit.__table__.select()
                                                              .with_only_columns(m.Visit.opportunity_id)
                                                              .where(m.Visit.opportunity_id.is_not(None)))),
            delete(m.CoachingTouch).where(m.CoachingTouch.on < day),
            delete(m.CoachingNote).where(m.CoachingNote.submitted_at < cutoff),
            delete(m.SurveyAnswer).where(m.SurveyAnswer.survey_id.in_(
                m.Survey.__table__.select().with_only_columns(m.Survey.id).where(m.Survey.created_at < cutoff))),
            delete(m.SurveyInvitation).where(m.SurveyInvitation.survey_id.in_(
                m.Survey.__table__.select().with_only_columns(m.Survey.id).where(m.Survey.created_at < cutoff))),
            delete(m.Survey).where(m.Survey.created_at < cutoff),
            delete(m.Praise).where(m.Praise.given_at < cutoff),
            delete(m.ZeroActivity).where(m.ZeroActivity.detected_on < day),
            delete(m.SweepRun).where(m.SweepRun.at < cutoff),
            *_old_cycles(cutoff),
        ):
            result = session.execute(stmt)
            n += (result.rowcount or 0) if isinstance(result, CursorResult) else 0
        return n


def _old_cycles(cutoff: datetime) -> tuple[Delete, ...]:
    """Review cycles opened before the cutoff go with everything under them (children first: no reliance on
    the database cascading)."""
    cycles = m.ReviewCycle.__table__.select().with_only_columns(m.ReviewCycle.id).where(m.ReviewCycle.opened_at
                                                                                         < cutoff)
    reviews = m.Review.__table__.select().with_only_columns(m.Review.id).where(m.Review.cycle_id.in_(cycles))
    ratings = m.Rating.__table__.select().with_only_columns(m.Rating.id).where(m.Rating.cycle_id.in_(cycles))
    return (delete(m.RatingVersion).where(m.RatingVersion.rating_id.in_(ratings)),
            delete(m.Rating).where(m.Rating.cycle_id.in_(cycles)),
            delete(m.PeerAnswer).where(m.PeerAnswer.review_id.in_(reviews)),
            delete(m.PeerInvitation).where(m.PeerInvitation.review_id.in_(reviews)),
            delete(m.Review).where(m.Review.cycle_id.in_(cycles)),
            delete(m.RatingFormulaVersion).where(m.RatingFormulaVersion.cycle_id.in_(cycles)),
            delete(m.CalibrationSession).where(m.CalibrationSession.cycle_id.in_(cycles)),
            delete(m.ReviewCycle).where(m.ReviewCycle.opened_at < cutoff))
