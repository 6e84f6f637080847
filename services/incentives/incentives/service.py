"""The incentives service: a thin nameko adapter over its use cases. Each RPC validates its contract, calls one
use case with the actor from the call context (and the service's settings when the rule needs them), and answers
the contract's JSON. Each event handler hands the envelope to one use case."""
from __future__ import annotations

from datetime import UTC, datetime

from nameko.timer import Timer

from chassis import Database, Service, event_handler, rpc
from chassis.access import ORG_EVENT_BATCH, ORG_EVENT_TYPES, OrgSync, apply_org_events
from contracts import compliance as dsr
from contracts import incentives as c
from incentives import access, errors
from incentives.repositories import IncentivesUnitOfWork
from incentives.settings import Settings
from incentives.usecases import analytics, bonus, careers, inputs, people, points, talent
from incentives.usecases.common import last_complete_periods

errors.register()  # domain errors -> problem documents, once
access.register()  # incentives' actions join the chassis policy, once


class SettleTimer(Timer):
    """nameko's timer, its interval from the settings (INCENTIVES_SETTLE_CHECK_SECONDS)."""

    def setup(self):
        from chassis.runtime import settings_of
        from incentives.settings import load_incentives_settings

        own = load_incentives_settings(self.container.config, settings_of(self.container))
        self.interval = own.settle_check_seconds


def _json(result):
    return result.model_dump(mode="json")


class IncentivesService(Service):
    name = "incentives"
    uow = Database(IncentivesUnitOfWork)
    settings = Settings()
    org_sync = OrgSync()  # catches the org read model up with the directory (chassis.access.sync)

    # -- the org directory, data-subject requests and retention (compliance) ----------------------------------
    @event_handler("compliance", ORG_EVENT_TYPES, batch_size=ORG_EVENT_BATCH)  # one transaction a batch
    def on_org_event(self, events):
        with self.uow as uow:
            apply_org_events(uow.session, uow.fresh(events))

    @event_handler("compliance", dsr.ErasureRequested.type)
    def on_erasure_requested(self, event):
        people.erase_subject(self.uow, event)

    @event_handler("compliance", dsr.RetentionSweepRequested.type)
    def on_retention_sweep(self, event):
        people.apply_retention(self.uow, event)

    @rpc
    def export_subject_data(self, payload):
        return _json(people.export_subject_data(self.uow, self.call.actor,
                                                dsr.ExportSubjectData.model_validate(payload)))

    # -- inputs: feedback (activity, coaching, participation, ratings) and goals (indicators) ---------------------
    @event_handler("feedback", inputs.EVENTS_FROM_FEEDBACK)
    def on_feedback_activity(self, event):
        {inputs.fb.WeeklyLeadsCounted.type: inputs.on_weekly_leads,
         inputs.fb.CoachingCadenceComputed.type: inputs.on_coaching_cadence,
         inputs.fb.ParticipationComputed.type: inputs.on_participation}[event.type](self.uow, event)

    @event_handler("feedback", inputs.PRAISE_EVENTS)
    def on_praise(self, event):
        inputs.on_praise(self.uow, event, self.settings)

    @event_handler("feedback", inputs.RATING_EVENTS)
    def on_rating(self, event):
        inputs.on_rating(self.uow, event, self.settings)

    @event_handler("goals", inputs.EVENTS_FROM_GOALS)
    def on_goals_event(self, event):
        {inputs.g.GoalCreated.type: inputs.on_goal_created,
         inputs.g.TemplateAssigned.type: inputs.on_template_assigned,
         inputs.g.GoalProgressed.type: inputs.on_goal_progressed}[event.type](self.uow, event)

    # -- bonus: pools, process rules and rewards, proposals ------------------------------------------------------
    @rpc
    def save_pool(self, payload):
        return _json(bonus.save_pool(self.uow, self.call.actor, c.SavePool.model_validate(payload)))

    @rpc
    def get_pool(self, payload):
        return _json(bonus.get_pool(self.uow, self.call.actor, c.PoolRef.model_validate(payload)))

    @rpc
    def save_process_rule(self, payload):
        return _json(bonus.save_process_rule(self.uow, self.call.actor, c.SaveProcessRule.model_validate(payload)))

    @rpc
    def list_process_rules(self, payload=None):
        return _json(bonus.list_process_rules(self.uow, self.call.actor))

    @rpc
    def settle_process_rewards(self, payload):
        return _json(bonus.settle(self.uow, self.call.actor, c.SettleProcessRewards.model_validate(payload)))

    @SettleTimer.decorator(interval=3600)
    def settle_last_periods(self):
        """Settles the last complete week and month (settling twice pays nothing twice)."""
        for period in last_complete_periods(datetime.now(UTC).date()):
            bonus.settle(self.uow, self.call.acting, c.SettleProcessRewards(period=period))

    @rpc
    def list_process_rewards(self, payload):
        return _json(bonus.list_process_rewards(self.uow, self.call.actor,
                                                c.ListProcessRewards.model_validate(payload)))

    @rpc
    def propose_bonus(self, payload):
        return _json(bonus.propose(self.uow, self.call.actor, c.ProposeBonus.model_validate(payload), self.settings))

    @rpc
    def get_bonus_proposal(self, payload):
        return _json(bonus.get_proposal(self.uow, self.call.actor, c.ProposalRef.model_validate(payload)))

    @rpc
    def list_bonus_proposals(self, payload):
        return _json(bonus.list_proposals(self.uow, self.call.actor, c.ListBonusProposals.model_validate(payload)))

    @rpc
    def approve_bonus_proposal(self, payload):
        return _json(bonus.approve_proposal(self.uow, self.call.actor, c.DecideProposal.model_validate(payload),
                                            self.settings))

    @rpc
    def send_back_bonus_proposal(self, payload):
        return _json(bonus.send_back_proposal(self.uow, self.call.actor, c.DecideProposal.model_validate(payload)))

    # -- points, the menu and redemptions -----------------------------------------------------------------------
    @rpc
    def fund_points_budget(self, payload):
        return _json(points.fund_budget(self.uow, self.call.actor, c.FundPointsBudget.model_validate(payload)))

    @rpc
    def grant_points(self, payload):
        return _json(points.grant(self.uow, self.call.actor, c.GrantPoints.model_validate(payload)))

    @rpc
    def get_points(self, payload):
        return _json(points.get_points(self.uow, self.call.actor, c.PointsQuery.model_validate(payload)))

    @rpc
    def get_points_budget(self, payload):
        return _json(points.get_budget(self.uow, self.call.actor, c.BudgetQuery.model_validate(payload)))

    @rpc
    def save_reward(self, payload):
        return _json(points.save_reward(self.uow, self.call.actor, c.SaveReward.model_validate(payload)))

    @rpc
    def list_rewards(self, payload=None):
        return _json(points.list_rewards(self.uow, self.call.actor, c.ListRewards.model_validate(payload or {})))

    @rpc
    def redeem(self, payload):
        return _json(points.redeem(self.uow, self.call.actor, c.Redeem.model_validate(payload), self.settings))

    @rpc
    def approve_redemption(self, payload):
        return _json(points.approve_redemption(self.uow, self.call.actor, c.RedemptionRef.model_validate(payload)))

    @rpc
    def decline_redemption(self, payload):
        return _json(points.decline_redemption(self.uow, self.call.actor, c.RedemptionRef.model_validate(payload)))

    @rpc
    def cancel_redemption(self, payload):
        return _json(points.cancel_redemption(self.uow, self.call.actor, c.RedemptionRef.model_validate(payload)))

    @rpc
    def fulfil_redemption(self, payload):
        return _json(points.fulfil_redemption(self.uow, self.call.actor, c.RedemptionRef.model_validate(payload)))

    @rpc
    def list_redemptions(self, payload=None):
        return _json(points.list_redemptions(self.uow, self.call.actor,
                                             c.ListRedemptions.model_validate(payload or {})))

    # -- development plans, potential, the 9-box -----------------------------------------------------------------
    @rpc
    def get_idp(self, payload):
        return _json(talent.get_idp(self.uow, self.call.actor, c.IdpQuery.model_validate(payload)))

    @rpc
    def complete_idp_action(self, payload):
        return _json(talent.complete_action(self.uow, self.call.actor, c.CompleteIdpAction.model_validate(payload)))

    @rpc
    def assess_potential(self, payload):
        return _json(talent.assess_potential(self.uow, self.call.actor, c.AssessPotential.model_validate(payload),
                                             self.settings))

    @rpc
    def calibrate_potential(self, payload):
        return _json(talent.calibrate_potential(self.uow, self.call.actor,
                                                c.CalibratePotential.model_validate(payload), self.settings))

    @rpc
    def get_nine_box(self, payload):
        return _json(talent.nine_box(self.uow, self.call.actor, c.NineBoxQuery.model_validate(payload),
                                     self.settings))

    # -- rating analytics -----------------------------------------------------------------------------------------
    @rpc
    def rating_distribution(self, payload):
        return _json(analytics.distribution(self.uow, self.call.actor, c.DistributionQuery.model_validate(payload),
                                            self.settings))

    @rpc
    def detect_rotation(self, payload):
        return _json(analytics.detect_rotation(self.uow, self.call.actor, c.RotationQuery.model_validate(payload),
                                               self.settings))

    # -- promotion tracks and performance stars -------------------------------------------------------------------
    @rpc
    def nominate(self, payload):
        return _json(careers.nominate(self.uow, self.call.actor, c.Nominate.model_validate(payload)))

    @rpc
    def get_nomination(self, payload):
        return _json(careers.get_nomination(self.uow, self.call.actor, c.NominationRef.model_validate(payload),
                                            self.settings))

    @rpc
    def list_nominations(self, payload=None):
        return _json(careers.list_nominations(self.uow, self.call.actor,
                                              c.ListNominations.model_validate(payload or {}), self.settings))

    @rpc
    def decide_nomination(self, payload):
        return _json(careers.decide_nomination(self.uow, self.call.actor,
                                               c.DecideNomination.model_validate(payload), self.settings))

    @rpc
    def nominate_star(self, payload):
        return _json(careers.nominate_star(self.uow, self.call.actor, c.NominateStar.model_validate(payload),
                                           self.settings))

    @rpc
    def consent_star(self, payload):
        return _json(careers.consent_star(self.uow, self.call.actor, c.StarConsent.model_validate(payload)))

    @rpc
    def approve_star(self, payload):
        return _json(careers.approve_star(self.uow, self.call.actor, c.StarRef.model_validate(payload)))

    @rpc
    def publish_star(self, payload):
        return _json(careers.publish_star(self.uow, self.call.actor, c.StarRef.model_validate(payload)))

    @rpc
    def list_stars(self, payload):
        return _json(careers.list_stars(self.uow, self.call.actor, c.ListStars.model_validate(payload)))
