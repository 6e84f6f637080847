"""What the timer does: overdue check-ins, zero activity, 360 requests to close (each run); the weekly leads
of the week just ended and the monthly cadence/participation of the month just ended (once each); retention."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from feedback import models as m
from feedback.domain.calendar import month_key, week_key
from feedback.usecases import activity, checkins, coaching, reports, surveys
from feedback.usecases.common import settings, today


def run_as(uow, actor) -> dict[str, int]:
    """The RPC: HR of the whole company or an admin runs the timer's work now."""
    from feedback import access
    from feedback.usecases.common import require

    with uow:
        require(uow, actor, "feedback.company.manage", access.company(), "actor")
    return run(uow)


def run(uow) -> dict[str, int]:
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
        "purged": purge(uow),
    }


def purge(uow) -> int:
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
        ):
            n += session.execute(stmt).rowcount or 0
        return n
