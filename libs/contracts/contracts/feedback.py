"""The feedback service's public contract: every RPC payload and result, and every event it publishes.

Part 1 (the year-round conversation): monthly check-ins, light reports and participation, key events, sales
activity with double verification (valid leads, zero activity), coaching cadence, anonymous 360 light feedback and
objection analysis. Part 2 (reviews and ratings) publishes `RatingFinalized` / `RatingAmended`, declared here
already so that incentives can consume them.

Weeks are ISO weeks written `YYYY-Www` (`2026-W49`, Monday to Sunday); months are `YYYY-MM`. Dates are ISO dates;
times are UTC. Rates are fractions in [0, 1] (decimals sent as strings). Lists answer `{"items": [...]}` and, when
paged, `next_cursor`.

Anonymity: no event, view or export of a 360 request carries a reviewer's identity; only counts and aggregates.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from contracts.base import Contract, Event

Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=4000)]
ShortText = Annotated[str, StringConstraints(max_length=500)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=1000)]
IsoWeek = Annotated[str, StringConstraints(pattern=r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$")]
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Rate = Annotated[Decimal, Field(ge=0, le=1, decimal_places=4)]
Limit = Annotated[int, Field(ge=1, le=1000)]

CheckinState = Literal["scheduled", "held", "signed_off"]
CheckinSection = Literal["progress", "obstacles", "behaviour"]
Visibility = Literal["shared", "private"]
ReportKind = Literal["daily", "weekly"]
Polarity = Literal["positive", "negative"]
OpportunityStage = Literal["lead", "qualified", "demo", "proposal", "negotiation", "won", "lost"]
ParticipationScope = Literal["person", "team", "unit"]
Colour = Literal["green", "yellow", "red"]
RatingLabel = Literal["S", "A", "B", "C", "D"]


class Page(Contract):
    cursor: str | None = Field(default=None, max_length=500)
    limit: Limit = 50


# -- calendar ----------------------------------------------------------------------------------------------------

class SetCalendar(Contract):
    """The company calendar: which weekdays are worked, the holidays and the extra working days (调休)."""

    preset: Literal["zh-CN", "none"] | None = Field(default=None, description=(
        "start from a preset's holidays and make-up working days (zh-CN: the State Council's 2026 schedule)"))
    working_weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5], min_length=1, max_length=7,
        description="ISO weekdays worked (1 = Monday)")
    holidays: list[date] = Field(default_factory=list, max_length=400)
    extra_working_days: list[date] = Field(default_factory=list, max_length=100,
                                           description="weekend days that are worked (调休)")


class CalendarView(Contract):
    working_weekdays: list[int] = Field(description="the working days of the week, 1 (Monday) .. 7 (Sunday)")
    holidays: list[date]
    extra_working_days: list[date] = Field(description="weekend days worked (调休), on which deadlines count")
    version: int


# -- check-ins ---------------------------------------------------------------------------------------------------

class ScheduleCheckins(Contract):
    """Schedule the month's 1:1s for every manager-report pair (idempotent: an existing pair is kept)."""

    month: Month
    manager_id: Id | None = Field(default=None, description="only this manager's line; HR may omit it for all")


class GoalSnapshot(Contract):
    goal_id: Id
    title: ShortText = ""
    colour: Colour | None = Field(default=None, description="the goal's colour when the check-in was held")
    progress: Decimal | None = Field(default=None, ge=0, le=1, decimal_places=6)


class CheckinPoint(Contract):
    section: CheckinSection
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    visibility: Visibility = "shared"
    goal_id: Id | None = None
    support_needed: bool = Field(default=False, description=(
        "an obstacle that needs support: may become a resource commitment in goals"))


class HoldCheckin(Contract):
    checkin_id: Id
    held_on: date
    goals: list[GoalSnapshot] = Field(default_factory=list, max_length=50, description=(
        "the goals discussed, as they stand now (at most 50)"))
    points: list[CheckinPoint] = Field(default_factory=list, max_length=100, description=(
        "the notes, one point each (at most 100)"))
    expected_version: int | None = None


class AddCheckinNotes(Contract):
    checkin_id: Id
    points: list[CheckinPoint] = Field(min_length=1, max_length=100, description=(
        "the points to add to the check-in's notes (1..100)"))


class SignOffCheckin(Contract):
    checkin_id: Id
    expected_version: int | None = None


class GetCheckin(Contract):
    checkin_id: Id


class ListCheckins(Page):
    month: Month | None = None
    person_id: Id | None = None
    manager_id: Id | None = None
    state: CheckinState | None = Field(default=None, description="only check-ins in this state")


class CheckinPointView(Contract):
    id: int
    author_id: str = Field(description="the employee number of who wrote the point")
    section: CheckinSection
    text: str
    visibility: Visibility
    goal_id: str | None
    support_needed: bool = Field(description="whether the person asked for support on this point")


class CheckinView(Contract):
    id: str
    month: str
    manager_id: str
    person_id: str
    due_from: date = Field(description="the first day the check-in is due")
    due_by: date
    state: CheckinState = Field(description="scheduled, held, or signed_off (both signed)")
    overdue: bool
    held_on: date | None
    signed_by_manager: bool = Field(description="whether the manager signed the notes")
    signed_by_person: bool = Field(description="whether the person signed the notes")
    goals: list[GoalSnapshot] = Field(description="the goals discussed, as they stood at the check-in")
    points: list[CheckinPointView] = Field(description="the notes, one point each")
    version: int


class CheckinList(Contract):
    items: list[CheckinView]
    next_cursor: str | None = None


# -- light reports -----------------------------------------------------------------------------------------------

class SetReportTemplate(Contract):
    """A team's report template: at most a few fields beyond done / blockers / next."""

    team_id: Id
    kind: ReportKind = Field(default="weekly", description="daily or weekly report")
    extra_fields: list[Code] = Field(default_factory=list, max_length=3)
    goal_links: bool = True


class SubmitReport(Contract):
    kind: ReportKind = Field(default="weekly", description="daily or weekly report")
    period: Annotated[str, StringConstraints(pattern=r"^\d{4}-(W\d{2}|\d{2}-\d{2})$")] = Field(
        description="an ISO week (2026-W49) for a weekly report, a date (2026-12-02) for a daily one")
    done: Text = Field(default="", description="what was done in the period (at most 4000 characters)")
    blockers: list[ShortText] = Field(default_factory=list, max_length=20)
    next_plan: Text = ""
    goal_ids: list[Id] = Field(default_factory=list, max_length=20)
    extra: dict[Code, ShortText] = Field(default_factory=dict, max_length=3)


class ReportView(Contract):
    id: str
    person_id: str
    manager_id: str | None
    team_id: str | None
    kind: ReportKind = Field(description="daily or weekly report")
    period: str = Field(description=(
        "the period reported on: `YYYY-MM-DD` for a daily report, `YYYY-Www` for a weekly one"))
    done: str = Field(description="what was done in the period")
    blockers: list[str]
    next_plan: str
    goal_ids: list[str]
    extra: dict[str, str]
    submitted_at: datetime
    updated_at: datetime
    version: int


class GetTeamSummary(Contract):
    manager_id: Id | None = Field(default=None, description="defaults to the actor")
    kind: ReportKind = Field(default="weekly", description="daily or weekly reports")
    period: Annotated[str, StringConstraints(pattern=r"^\d{4}-(W\d{2}|\d{2}-\d{2})$")] = Field(description=(
        "the period to sum up: `YYYY-MM-DD` (daily) or `YYYY-Www` (weekly)"))


class BlockerView(Contract):
    person_id: str
    text: str
    goal_ids: list[str]
    repeated_weeks: int = Field(description="consecutive periods this person reported the same blocker")


class GoalGroupView(Contract):
    goal_id: str | None
    people: list[str] = Field(description="employee numbers of who reported on the goal")
    done: list[str] = Field(description="what was done towards the goal, one line per report")


class TeamSummaryView(Contract):
    manager_id: str
    kind: ReportKind = Field(description="daily or weekly reports")
    period: str = Field(description="the period summed up: `YYYY-MM-DD` (daily) or `YYYY-Www` (weekly)")
    team_size: int = Field(description="how many people the team has")
    reported: int = Field(description="how many team members reported")
    missing: list[str] = Field(description="employee numbers of the team members who did not report")
    blockers: list[BlockerView] = Field(description="repeated blockers first")
    by_goal: list[GoalGroupView] = Field(description="the reports' items grouped by the goal they link to")


class GetParticipation(Contract):
    scope: ParticipationScope = Field(description="person, team (a manager's direct reports) or unit")
    scope_id: Id
    month: Month
    trend_months: int = Field(default=6, ge=1, le=24, description="how many months of trend to answer, 1..24")


class ParticipationPoint(Contract):
    month: str
    expected: int
    submitted: int
    rate: Decimal


class ParticipationView(Contract):
    scope: ParticipationScope = Field(description="person, team (a manager's direct reports) or unit")
    scope_id: str
    month: str
    expected: int
    submitted: int
    rate: Decimal
    trend: list[ParticipationPoint] = Field(description="oldest first, ending with `month`")


# -- key events --------------------------------------------------------------------------------------------------

class RecordKeyEvent(Contract):
    person_id: Id
    polarity: Polarity
    title: Title
    occurred_on: date
    evidence_text: Text = ""
    evidence_url: Url | None = None
    goal_id: Id | None = None


class RespondKeyEvent(Contract):
    key_event_id: Id
    response: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(description=(
        "the person's response to the key event, in their words"))


class ListKeyEvents(Page):
    person_id: Id
    since: date | None = Field(default=None, description="only key events on or after this day")
    until: date | None = Field(default=None, description="only key events on or before this day")


class KeyEventView(Contract):
    id: str
    person_id: str
    recorded_by: str
    polarity: Polarity
    title: str
    occurred_on: date
    evidence_text: str
    evidence_url: str | None
    goal_id: str | None
    response: str | None
    recorded_at: datetime = Field(description="when the event was recorded (UTC)")


class KeyEventList(Contract):
    items: list[KeyEventView]
    next_cursor: str | None = None


# -- sales activity ----------------------------------------------------------------------------------------------

class RegisterCustomer(Contract):
    customer_id: Id
    name: Title
    latitude: Decimal = Field(ge=-90, le=90, decimal_places=7)
    longitude: Decimal = Field(ge=-180, le=180, decimal_places=7)


class RecordOpportunity(Contract):
    customer_id: Id
    stage: OpportunityStage = Field(description=(
        "the sales stage: lead, qualified, demo, proposal, negotiation, won or lost"))
    amount: Decimal = Field(ge=0, max_digits=20, decimal_places=2)
    next_step: ShortText = ""
    opportunity_id: Id | None = Field(default=None, description="an existing opportunity to update (stage move)")


class OpportunityView(Contract):
    id: str
    person_id: str
    customer_id: str
    stage: OpportunityStage = Field(description=(
        "the sales stage: lead, qualified, demo, proposal, negotiation, won or lost"))
    amount: Decimal
    next_step: str
    created_at: datetime
    updated_at: datetime


class CheckIn(Contract):
    latitude: Decimal = Field(ge=-90, le=90, decimal_places=7)
    longitude: Decimal = Field(ge=-180, le=180, decimal_places=7)
    accuracy_m: Decimal = Field(ge=0, le=100000, decimal_places=2, description=(
        "the location's accuracy radius in metres, as the phone reports it"))


class RecordVisit(Contract):
    customer_id: Id
    visited_at: datetime
    check_in: CheckIn | None = Field(default=None, description="the mobile location check-in (移动打卡)")
    notes: Text = ""
    opportunity_id: Id | None = None


class VisitView(Contract):
    id: str
    person_id: str
    customer_id: str
    visited_at: datetime
    distance_m: Decimal | None
    opportunity_id: str | None
    valid: bool = Field(description=(
        "whether the visit counts as a valid lead (a check-in near the customer and an opportunity entry)"))
    invalid_reasons: list[str] = Field(description="why the visit does not count as a valid lead (empty: it counts)")
    notes: str
    objections: list[str] = Field(description="objection tags found in the visit's notes")


class GetWeeklyLeads(Contract):
    person_id: Id | None = None
    week: IsoWeek


class WeeklyLeadsView(Contract):
    person_id: str
    week: str
    visits: int
    valid_leads: int = Field(description="visits that count as valid leads (the '≥ 5 valid leads/week' rule)")
    opportunities: int = Field(description="opportunities entered in the week")
    demo_conversions: int = Field(description="opportunities moved to demo in the week")


# -- coaching ----------------------------------------------------------------------------------------------------

class RecordCoaching(Contract):
    person_id: Id
    on: date = Field(description="the day the coaching took place")
    minutes: int = Field(ge=1, le=600, description="how long the coaching lasted, 1..600 minutes")
    topic: Title = Field(description="what the coaching was about")
    notes: Text = ""
    goal_id: Id | None = None


class SubmitCoachingNotes(Contract):
    """A manager's weekly coaching notes (辅导纪要)."""

    week: IsoWeek
    notes: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class CoachingView(Contract):
    id: str
    manager_id: str
    person_id: str
    on: date = Field(description="the day the coaching took place")
    minutes: int = Field(description="how long the coaching lasted, in minutes")
    topic: str
    notes: str
    goal_id: str | None


class GetCadence(Contract):
    manager_id: Id | None = None
    month: Month


class CadenceView(Contract):
    manager_id: str
    month: str
    touches: int = Field(description=(
        "coaching touches in `month`: coaching sessions recorded plus one-to-one check-ins held"))
    weekly_notes: int = Field(description="weekly coaching notes written in `month`'s weeks")
    average: Decimal = Field(description="touches per month over the trailing window ending with `month`")
    window_months: int
    standard: Decimal
    below_standard: bool = Field(description="whether the average is below the standard, or a check-in is overdue")
    checkins_held: int = Field(default=0, description="one-to-one check-ins held in `month`")
    checkins_overdue: int = Field(default=0, description="the manager's check-ins past their due date and not held")


# -- anonymous 360 -----------------------------------------------------------------------------------------------

class QuestionInput(Contract):
    code: Code
    text: Title
    scale_max: int = Field(default=5, ge=2, le=10)


class SaveQuestionnaire(Contract):
    code: Code
    title: Title
    questions: list[QuestionInput] = Field(min_length=1, max_length=20, description=(
        "the questionnaire's questions, 1..20"))


class OpenSurvey(Contract):
    subject_id: Id
    questionnaire_code: Code
    about: ShortText = Field(description="the project or goal that ended")
    goal_id: Id | None = None
    reviewer_ids: list[Id] = Field(min_length=1, max_length=200, description=(
        "employee numbers of the reviewers to invite (1..200; never shown to anyone)"))
    threshold: int | None = Field(default=None, ge=3, le=200,
                                  description="answers needed before anything is shown; never below 3")
    closes_on: date


class AnswerSurvey(Contract):
    request_id: Id
    scores: dict[Code, int] = Field(min_length=1, max_length=20, description=(
        "question code -> score on the question's scale"))
    comment: Text = ""


class CloseSurvey(Contract):
    request_id: Id


class QuestionAggregate(Contract):
    code: str
    text: str
    scale_max: int
    average: Decimal = Field(description="the mean score given to the question, on its 1..scale_max scale")
    answers: int = Field(description="how many answered this question")


class SurveyView(Contract):
    """What anyone may see: counts, and aggregates only once the threshold is met. Never a reviewer."""

    id: str
    subject_id: str
    about: str
    goal_id: str | None
    questionnaire_code: str
    invited: int
    answered: int
    threshold: int
    state: Literal["open", "closed"] = Field(description="open (taking answers) or closed")
    released: bool
    aggregates: list[QuestionAggregate] = Field(description=(
        "per question, the answers' aggregate (empty until `released`)"))
    comments: list[str] = Field(description="shuffled, only once released")
    closes_on: date


class GivePraise(Contract):
    """Named praise: deliberately NOT anonymous."""

    person_id: Id
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    goal_id: Id | None = None


# -- objection analysis ------------------------------------------------------------------------------------------

class TagNotes(Contract):
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class ObjectionTagView(Contract):
    tag: str
    score: Decimal = Field(description="the classifier's confidence that the text raises this objection, 0..1")
    responses: list[str]


class TagNotesView(Contract):
    tags: list[ObjectionTagView] = Field(description="the objections found in the notes, with the playbook's answers")


class SavePlaybook(Contract):
    tag: Code
    responses: list[Annotated[str, StringConstraints(min_length=1, max_length=1000)]] = Field(
        max_length=20, description="suggested answers to the objection (话术), in order, at most 20")


class GetTeamBoard(Contract):
    manager_id: Id | None = Field(default=None, description="defaults to the actor")


class GetById(Contract):
    id: Id


class RunSweeps(Contract):
    """Run the timer's work now (HR/admin; the timer runs it every FEEDBACK_SWEEP_SECONDS)."""


class SweepCounts(Contract):
    """What one run of the sweeps did: how many of each (0: nothing due, or already done for that period)."""

    checkins_overdue: int = Field(description="check-ins newly flagged overdue")
    zero_activity: int = Field(description="people newly flagged for zero activity (零活动)")
    surveys_closed: int = Field(description="360 surveys closed at their deadline")
    weekly_leads: int = Field(description="weekly lead counts computed")
    cadence: int = Field(description="coaching cadences computed")
    participation: int = Field(description="participation rates computed")
    review_reminders: int = Field(description="review reminders sent")
    purged: int = Field(description="expired records purged")


class Answered(Contract):
    """The whole answer to an anonymous 360 or peer answer: nothing that could name the reviewer."""

    answered: Literal[True] = Field(default=True, description=(
        "always true: the answer was recorded (nothing else, so nothing names the reviewer)"))


class PraiseView(Contract):
    id: str
    person_id: str
    given_by: str
    text: str


class BoardCheckinDue(Contract):
    checkin_id: str
    person_id: str
    due_by: date
    overdue: bool


class BoardMissingReports(Contract):
    period: str = Field(description="the ISO week just ended")
    people: list[str] = Field(description="employee numbers of the direct reports without last week's report")


class BoardZeroActivity(Contract):
    person_id: str
    weeks: int = Field(description="full weeks in a row without valid activity")
    detected_on: date
    last_valid_on: date | None


class TeamBoardView(Contract):
    """A manager's "my team" board: check-ins due, last week's missing reports, zero activity, coaching cadence."""

    manager_id: str
    checkins_due: list[BoardCheckinDue] = Field(description="check-ins due with the manager's direct reports")
    missing_reports: BoardMissingReports = Field(description="last week's missing reports")
    zero_activity: list[BoardZeroActivity]
    coaching_cadence: CadenceView = Field(description="the manager's own coaching cadence against the standard")


class GetTeamObjections(Contract):
    manager_id: Id | None = None
    month: Month


class TeamObjectionsView(Contract):
    manager_id: str
    month: str
    visits: int = Field(description="the team's customer visits in the month")
    counts: dict[str, int] = Field(description="tag -> visits with that objection, most frequent first")


# -- events: part 1 ----------------------------------------------------------------------------------------------

class SupportRequest(Contract):
    goal_id: str | None
    text: str


class CheckinHeld(Event):
    """A monthly 1:1 was held (and, when `signed_off`, signed by both). Shared points only, never private ones."""

    type = "jixiao.feedback.checkin.held.v1"
    subject_field = "checkin_id"

    checkin_id: str
    month: str = Field(description="YYYY-MM the check-in belongs to")
    manager_id: str
    person_id: str
    held_on: date
    due_by: date = Field(description="the last working day of the month's last working week")
    on_time: bool = Field(description="held on or before due_by")
    signed_off: bool = Field(description="whether both the person and the manager signed the notes")
    goal_ids: list[str] = Field(default_factory=list)
    support_needed: int = Field(default=0, description="obstacles flagged as needing support")
    support_requests: list[SupportRequest] = Field(default_factory=list, description=(
        "the shared obstacles that need support, each of which goals can turn into a resource commitment"))


class CheckinOverdue(Event):
    """A check-in passed its due date without being held: flagged to the manager and to HR."""

    type = "jixiao.feedback.checkin.overdue.v1"
    subject_field = "checkin_id"

    checkin_id: str
    month: str
    manager_id: str
    person_id: str
    due_by: date
    detected_on: date


class ReportSubmitted(Event):
    """A light report was submitted or edited (counts only; the text stays in the service)."""

    type = "jixiao.feedback.report.submitted.v1"
    subject_field = "report_id"

    report_id: str
    person_id: str
    manager_id: str | None
    team_id: str | None
    kind: ReportKind = Field(description="daily or weekly report")
    period: str = Field(description="ISO week or date")
    goal_ids: list[str] = Field(default_factory=list)
    blockers: int = Field(description="how many blockers were reported")
    edit: bool = Field(default=False, description="an edit of an earlier submission in the same period")


class ParticipationComputed(Event):
    """Participation rate (主动填报率) for one person, team (a manager's direct reports) or unit, one month."""

    type = "jixiao.feedback.participation.computed.v1"
    subject_field = "scope_id"

    scope: ParticipationScope = Field(description="person, team (a manager's direct reports) or unit")
    scope_id: str = Field(description="person id, manager id (team) or org-unit id")
    month: str
    expected: int = Field(description="reports expected (person-periods)")
    submitted: int
    rate: Decimal = Field(description="submitted / expected in [0, 1]")
    previous_rate: Decimal | None = Field(default=None, description="the month before, for the trend")


class KeyEventRecorded(Event):
    type = "jixiao.feedback.key_event.recorded.v1"
    subject_field = "key_event_id"

    key_event_id: str
    person_id: str
    recorded_by: str
    polarity: Polarity
    title: str
    occurred_on: date
    goal_id: str | None = None


class VisitValidated(Event):
    """A visit counted as a valid lead: a check-in near the customer AND an opportunity entry in the window."""

    type = "jixiao.feedback.visit.validated.v1"
    subject_field = "visit_id"

    visit_id: str
    person_id: str
    customer_id: str
    opportunity_id: str
    visited_at: datetime
    week: str = Field(description="ISO week of the visit")
    distance_m: Decimal


class WeeklyLeadsCounted(Event):
    """One person's sales activity for one ISO week: feeds the '≥ 5 valid leads/week' process reward."""

    type = "jixiao.feedback.leads.counted.v1"
    subject_field = "person_id"

    person_id: str
    manager_id: str | None
    week: str
    week_start: date = Field(description="the Monday of the ISO week")
    visits: int
    valid_leads: int = Field(description="visits with both a near check-in and a linked opportunity")
    opportunities: int = Field(description="opportunities created in the week")
    demo_conversions: int = Field(description="opportunities moved to stage 'demo' in the week")


class ZeroActivityDetected(Event):
    """No valid activity for `weeks` full weeks (零活动): flagged to the manager and shown on the board."""

    type = "jixiao.feedback.activity.zero_detected.v1"
    subject_field = "person_id"

    person_id: str
    manager_id: str | None
    weeks: int
    last_valid_on: date | None
    detected_on: date


class CoachingCadenceComputed(Event):
    """A manager's coaching cadence for one month, against the standard (a KPI value for the manager)."""

    type = "jixiao.feedback.coaching.cadence_computed.v1"
    subject_field = "manager_id"

    manager_id: str
    month: str
    touches: int = Field(description="coaching touches in the month: recorded touches and 1:1 check-ins held")
    weekly_notes: int = Field(description="weekly coaching notes submitted for weeks of the month")
    average: Decimal = Field(description="touches per month over the trailing window ending with `month`")
    window_months: int
    standard: Decimal
    below_standard: bool = Field(description="the average is below the standard, or a check-in of the month is "
                                             "overdue")
    checkins_held: int = Field(default=0, description="1:1 check-ins held in the month (counted in touches)")
    checkins_overdue: int = Field(default=0, description="the month's check-ins flagged overdue")


class SurveyOpened(Event):
    """A 360 light-feedback request was opened. Counts only: never who was invited."""

    type = "jixiao.feedback.survey.opened.v1"
    subject_field = "request_id"

    request_id: str
    subject_id: str
    questionnaire_code: str
    about: str
    goal_id: str | None
    invited: int
    threshold: int
    closes_on: date


class SurveyAnswered(Event):
    """An invited reviewer answered: for the audit log, under a keyed pseudonym (the envelope's actor is the same
    pseudonym, never the person). No scores, no comment."""

    type = "jixiao.feedback.survey.answered.v1"
    subject_field = "request_id"

    request_id: str
    reviewer_pseudonym: str = Field(description="HMAC of (request, reviewer) under the service's key")
    answered: int


class SurveyClosed(Event):
    """A 360 request closed: aggregates only, and only when the threshold was met (`released`)."""

    type = "jixiao.feedback.survey.closed.v1"
    subject_field = "request_id"

    request_id: str
    subject_id: str
    invited: int
    answered: int
    threshold: int
    released: bool
    averages: dict[str, Decimal] = Field(default_factory=dict, description="question code -> average; empty "
                                                                         "unless released")


class PraiseGiven(Event):
    type = "jixiao.feedback.praise.given.v1"
    subject_field = "person_id"

    praise_id: str
    person_id: str
    given_by: str
    goal_id: str | None = None


# -- events: part 2 (reviews), declared now for incentives -------------------------------------------------------

class RatingComponent(Contract):
    name: str = Field(description="e.g. goals, manager, self, peer, competency")
    score: Decimal | None = Field(description="null when the component was missing (handled by the formula)")
    weight: Decimal = Field(description="the component's weight in the rating formula, 0..100")


class RatingFinalized(Event):
    """A person's final rating for a review cycle, from the cycle's pinned formula and scale."""

    type = "jixiao.feedback.rating.finalized.v1"
    subject_field = "person_id"

    rating_id: str
    person_id: str
    review_cycle_id: str
    goals_cycle_id: str
    label: RatingLabel
    score: Decimal = Field(description="the final score on the cycle's scale")
    components: list[RatingComponent]
    version: int = Field(description="1 when first finalized; each amendment adds one")
    reason: str = Field(default="", description="why this version exists (calibration adjustment etc.)")
    manager_id: str | None
    finalized_at: datetime = Field(description="when the rating was finalized (UTC)")


class RatingAmended(Event):
    """A finalized rating changed by a new version (e.g. an appeal decided 'amended'); `reason` is mandatory."""

    type = "jixiao.feedback.rating.amended.v1"
    subject_field = "person_id"

    rating_id: str
    person_id: str
    review_cycle_id: str
    goals_cycle_id: str
    label: RatingLabel
    score: Decimal = Field(description="the score after the amendment")
    components: list[RatingComponent]
    version: int
    previous_label: RatingLabel = Field(description="the rating label before the amendment")
    previous_score: Decimal = Field(description="the score before the amendment")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    appeal_id: str | None = None
    manager_id: str | None
    amended_at: datetime = Field(description="when the new version was made (UTC)")


# -- part 2: review cycles, scores, ratings, calibration, approval, appeals ---------------------------------------

ReviewStage = Literal["draft", "self_review", "manager_review", "calibration", "finalized", "published"]
ReviewState = Literal["not_started", "self_submitted", "manager_submitted", "calibrated", "finalized",
                      "acknowledged"]
Score = Annotated[Decimal, Field(ge=-1000, le=1000, decimal_places=4)]  # the scale's bounds are checked by feedback
Reason = Annotated[str, StringConstraints(max_length=2000)]


class ScaleBand(Contract):
    label: RatingLabel
    min: Score = Field(description="the lowest score that earns the label")


class RatingScale(Contract):
    low: Score = Field(default=Decimal(1), description="the bottom of the score scale")
    high: Score = Field(default=Decimal(5), description="the top of the score scale")
    bands: list[ScaleBand] = Field(min_length=1, max_length=5, description=(
        "score bands, each mapping a score range to a rating label"))


class FormulaComponent(Contract):
    name: Code = Field(description="self, manager, peer, coaching, participation (a manager's own)")
    weight: Annotated[Decimal, Field(ge=0, le=100)] = Field(description=(
        "the component's weight in the rating, 0..100 (the weights of a formula usually total 100)"))
    required: bool = Field(default=False, description="a missing required component stops the rating (422)")


class RatingFormulaSpec(Contract):
    """The formula (the goals formula language) over component scores; `has_<name>` is 1 when a component is
    present. A missing optional component is neutral: it takes the weighted mean of the present ones."""

    expression: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(description=(
        "the formula over the component scores (`0.7 * goals + 0.3 * competency`)"))
    components: list[FormulaComponent] = Field(min_length=1, max_length=10)
    scale: RatingScale = Field(description="the rating scale the score maps onto")


class DistributionTarget(Contract):
    groups: dict[Code, list[RatingLabel]] = Field(description="e.g. top: [S, A], middle: [B], bottom: [C, D]")
    target: dict[Code, Annotated[Decimal, Field(ge=0, le=1)]] = Field(description="share per group, adding to 1")
    tolerance: Rate = Field(default=Decimal("0.05"), description=(
        "how far the actual share may be from the target, 0..1"))
    hard: bool = Field(default=False, description="hard: finalizing off target is refused; soft: a warning")


class OpenReviewCycle(Contract):
    """A review cycle over a goals cycle: the formula and scale are pinned now (version 1)."""

    goals_cycle_id: Id
    name: Title
    formula: RatingFormulaSpec = Field(description="the rating formula and scale, pinned for the cycle as version 1")
    deadlines: dict[Literal["self_review", "manager_review", "calibration"], date] = Field(default_factory=dict)
    distribution: DistributionTarget | None = None
    peer_minimum: int = Field(default=3, ge=3, le=50, description="peer answers needed before peers count")
    manager_waits_for_self: bool = Field(default=True, description="no manager review while self review is open")
    approval_table: dict[str, list[str]] | None = Field(default=None, description=(
        "grade -> approval steps (chassis approvals), e.g. {\"M>=3\": [\"skip_level\", \"hrbp\"], \"*\": "
        "[\"skip_level\"]}; none: no approval"))
    people: list[Id] | None = Field(default=None, max_length=100_000, description="default: everyone with a manager")
    grades: dict[Id, Annotated[str, StringConstraints(max_length=16)]] = Field(default_factory=dict, description=(
        "employee number -> job grade, to route each rating's approval chain (the approval table is by grade)"))


class FormulaVersionView(Contract):
    cycle_id: str
    number: int = Field(description="the formula's version number (1: as pinned when the cycle opened)")
    formula: RatingFormulaSpec = Field(description="the rating formula and scale of this version")
    reason: str
    created_by: str | None = Field(description="the employee number of who revised the formula (null: the initial one)")
    created_at: datetime


class ReviewCycleView(Contract):
    id: str
    goals_cycle_id: str
    name: str
    stage: ReviewStage = Field(description="draft, self_review, manager_review, calibration, finalized or published")
    formula: FormulaVersionView = Field(description="the cycle's current rating formula version")
    deadlines: dict[str, date]
    distribution: DistributionTarget | None
    peer_minimum: int = Field(description="how many peer answers are needed before their aggregate is shown")
    manager_waits_for_self: bool = Field(description="whether the manager's review waits for the self review")
    counts: dict[str, int] = Field(description="review state -> how many reviews are in it")
    version: int


class AdvanceReviewCycle(Contract):
    cycle_id: Id
    to_stage: ReviewStage = Field(description="the next stage, named (a stale click cannot skip one)")
    expected_version: int | None = None


class ReviseRatingFormula(Contract):
    cycle_id: Id
    formula: RatingFormulaSpec = Field(description=(
        "the revised rating formula and scale (a new version; the ratings are recomputed)"))
    reason: Reason


class ScoreItem(Contract):
    code: Id = Field(description="a goal id, an indicator code or a competency code")
    kind: Literal["goal", "indicator", "competency"] = Field(default="goal", description=(
        "what is scored: a goal, an indicator or a competency"))
    score: Score = Field(description="the score given, on the cycle's scale")
    comment: Text = ""


class SubmitSelfReview(Contract):
    cycle_id: Id
    items: list[ScoreItem] = Field(min_length=1, max_length=100, description=(
        "the person's scores, one per goal, indicator or competency"))
    comment: Text = ""


class SubmitManagerReview(Contract):
    cycle_id: Id
    person_id: Id
    items: list[ScoreItem] = Field(min_length=1, max_length=100, description=(
        "the manager's scores, one per goal, indicator or competency"))
    comment: Text = ""
    peers: list[Id] = Field(default_factory=list, max_length=30, description="peers the manager asks to review")


class SubmitPeerReview(Contract):
    cycle_id: Id
    person_id: Id
    items: list[ScoreItem] = Field(min_length=1, max_length=100, description=(
        "the peer's scores, one per competency asked"))
    comment: Text = ""


class GetReview(Contract):
    cycle_id: Id
    person_id: Id | None = Field(default=None, description="default: the actor")


class ScoreSet(Contract):
    items: list[ScoreItem] = Field(description="the scores given, one per goal, indicator or competency")
    average: Decimal | None = Field(description="the mean of the scores given (null: nothing scored)")
    comment: str
    submitted_at: datetime | None
    late: bool = Field(description="whether it was submitted after the stage's deadline")


class PeerAggregate(Contract):
    """Counts and, once `counted`, the average and shuffled comments: never who answered."""

    invited: int
    answered: int
    minimum: int = Field(description="how many peer answers are needed before anything is shown")
    counted: bool = Field(description="whether enough peers answered for the aggregate to be shown")
    average: Decimal | None = Field(description="the mean of the peers' scores (null until `counted`)")
    comments: list[str] = Field(description="the peers' comments, shuffled (only once `counted`)")


class RatingChange(Contract):
    version: int
    label: RatingLabel
    score: Decimal = Field(description="the score after the change")
    kind: Literal["computed", "calibration", "amendment", "formula"] = Field(description=(
        "computed (from the formula), calibration, amendment (an appeal) or formula (a revised formula)"))
    reason: str
    changed_by: str | None = Field(description="the employee number of who changed it (null: the system)")
    appeal_id: str | None
    at: datetime


class ApprovalStepView(Contract):
    step: str
    person_id: str


class RatingView(Contract):
    id: str
    cycle_id: str
    person_id: str
    label: RatingLabel
    score: Decimal = Field(description="the score on the cycle's scale")
    components: list[RatingComponent]
    formula_version: int
    version: int
    approval_status: Literal["none", "pending", "approved", "sent_back"] = Field(description=(
        "none (no approval chain), pending, approved or sent_back"))
    approvers: list[ApprovalStepView]
    waiting_for: str | None
    history: list[RatingChange]


class GoalEvidence(Contract):
    """One of the person's goals in the review cycle's goals cycle, as the goals service answered the reader."""

    id: str
    title: str
    kind: str = Field(description="the goal's kind: okr or kpi")
    weight: Decimal
    progress: Decimal = Field(description="the final (rolled-up) progress as goals gives it (a fraction, 1 = done)")
    colour: Colour


class ScoreCardItemEvidence(Contract):
    indicator: str = Field(description="the indicator's code")
    value: Decimal | None = Field(description="the indicator's measured value (null: none measured, scored as missing)")
    target: Decimal = Field(description="the indicator's target")
    points: Decimal = Field(description="the points the value earned, before weighting")
    weight: Decimal = Field(description="the item's weight in the template, percent (the items total 100)")
    weighted_points: Decimal = Field(description="the points times the item's weight")
    missing: bool = Field(default=False, description="whether the indicator had no value (scored 0)")


class ScoreCardEvidence(Contract):
    """The goals service's score card of one template assigned to the person."""

    template_code: str
    total: Decimal = Field(description="the score card's total points, the sum of the weighted points")
    items: list[ScoreCardItemEvidence] = Field(description=(
        "one line per indicator of the template: value, target, points and weight"))


class ReviewView(Contract):
    id: str
    cycle_id: str
    person_id: str
    manager_id: str | None
    grade: str | None
    state: ReviewState = Field(description=(
        "not_started, self_submitted, manager_submitted, calibrated, finalized or acknowledged"))
    self_review: ScoreSet | None = Field(description="the person's self review (null: not submitted)")
    manager_review: ScoreSet | None = Field(description=(
        "the manager's scores (null: not submitted, or not visible to the reader)"))
    peer: PeerAggregate = Field(description="the peers' answers, aggregated anonymously")
    rating: RatingView | None = Field(description=(
        "the rating (null until it is computed, or not visible to the reader)"))
    evidence: dict[str, int] = Field(default_factory=dict, description=(
        "what feedback holds on the year: check-ins held, reports, key events (+/-), coaching received, 360s"))
    goals: list[GoalEvidence] | None = Field(default=None, description=(
        "the person's goals in the cycle's goals cycle (read from goals as the viewer, on get_review); "
        "null when not asked or not available (see evidence_missing)"))
    scorecards: list[ScoreCardEvidence] = Field(default_factory=list, description=(
        "the goals service's score card per template the person's goals come from; empty when none"))
    evidence_missing: list[str] = Field(default_factory=list, description=(
        "evidence parts that could not be read this time (`goals`, `scorecard`): the view answers without them"))
    evidence_notes: dict[str, str] = Field(default_factory=dict, description="why each missing part is missing")
    acknowledged_at: datetime | None = Field(description="when the person acknowledged the result (UTC; null: not yet)")
    version: int


class AdjustRating(Contract):
    """A calibration adjustment: a new version with a mandatory reason (If-Match: `expected_version`)."""

    rating_id: Id
    label: RatingLabel
    score: Score | None = Field(default=None, description="default: the label's band floor when it changes")
    reason: Reason
    expected_version: int = Field(ge=1, description="the rating version you read (If-Match): 409 when it changed since")


class GetCalibration(Contract):
    cycle_id: Id
    org_unit_id: Id | None = Field(default=None, description="one unit and the units below it; none: all")
    cursor: str | None = Field(default=None, max_length=200)
    limit: Limit = 50


class DistributionLine(Contract):
    group: str = Field(description="the label group's code from the cycle's distribution (`top`: S and A...)")
    labels: list[str] = Field(description="the rating labels in the group")
    target: Decimal = Field(description="the group's intended share of people, 0..1")
    actual: Decimal = Field(description="the group's actual share of people, 0..1")
    count: int = Field(description="how many people have a label of the group")
    off: bool = Field(description="whether the actual share is outside the target's tolerance")


class CalibrationView(Contract):
    cycle_id: str
    org_unit_id: str | None
    total: int = Field(description="how many ratings are in scope")
    by_label: dict[str, int] = Field(description="rating label -> how many people have it")
    distribution: list[DistributionLine] = Field(description=(
        "per label group, the actual share of people against the intended one"))
    hard: bool = Field(description=(
        "whether the distribution is enforced (a finalize outside the tolerance is refused) or only a guide"))
    items: list[RatingView]
    next_cursor: str | None


class RecordCalibrationSession(Contract):
    cycle_id: Id
    org_unit_id: Id | None = None
    attendees: list[Id] = Field(min_length=1, max_length=100)
    decisions: list[Annotated[str, StringConstraints(min_length=1, max_length=1000)]] = Field(
        max_length=500, description="the session's decisions, one line each (at most 500)")
    notes: Text = ""


class CalibrationSessionView(Contract):
    id: str
    cycle_id: str
    org_unit_id: str | None
    attendees: list[str]
    decisions: list[str] = Field(description="the session's decisions, one line each")
    notes: str
    adjustments: list[RatingChange] = Field(description="adjustments made in the cycle's unit before this record")
    recorded_by: str
    held_at: datetime = Field(description="when the calibration session was held (UTC)")


class DecideRating(Contract):
    rating_id: Id
    decision: Literal["approve", "send_back"] = Field(description=(
        "approve (on to the next approver) or send_back (to the manager, with a reason)"))
    reason: Reason = ""


class AcknowledgeRating(Contract):
    cycle_id: Id


class ListLateReviews(Contract):
    cycle_id: Id


class LateReview(Contract):
    person_id: str
    manager_id: str | None
    stage: Literal["self_review", "manager_review"] = Field(description=(
        "the stage whose review is late: self_review or manager_review"))
    due: date
    submitted_at: datetime | None = Field(description="when it was submitted, late (null: still missing)")


class LateReviewList(Contract):
    items: list[LateReview] = Field(description="the reviews past their stage's deadline")


class ReviewCycleAdvanced(Event):
    type = "jixiao.feedback.review_cycle.advanced.v1"
    subject_field = "cycle_id"

    cycle_id: str
    goals_cycle_id: str
    stage: ReviewStage = Field(description="the stage the cycle entered")
    previous: ReviewStage = Field(description="the stage the cycle left")
    deadline: date | None = Field(default=None, description="the new stage's last day (null: none)")


class RatingAdjusted(Event):
    """A calibration adjustment (before finalize): before and after, with the reason."""

    type = "jixiao.feedback.rating.adjusted.v1"
    subject_field = "person_id"

    rating_id: str
    person_id: str
    cycle_id: str
    before_label: RatingLabel = Field(description="the rating label before the adjustment")
    after_label: RatingLabel = Field(description="the rating label after the adjustment")
    before_score: Decimal = Field(description="the score before the adjustment")
    after_score: Decimal = Field(description="the score after the adjustment")
    reason: str
    version: int
    adjusted_by: str = Field(description="the employee number of who adjusted the rating in calibration")


class RatingApprovalStep(Event):
    """A node of a rating's approval chain: `waiting` (to the approver), `approved`, `sent_back` (to HR)."""

    type = "jixiao.feedback.rating.approval.v1"
    subject_field = "person_id"

    rating_id: str
    person_id: str
    cycle_id: str
    status: Literal["waiting", "approved", "sent_back", "complete"] = Field(description=(
        "waiting (on the approver), approved, sent_back (to the manager) or complete"))
    step: str | None
    approver_id: str | None = Field(description="the approver at this step (null: none could be routed)")
    reason: str = ""


class ReviewReminder(Event):
    """To whoever still has to submit in a stage: `due_soon` (within the reminder days of the deadline) and
    `overdue` (past it), once each per cycle, stage and recipient. For the manager stage, `people` lists whose
    reviews are missing."""

    type = "jixiao.feedback.review.reminder.v1"
    subject_field = "recipient_id"

    cycle_id: str
    stage: Literal["self_review", "manager_review"] = Field(description=(
        "the stage still open for them: self_review or manager_review"))
    recipient_id: str = Field(description="the employee number of who is reminded")
    people: list[str] = Field(description="employee numbers of who still has to submit")
    due: date = Field(description="the stage's deadline (ISO date)")
    kind: Literal["due_soon", "overdue"] = Field(description=(
        "due_soon (within the reminder days of the deadline) or overdue"))


class RatingAmendment(Contract):
    """What an amended appeal decision may change on a rating (compliance's `AppealDecided.amendment` for
    `target_kind: rating`): the label, and optionally a score inside that label's band (default: the band's
    floor when the label changes)."""

    label: RatingLabel
    score: Score | None = Field(default=None, description=(
        "the new score, inside the label's band (null: the band's floor when the label changes)"))
