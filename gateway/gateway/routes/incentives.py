"""The incentives service over HTTP: bonus pools and process rules, the settlement of process rewards, bonus
proposals through the approval chain, points and the reward menu, redemptions, development plans, potential and the
9-box, rating analytics and rotation detection. Pay and talent data: the person, their line and HR only."""
from __future__ import annotations

from contracts import incentives as c
from gateway.api import Route
from gateway.routes.build import rpc_route

READ, WRITE = "incentives:read", "incentives:write"


def routes() -> list[Route]:
    def r(method, path, rpc, summary, tag, scope, **options):
        return rpc_route(method, path, f"incentives.{rpc}", summary=summary, scope=scope, tag=tag, **options)

    return [
        # bonus: pools, process rules and rewards
        r("PUT", "/incentives/pools/{code}", "save_pool",
          "Create or change a unit's bonus pool (budget, rating multipliers, target bonuses, formula)", "bonus",
          WRITE, request=c.SavePool, response=c.PoolView),
        r("GET", "/incentives/pools/{code}", "get_pool", "A pool with what is approved and pending against it",
          "bonus", READ, request=c.PoolRef, response=c.PoolView),
        r("PUT", "/incentives/process-rules/{code}", "save_process_rule",
          "Create or change a process reward rule (the formula language; a rule that does not parse is a 400 with "
          "the position)", "bonus", WRITE, request=c.SaveProcessRule, response=c.ProcessRuleView),
        r("GET", "/incentives/process-rules", "list_process_rules", "Every process reward rule", "bonus", READ,
          response=c.Items, payload=False),
        r("POST", "/incentives/process-rewards/settle", "settle_process_rewards",
          "Settle a week's or a month's process rewards (settling again pays nobody twice)", "bonus", WRITE,
          request=c.SettleProcessRewards, response=c.SettlementResult),
        r("GET", "/incentives/people/{person_id}/process-rewards", "list_process_rewards",
          "A person's process rewards, with the inputs that earned them", "bonus", READ,
          request=c.ListProcessRewards, response=c.Items),
        # bonus proposals
        r("POST", "/incentives/proposals", "propose_bonus",
          "Propose a person's bonus from their latest finalized rating (every line explained)", "bonus", WRITE,
          request=c.ProposeBonus, response=c.BonusProposalView, creates=True),
        r("GET", "/incentives/proposals", "list_bonus_proposals", "A person's or a pool's bonus proposals", "bonus",
          READ, request=c.ListBonusProposals, response=c.Items),
        r("GET", "/incentives/proposals/{proposal_id}", "get_bonus_proposal", "One bonus proposal", "bonus", READ,
          request=c.ProposalRef, response=c.BonusProposalView),
        r("POST", "/incentives/proposals/{proposal_id}/approve", "approve_bonus_proposal",
          "Approve as the current approver (never one's own); the last approval checks the budget", "bonus",
          WRITE, request=c.DecideProposal, response=c.BonusProposalView),
        r("POST", "/incentives/proposals/{proposal_id}/send-back", "send_back_bonus_proposal",
          "Send a proposal back with a reason", "bonus", WRITE, request=c.DecideProposal, response=c.BonusProposalView),
        # points, the menu, redemptions
        r("POST", "/incentives/points-budgets/{org_unit_id}/fund", "fund_points_budget",
          "Fund a unit's points budget (HR)", "points", WRITE, request=c.FundPointsBudget, response=c.PointsMoved),
        r("GET", "/incentives/points-budgets/{org_unit_id}", "get_points_budget", "A unit's points budget", "points",
          READ, request=c.BudgetQuery, response=c.PointsView),
        r("POST", "/incentives/people/{person_id}/points", "grant_points",
          "Grant points to someone in one's line, from their unit's budget", "points", WRITE,
          request=c.GrantPoints, response=c.PointsMoved),
        r("GET", "/incentives/people/{person_id}/points", "get_points", "A person's points balance and ledger",
          "points", READ, request=c.PointsQuery, response=c.PointsView),
        r("PUT", "/incentives/rewards/{code}", "save_reward",
          "Create or change a reward on the non-monetary menu (cost, stock, eligibility, approval)", "points",
          WRITE, request=c.SaveReward, response=c.RewardView),
        r("GET", "/incentives/rewards", "list_rewards", "The reward menu, with the caller's eligibility", "points",
          READ, request=c.ListRewards, response=c.Items),
        r("POST", "/incentives/redemptions", "redeem",
          "Redeem points for a reward (beyond balance or stock: 422 naming the field)", "points", WRITE,
          request=c.Redeem, response=c.RedemptionView, creates=True),
        r("GET", "/incentives/redemptions", "list_redemptions", "A person's redemptions", "points", READ,
          request=c.ListRedemptions, response=c.Items),
        r("POST", "/incentives/redemptions/{redemption_id}/approve", "approve_redemption",
          "Approve a redemption as the current approver", "points", WRITE, request=c.RedemptionRef,
          response=c.RedemptionView),
        r("POST", "/incentives/redemptions/{redemption_id}/decline", "decline_redemption",
          "Decline a redemption with a reason (refunded once)", "points", WRITE, request=c.RedemptionRef,
          response=c.RedemptionView),
        r("POST", "/incentives/redemptions/{redemption_id}/cancel", "cancel_redemption",
          "Cancel one's redemption (refunded once)", "points", WRITE, request=c.RedemptionRef,
          response=c.RedemptionView),
        r("POST", "/incentives/redemptions/{redemption_id}/fulfil", "fulfil_redemption",
          "Mark an approved redemption fulfilled (HR)", "points", WRITE, request=c.RedemptionRef,
          response=c.RedemptionView),
        # development and talent
        r("GET", "/incentives/people/{person_id}/idp", "get_idp",
          "A person's development plan (from their finalized rating)", "talent", READ, request=c.IdpQuery,
          response=c.IdpView),
        r("POST", "/incentives/idps/{plan_id}/actions/{action_code}/complete", "complete_idp_action",
          "Complete an action of a development plan", "talent", WRITE, request=c.CompleteIdpAction,
          response=c.IdpView),
        r("PUT", "/incentives/people/{person_id}/potential", "assess_potential",
          "The manager's potential assessment against the rubric", "talent", WRITE, request=c.AssessPotential,
          response=c.PotentialView),
        r("POST", "/incentives/people/{person_id}/potential/calibrate", "calibrate_potential",
          "HR calibrates a person's potential, with a reason", "talent", WRITE, request=c.CalibratePotential,
          response=c.PotentialView),
        r("GET", "/incentives/nine-box", "get_nine_box",
          "The 9-box of a unit (人才盘点九宫格), with movement since a previous cycle", "talent", READ,
          request=c.NineBoxQuery, response=c.NineBoxView),
        # promotion tracks and performance stars
        r("POST", "/incentives/nominations", "nominate",
          "Nominate a person (or oneself) for a level of the technical or management sequence", "careers", WRITE,
          request=c.Nominate, response=c.NominationView, creates=True),
        r("GET", "/incentives/nominations", "list_nominations", "A person's nominations, or a panel's queue",
          "careers", READ, request=c.ListNominations, response=c.Items),
        r("GET", "/incentives/nominations/{nomination_id}", "get_nomination",
          "A nomination with its evidence pack and criteria", "careers", READ, request=c.NominationRef,
          response=c.NominationView),
        r("POST", "/incentives/nominations/{nomination_id}/decide", "decide_nomination",
          "The sequence's panel decides, with a reason", "careers", WRITE, request=c.DecideNomination,
          response=c.NominationView),
        r("POST", "/incentives/stars", "nominate_star", "Nominate a quarter's performance star with their story",
          "careers", WRITE, request=c.NominateStar, response=c.StarView, creates=True),
        r("PUT", "/incentives/stars/{star_id}/consent", "consent_star",
          "The person gives or withdraws consent to publish their story", "careers", WRITE,
          request=c.StarConsent, response=c.StarView),
        r("POST", "/incentives/stars/{star_id}/approve", "approve_star", "HR approves a star's story", "careers",
          WRITE, request=c.StarRef, response=c.StarView),
        r("POST", "/incentives/stars/{star_id}/publish", "publish_star",
          "Publish an approved story the person consented to (earns the star's points)", "careers", WRITE,
          request=c.StarRef, response=c.StarView),
        r("GET", "/incentives/stars", "list_stars", "The quarter's published stories (绩效之星故事集)", "careers",
          READ, request=c.ListStars, response=c.Items),
        # analytics
        r("GET", "/incentives/rating-distribution", "rating_distribution",
          "Rating distribution per manager or unit against the target, with leniency", "analytics", READ,
          request=c.DistributionQuery, response=c.DistributionView),
        r("POST", "/incentives/rotation-detection", "detect_rotation",
          "Detect top ratings taken in turns (轮流坐庄) over cycles; flagged managers are reported to HR",
          "analytics", READ, request=c.RotationQuery, response=c.RotationReport),
    ]
