"""The goals service's public contract: every RPC payload and result, and every event it publishes.

Numbers that must add up exactly (targets, weights, progress) are decimals, sent as JSON strings (or
numbers on input). Progress and confidence are fractions in [0, 1]. Dates are ISO dates; times are UTC.

Lists are paged with an opaque `cursor` (`limit` 1..200) and answer `{"items": [...], "next_cursor": ...}`.
Updatable resources carry `version`; updates accept `expected_version` and answer 409 when it is stale.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts.base import Contract, Event

Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=2000)]
Limit = Annotated[int, Field(ge=1, le=200)]
# Every decimal input is bounded by what its NUMERIC column (or the arithmetic over it) can hold, so that a bad
# value is a 400 naming the field, never a database error: amounts are NUMERIC(20, 6), |value| < 10^14.
Amount = Annotated[Decimal, Field(max_digits=20, decimal_places=6,
                                  description="a target or measured value: |value| < 10^14, at most 6 decimals")]
NonNegativeAmount = Annotated[Amount, Field(ge=0)]
Points = Annotated[Decimal, Field(ge=0, le=1000, decimal_places=6)]
Weight = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)]
Confidence = Annotated[Decimal, Field(ge=0, le=1, decimal_places=3)]

Period = Literal["year", "quarter", "month"]
CycleState = Literal["draft", "open", "locked", "closed"]
GoalKind = Literal["okr", "kpi"]
OwnerKind = Literal["person", "org_unit"]
Direction = Literal[">=", "<=", "="]
Colour = Literal["green", "yellow", "red"]
ChangeField = Literal["target", "weight", "deadline", "resources"]
ProposalOutcome = Literal["accepted", "rejected", "withdrawn", "countered"]
CommitmentKind = Literal["training", "budget", "collaboration", "other"]
CommitmentState = Literal["promised", "delivered", "missed"]
AllocationMethod = Literal["equal", "weighted", "factors"]
ScoringKind = Literal["linear", "banded", "binary"]


class Page(Contract):
    cursor: str | None = Field(default=None, max_length=500)
    limit: Limit = 50


# -- cycles ------------------------------------------------------------------------------------------------------

Visibility = Literal["company", "unit", "private"]


class CreateCycle(Contract):
    name: Title
    period: Period
    year: int = Field(ge=2000, le=2100, description="the cycle's year, 2000..2100")
    index: int = Field(default=1, ge=1, le=12, description="quarter 1..4 or month 1..12; 1 for a year")
    red_after_weeks: int = Field(default=2, ge=1, le=52, description="weeks behind schedule that turn a goal red")
    visibility: Visibility = Field(default="company", description=(
        "who reads the cycle's goals, progress and colour besides the line: everyone (company), the owner's org "
        "unit (unit), or nobody (private); private comments, custom fields and scores always stay with the line"))


class TransitionCycle(Contract):
    cycle_id: Id
    to: Literal["open", "locked", "closed"] = Field(description=(
        "the state to move the cycle to: open, locked or closed"))
    expected_version: int | None = None


class GetCycle(Contract):
    cycle_id: Id


class ListCycles(Page):
    state: CycleState | None = Field(default=None, description="only cycles in this state")


class CycleView(Contract):
    id: str
    name: str
    period: Period
    starts_on: date
    ends_on: date
    state: CycleState = Field(description=(
        "draft (goals are set, no progress yet), open, locked (progress only; goals change through an accepted "
        "proposal) or closed (nothing changes)"))
    red_after_weeks: int
    visibility: Visibility = "company"
    opened_at: datetime | None
    version: int


class CycleList(Contract):
    items: list[CycleView]
    next_cursor: str | None = None


# -- goals -------------------------------------------------------------------------------------------------------

class OwnerRef(Contract):
    kind: OwnerKind = Field(default="person", description="whom it belongs to: a person or an org_unit")
    id: Id


class KeyResultInput(Contract):
    title: Title
    start: Amount = Decimal(0)
    target: Amount
    unit: Annotated[str, StringConstraints(max_length=32)] = ""
    weight: Decimal = Field(default=Decimal(1), ge=0, max_digits=9, decimal_places=4, description=(
        "the key result's weight among the goal's key results (relative, default 1)"))


class KpiInput(Contract):
    direction: Direction
    target: Amount
    unit: Annotated[str, StringConstraints(max_length=32)] = ""
    green: Amount = Field(description="'>=': green at or above; '<=': at or below; '=': tolerance")
    yellow: Amount
    cumulative: bool = Field(default=False, description=(
        "the value adds up over the period (sales volume): judged against the schedule, not by band"))


class MilestoneInput(Contract):
    on: date = Field(description="the milestone's date (ISO date, within the goal's dates)")
    fraction: Decimal = Field(ge=0, le=1, decimal_places=6,
                              description="share of the goal expected done by this date")


class CreateGoal(Contract):
    cycle_id: Id
    title: Title
    description: LongText = ""
    kind: GoalKind = Field(description="okr (with key results) or kpi (a target with green and yellow thresholds)")
    owner: OwnerRef
    responsible_id: Id | None = Field(default=None, description="the person who speaks for an org-unit goal")
    parent_id: Id | None = None
    weight: Weight = Decimal(0)
    start_on: date | None = Field(default=None, description="defaults to the cycle's first day")
    due_on: date | None = Field(default=None, description="defaults to the cycle's last day")
    milestones: list[MilestoneInput] = Field(default_factory=list, max_length=50)
    key_results: list[KeyResultInput] = Field(default_factory=list, max_length=20)
    kpi: KpiInput | None = None


class UpdateGoal(Contract):
    """Only the fields given change. `parent_id: null` detaches the goal from its parent."""

    goal_id: Id
    expected_version: int | None = None
    title: Title | None = None
    description: LongText | None = None
    weight: Weight | None = None
    start_on: date | None = None
    due_on: date | None = None
    milestones: list[MilestoneInput] | None = Field(default=None, max_length=50)
    parent_id: Id | None = None
    kpi_target: Amount | None = Field(default=None, description="the KPI's new target")
    kpi_thresholds: dict[Literal["green", "yellow"], Amount] | None = Field(default=None, description=(
        "the KPI's new green and yellow thresholds"))
    key_result_targets: dict[str, Amount] | None = Field(default=None, description="key result id -> its new target")
    add_key_results: list[KeyResultInput] | None = Field(default=None, max_length=20, description=(
        "key results to add to an OKR (at most 20)"))


class GetGoal(Contract):
    goal_id: Id


class ListGoals(Page):
    cycle_id: Id
    owner_id: Id | None = Field(default=None, description="defaults to the actor")


class GetGoalTree(Contract):
    goal_id: Id
    depth: int = Field(default=10, ge=1, le=50, description="how many levels below the goal to answer, 1..50")


class SetWeights(Contract):
    """Every goal of one person in one cycle with its new weight; they must total exactly 100.00."""

    cycle_id: Id
    person_id: Id
    weights: dict[str, Weight] = Field(min_length=1)


class KeyResultView(Contract):
    id: str
    title: str
    start: Decimal = Field(description="the value at the start (progress is measured from it)")
    target: Decimal = Field(description="the key result's target, in its unit")
    current: Decimal = Field(description="the key result's value now")
    unit: str
    weight: Decimal = Field(description="the key result's weight among the goal's key results (relative)")
    progress: Decimal


class KpiView(Contract):
    direction: Direction
    target: Decimal = Field(description="the KPI's target, in its unit")
    unit: str
    green: Decimal
    yellow: Decimal
    actual: Decimal | None
    cumulative: bool


class MilestoneView(Contract):
    on: date = Field(description="the milestone's date")
    fraction: Decimal = Field(description="the share of the target expected done by the date, 0..1")


class GoalView(Contract):
    id: str
    cycle_id: str
    parent_id: str | None
    owner: OwnerRef
    responsible_id: str
    org_unit_id: str | None
    title: str
    description: str
    kind: GoalKind = Field(description=(
        "okr (an objective with key results) or kpi (one measured target with thresholds)"))
    weight: Decimal
    start_on: date
    due_on: date
    milestones: list[MilestoneView]
    key_results: list[KeyResultView]
    kpi: KpiView | None
    own_progress: Decimal = Field(description="from the goal's own key results or KPI")
    progress: Decimal = Field(description="rolled up: the weighted mean of the children when it has any")
    confidence: Decimal | None
    colour: Colour
    colour_since: date = Field(description="the day the goal took its current colour")
    resources_needed: list[str] = Field(description="what the owner says the goal needs (people, budget, tools...)")
    indicator_code: str | None
    template_code: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class GoalList(Contract):
    items: list[GoalView]
    next_cursor: str | None = None


class GoalNode(Contract):
    """A node of the goal tree; goals the actor may not read show only their place in the tree."""

    id: str
    parent_id: str | None
    depth: int
    readable: bool = Field(description="whether the reader may read the goal (false: only its place in the tree)")
    title: str | None = None
    owner: OwnerRef | None = None
    kind: GoalKind | None = Field(default=None, description="okr or kpi (null: the reader may not read the goal)")
    weight: Decimal | None = None
    progress: Decimal | None = None
    colour: Colour | None = None


class GoalTree(Contract):
    root_id: str = Field(description="the goal the tree was asked for")
    ancestors: list[GoalNode] = Field(description="the goal's parents up to its root, nearest first")
    nodes: list[GoalNode] = Field(description="the goal and its descendants, down to the requested depth")


class WeightsView(Contract):
    cycle_id: str
    person_id: str
    weights: dict[str, Decimal]
    total: Decimal = Field(description="the sum of the weights, in percent (100 once they are set)")


# -- progress ----------------------------------------------------------------------------------------------------

class RecordProgress(Contract):
    goal_id: Id
    key_result_id: Id | None = Field(default=None, description="required for an OKR goal")
    value: Amount = Field(description="the value reached now, in the goal's unit (|value| < 10^14, at most 6 decimals)")
    comment: LongText = ""
    confidence: Confidence | None = None
    private: bool = Field(default=False, description="the comment is read by the owner's line and HR only")


class ListProgress(Page):
    goal_id: Id


class ListGoalChanges(Page):
    goal_id: Id


class GoalChangeView(Contract):
    """One entry of a goal's change trail: who changed which fields (before and after), when, how and why."""

    id: int
    goal_id: str
    at: datetime
    actor_id: str
    source: Literal["update", "weights", "proposal", "appeal"] = Field(description=(
        "how the change came: a direct update, a weights change, an accepted proposal or an appeal"))
    changes: dict[str, Any]
    reason: str


class GoalChangeList(Contract):
    items: list[GoalChangeView]
    next_cursor: str | None = None


class ProgressUpdateView(Contract):
    id: int
    goal_id: str
    key_result_id: str | None
    actor_id: str
    at: datetime
    before_value: Decimal | None
    after_value: Decimal
    before_progress: Decimal
    after_progress: Decimal
    comment: str = Field(description="empty for a reader outside the line when the comment is private")
    confidence: Decimal | None
    private: bool = Field(default=False, description="whether the update's comment is visible only to the line")


class ProgressRecorded(Contract):
    update: ProgressUpdateView = Field(description="the update as recorded")
    goal: GoalView = Field(description="the goal after the update")


class ProgressHistory(Contract):
    items: list[ProgressUpdateView]
    next_cursor: str | None = None


# -- negotiation -------------------------------------------------------------------------------------------------

class ChangeInput(Contract):
    """One proposed change. `value`: target -> decimal, weight -> decimal in (0, 100], deadline -> date,
    resources -> list of what the owner needs."""

    goal_id: Id
    key_result_id: Id | None = Field(default=None, description="for a target change of an OKR key result")
    field: ChangeField
    value: Any = Field(description=(
        "the value proposed for the field: a number for target or weight, an ISO date for deadline, a text for "
        "resources"))

    @field_validator("value")
    @classmethod
    def _typed(cls, value: Any, info: ValidationInfo) -> Any:
        field = info.data.get("field")
        if field is None:
            return value  # the field itself is invalid; that error is reported
        try:
            return _CHANGE_VALUES[field].validate_python(value)
        except ValidationError as error:
            raise ValueError(f"not a valid {field}: {error.errors()[0]['msg']}") from None

    @model_validator(mode="after")
    def _key_result_target_only(self) -> ChangeInput:
        if self.key_result_id is not None and self.field != "target":
            raise ValueError("key_result_id only goes with a target change")
        return self


_CHANGE_VALUES: dict[str, TypeAdapter[Any]] = {  # one adapter per ChangeField, by name
    "target": TypeAdapter(Amount),
    "weight": TypeAdapter(Annotated[Decimal, Field(gt=0, le=100, decimal_places=2)]),
    "deadline": TypeAdapter(date),
    "resources": TypeAdapter(Annotated[list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                                             max_length=500)]],
                                       Field(min_length=1, max_length=20)]),
}


class ProposeChange(Contract):
    changes: list[ChangeInput] = Field(min_length=1, max_length=100)
    rationale: LongText = Field(description="why: workload, resources, market...")


class CounterProposal(Contract):
    proposal_id: Id
    changes: list[ChangeInput] = Field(min_length=1, max_length=100)
    rationale: LongText


class AnswerProposal(Contract):
    proposal_id: Id
    comment: LongText = ""


class GetNegotiation(Contract):
    goal_id: Id


class ListProposals(Page):
    """Proposals in the negotiation threads the actor takes part in (as a goal's owner or as their manager),
    newest first. `state: "open"` keeps the open ones; `awaiting: "me"` the open ones waiting for the actor's
    answer."""

    state: Literal["open"] | None = Field(default=None, description="`open`: only proposals still open")
    awaiting: Literal["me"] | None = Field(default=None, description=(
        "`me`: only threads waiting for the caller's answer"))
    cycle_id: Id | None = None


class ChangeView(Contract):
    goal_id: str
    key_result_id: str | None
    field: ChangeField
    value: Any = Field(description=(
        "the value proposed for the field: a number for target or weight, an ISO date for deadline, a text for "
        "resources"))


class EntryView(Contract):
    seq: int = Field(description="the entry's place in the thread (1: the first)")
    action: Literal["propose", "counter", "accept", "reject", "withdraw"] = Field(description=(
        "what the party did: propose, counter, accept, reject or withdraw"))
    proposal_id: str
    actor_id: str
    party: Literal["owner", "manager"] = Field(description="who acted: the goal's owner or their manager")
    at: datetime
    text: str
    changes: list[ChangeView]
    replaces: str | None


class ThreadView(Contract):
    id: str
    cycle_id: str
    owner_id: str
    manager_id: str
    entries: list[EntryView] = Field(description="the thread's entries (proposals, counters, answers), oldest first")
    open_proposal_id: str | None = Field(description="the proposal waiting for an answer (null: none)")
    awaiting: Literal["owner", "manager"] | None = Field(description=(
        "whose turn it is: owner or manager (null: nothing open)"))


class ProposalView(Contract):
    negotiation_id: str
    proposal_id: str
    state: Literal["open", "accepted", "rejected", "withdrawn", "countered"] = Field(description=(
        "open, accepted, rejected, withdrawn or countered"))
    thread: ThreadView = Field(description="the whole negotiation thread the proposal belongs to")
    applied: list[FieldChangeApplied] = Field(default_factory=list)


class NegotiationHistory(Contract):
    goal_id: str
    threads: list[ThreadView] = Field(description="every negotiation thread on the goal, oldest first")


class ProposalSummary(Contract):
    """One proposal (or counter-proposal) of a thread, with its state now and the party it waits for."""

    negotiation_id: str
    proposal_id: str
    cycle_id: str
    owner_id: str
    manager_id: str
    state: Literal["open", "accepted", "rejected", "withdrawn", "countered"] = Field(description=(
        "open, accepted, rejected, withdrawn or countered"))
    proposed_by: Literal["owner", "manager"]
    proposer_id: str = Field(description="the employee number of who proposed")
    awaiting: Literal["owner", "manager"] | None = Field(description="who answers it, while it is open")
    opened_at: datetime
    rationale: str
    replaces: str | None
    changes: list[ChangeView]


class ProposalList(Contract):
    items: list[ProposalSummary]
    next_cursor: str | None = None


class FieldChangeApplied(Contract):
    goal_id: str
    key_result_id: str | None
    field: ChangeField
    before: Any
    after: Any


# -- commitments -------------------------------------------------------------------------------------------------

class RecordCommitment(Contract):
    goal_id: Id
    kind: CommitmentKind = Field(description="what is promised: training, budget, collaboration or other")
    description: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    amount: NonNegativeAmount | None = Field(default=None, description=(
        "the budget promised, in CNY (for a budget commitment)"))
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    from_org_unit_id: Id | None = Field(default=None, description="the unit whose collaboration is promised")
    due_on: date | None = None


class UpdateCommitment(Contract):
    commitment_id: Id
    state: Literal["delivered", "missed"] = Field(description="delivered or missed")
    note: LongText = ""
    expected_version: int | None = None


class ListCommitments(Contract):
    goal_id: Id


class CommitmentChangeView(Contract):
    before: CommitmentState | None
    after: CommitmentState
    actor_id: str
    at: datetime
    note: str


class CommitmentView(Contract):
    id: str
    goal_id: str
    kind: CommitmentKind = Field(description="what was promised: training, budget, collaboration or other")
    description: str
    amount: Decimal | None
    currency: str | None
    from_org_unit_id: str | None = Field(description="the unit that provides it (null: a person provides it)")
    provider_id: str
    due_on: date | None
    state: CommitmentState = Field(description="promised, delivered or missed")
    history: list[CommitmentChangeView]
    version: int


class CommitmentList(Contract):
    items: list[CommitmentView]
    next_cursor: str | None = None


# -- status, sweep and reviews -----------------------------------------------------------------------------------

class RunStatusSweep(Contract):
    on: date = Field(description="the day to evaluate colours for (default: today)")


class SweepResult(Contract):
    on: date = Field(description="the day the colours were evaluated for")
    evaluated: int = Field(description="goals evaluated")
    changed: int = Field(description="goals whose colour changed")
    turned_red: int = Field(description="goals that turned red")
    reviews_opened: int = Field(description="status reviews opened for goals that turned red")
    reviews_resolved: int = Field(default=0, description="open reviews closed because their goal recovered")
    preview: bool = Field(default=False, description="a date after today: what would change; nothing was written")


ReviewState = Literal["open", "completed", "resolved_by_recovery"]


class ListReviews(Page):
    state: ReviewState | None = Field(default=None, description="only reviews in this state")
    cycle_id: Id | None = None


class CompleteReview(Contract):
    review_id: Id
    summary: Annotated[str, StringConstraints(min_length=1, max_length=4000)] = Field(description=(
        "what was found and what will be done to get back on track (1..4000 characters)"))


class ReviewView(Contract):
    id: str
    goal_id: str
    cycle_id: str
    owner_id: str
    manager_id: str | None
    opened_on: date
    reason: str
    state: ReviewState = Field(description="open, completed, or resolved_by_recovery (the goal left red first)")
    summary: str = Field(description="what was found and what will be done (empty while open)")
    completed_by: str | None
    completed_at: datetime | None = Field(description="when the review was completed (UTC; null while open)")
    red_since: date | None = Field(default=None, description=(
        "the first day of the red spell the review was opened for (null: not recorded)"))


class ReviewList(Contract):
    items: list[ReviewView]
    next_cursor: str | None = None


# -- allocation --------------------------------------------------------------------------------------------------

class AllocationChild(Contract):
    goal_id: Id
    key_result_id: Id | None = Field(default=None, description="which target of an OKR child to allocate to")
    weight: NonNegativeAmount | None = Field(default=None, description="share for the 'weighted' method")
    factors: dict[Code, NonNegativeAmount] = Field(default_factory=dict, max_length=50, description=(
        "factor code -> this child's value, for the `factors` method"))
    minimum: NonNegativeAmount | None = Field(default=None, description=(
        "the least this child must be given (null: no floor)"))
    maximum: NonNegativeAmount | None = Field(default=None, description=(
        "the most this child may be given (null: no cap)"))


class PreviewAllocation(Contract):
    """Split the parent's target (or `total`) among `children` (default: every direct child)."""

    parent_goal_id: Id
    method: AllocationMethod = Field(default="equal", description=(
        "equal, weighted (by each child's `weight`) or factors (by `factor_weights`)"))
    factor_weights: dict[Code, NonNegativeAmount] = Field(default_factory=dict, max_length=50)
    children: list[AllocationChild] = Field(default_factory=list, max_length=50_000, description=(
        "the children to split among (default: every direct child)"))
    total: NonNegativeAmount | None = Field(default=None, description=(
        "the amount to split (null: the parent goal's target)"))
    places: int = Field(default=0, ge=0, le=6, description=(
        "decimal places of each share, 0..6 (leftover units go to the largest fractional parts, so the shares add up "
        "exactly)"))


class ApplyAllocation(PreviewAllocation):
    rationale: LongText


class AllocationItem(Contract):
    goal_id: str
    key_result_id: str | None
    owner_id: str
    current_target: Decimal | None = Field(description="the child's target now (null: none yet)")
    allocated: Decimal = Field(description="the share of the target given to this child")


class AllocationPreview(Contract):
    parent_goal_id: str
    total: Decimal = Field(description="the amount split among the children")
    method: AllocationMethod = Field(description="how the target is split: equal, weighted or factors")
    items: list[AllocationItem] = Field(description="each child's share of the target, as it would be applied")


class AppliedProposal(Contract):
    goal_id: str
    negotiation_id: str
    proposal_id: str


class AllocationResult(Contract):
    allocation_id: str
    preview: AllocationPreview = Field(description="the split as previewed and applied")
    proposals: list[AppliedProposal] = Field(description="the negotiation proposals opened for the children's owners")


# -- indicator library, templates, presets, formulas, custom fields -----------------------------------------------

class ScoringRule(Contract):
    kind: ScoringKind = Field(default="linear", description=(
        "linear (in proportion to attainment), banded (by colour) or binary (target met or not)"))
    cap: Points = Field(default=Decimal(100), description="the most points a value may earn, 0..1000")
    green_points: Points = Field(default=Decimal(100), description=(
        "points for a green value (banded) or at the target (linear, binary)"))
    yellow_points: Points = Field(default=Decimal(60), description="points for a yellow value (banded)")
    red_points: Points = Field(default=Decimal(0), description="points for a red value")


class SaveIndicator(Contract):
    code: Code
    name: Title
    kind: GoalKind = Field(description="the kind of goal the indicator makes: okr or kpi")
    direction: Direction
    unit: Annotated[str, StringConstraints(max_length=32)] = ""
    cumulative: bool = Field(default=False, description="a KPI that adds up over the period (see KpiInput)")
    target: Amount | None = Field(default=None, description="the indicator's default target (null: set per goal)")
    green: Amount | None = None
    yellow: Amount | None = None
    scoring: ScoringRule = ScoringRule()
    formula: Annotated[str, StringConstraints(max_length=2000)] | None = None
    description: LongText = ""
    expected_version: int | None = Field(default=None, description="replace only this version (409 if stale)")


class IndicatorView(Contract):
    code: str
    name: str
    kind: GoalKind = Field(description="the kind of goal the indicator makes: okr or kpi")
    direction: Direction
    unit: str
    cumulative: bool
    target: Decimal | None = Field(description="the indicator's default target (null: set per goal)")
    green: Decimal | None
    yellow: Decimal | None
    scoring: ScoringRule
    formula: str | None
    formula_version: int | None
    description: str
    version: int


class ListIndicators(Page):
    pass


class IndicatorList(Contract):
    items: list[IndicatorView]
    next_cursor: str | None = None


class TemplateItem(Contract):
    indicator: Code = Field(description="the indicator's code in the library")
    weight: Decimal = Field(gt=0, le=100, decimal_places=2, description=(
        "the indicator's weight in the template, percent (0 < weight <= 100; the items total 100)"))
    target: Amount | None = Field(default=None, description=(
        "the target given to everyone assigned the template (null: the indicator's own)"))


class SaveTemplate(Contract):
    code: Code
    name: Title
    job_family: Title
    custom_fields: list[Code] = Field(default_factory=list, max_length=50)
    items: list[TemplateItem] = Field(min_length=1, max_length=50, description=(
        "the template's indicators with their weights (percent, totalling 100) and targets"))
    expected_version: int | None = Field(default=None, description="replace only this version (409 if stale)")


class TemplateView(Contract):
    code: str
    name: str
    job_family: str
    custom_fields: list[str]
    items: list[TemplateItem] = Field(description=(
        "the template's indicators with their weights (percent, totalling 100) and targets"))
    version: int


class ListTemplates(Page):
    job_family: str | None = None


class TemplateList(Contract):
    items: list[TemplateView]
    next_cursor: str | None = None


class InstallPreset(Contract):
    code: Code


class PresetView(Contract):
    code: str
    name: str
    description: str
    indicators: list[str] = Field(description="codes of the indicators the preset installs")
    templates: list[str]


class PresetList(Contract):
    items: list[PresetView]
    next_cursor: str | None = None


class Assignee(Contract):
    person_id: Id
    targets: dict[Code, Amount] = Field(default_factory=dict, description="per-person target overrides")


class AssignTemplate(Contract):
    template_code: Code
    cycle_id: Id
    assignees: list[Assignee] = Field(min_length=1, max_length=20_000, description=(
        "who gets the template's goals (1..20000 people)"))
    parent_goal_id: Id | None = None


class ErrorItem(Contract):
    field: str
    message: str


class AssignmentOutcome(Contract):
    person_id: str
    ok: bool
    goal_ids: list[str] = Field(default_factory=list)
    errors: list[ErrorItem] = Field(default_factory=list)


class AssignmentResult(Contract):
    template_code: str
    cycle_id: str
    created: int = Field(description="people who got their goals")
    failed: int = Field(description="how many assignees got no goals (see `results`)")
    goals_created: int = Field(description="how many goals were created in all")
    results: list[AssignmentOutcome] = Field(description="per assignee, what was created or why not")


class CheckFormula(Contract):
    formula: Annotated[str, StringConstraints(max_length=2000)]
    variables: list[Code] = Field(default_factory=list, max_length=200)


class FormulaCheck(Contract):
    ok: bool
    result_type: Literal["number", "boolean"] = Field(description=(
        "what the formula evaluates to: a number or a boolean"))
    variables: list[str]


class SetCustomFields(Contract):
    cycle_id: Id
    person_id: Id
    values: dict[Code, Amount] = Field(min_length=1, max_length=50)


class CustomFieldsView(Contract):
    cycle_id: str
    person_id: str
    values: dict[str, Decimal]
    recomputed_goal_ids: list[str] = Field(default_factory=list, description=(
        "goals whose formula-driven progress was recomputed from the new values"))


class GetScoreCard(Contract):
    cycle_id: Id
    person_id: Id
    template_code: Code


class ScoreItem(Contract):
    indicator: str = Field(description="the indicator's code")
    value: Decimal | None = Field(description="None when no value is measured yet (`missing`)")
    target: Decimal = Field(description="the indicator's target for the person")
    points: Decimal = Field(description="rounded half-up to 2 decimals; 0 when missing")
    weight: Decimal = Field(description="the item's weight in the template, percent (the items total 100)")
    weighted_points: Decimal = Field(description="points x weight / 100, rounded half-up to 2 decimals")
    missing: bool = Field(default=False, description="whether the indicator had no value (scored 0)")


class ScoreCard(Contract):
    cycle_id: str
    person_id: str
    template_code: str
    items: list[ScoreItem] = Field(description=(
        "one line per indicator of the template: value, target, points and weight"))
    total: Decimal = Field(description="the total points: the sum of every item's weighted points")


# -- board -------------------------------------------------------------------------------------------------------

class BoardQuery(Page):
    """The goal board of one cycle. Scope it by org unit (and its descendants), an owner, or a manager's
    reporting line; filter by kind and colour. `levels` are the aggregates one level down (the child units
    of `org_unit_id`, or the owners when drilling into a unit without descendants or a reporting line)."""

    cycle_id: Id
    org_unit_id: Id | None = None
    include_descendants: bool = Field(default=True, description="whether a unit's board includes its descendant units")
    owner_id: Id | None = None
    reports_of: Id | None = Field(default=None, description="a manager: everyone in their reporting line")
    kind: GoalKind | None = Field(default=None, description="only goals of this kind: okr or kpi")
    colour: Colour | None = None


class BoardAggregate(Contract):
    key: str | None = Field(description="the group's id: an org unit id, an owner or a manager (null: the total line)")
    name: str | None = None
    count: int = Field(description="how many goals the line counts")
    green: int = Field(description="goals on track")
    yellow: int = Field(description="goals at risk")
    red: int = Field(description="goals off track")
    weighted_progress: Decimal | None = Field(description="progress weighted by goal weights, 0..1 (null: no goals)")
    average_confidence: Decimal | None = Field(description="the mean owner confidence, 0..1 (null: none given)")


class BoardGoal(Contract):
    id: str
    title: str
    owner: OwnerRef
    org_unit_id: str | None
    kind: GoalKind = Field(description=(
        "okr (an objective with key results) or kpi (one measured target with thresholds)"))
    weight: Decimal
    progress: Decimal
    confidence: Decimal | None
    colour: Colour
    due_on: date


class Board(Contract):
    cycle_id: str
    total: BoardAggregate = Field(description="the totals over every goal in scope")
    levels: list[BoardAggregate] = Field(description=(
        "one aggregate per unit, owner or reporting line, by the query's grouping"))
    items: list[BoardGoal]
    next_cursor: str | None = None


class GetTeamDashboard(Contract):
    """The goals sections of a manager's "my team" dashboard, for the caller's reporting line in one cycle, in one
    call (the gateway's dashboard used to make four)."""

    cycle_id: Id
    limit: Annotated[int, Field(ge=1, le=50)] = Field(default=10, description="items per list section")


class SectionRefused(Contract):
    code: str = Field(description="the problem type the section's own call would have answered")
    detail: str


class TeamDashboard(Contract):
    cycle_id: str
    colours: BoardAggregate | None = Field(default=None, description="the line's colour counts and progress")
    at_risk: list[BoardGoal] | None = Field(default=None, description="the line's red goals")
    open_proposals: list[ProposalSummary] | None = Field(default=None, description=(
        "open proposals waiting for the caller's answer"))
    pending_reviews: list[ReviewView] | None = Field(default=None, description="the caller's open reviews")
    refused: dict[str, SectionRefused] = Field(default_factory=dict, description=(
        "section -> why it is not answered (null above); the other sections stand"))


# -- events ------------------------------------------------------------------------------------------------------

class CycleCreated(Event):
    type = "jixiao.goals.cycle.created.v1"
    subject_field = "cycle_id"

    cycle_id: str
    name: str
    period: Period
    starts_on: date
    ends_on: date
    red_after_weeks: int


class CycleStateChanged(Event):
    type = "jixiao.goals.cycle.changed.v1"
    subject_field = "cycle_id"

    cycle_id: str
    before: CycleState
    after: CycleState


class GoalCreated(Event):
    type = "jixiao.goals.goal.created.v1"
    subject_field = "goal_id"

    goal_id: str
    cycle_id: str
    parent_id: str | None
    owner: OwnerRef
    responsible_id: str
    org_unit_id: str | None
    title: str
    kind: GoalKind = Field(description=(
        "okr (an objective with key results) or kpi (one measured target with thresholds)"))
    weight: Decimal
    start_on: date
    due_on: date
    target: Decimal | None = Field(description="the KPI target, or the only key result's target")
    unit: str
    indicator_code: str | None = None
    template_code: str | None = None


class AssignedGoal(Contract):
    goal_id: str
    title: str
    kind: GoalKind = Field(description="the created goal's kind: okr or kpi")
    weight: Decimal
    target: Decimal = Field(description="the created goal's target")
    unit: str
    indicator_code: str


class TemplateAssigned(Event):
    """A template was assigned to one person: the goals it created for them (one event per person of an
    assign_template call; goals created one by one publish goal.created instead)."""

    type = "jixiao.goals.template.assigned.v1"
    subject_field = "person_id"

    person_id: str
    cycle_id: str
    template_code: str
    org_unit_id: str | None
    parent_id: str | None
    start_on: date
    due_on: date
    goals: list[AssignedGoal] = Field(description="the goals created for the person")


class GoalUpdated(Event):
    """`changes` maps each changed field to `{"before": ..., "after": ...}`."""

    type = "jixiao.goals.goal.updated.v1"
    subject_field = "goal_id"

    goal_id: str
    cycle_id: str
    responsible_id: str
    changes: dict[str, dict[Literal["before", "after"], Any]]
    via_proposal_id: str | None = Field(default=None, description=(
        "the accepted proposal that made the change (null: none)"))
    via_appeal_id: str | None = Field(default=None, description=(
        "the appeal whose decision made the change (null: none)"))
    actor_id: str | None = None
    reason: str = ""


class GoalProgressed(Event):
    type = "jixiao.goals.goal.progressed.v1"
    subject_field = "goal_id"

    goal_id: str
    cycle_id: str
    responsible_id: str
    key_result_id: str | None
    update_id: int
    before_value: Decimal | None
    after_value: Decimal
    before_progress: Decimal
    after_progress: Decimal
    confidence: Decimal | None
    comment: str
    at: datetime


class GoalStatusChanged(Event):
    type = "jixiao.goals.goal.status_changed.v1"
    subject_field = "goal_id"

    goal_id: str
    cycle_id: str
    responsible_id: str
    before: Colour | None
    after: Colour
    on: date = Field(description="the day the colour changed")
    progress: Decimal


class ReviewOpened(Event):
    """A goal turned red: a review (复盘) is opened for its owner and their manager."""

    type = "jixiao.goals.review.opened.v1"
    subject_field = "review_id"

    review_id: str
    goal_id: str
    cycle_id: str
    owner_id: str
    manager_id: str | None
    opened_on: date
    reason: str


class ReviewCompleted(Event):
    type = "jixiao.goals.review.completed.v1"
    subject_field = "review_id"

    review_id: str
    goal_id: str
    completed_by: str
    summary: str = Field(description="what the review found and what will be done")
    outcome: Literal["completed", "resolved_by_recovery"] = Field(default="completed", description=(
        "completed (by its owner) or resolved_by_recovery (the goal left red first)"))


class ProposalOpened(Event):
    type = "jixiao.goals.proposal.opened.v1"
    subject_field = "negotiation_id"

    negotiation_id: str
    proposal_id: str
    cycle_id: str
    owner_id: str
    manager_id: str
    proposed_by: Literal["owner", "manager"]
    replaces: str | None
    changes: list[ChangeView]
    rationale: str
    allocation_id: str | None = None


class ProposalResolved(Event):
    """`applied` lists every field the accepted proposal changed, with its value before and after."""

    type = "jixiao.goals.proposal.resolved.v1"
    subject_field = "negotiation_id"

    negotiation_id: str
    proposal_id: str
    cycle_id: str
    owner_id: str
    manager_id: str
    outcome: ProposalOutcome = Field(description="accepted, rejected, withdrawn or countered")
    comment: str
    applied: list[FieldChangeApplied] = Field(default_factory=list)


class AllocationApplied(Event):
    type = "jixiao.goals.allocation.applied.v1"
    subject_field = "allocation_id"

    allocation_id: str
    parent_goal_id: str
    method: AllocationMethod = Field(description="how the target was split: equal, weighted or factors")
    factor_weights: dict[str, Decimal]
    total: Decimal = Field(description="the amount split among the children")
    items: list[AllocationItem] = Field(description="each child's share of the target")


class CommitmentChanged(Event):
    type = "jixiao.goals.commitment.changed.v1"
    subject_field = "commitment_id"

    commitment_id: str
    goal_id: str
    kind: CommitmentKind = Field(description="what was promised: training, budget, collaboration or other")
    description: str
    amount: Decimal | None
    provider_id: str
    owner_id: str
    before: CommitmentState | None
    after: CommitmentState
    note: str


class IndicatorSaved(Event):
    type = "jixiao.goals.indicator.saved.v1"
    subject_field = "code"

    code: str
    before: dict[str, Any] | None
    after: dict[str, Any]
    formula_version: int | None


class TemplateSaved(Event):
    type = "jixiao.goals.template.saved.v1"
    subject_field = "code"

    code: str
    before: dict[str, Any] | None
    after: dict[str, Any]


class CustomFieldsSet(Event):
    type = "jixiao.goals.customfields.set.v1"
    subject_field = "person_id"

    cycle_id: str
    person_id: str
    before: dict[str, Decimal]
    after: dict[str, Decimal]


ProposalView.model_rebuild()


# -- appeals and retention (compliance's decisions, applied by goals to its own data) -----------------------------

class AppealAmendment(Contract):
    """What an amended appeal decision (compliance's `appeal.decided`, target_kind `goal_result`, target_ref the
    goal's id) may correct on a goal: its KPI target or measured value, or its key results' targets or values.
    Anything else is refused as a whole (`AppealNotApplied`)."""

    target: Amount | None = None
    actual: Amount | None = None
    key_result_targets: dict[Id, Amount] | None = Field(default=None, description=(
        "key result id -> its corrected target"))
    key_result_values: dict[Id, Amount] | None = Field(default=None, description="key result id -> its corrected value")


class AppealNotApplied(Event):
    """An amended appeal decision that goals could not apply (no such goal, not the appellant's, an amendment
    that does not fit the goal), and why: HR decides again or corrects it by hand."""

    type = "jixiao.goals.appeal.not_applied.v1"
    subject_field = "appeal_id"

    appeal_id: str
    target_ref: str
    reason: str


class GoalRecordsRetained(Event):
    """What a retention sweep (compliance's `retention.sweep_requested`) did to goals' own records."""

    type = "jixiao.goals.records.purged.v1"
    subject_field = "record_type"

    record_type: str
    action: Literal["purge", "anonymize"] = Field(description="purge (deleted) or anonymize (kept under a pseudonym)")
    record_ids: list[str]
    reason: str
    sweep_date: str
