"""The incentives service's public contract: every RPC payload and result, and every event it publishes.

Results that develop people, not only pay them: bonus pools and rules with process rewards, proposals through the
approval chain by grade; the points ledger, the reward menu and redemptions; development plans (IDP) from
finalized ratings; the 9-box talent review; rating analytics and rotation detection.

Money is a decimal sent as a JSON string; points are whole numbers. Weeks are ISO weeks `YYYY-Www`, months
`YYYY-MM`. Rules are written in the suite's formula language (the goals formula language). Lists answer
`{"items": [...]}`. Pay and talent data are read by the person, their reporting line and HR only, never peers.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from contracts.base import Contract, Event

Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(max_length=2000)]
Expression = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
IsoWeek = Annotated[str, StringConstraints(pattern=r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$")]
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
PeriodKey = Annotated[str, StringConstraints(pattern=r"^\d{4}-(W(0[1-9]|[1-4]\d|5[0-3])|0[1-9]|1[0-2])$")]
Money = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2, description="a non-negative amount, "
                                                                                      "2 decimals")]
Multiplier = Annotated[Decimal, Field(ge=0, le=10, decimal_places=4)]
PointsAmount = Annotated[int, Field(ge=1, le=10_000_000)]
Grade = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{0,4}\d{1,3}$")]
RatingLabel = Literal["S", "A", "B", "C", "D"]
Level = Literal["low", "medium", "high"]

ProposalStatus = Literal["pending", "approved", "sent_back", "superseded", "unroutable"]
RedemptionStatus = Literal["requested", "approved", "fulfilled", "declined", "cancelled"]
RuleReward = Literal["cash", "points"]
RulePeriod = Literal["week", "month"]


class Items(Contract):
    items: list[Any] = Field(description="the answer's items")


# -- bonus pools and rules -------------------------------------------------------------------------------------

class SavePool(Contract):
    """A budget pool for one org unit (and everyone below it) and one review cycle."""

    code: Code
    name: Title
    org_unit_id: Id
    review_cycle_id: Id = Field(description="the feedback review cycle whose ratings this pool pays")
    starts_on: date = Field(description="the period whose process rewards join the proposals")
    ends_on: date
    budget: Money
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "CNY"
    multipliers: dict[RatingLabel, Multiplier] = Field(min_length=1, description="rating label -> multiplier")
    base_amounts: dict[Grade, Money] = Field(default_factory=dict, description=(
        "job grade -> target bonus before the rating multiplier"))
    default_base: Money | None = Field(default=None, description="target bonus of a grade not in base_amounts")
    formula: Expression = Field(default="base * multiplier", description=(
        "the rated bonus in the formula language, over base, multiplier and score"))


class PoolRef(Contract):
    code: Code


class PoolView(Contract):
    code: str
    name: str
    org_unit_id: str
    review_cycle_id: str
    starts_on: date
    ends_on: date
    budget: Decimal = Field(description="the pool's budget, in `currency`")
    currency: str
    multipliers: dict[str, Decimal] = Field(description="rating label -> bonus multiplier")
    base_amounts: dict[str, Decimal] = Field(description="job grade -> base bonus amount")
    default_base: Decimal | None = Field(description=(
        "the target bonus for a grade not listed (null: no default; such a person cannot be proposed a bonus)"))
    formula: str = Field(description="the rated bonus in the formula language, over base, multiplier and score")
    approved: Decimal = Field(description="total of the approved current proposals")
    pending: Decimal = Field(description="total of the current proposals waiting for approval")
    version: int


class SaveProcessRule(Contract):
    """A process reward (过程奖励): `condition` over a person's indicator values for one week or month, and the
    `amount` paid when it holds. The case: condition `valid_leads >= 5 and demo_conversion >= 0.3`, amount 200."""

    code: Code
    name: Title
    period: RulePeriod = "week"
    condition: Expression
    amount: Expression
    reward: RuleReward = "cash"
    active: bool = True


class ProcessRuleView(Contract):
    code: str
    name: str
    period: RulePeriod
    condition: str = Field(description="the expression that must hold for the period")
    amount: str
    reward: RuleReward
    inputs: list[str] = Field(description="the indicator names the condition reads")
    active: bool


class SettleProcessRewards(Contract):
    period: PeriodKey = Field(description="an ISO week (2026-W48) or a month (2026-11)")


class SettlementResult(Contract):
    period: str = Field(description="the period settled: an ISO week `YYYY-Www` or a month `YYYY-MM`")
    evaluated: int = Field(description="person x rule pairs evaluated")
    earned: int = Field(description="rewards earned by this settlement (none twice)")
    already_settled: int = Field(description=(
        "people and periods already settled before (skipped: a settlement runs once)"))
    points_posted: int = Field(description="points posted to people's accounts by this settlement")


class ListProcessRewards(Contract):
    person_id: Id
    period: PeriodKey | None = None


class ProcessRewardView(Contract):
    rule_code: str = Field(description="the process rule that earned the reward")
    person_id: str
    period: str
    reward: RuleReward
    amount: Decimal
    inputs: dict[str, str]
    settled_at: datetime = Field(description="when the reward was settled (UTC)")


# -- proposals ---------------------------------------------------------------------------------------------------

class ProposeBonus(Contract):
    pool_code: Code
    person_id: Id


class ProposalRef(Contract):
    proposal_id: Id


class ListBonusProposals(Contract):
    pool_code: Code | None = None
    person_id: Id | None = None
    status: ProposalStatus | None = Field(default=None, description="only proposals with this status")
    limit: Annotated[int, Field(ge=1, le=500)] = Field(default=100, description="proposals per page, 1..500")


class DecideProposal(Contract):
    proposal_id: Id
    reason: Reason = ""


class LineView(Contract):
    kind: Literal["rated_bonus", "process_reward"] = Field(description=(
        "rated_bonus (from the rating) or process_reward (过程奖励)"))
    rule: str = Field(description="the pool formula or process rule that made the line")
    description: str
    inputs: dict[str, str] = Field(description="the values the line was computed from, name -> value")
    result: Decimal = Field(description="the line's amount")


class ApproverView(Contract):
    step: str
    person_id: str


class ApprovalDecisionView(Contract):
    step: str
    person_id: str
    outcome: str = Field(description="what the approver decided at this step: approved or sent_back")
    reason: str


class BonusProposalView(Contract):
    id: str
    pool_code: str
    person_id: str
    version: int
    rating_id: str
    rating_version: int
    rating_label: str
    lines: list[LineView] = Field(description="the proposal's lines: the rated bonus and each process reward")
    total: Decimal = Field(description="the proposal's total bonus: the sum of its lines, in the pool's currency")
    status: ProposalStatus = Field(description=(
        "pending, approved, sent_back, superseded (a newer rating) or unroutable (no approver)"))
    budget_warning: str | None
    approvers: list[ApproverView]
    waiting_for: ApproverView | None
    decisions: list[ApprovalDecisionView]
    created_at: datetime


# -- points, the menu and redemptions ----------------------------------------------------------------------------

class FundPointsBudget(Contract):
    org_unit_id: Id
    points: PointsAmount = Field(description="points added to the unit's budget, 1..10000000")
    reason: Reason = ""


class GrantPoints(Contract):
    person_id: Id
    points: PointsAmount = Field(description="points granted, 1..10000000")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class PointsQuery(Contract):
    person_id: Id


class BudgetQuery(Contract):
    org_unit_id: Id


class LedgerEntryView(Contract):
    transaction_id: str
    kind: str = Field(description=(
        "what moved the points: earned (a process rule or star), funded (a budget), granted (from a budget), redeemed "
        "or refunded"))
    delta: int = Field(description="points added (positive) or taken (negative)")
    reason: str
    ref: str | None = Field(description="the record that caused it: a redemption, rule or grant id (null: none)")
    at: datetime


class PointsView(Contract):
    account: str = Field(description=(
        "the points account: `person:<employee number>`, or `budget:<org unit id>` for a unit's budget"))
    balance: int
    entries: list[LedgerEntryView] = Field(description="the account's ledger entries, newest first")


class PointsMoved(Contract):
    transaction_id: str
    account: str = Field(description=(
        "the points account moved: `person:<employee number>`, `budget:<org unit id>`, or a source or sink "
        "(`source:rules`, `sink:redeemed`...)"))
    balance: int


class EligibilityInput(Contract):
    min_grade: Grade | None = Field(default=None, description="the lowest job grade that may redeem it (null: any)")
    ratings: list[RatingLabel] = Field(default_factory=list, description="the last rating must be one of these")
    min_tenure_months: Annotated[int, Field(ge=0, le=600)] = Field(default=0, description=(
        "the months of service needed, 0..600"))


class SaveReward(Contract):
    """A non-monetary reward on the menu (弹性休假, 核心项目参与权, 内部讲师资格 ...)."""

    code: Code
    name: Title
    description: Reason = ""
    cost: PointsAmount
    stock: Annotated[int, Field(ge=0, le=1_000_000)] | None = Field(default=None, description=(
        "how many may still be redeemed, 0..1000000 (null: unlimited)"))
    eligibility: EligibilityInput = Field(default_factory=EligibilityInput)
    requires_approval: bool = True
    active: bool = True


class RewardView(Contract):
    code: str
    name: str
    description: str
    cost: int
    stock: int | None = Field(description="how many are left (null: unlimited)")
    eligibility: EligibilityInput
    requires_approval: bool
    active: bool
    eligible: bool | None = Field(default=None, description="for the caller, when listing the menu")
    why_not: str | None = Field(default=None, description="why the caller may not redeem it now (null: they may)")


class ListRewards(Contract):
    for_person: Id | None = Field(default=None, description="show eligibility for this person (default: caller)")


class Redeem(Contract):
    reward_code: Code
    quantity: Annotated[int, Field(ge=1, le=100)] = 1
    note: Reason = ""


class RedemptionRef(Contract):
    redemption_id: Id
    reason: Reason = ""


class ListRedemptions(Contract):
    person_id: Id | None = None
    status: RedemptionStatus | None = Field(default=None, description="only redemptions with this status")


class RedemptionView(Contract):
    id: str
    person_id: str
    reward_code: str
    quantity: int
    points: int = Field(description="points spent")
    status: RedemptionStatus = Field(description="requested, approved, fulfilled, declined or cancelled")
    approvers: list[ApproverView]
    waiting_for: ApproverView | None
    decisions: list[ApprovalDecisionView]
    refunded: bool = Field(description="whether the points were given back (declined or cancelled)")
    created_at: datetime


# -- development plans --------------------------------------------------------------------------------------------

class IdpQuery(Contract):
    person_id: Id


class CompleteIdpAction(Contract):
    plan_id: Id
    action_code: Code = Field(description="the plan action's code")
    note: Reason = ""


class IdpActionView(Contract):
    code: str
    title: str
    owner_id: str
    due_on: date
    priority: int = Field(description="the action's order of priority in the plan (1 first)")
    done_on: date | None = Field(description="the day the action was done (null: not yet)")
    note: str


class IdpView(Contract):
    id: str
    person_id: str
    review_cycle_id: str
    track: Literal["growth", "improvement"]
    rating_label: str
    version: int
    actions: list[IdpActionView] = Field(description="the plan's actions and whether each is done")
    progress: int = Field(description="percent of actions completed")
    checkin_every_days: int | None = Field(description=(
        "for an improvement plan, how often (in days) it is checked with the manager; null for a growth plan"))


# -- 9-box ---------------------------------------------------------------------------------------------------------

class AssessPotential(Contract):
    """The manager's assessment against the rubric (each item 1..5)."""

    person_id: Id
    review_cycle_id: Id
    rubric: dict[Literal["learning_agility", "drive", "leadership", "scope"],
                 Annotated[int, Field(ge=1, le=5)]] = Field(
        description="the rubric's items (learning agility, drive, leadership, scope), each scored 1..5")
    comment: Reason = ""


class CalibratePotential(Contract):
    person_id: Id
    review_cycle_id: Id
    potential: Level
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class PotentialView(Contract):
    person_id: str
    review_cycle_id: str
    assessed: Level | None = Field(description="the manager's assessed potential (null: not assessed)")
    calibrated: Level | None = Field(description="the potential after calibration (null: not calibrated)")
    potential: Level
    box: str | None = Field(description="the 9-box category once the person has a finalized rating")


class NineBoxQuery(Contract):
    review_cycle_id: Id
    org_unit_id: Id
    previous_cycle_id: Id | None = Field(default=None, description="to show movement across cycles")


class NineBoxPerson(Contract):
    person_id: str
    rating_label: str
    potential: Level
    movement: Literal["up", "down", "same", "new"]
    decisions: list[str] = Field(description=(
        "what the person's box supports: idp, promotion_nomination, exit_plan, retain"))


class NineBoxCell(Contract):
    code: str
    name: str
    zh: str
    performance: Level = Field(description="the cell's performance level (horizontal axis)")
    potential: Level
    people: list[NineBoxPerson] = Field(description="the people placed in the cell")


class NineBoxView(Contract):
    review_cycle_id: str
    org_unit_id: str
    cells: list[NineBoxCell] = Field(description="the grid's nine cells")
    unplaced: int = Field(description="people with a rating but no potential assessment yet")


# -- analytics ---------------------------------------------------------------------------------------------------

class DistributionQuery(Contract):
    review_cycle_id: Id
    org_unit_id: Id
    by: Literal["unit", "manager"] = Field(default="manager", description="group by unit or by manager")


class DistributionRow(Contract):
    label: str
    count: int = Field(description="how many people have the label")
    share: Decimal = Field(description="the share of people with the label, 0..1")
    target: Decimal = Field(description="the label's intended share of people, 0..1")


class DistributionGroup(Contract):
    group: str = Field(description=(
        "the group's key: the unit's id or the manager's employee number (by the query's `by`)"))
    people: int = Field(description="how many rated people the group has")
    rows: list[DistributionRow] = Field(description="the group's share of each rating label")
    mean_score: Decimal = Field(description="the group's mean rating score")
    manager_score: Decimal | None = Field(description="mean of the manager's own scores (before calibration)")
    attainment: Decimal | None = Field(description="mean goal attainment (the rating's goals component)")
    bias: Decimal | None = Field(description="manager's score - final score: > 0 lenient, < 0 severe")


class DistributionView(Contract):
    review_cycle_id: str
    org_unit_id: str
    overall: list[DistributionRow] = Field(description="the distribution over everyone in scope")
    groups: list[DistributionGroup] = Field(description="one distribution per group (unit or manager)")


class RotationQuery(Contract):
    org_unit_id: Id
    review_cycle_ids: list[Id] = Field(min_length=2, max_length=20, description=(
        "the review cycles to compare, 2..20, oldest first"))
    threshold: Annotated[Decimal, Field(gt=0, le=1)] | None = Field(default=None, description=(
        "the score at or above which a manager is flagged, 0..1 (default 0.3)"))


class RotationAward(Contract):
    cycle: str = Field(description="the review cycle's id")
    person_id: str
    label: str
    attainment: Decimal | None = Field(description="the person's goal attainment that cycle (null: unknown)")
    percentile: Decimal | None = Field(description=(
        "the person's goal-attainment percentile in the team that cycle, 0 (lowest) .. 1 (highest); null: unknown"))
    explained: bool = Field(description=(
        "whether attainment explains the top rating (the person's percentile is 2/3 or more)"))


class RotationGroup(Contract):
    manager_id: str
    score: Decimal = Field(description=(
        "shortfall x turn_rate, 0..1: flagged at or above the threshold (with 3 top ratings over 3 cycles)"))
    shortfall: Decimal = Field(description=(
        "the mean over top ratings of (1 - the person's attainment percentile in the team), 0..1"))
    unexplained_share: Decimal = Field(description=(
        "the share of top ratings not explained by attainment (percentile below 2/3)"))
    turn_rate: Decimal = Field(description=(
        "the share of consecutive cycles whose top-rated people are disjoint (the crown passed on), 0..1"))
    flagged: bool = Field(description="whether the pattern passes the threshold (flagged to HR)")
    awards: list[RotationAward] = Field(description="the manager's top ratings, cycle by cycle")


class RotationReport(Contract):
    statistic: str = Field(description="how the score is computed, in words")
    threshold: Decimal = Field(description="the score at or above which a manager is flagged")
    groups: list[RotationGroup] = Field(description="one group per manager")


# -- promotion tracks and performance stars -----------------------------------------------------------------------

class Nominate(Contract):
    """A nomination by the person's manager (or the person themself) for a level of a sequence."""

    person_id: Id
    sequence: Literal["technical", "management"]
    target_level: Annotated[str, StringConstraints(pattern=r"^[TM][1-9]$")]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class NominationRef(Contract):
    nomination_id: Id


class DecideNomination(Contract):
    nomination_id: Id
    outcome: Literal["promoted", "not_promoted"] = Field(description="promoted or not_promoted")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    override_criteria: bool = Field(False, description=(
        "promote although some criteria are not met: the panel's exception, recorded on the decision with its "
        "reason (without it such a promotion is refused, naming the unmet criteria)"))


class ListNominations(Contract):
    sequence: Literal["technical", "management"] | None = None
    person_id: Id | None = None
    status: Literal["nominated", "promoted", "not_promoted"] | None = Field(default=None, description=(
        "only nominations with this status"))


class CriterionView(Contract):
    criterion: str = Field(description="the promotion criterion")
    met: bool = Field(description="whether the criterion is met")
    evidence: str = Field(description="what the suite found for it")


class NominationView(Contract):
    id: str
    person_id: str
    sequence: str
    target_level: str
    nominated_by: str
    reason: str
    status: str = Field(description="nominated, promoted or not_promoted")
    evidence: dict[str, Any] = Field(description="ratings over cycles with attainment, the development plan, 9-box "
                                                 "placements, at the time of the nomination")
    criteria: list[CriterionView] = Field(description="each promotion criterion and whether it is met")
    decided_by: str | None
    decision_reason: str = Field(description="why it was decided so (empty until decided)")
    criteria_overridden: list[str] = Field(default_factory=list, description=(
        "the criteria the panel promoted without (an exception it made, with its reason); empty otherwise"))
    created_at: datetime
    decided_at: datetime | None


class NominateStar(Contract):
    """A performance star of a quarter (绩效之星) with its story: the goal path and what was learned."""

    person_id: Id
    quarter: Annotated[str, StringConstraints(pattern=r"^\d{4}-Q[1-4]$")]
    title: Title
    goal_path: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    learned: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class StarRef(Contract):
    star_id: Id


class StarConsent(Contract):
    star_id: Id
    consent: bool


class ListStars(Contract):
    quarter: Annotated[str, StringConstraints(pattern=r"^\d{4}-Q[1-4]$")]


class StarView(Contract):
    id: str
    person_id: str
    quarter: str
    title: str
    goal_path: str
    learned: str
    nominated_by: str
    consent: bool
    status: Literal["nominated", "approved", "published", "withdrawn"] = Field(description=(
        "nominated, approved, published or withdrawn"))
    points: int = Field(description="points awarded on publication")
    published_at: datetime | None = Field(description="when it was published (UTC; null: not yet)")


# -- events ----------------------------------------------------------------------------------------------------------

class BonusProposed(Event):
    type = "jixiao.incentives.bonus.proposed.v1"
    subject_field = "person_id"

    proposal_id: str
    pool_code: str
    person_id: str
    version: int
    supersedes: str | None = Field(description="the proposal this one replaces (null: a first proposal)")
    rating_id: str
    rating_version: int
    total: Decimal = Field(description="the proposal's total bonus, in the pool's currency")
    budget_warning: str | None
    waiting_for: str | None = Field(description="the first approver")


class BonusApproved(Event):
    type = "jixiao.incentives.bonus.approved.v1"
    subject_field = "person_id"

    proposal_id: str
    pool_code: str
    person_id: str
    version: int
    total: Decimal = Field(description="the approved total bonus, in the pool's currency")
    budget_warning: str | None
    approved_by: list[str] = Field(description="employee numbers of the approvers, in order")


class PointsEarned(Event):
    type = "jixiao.incentives.points.earned.v1"
    subject_field = "person_id"

    transaction_id: str
    person_id: str
    points: int = Field(description="points earned")
    source: Literal["rule", "grant"] = Field(description="a process rule, or a manual grant")
    ref: str = Field(description="the rule and period, or the granting manager")
    reason: str


class PointsRedeemed(Event):
    type = "jixiao.incentives.points.redeemed.v1"
    subject_field = "person_id"

    redemption_id: str
    person_id: str
    reward_code: str
    quantity: int
    points: int = Field(description="points spent")


class PointsRefunded(Event):
    type = "jixiao.incentives.points.refunded.v1"
    subject_field = "person_id"

    redemption_id: str
    person_id: str
    reward_code: str
    points: int = Field(description="points given back")
    reason: str


class IdpCreated(Event):
    type = "jixiao.incentives.idp.created.v1"
    subject_field = "person_id"

    plan_id: str
    person_id: str
    review_cycle_id: str
    track: Literal["growth", "improvement"]
    rating_label: str
    actions: list[str] = Field(description="codes of the plan's actions")


class IdpUpdated(Event):
    type = "jixiao.incentives.idp.updated.v1"
    subject_field = "person_id"

    plan_id: str
    person_id: str
    review_cycle_id: str
    track: Literal["growth", "improvement"]
    rating_label: str
    version: int
    reason: str


class NominationDecided(Event):
    type = "jixiao.incentives.nomination.decided.v1"
    subject_field = "person_id"

    nomination_id: str
    person_id: str
    sequence: str
    target_level: str
    outcome: Literal["promoted", "not_promoted"] = Field(description="promoted or not_promoted")
    decided_by: str
    reason: str
    criteria_overridden: list[str] = Field(default_factory=list, description=(
        "the criteria not met that the panel promoted without (its exception); empty otherwise"))


class StarPublished(Event):
    type = "jixiao.incentives.star.published.v1"
    subject_field = "person_id"

    star_id: str
    person_id: str
    quarter: str
    title: str
    points: int = Field(description="points awarded to the star")


class NineBoxPlaced(Event):
    type = "jixiao.incentives.ninebox.placed.v1"
    subject_field = "person_id"

    person_id: str
    review_cycle_id: str
    box: str = Field(description="the nine-box cell, `<performance>/<potential>`")
    performance: Level
    potential: Level
    movement: Literal["up", "down", "same", "new"]


class RotationSuspected(Event):
    """A manager's top ratings look taken in turns, unexplained by goal attainment: flagged to HR."""

    type = "jixiao.incentives.rotation.suspected.v1"
    subject_field = "manager_id"

    manager_id: str
    org_unit_id: str
    review_cycle_ids: list[str] = Field(description="the review cycles looked at")
    score: Decimal = Field(description="the rotation statistic that passed the threshold")
    threshold: Decimal = Field(description="the score at or above which a manager is flagged")
    people: list[str] = Field(description="employee numbers of the people whose top ratings rotate")


class IncentivesRecordsPurged(Event):
    """Retention (compliance's daily sweep): incentives purged these records (compliance audits the event)."""

    type = "jixiao.incentives.records.purged.v1"
    subject_field = "record_type"

    record_type: str
    record_ids: list[str]
    reason: str
