"""The feedback service over HTTP: the company calendar, monthly check-ins, light reports with team summaries and
participation, key events, sales activity (customers, opportunities, visits, weekly valid leads, objections),
coaching and its cadence, anonymous 360 requests and named praise, the "my team" board."""
from __future__ import annotations

from contracts import feedback as c
from gateway.api import Route
from gateway.pagination import SERVICE
from gateway.routes.build import rpc_route

READ, WRITE = "feedback:read", "feedback:write"


def routes() -> list[Route]:
    def r(method, path, rpc, summary, tag, scope, **options):
        return rpc_route(method, path, f"feedback.{rpc}", summary=summary, scope=scope, tag=tag, **options)

    return [
        # calendar and check-ins
        r("GET", "/feedback/calendar", "get_calendar", "The company calendar (working days, holidays)", "check-ins",
          READ, response=c.CalendarView, payload=False),
        r("PUT", "/feedback/calendar", "set_calendar", "Set the company calendar (zh-CN preset available)",
          "check-ins", WRITE, request=c.SetCalendar, response=c.CalendarView),
        r("POST", "/feedback/checkins/schedule", "schedule_checkins",
          "Schedule the month's 1:1s in its last working week (every pair, or one manager's line)", "check-ins",
          WRITE, request=c.ScheduleCheckins, response=c.CheckinList),
        r("GET", "/feedback/checkins", "list_checkins", "A person's or a manager's check-ins", "check-ins", READ,
          request=c.ListCheckins, response=c.CheckinList, paging=SERVICE),
        r("GET", "/feedback/checkins/{checkin_id}", "get_checkin",
          "Read a check-in (shared points, and the caller's own private ones)", "check-ins", READ,
          request=c.GetCheckin, response=c.CheckinView),
        r("POST", "/feedback/checkins/{checkin_id}/hold", "hold_checkin",
          "Hold a check-in: goals with their colour, obstacles, behaviour", "check-ins", WRITE,
          request=c.HoldCheckin, response=c.CheckinView),
        r("POST", "/feedback/checkins/{checkin_id}/notes", "add_checkin_notes", "Add notes (shared or private)",
          "check-ins", WRITE, request=c.AddCheckinNotes, response=c.CheckinView),
        r("POST", "/feedback/checkins/{checkin_id}/sign-off", "sign_off_checkin",
          "Sign a held check-in off (signed off once both parties signed)", "check-ins", WRITE,
          request=c.SignOffCheckin, response=c.CheckinView),
        # reports
        r("PUT", "/feedback/report-templates/{team_id}", "set_report_template", "Set a team's report template",
          "reports", WRITE, request=c.SetReportTemplate, response=c.SetReportTemplate),
        r("POST", "/feedback/reports", "submit_report",
          "Submit or edit the caller's daily/weekly report (until the period closes)", "reports", WRITE,
          request=c.SubmitReport, response=c.ReportView),
        r("GET", "/feedback/team-summary", "get_team_summary",
          "A manager's team summary: who has not reported, blockers first (repeated ones on top), by goal",
          "reports", READ, request=c.GetTeamSummary, response=c.TeamSummaryView),
        r("GET", "/feedback/participation", "get_participation",
          "Participation rate (主动填报率) of a person, team or unit, with its trend", "reports", READ,
          request=c.GetParticipation, response=c.ParticipationView),
        # key events
        r("POST", "/feedback/key-events", "record_key_event", "Record a positive or negative key event",
          "key events", WRITE, request=c.RecordKeyEvent, response=c.KeyEventView, creates=True),
        r("GET", "/feedback/key-events", "list_key_events", "A person's key events", "key events", READ,
          request=c.ListKeyEvents, response=c.KeyEventList, paging=SERVICE),
        r("POST", "/feedback/key-events/{key_event_id}/response", "respond_key_event",
          "The employee's response to a key event", "key events", WRITE, request=c.RespondKeyEvent,
          response=c.KeyEventView),
        # sales activity
        r("PUT", "/feedback/customers/{customer_id}", "register_customer",
          "Register a customer with its location", "sales activity", WRITE, request=c.RegisterCustomer,
          response=c.RegisterCustomer),
        r("POST", "/feedback/opportunities", "record_opportunity", "Record or move an opportunity",
          "sales activity", WRITE, request=c.RecordOpportunity, response=c.OpportunityView),
        r("POST", "/feedback/visits", "record_visit",
          "Record a visit (valid only with a near check-in and a linked opportunity)", "sales activity", WRITE,
          request=c.RecordVisit, response=c.VisitView, creates=True),
        r("GET", "/feedback/weekly-leads", "get_weekly_leads", "A person's visits and valid leads in a week",
          "sales activity", READ, request=c.GetWeeklyLeads, response=c.WeeklyLeadsView),
        r("GET", "/feedback/team-objections", "get_team_objections",
          "The team's most frequent customer objections this month", "sales activity", READ,
          request=c.GetTeamObjections, response=c.TeamObjectionsView),
        r("POST", "/feedback/objections/tag", "tag_notes",
          "Tag visit notes with customer objections and the playbook's suggested responses", "sales activity",
          WRITE, request=c.TagNotes, response=c.TagNotesView),
        r("PUT", "/feedback/playbook/{tag}", "save_playbook", "Set the playbook's responses to an objection",
          "sales activity", WRITE, request=c.SavePlaybook, response=c.SavePlaybook),
        # coaching
        r("POST", "/feedback/coaching", "record_coaching", "Record a coaching touch", "coaching", WRITE,
          request=c.RecordCoaching, response=c.CoachingView, creates=True),
        r("PUT", "/feedback/coaching-notes/{week}", "submit_coaching_notes",
          "Submit the caller's weekly coaching notes (辅导纪要)", "coaching", WRITE,
          request=c.SubmitCoachingNotes, response=c.SubmitCoachingNotes),
        r("GET", "/feedback/cadence", "get_cadence", "A manager's coaching cadence against the standard",
          "coaching", READ, request=c.GetCadence, response=c.CadenceView),
        # 360 and praise
        r("PUT", "/feedback/questionnaires/{code}", "save_questionnaire", "Save a 360 questionnaire template",
          "360", WRITE, request=c.SaveQuestionnaire, response=c.SaveQuestionnaire),
        r("POST", "/feedback/surveys", "open_survey",
          "Open an anonymous 360 request (threshold never below 3)", "360", WRITE, request=c.OpenSurvey,
          response=c.SurveyView, creates=True),
        r("GET", "/feedback/surveys/{id}", "get_survey",
          "A 360 request: counts, and aggregates once the threshold is met", "360", READ, request=c.GetById,
          response=c.SurveyView),
        r("POST", "/feedback/surveys/{request_id}/answers", "answer_survey",
          "Answer a 360 request you were invited to (anonymous)", "360", WRITE, request=c.AnswerSurvey,
          status=201),
        r("POST", "/feedback/surveys/{request_id}/close", "close_survey", "Close a 360 request", "360", WRITE,
          request=c.CloseSurvey, response=c.SurveyView),
        r("POST", "/feedback/praise", "give_praise", "Named praise (not anonymous)", "360", WRITE,
          request=c.GivePraise, status=201),
        # the board and the sweeps
        r("GET", "/feedback/team-board", "get_team_board",
          "A manager's team: check-ins due, missing reports, zero activity, coaching cadence", "board", READ,
          request=c.GetTeamBoard),
        r("POST", "/feedback/sweeps", "run_sweeps",
          "Run the timer's work now (overdue check-ins, zero activity, cadence, participation, retention)",
          "board", WRITE, request=c.RunSweeps),
    ]
