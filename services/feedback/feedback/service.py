"""The feedback service: a thin nameko adapter over its use cases. Each RPC validates its contract, calls one use
case with the actor from the call context, and answers the contract's JSON."""
from __future__ import annotations

from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from chassis import Database, RpcClient, Service, event_handler, rpc
from chassis.access import ORG_EVENT_BATCH, ORG_EVENT_TYPES, OrgSync, apply_org_events
from chassis.runtime import settings_of
from contracts import bulk as b
from contracts import compliance as dsr
from contracts import feedback as c
from feedback import access, errors
from feedback.repositories import FeedbackUnitOfWork
from feedback.settings import FeedbackSettings, load_feedback_settings
from feedback.usecases import (
    activity,
    board,
    checkins,
    coaching,
    exports,
    keyevents,
    objections,
    people,
    reports,
    reviews,
    surveys,
    sweeps,
)
from feedback.usecases.evidence import RpcGoalsReader

errors.register()  # feedback's domain errors as problem documents (explicit, once)
access.register()  # feedback's actions in the chassis policy


def settings_for(container) -> FeedbackSettings:
    found = getattr(container, "_feedback_settings", None)
    if found is None:
        found = load_feedback_settings(container.config, settings_of(container))
        container._feedback_settings = found
    return found


class Settings(DependencyProvider):
    """FeedbackSettings for the worker (chassis settings + FEEDBACK_* of feedback's own)."""

    def get_dependency(self, worker_ctx):
        return settings_for(self.container)


class SweepTimer(Timer):
    """nameko's timer, its interval from FeedbackSettings.sweep_seconds (FEEDBACK_SWEEP_SECONDS)."""

    def setup(self):
        self.interval = settings_for(self.container).sweep_seconds


def _json(result):
    return result.model_dump(mode="json") if hasattr(result, "model_dump") else result


class FeedbackService(Service):
    name = "feedback"
    db = Database(FeedbackUnitOfWork)
    config = Settings()
    org_sync = OrgSync()
    rpc_out = RpcClient()  # only for fresh reads that cannot wait (the review form's goals), one hop, with a timeout

    @property
    def uow(self) -> FeedbackUnitOfWork:
        self.db.settings = self.config
        return self.db

    # -- the org directory and data-subject requests (compliance) --------------------------------------------------
    @event_handler("compliance", ORG_EVENT_TYPES, batch_size=ORG_EVENT_BATCH)  # one transaction a batch
    def on_org_event(self, events):
        with self.uow as uow:
            apply_org_events(uow.session, uow.fresh(events))

    @event_handler("compliance", dsr.ErasureRequested.type)
    def on_erasure_requested(self, event):
        people.erase_subject(self.uow, event)

    @event_handler("compliance", dsr.AppealDecided.type)
    def on_appeal_decided(self, event):
        reviews.apply_appeal_decision(self.uow, event)

    @rpc
    def describe_appeal_target(self, payload):
        command = dsr.DescribeAppealTarget.model_validate(payload)
        return _json(reviews.describe_appeal_target(self.uow, self.call.actor, command))

    @rpc
    def export_subject_data(self, payload):
        command = dsr.ExportSubjectData.model_validate(payload)
        return _json(people.export_subject_data(self.uow, self.call.actor, command))

    # -- timers ----------------------------------------------------------------------------------------------------
    @SweepTimer.decorator(interval=3600)
    def sweep(self):
        sweeps.run(self.uow)

    @rpc
    def run_sweeps(self, payload=None):
        c.RunSweeps.model_validate(payload or {})
        return _json(sweeps.run_as(self.uow, self.call.actor))

    # -- calendar and check-ins ---------------------------------------------------------------------------------
    @rpc
    def set_calendar(self, payload):
        return _json(checkins.set_calendar(self.uow, self.call.actor, c.SetCalendar.model_validate(payload)))

    @rpc
    def get_calendar(self, payload=None):
        return _json(checkins.get_calendar(self.uow, self.call.actor))

    @rpc
    def schedule_checkins(self, payload):
        return _json(checkins.schedule(self.uow, self.call.actor, c.ScheduleCheckins.model_validate(payload)))

    @rpc
    def hold_checkin(self, payload):
        return _json(checkins.hold(self.uow, self.call.actor, c.HoldCheckin.model_validate(payload)))

    @rpc
    def add_checkin_notes(self, payload):
        return _json(checkins.add_notes(self.uow, self.call.actor, c.AddCheckinNotes.model_validate(payload)))

    @rpc
    def sign_off_checkin(self, payload):
        return _json(checkins.sign_off(self.uow, self.call.actor, c.SignOffCheckin.model_validate(payload)))

    @rpc
    def get_checkin(self, payload):
        return _json(checkins.get(self.uow, self.call.actor, c.GetCheckin.model_validate(payload)))

    @rpc
    def list_checkins(self, payload):
        return _json(checkins.list_checkins(self.uow, self.call.actor, c.ListCheckins.model_validate(payload)))

    # -- reports ------------------------------------------------------------------------------------------------
    @rpc
    def set_report_template(self, payload):
        return _json(reports.set_template(self.uow, self.call.actor, c.SetReportTemplate.model_validate(payload)))

    @rpc
    def submit_report(self, payload):
        return _json(reports.submit(self.uow, self.call.actor, c.SubmitReport.model_validate(payload)))

    @rpc
    def get_team_summary(self, payload):
        return _json(reports.team_summary(self.uow, self.call.actor, c.GetTeamSummary.model_validate(payload)))

    @rpc
    def get_participation(self, payload):
        return _json(reports.participation(self.uow, self.call.actor, c.GetParticipation.model_validate(payload)))

    # -- key events ---------------------------------------------------------------------------------------------
    @rpc
    def record_key_event(self, payload):
        return _json(keyevents.record(self.uow, self.call.actor, c.RecordKeyEvent.model_validate(payload)))

    @rpc
    def respond_key_event(self, payload):
        return _json(keyevents.respond(self.uow, self.call.actor, c.RespondKeyEvent.model_validate(payload)))

    @rpc
    def list_key_events(self, payload):
        return _json(keyevents.list_events(self.uow, self.call.actor, c.ListKeyEvents.model_validate(payload)))

    # -- sales activity -----------------------------------------------------------------------------------------
    @rpc
    def register_customer(self, payload):
        return _json(activity.register_customer(self.uow, self.call.actor, c.RegisterCustomer.model_validate(payload)))

    @rpc
    def record_opportunity(self, payload):
        return _json(activity.record_opportunity(self.uow, self.call.actor,
                                                 c.RecordOpportunity.model_validate(payload)))

    @rpc
    def record_visit(self, payload):
        return _json(activity.record_visit(self.uow, self.call.actor, c.RecordVisit.model_validate(payload)))

    @rpc
    def get_weekly_leads(self, payload):
        return _json(activity.weekly_leads(self.uow, self.call.actor, c.GetWeeklyLeads.model_validate(payload)))

    @rpc
    def get_team_objections(self, payload):
        return _json(activity.team_objections(self.uow, self.call.actor, c.GetTeamObjections.model_validate(payload)))

    # -- coaching -----------------------------------------------------------------------------------------------
    @rpc
    def record_coaching(self, payload):
        return _json(coaching.record(self.uow, self.call.actor, c.RecordCoaching.model_validate(payload)))

    @rpc
    def submit_coaching_notes(self, payload):
        return _json(coaching.submit_notes(self.uow, self.call.actor, c.SubmitCoachingNotes.model_validate(payload)))

    @rpc
    def get_cadence(self, payload):
        return _json(coaching.cadence(self.uow, self.call.actor, c.GetCadence.model_validate(payload)))

    # -- anonymous 360 and praise -------------------------------------------------------------------------------
    @rpc
    def save_questionnaire(self, payload):
        return _json(surveys.save_questionnaire(self.uow, self.call.actor, c.SaveQuestionnaire.model_validate(payload)))

    @rpc
    def open_survey(self, payload):
        return _json(surveys.open_survey(self.uow, self.call.actor, c.OpenSurvey.model_validate(payload)))

    @rpc
    def answer_survey(self, payload):
        return _json(surveys.answer(self.uow, self.call.actor, c.AnswerSurvey.model_validate(payload)))

    @rpc
    def close_survey(self, payload):
        return _json(surveys.close(self.uow, self.call.actor, c.CloseSurvey.model_validate(payload)))

    @rpc
    def get_survey(self, payload):
        return _json(surveys.get(self.uow, self.call.actor, c.GetById.model_validate(payload).id))

    @rpc
    def give_praise(self, payload):
        return _json(surveys.give_praise(self.uow, self.call.actor, c.GivePraise.model_validate(payload)))

    # -- objections ---------------------------------------------------------------------------------------------
    @rpc
    def tag_notes(self, payload):
        return _json(objections.tag_notes(self.uow, self.call.actor, c.TagNotes.model_validate(payload)))

    @rpc
    def save_playbook(self, payload):
        return _json(objections.save_playbook(self.uow, self.call.actor, c.SavePlaybook.model_validate(payload)))

    # -- the "my team" board ------------------------------------------------------------------------------------
    @rpc
    def get_team_board(self, payload=None):
        command = c.GetTeamBoard.model_validate(payload or {})
        return _json(board.team_board(self.uow, self.call.actor, command.manager_id))

    # -- review cycles, ratings, calibration, approval (part 2) ------------------------------------------------
    @rpc
    def open_review_cycle(self, payload):
        return _json(reviews.open_cycle(self.uow, self.call.actor, c.OpenReviewCycle.model_validate(payload)))

    @rpc
    def get_review_cycle(self, payload):
        return _json(reviews.get_cycle(self.uow, self.call.actor, c.GetById.model_validate(payload).id))

    @rpc
    def advance_review_cycle(self, payload):
        return _json(reviews.advance(self.uow, self.call.actor, c.AdvanceReviewCycle.model_validate(payload)))

    @rpc
    def revise_rating_formula(self, payload):
        return _json(reviews.revise_formula(self.uow, self.call.actor, c.ReviseRatingFormula.model_validate(payload)))

    @rpc
    def submit_self_review(self, payload):
        return _json(reviews.submit_self(self.uow, self.call.actor, c.SubmitSelfReview.model_validate(payload)))

    @rpc
    def submit_manager_review(self, payload):
        return _json(reviews.submit_manager(self.uow, self.call.actor, c.SubmitManagerReview.model_validate(payload)))

    @rpc
    def submit_peer_review(self, payload):
        return _json(reviews.submit_peer(self.uow, self.call.actor, c.SubmitPeerReview.model_validate(payload)))

    @rpc
    def get_review(self, payload):
        command = c.GetReview.model_validate(payload)
        # the goals part is read as the caller (rpc_out carries the actor), so goals decides who sees which goals
        goals = RpcGoalsReader(self.rpc_out, self.config.goals_evidence_timeout)
        return _json(reviews.get_review(self.uow, self.call.actor, command, goals))

    @rpc
    def list_late_reviews(self, payload):
        return _json(reviews.late_reviews(self.uow, self.call.actor, c.ListLateReviews.model_validate(payload)))

    @rpc
    def get_calibration(self, payload):
        return _json(reviews.calibration(self.uow, self.call.actor, c.GetCalibration.model_validate(payload)))

    # -- exports (pages the gateway streams into CSV/XLSX) ---------------------------------------------------------
    @rpc
    def export_scorecards(self, payload):
        return _json(exports.export_scorecards(self.uow, self.call.actor, b.ExportPage.model_validate(payload)))

    @rpc
    def export_ratings(self, payload):
        return _json(exports.export_ratings(self.uow, self.call.actor, b.ExportPage.model_validate(payload)))

    @rpc
    def export_participation(self, payload):
        command = b.ParticipationExportPage.model_validate(payload)
        return _json(exports.export_participation(self.uow, self.call.actor, command))

    @rpc
    def adjust_rating(self, payload):
        return _json(reviews.adjust(self.uow, self.call.actor, c.AdjustRating.model_validate(payload)))

    @rpc
    def record_calibration_session(self, payload):
        command = c.RecordCalibrationSession.model_validate(payload)
        return _json(reviews.record_session(self.uow, self.call.actor, command))

    @rpc
    def decide_rating(self, payload):
        return _json(reviews.decide(self.uow, self.call.actor, c.DecideRating.model_validate(payload)))

    @rpc
    def acknowledge_rating(self, payload):
        return _json(reviews.acknowledge(self.uow, self.call.actor, c.AcknowledgeRating.model_validate(payload)))
