"""The goals service: a thin nameko adapter over its use cases. Each RPC validates its contract, calls one use
case with the actor from the call context, and answers the contract's JSON."""
from __future__ import annotations

from datetime import UTC, datetime

from nameko.timer import Timer

from chassis import Service, event_handler, rpc
from chassis.access import ORG_EVENT_BATCH, ORG_EVENT_TYPES, OrgSync
from contracts import bulk as b
from contracts import compliance as dsr
from contracts import goals as c
from goals import access, errors
from goals.gauges import GoalsDatabase
from goals.repositories import GoalsUnitOfWork
from goals.settings import GoalsSettings, goals_settings
from goals.usecases import (
    allocation,
    appeals,
    board,
    commitments,
    cycles,
    dashboard,
    exports,
    goals,
    import_jobs,
    library,
    negotiation,
    people,
    progress,
    retention,
    status,
)

errors.register()  # goals' domain errors as problem documents (explicit, once)
access.register()  # goals' actions in the chassis policy (explicit, once)


class SweepTimer(Timer):
    """nameko's timer, its interval from GoalsSettings.sweep_check_seconds (GOALS_SWEEP_CHECK_SECONDS)."""

    def setup(self):
        self.interval = goals_settings(self.container).sweep_check_seconds


def _json(result):
    return result.model_dump(mode="json")


class GoalsService(Service):
    name = "goals"
    settings_class = GoalsSettings
    uow = GoalsDatabase(GoalsUnitOfWork)  # the chassis Database, plus the business gauges on /metrics
    org_sync = OrgSync()  # catches the org read model up with the directory (chassis.access.sync)

    # -- the org directory and data-subject requests (compliance) --------------------------------------------------
    @event_handler("compliance", ORG_EVENT_TYPES, batch_size=ORG_EVENT_BATCH)
    def on_org_event(self, events):
        people.apply_directory_events(self.uow, events)

    @event_handler("compliance", dsr.ErasureRequested.type)
    def on_erasure_requested(self, event):
        people.erase_subject(self.uow, event)

    @event_handler("compliance", dsr.AppealDecided.type)
    def on_appeal_decided(self, event):
        appeals.apply_appeal_decision(self.uow, event)

    @event_handler("compliance", dsr.RetentionSweepRequested.type)
    def on_retention_sweep(self, event):
        retention.apply_retention(self.uow, event)

    @rpc
    def export_subject_data(self, payload):
        command = dsr.ExportSubjectData.model_validate(payload)
        return _json(people.export_subject_data(self.uow, self.call.actor, command))

    # -- cycles --------------------------------------------------------------------------------------------------
    @rpc
    def create_cycle(self, payload):
        return _json(cycles.create_cycle(self.uow, self.call.actor, c.CreateCycle.model_validate(payload)))

    @rpc
    def transition_cycle(self, payload):
        return _json(cycles.transition_cycle(self.uow, self.call.actor, c.TransitionCycle.model_validate(payload)))

    @rpc
    def get_cycle(self, payload):
        return _json(cycles.get_cycle(self.uow, self.call.actor, c.GetCycle.model_validate(payload)))

    @rpc
    def list_cycles(self, payload=None):
        return _json(cycles.list_cycles(self.uow, self.call.actor, c.ListCycles.model_validate(payload or {})))

    # -- goals ---------------------------------------------------------------------------------------------------
    @rpc
    def create_goal(self, payload):
        return _json(goals.create_goal(self.uow, self.call.actor, c.CreateGoal.model_validate(payload)))

    @rpc
    def update_goal(self, payload):
        return _json(goals.update_goal(self.uow, self.call.actor, c.UpdateGoal.model_validate(payload)))

    @rpc
    def get_goal(self, payload):
        return _json(goals.get_goal(self.uow, self.call.actor, c.GetGoal.model_validate(payload)))

    @rpc
    def list_goals(self, payload):
        return _json(goals.list_goals(self.uow, self.call.actor, c.ListGoals.model_validate(payload)))

    @rpc
    def list_goal_changes(self, payload):
        return _json(goals.list_goal_changes(self.uow, self.call.actor, c.ListGoalChanges.model_validate(payload)))

    @rpc
    def get_goal_tree(self, payload):
        return _json(goals.get_goal_tree(self.uow, self.call.actor, c.GetGoalTree.model_validate(payload)))

    @rpc
    def set_weights(self, payload):
        return _json(goals.set_weights(self.uow, self.call.actor, c.SetWeights.model_validate(payload)))

    # -- progress ------------------------------------------------------------------------------------------------
    @rpc
    def record_progress(self, payload):
        return _json(progress.record_progress(self.uow, self.call.actor, c.RecordProgress.model_validate(payload)))

    @rpc
    def list_progress(self, payload):
        return _json(progress.list_progress(self.uow, self.call.actor, c.ListProgress.model_validate(payload)))

    # -- negotiation ---------------------------------------------------------------------------------------------
    @rpc
    def propose_change(self, payload):
        return _json(negotiation.propose(self.uow, self.call.actor, c.ProposeChange.model_validate(payload)))

    @rpc
    def counter_proposal(self, payload):
        return _json(negotiation.counter(self.uow, self.call.actor, c.CounterProposal.model_validate(payload)))

    @rpc
    def accept_proposal(self, payload):
        return _json(negotiation.answer(self.uow, self.call.actor, c.AnswerProposal.model_validate(payload),
                                        "accept"))

    @rpc
    def reject_proposal(self, payload):
        return _json(negotiation.answer(self.uow, self.call.actor, c.AnswerProposal.model_validate(payload),
                                        "reject"))

    @rpc
    def withdraw_proposal(self, payload):
        return _json(negotiation.answer(self.uow, self.call.actor, c.AnswerProposal.model_validate(payload),
                                        "withdraw"))

    @rpc
    def get_negotiation(self, payload):
        return _json(negotiation.get_negotiation(self.uow, self.call.actor, c.GetNegotiation.model_validate(payload)))

    @rpc
    def list_proposals(self, payload=None):
        return _json(negotiation.list_proposals(self.uow, self.call.actor,
                                                c.ListProposals.model_validate(payload or {})))

    # -- resource commitments ------------------------------------------------------------------------------------
    @rpc
    def record_commitment(self, payload):
        return _json(commitments.record_commitment(self.uow, self.call.actor,
                                                   c.RecordCommitment.model_validate(payload)))

    @rpc
    def update_commitment(self, payload):
        return _json(commitments.update_commitment(self.uow, self.call.actor,
                                                   c.UpdateCommitment.model_validate(payload)))

    @rpc
    def list_commitments(self, payload):
        return _json(commitments.list_commitments(self.uow, self.call.actor,
                                                  c.ListCommitments.model_validate(payload)))

    # -- colours, the daily sweep and reviews ----------------------------------------------------------------------
    @SweepTimer.decorator(interval=600)  # setup() takes the interval from the settings
    def daily_sweep(self):
        """Checks every few minutes; sweeps once per (UTC) day."""
        status.run_sweep(self.uow, self.call.acting, datetime.now(UTC).date(), once_a_day=True)

    @rpc
    def run_status_sweep(self, payload):
        command = c.RunStatusSweep.model_validate(payload)
        return _json(status.run_sweep(self.uow, self.call.actor, command.on))

    @rpc
    def list_reviews(self, payload=None):
        return _json(status.list_reviews(self.uow, self.call.actor, c.ListReviews.model_validate(payload or {})))

    @rpc
    def complete_review(self, payload):
        return _json(status.complete_review(self.uow, self.call.actor, c.CompleteReview.model_validate(payload)))

    # -- weighted target allocation ------------------------------------------------------------------------------
    @rpc
    def preview_allocation(self, payload):
        return _json(allocation.preview_allocation(self.uow, self.call.actor,
                                                   c.PreviewAllocation.model_validate(payload)))

    @rpc
    def apply_allocation(self, payload):
        return _json(allocation.apply_allocation(self.uow, self.call.actor, c.ApplyAllocation.model_validate(payload)))

    # -- assessment models ---------------------------------------------------------------------------------------
    @rpc
    def save_indicator(self, payload):
        return _json(library.save_indicator(self.uow, self.call.actor, c.SaveIndicator.model_validate(payload)))

    @rpc
    def list_indicators(self, payload=None):
        return _json(library.list_indicators(self.uow, self.call.actor,
                                             c.ListIndicators.model_validate(payload or {})))

    @rpc
    def save_template(self, payload):
        return _json(library.save_template(self.uow, self.call.actor, c.SaveTemplate.model_validate(payload)))

    @rpc
    def list_templates(self, payload=None):
        return _json(library.list_templates(self.uow, self.call.actor, c.ListTemplates.model_validate(payload or {})))

    @rpc
    def list_presets(self, payload=None):
        return _json(library.list_presets(self.uow, self.call.actor))

    @rpc
    def install_preset(self, payload):
        return _json(library.install_preset(self.uow, self.call.actor, c.InstallPreset.model_validate(payload)))

    @rpc
    def assign_template(self, payload):
        return _json(library.assign_template(self.uow, self.call.actor, c.AssignTemplate.model_validate(payload)))

    @rpc
    def check_formula(self, payload):
        return _json(library.check_formula(c.CheckFormula.model_validate(payload)))

    @rpc
    def set_custom_fields(self, payload):
        return _json(library.set_custom_fields(self.uow, self.call.actor, c.SetCustomFields.model_validate(payload)))

    @rpc
    def get_scorecard(self, payload):
        return _json(library.get_scorecard(self.uow, self.call.actor, c.GetScoreCard.model_validate(payload)))

    # -- the board -----------------------------------------------------------------------------------------------
    @rpc
    def get_board(self, payload):
        return _json(board.board(self.uow, self.call.actor, c.BoardQuery.model_validate(payload)))

    @rpc
    def get_team_dashboard(self, payload):
        return _json(dashboard.team_dashboard(self.uow, self.call.actor, c.GetTeamDashboard.model_validate(payload)))

    # -- bulk in and out -----------------------------------------------------------------------------------------
    @rpc
    def import_file(self, payload):  # a job (202): poll get_import_job
        return _json(import_jobs.start_goal_import(self.uow, self.call.actor, b.ImportFile.model_validate(payload)))

    @rpc
    def get_import_job(self, payload):
        return _json(import_jobs.get_goal_import(self.uow, self.call.actor, b.GoalImportJobRef.model_validate(payload)))

    @event_handler("goals", b.ImportRequested.type)  # goals to itself: durable, redelivered if the process dies
    def on_import_requested(self, event):
        import_jobs.run_job(self.uow, event)

    @rpc
    def export_board(self, payload):
        return _json(exports.export_board(self.uow, self.call.actor, b.ExportPage.model_validate(payload)))
