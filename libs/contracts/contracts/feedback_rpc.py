"""The feedback service's RPCs, declared once (contracts.rpc): method -> request, response, the access it needs.

Checked by tests/architecture/test_rpc_tables.py against feedback.service.FeedbackService, the gateway's feedback
routes, the actions feedback registers (feedback/access.py) and the README, whose RPC table is this one
(`python -m contracts.rpc feedback` prints it)."""
from __future__ import annotations

from contracts import bulk as b
from contracts import compliance as dsr
from contracts import feedback as c
from contracts.rpc import Rpc, RpcTable

TABLE = RpcTable("feedback", [
    # calendar and check-ins
    Rpc("set_calendar", c.SetCalendar, c.CalendarView, "feedback.company.manage",
        "Set the company calendar (`preset: zh-CN` adds the State Council's 2026 holidays and make-up days)"),
    Rpc("get_calendar", None, c.CalendarView, "feedback.company.read", "The company calendar"),
    Rpc("schedule_checkins", c.ScheduleCheckins, c.CheckinList,
        "feedback.company.manage (every pair), feedback.checkin.schedule (one manager's line)",
        "Schedule the month's 1:1s in its last working week (existing pairs kept)"),
    Rpc("hold_checkin", c.HoldCheckin, c.CheckinView, "feedback.checkin.write",
        "Hold a check-in: goals with their colour, progress / obstacles / behaviour, each shared or private"),
    Rpc("add_checkin_notes", c.AddCheckinNotes, c.CheckinView, "feedback.checkin.write",
        "Add notes (shared or private) to a check-in"),
    Rpc("sign_off_checkin", c.SignOffCheckin, c.CheckinView, "feedback.checkin.write",
        "Sign a held check-in off (`signed_off` once both parties signed)"),
    Rpc("get_checkin", c.GetCheckin, c.CheckinView, "feedback.checkin.read",
        "A check-in: the shared points and the viewer's own private ones"),
    Rpc("list_checkins", c.ListCheckins, c.CheckinList, "feedback.checkin.read (a manager's: feedback.team.read)",
        "A person's or a manager's check-ins"),
    # reports
    Rpc("set_report_template", c.SetReportTemplate, c.SetReportTemplate,
        "feedback.team.read and feedback.checkin.schedule, or feedback.company.manage",
        "A team's report template (at most 3 extra fields, goal links on or off)"),
    Rpc("submit_report", c.SubmitReport, c.ReportView, "feedback.report.write",
        "Submit or edit the caller's daily/weekly report until `report_grace_days` after the period "
        "(a closed or future period: 400 naming `period`)"),
    Rpc("get_team_summary", c.GetTeamSummary, c.TeamSummaryView, "feedback.team.read",
        "A manager's team summary: who has not reported, blockers with repeats first, grouped by goal"),
    Rpc("get_participation", c.GetParticipation, c.ParticipationView,
        "feedback.report.read / feedback.team.read / feedback.unit.read (by scope)",
        "Participation rate (主动填报率) of a person, team or unit, with its trend"),
    # key events
    Rpc("record_key_event", c.RecordKeyEvent, c.KeyEventView, "feedback.key_event.record",
        "Record a positive or negative key event about someone else"),
    Rpc("respond_key_event", c.RespondKeyEvent, c.KeyEventView, "feedback.key_event.respond",
        "The employee's response to a key event about them"),
    Rpc("list_key_events", c.ListKeyEvents, c.KeyEventList, "feedback.key_event.read", "A person's key events"),
    # sales activity
    Rpc("register_customer", c.RegisterCustomer, c.RegisterCustomer, "feedback.activity.write",
        "Register a customer with its location"),
    Rpc("record_opportunity", c.RecordOpportunity, c.OpportunityView, "feedback.activity.write",
        "Record or move an opportunity"),
    Rpc("record_visit", c.RecordVisit, c.VisitView, "feedback.activity.write",
        "Record a visit: a valid lead only with a near, precise check-in and an opportunity entered close to it"),
    Rpc("get_weekly_leads", c.GetWeeklyLeads, c.WeeklyLeadsView, "feedback.activity.read",
        "A person's visits and valid leads in a week"),
    Rpc("get_team_objections", c.GetTeamObjections, c.TeamObjectionsView, "feedback.team.read",
        "The team's most frequent customer objections in a month"),
    # coaching
    Rpc("record_coaching", c.RecordCoaching, c.CoachingView, "feedback.coaching.write",
        "Record a coaching touch with someone in one's line"),
    Rpc("submit_coaching_notes", c.SubmitCoachingNotes, c.SubmitCoachingNotes, "feedback.coaching.read",
        "The caller's weekly coaching notes (辅导纪要)"),
    Rpc("get_cadence", c.GetCadence, c.CadenceView, "feedback.coaching.read",
        "A manager's coaching cadence against the standard (touches + 1:1s held; overdue 1:1s count against it)"),
    # anonymous 360 and praise
    Rpc("save_questionnaire", c.SaveQuestionnaire, c.SaveQuestionnaire, "feedback.company.manage",
        "Save a 360 questionnaire template"),
    Rpc("open_survey", c.OpenSurvey, c.SurveyView, "feedback.survey.open",
        "Open an anonymous 360 request (threshold never below 3)"),
    Rpc("answer_survey", c.AnswerSurvey, c.Answered, "an invited reviewer",
        "Answer a 360 request (stored under a keyed pseudonym; the answer names nobody)"),
    Rpc("close_survey", c.CloseSurvey, c.SurveyView, "feedback.survey.open", "Close a 360 request"),
    Rpc("get_survey", c.GetById, c.SurveyView, "feedback.survey.read",
        "A 360 request: counts, and aggregates once the threshold is met"),
    Rpc("give_praise", c.GivePraise, c.PraiseView, "feedback.praise.give", "Named praise (not anonymous)"),
    # objections
    Rpc("tag_notes", c.TagNotes, c.TagNotesView, "feedback.activity.write",
        "Tag visit notes with customer objections and the playbook's suggested responses"),
    Rpc("save_playbook", c.SavePlaybook, c.SavePlaybook, "feedback.company.manage",
        "Set the playbook's responses to an objection"),
    # the board and the sweeps
    Rpc("get_team_board", c.GetTeamBoard, c.TeamBoardView, "feedback.team.read",
        "A manager's team: check-ins due, missing reports, zero activity, coaching cadence"),
    Rpc("run_sweeps", c.RunSweeps, c.SweepCounts, "feedback.company.manage",
        "Run the timer's work now (overdue check-ins, zero activity, 360s to close, leads, cadence, "
        "participation, review reminders, retention)"),
    # review cycles, ratings, calibration, approval (part 2)
    Rpc("open_review_cycle", c.OpenReviewCycle, c.ReviewCycleView, "feedback.company.manage",
        "Open a review cycle over a goals cycle: formula and scale pinned as version 1, deadlines per stage, "
        "target distribution, approval table by grade"),
    Rpc("get_review_cycle", c.GetById, c.ReviewCycleView, "feedback.company.read",
        "A review cycle: stage, pinned formula, counts per state"),
    Rpc("advance_review_cycle", c.AdvanceReviewCycle, c.ReviewCycleView, "feedback.company.manage",
        "Move the cycle to its next stage, named (calibration rates everyone; finalizing checks reviews, "
        "approvals and the distribution)"),
    Rpc("revise_rating_formula", c.ReviseRatingFormula, c.FormulaVersionView, "feedback.company.manage",
        "A new version of the formula and scale with a reason (refused, 422 `stage`, once ratings exist)"),
    Rpc("submit_self_review", c.SubmitSelfReview, c.ReviewView, "feedback.review.self",
        "The caller's self review (a score off the scale: 400 `items[i].score`; out of stage: 422 `stage`)"),
    Rpc("submit_manager_review", c.SubmitManagerReview, c.ReviewView, "feedback.review.manager",
        "The direct manager's review of a report, and the peers asked to review them"),
    Rpc("submit_peer_review", c.SubmitPeerReview, c.Answered, "an invited peer",
        "An invited peer's review, anonymous to the subject"),
    Rpc("get_review", c.GetReview, c.ReviewView, "feedback.review.read",
        "A review: scores, peer aggregate, evidence (with the goals service's part), the rating once published"),
    Rpc("list_late_reviews", c.ListLateReviews, c.LateReviewList, "feedback.company.manage",
        "Late and missing submissions per stage"),
    Rpc("get_calibration", c.GetCalibration, c.CalibrationView,
        "feedback.unit.read (the whole company: feedback.company.manage)",
        "The distribution against the target and a page of ratings with their history"),
    Rpc("export_scorecards", b.ExportPage, b.ExportRows,
        "feedback.unit.read (a unit), feedback.company.manage (all), else the caller's own row",
        "A page of a review cycle's score cards (self, manager and peer scores, rating) in person order, "
        "for a streamed export"),
    Rpc("export_ratings", b.ExportPage, b.ExportRows,
        "feedback.unit.read (a unit), feedback.company.manage (all), else the caller's own once published",
        "A page of a review cycle's ratings in person order, for a streamed export"),
    Rpc("export_participation", b.ParticipationExportPage, b.ExportRows,
        "feedback.unit.read (a unit), feedback.company.manage (all), else the caller's own row",
        "A page of a month's weekly-report participation, one row a person, for a streamed export"),
    Rpc("adjust_rating", c.AdjustRating, c.RatingView, "feedback.review.calibrate",
        "A calibration adjustment with its reason; `expected_version` from If-Match (409 when stale)"),
    Rpc("record_calibration_session", c.RecordCalibrationSession, c.CalibrationSessionView,
        "feedback.unit.read (the whole company: feedback.company.manage)",
        "Record a calibration session: attendees, decisions, the adjustments made"),
    Rpc("decide_rating", c.DecideRating, c.RatingView, "the current approver of its chain (never the rater)",
        "Approve a rating or send it back with a reason (the approval chain by grade)"),
    Rpc("acknowledge_rating", c.AcknowledgeRating, c.ReviewView, "the person, once published",
        "The employee acknowledges their published rating"),
    # other services
    Rpc("describe_appeal_target", dsr.DescribeAppealTarget, dsr.AppealTargetFacts,
        "the rating's owner (compliance asks as the appellant)",
        "A finalized rating as an appeal target: owner, who rated, label and score (404 unless the caller's)"),
    Rpc("export_subject_data", dsr.ExportSubjectData, dsr.SubjectDataExport, "dsr.request",
        "A person's feedback records for a data-subject export (compliance asks)"),
])
