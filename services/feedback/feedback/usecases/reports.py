"""Light reports (done / blockers / next), team summaries and participation rates (主动填报率)."""
from __future__ import annotations

from datetime import date

from chassis.ids import new_id
from contracts import feedback as c
from contracts.actor import Actor
from feedback import access, views
from feedback import models as m
from feedback.domain import reports as rules
from feedback.domain.calendar import previous_months, week_start, weeks_of_month
from feedback.domain.errors import InvalidInput
from feedback.repositories import FeedbackUnitOfWork as Uow
from feedback.usecases.common import active, load, missing, require, settings, subject_of, team_of, today

REPEAT_LOOKBACK = 8  # periods searched back for a repeated blocker


def set_template(uow: Uow, actor: Actor | None, command: c.SetReportTemplate) -> c.SetReportTemplate:
    with uow:
        require(uow, actor, "feedback.team.read", access.of(access.TEAM, command.team_id), "team_id")
        if subject_of(actor) != command.team_id and not uow.access.can(actor, "feedback.company.manage",
                                                                        access.company()):
            require(uow, actor, "feedback.checkin.schedule", access.of(access.CHECKIN, command.team_id), "team_id")
        row = uow.repo.get(m.ReportTemplate, command.team_id, lock=True)
        if row is None:
            row = m.ReportTemplate(team_id=command.team_id)
            uow.repo.add(row)
        row.kind, row.extra_fields, row.goal_links = command.kind, list(command.extra_fields), command.goal_links
        return command


def submit(uow: Uow, actor: Actor | None, command: c.SubmitReport) -> c.ReportView:
    """Write or edit the actor's report for a period that is open; a closed period is refused, nothing written."""
    with uow:
        person = subject_of(actor)
        require(uow, actor, "feedback.report.write", access.of(access.REPORT, person), "person_id")
        start, _ = rules.check_open(command.kind, command.period, today(uow), settings(uow).report_grace_days)
        manager = uow.access.index.manager_of(person)
        template = uow.repo.get(m.ReportTemplate, manager) if manager else None
        rules.check_extra(command.extra, template.extra_fields if template is not None else [])
        if template is not None and not template.goal_links and command.goal_ids:
            raise InvalidInput("goal_ids", "this team's reports do not link goals")
        row = uow.reports.find(person, command.kind, command.period, lock=True)
        now, edit = uow.now(), row is not None
        if row is None:
            row = m.Report(id=new_id(), person_id=person, kind=command.kind, period=command.period,
                           period_start=start, submitted_at=now, version=0)
            uow.repo.add(row)
        row.manager_id, row.team_id = manager, manager
        row.done, row.blockers, row.next_plan = command.done, list(command.blockers), command.next_plan
        row.goal_ids, row.extra = list(command.goal_ids), dict(command.extra)
        row.updated_at = now
        row.version += 1
        uow.publish(c.ReportSubmitted(report_id=row.id, person_id=person, manager_id=manager, team_id=manager,
                                      kind=command.kind, period=command.period, goal_ids=row.goal_ids,
                                      blockers=len(row.blockers), edit=edit))
        uow.session.flush()
        return views.report(row)


def team_summary(uow: Uow, actor: Actor | None, command: c.GetTeamSummary) -> c.TeamSummaryView:
    with uow:
        manager = command.manager_id or subject_of(actor)
        require(uow, actor, "feedback.team.read", access.of(access.TEAM, manager), "manager_id")
        rules.period_bounds(command.kind, command.period)
        team = team_of(uow, manager)
        earlier = [rules.previous_period(command.kind, command.period)]
        for _ in range(REPEAT_LOOKBACK - 1):
            earlier.append(rules.previous_period(command.kind, earlier[-1]))
        current = [rules.Report(person, command.period, done, tuple(blockers), tuple(goals))
                   for person, done, blockers, goals in uow.reports.summary_rows(team, command.kind, command.period)]
        blocked = [r.person_id for r in current if r.blockers]  # only their history can repeat a blocker
        slot = {p: i for i, p in enumerate(earlier)}
        history: dict[str, list[set[str]]] = {p: [set() for _ in earlier] for p in blocked}
        for person, period, blockers in uow.reports.blocker_history(blocked, command.kind, earlier):
            history[person][slot[period]] = {rules.blocker_key(b) for b in blockers}
        summary = rules.summarize(team, current, history)
        return c.TeamSummaryView(
            manager_id=manager, kind=command.kind, period=command.period, team_size=summary.team_size,
            reported=summary.reported, missing=summary.missing,
            blockers=[c.BlockerView(person_id=p, text=t, goal_ids=list(g), repeated_weeks=n)
                      for p, t, g, n in summary.blockers],
            by_goal=[c.GoalGroupView(goal_id=g, people=p, done=d) for g, p, d in summary.by_goal])


def expected_weeks(month: str, on: date) -> list[str]:
    """The month's ISO weeks that have started by `on` (a week not begun is not yet expected)."""
    return [w for w in weeks_of_month(month) if week_start(w) <= on]


def scope_people(uow: Uow, scope: str, scope_id: str) -> list[str]:
    index = uow.access.index
    if scope == "person":
        return [scope_id]
    if scope == "team":
        return team_of(uow, scope_id)
    units = set(index.units_within(scope_id))
    return [pid for pid, p in index.people.items() if p.org_unit_id in units and active(index, pid)]


def rate_of(uow: Uow, people: list[str], month: str, on: date) -> tuple[int, int]:
    weeks = expected_weeks(month, on)
    if not weeks or not people:
        return 0, 0
    counts = uow.reports.submitted_counts("weekly", weeks)
    return len(people) * len(weeks), sum(min(counts.get(p, 0), len(weeks)) for p in people)


def participation(uow: Uow, actor: Actor | None, command: c.GetParticipation) -> c.ParticipationView:
    with uow:
        if command.scope == "unit":
            require(uow, actor, "feedback.unit.read", access.unit(command.scope_id), "scope_id")
        elif command.scope == "team":
            require(uow, actor, "feedback.team.read", access.of(access.TEAM, command.scope_id), "scope_id")
        else:
            require(uow, actor, "feedback.report.read", access.of(access.REPORT, command.scope_id), "scope_id")
        people = scope_people(uow, command.scope, command.scope_id)
        on = today(uow)
        trend = []
        for month in previous_months(command.month, command.trend_months):
            expected, submitted = rate_of(uow, people, month, on)
            trend.append(c.ParticipationPoint(month=month, expected=expected, submitted=submitted,
                                              rate=rules.rate(submitted, expected)))
        last = trend[-1]
        return c.ParticipationView(scope=command.scope, scope_id=command.scope_id, month=command.month,
                                   expected=last.expected, submitted=last.submitted, rate=last.rate, trend=trend)


def publish_participation(uow: Uow, month: str) -> int:
    """The monthly sweep: one ParticipationComputed per team and per org unit (once per month)."""
    with uow:
        if not uow.sweeps.claim("participation", month, uow.now()):
            return 0
        index = uow.access.index
        on = today(uow)
        weeks = expected_weeks(month, on)
        counts = uow.reports.submitted_counts("weekly", weeks) if weeks else {}
        previous = previous_months(month, 2)[0]
        prev_weeks = expected_weeks(previous, on)
        prev_counts = uow.reports.submitted_counts("weekly", prev_weeks) if prev_weeks else {}
        people = [pid for pid in index.people if active(index, pid)]
        groups: dict[tuple[str, str], list[str]] = {}
        for pid in people:
            person = index.person(pid)
            if person is None:  # active() found them: never
                continue
            if person.manager_id:
                groups.setdefault(("team", person.manager_id), []).append(pid)
            unit = person.org_unit_id
            while unit is not None:  # a unit counts everyone below it
                groups.setdefault(("unit", unit), []).append(pid)
                found = index.unit(unit)
                unit = None if found is None else found.parent_id
        events = []
        for (scope, scope_id), members in sorted(groups.items()):
            expected = len(members) * len(weeks)
            submitted = sum(min(counts.get(p, 0), len(weeks)) for p in members)
            prev_expected = len(members) * len(prev_weeks)
            prev = sum(min(prev_counts.get(p, 0), len(prev_weeks)) for p in members)
            events.append(c.ParticipationComputed(
                scope=scope, scope_id=scope_id, month=month, expected=expected, submitted=submitted,
                rate=rules.rate(submitted, expected),
                previous_rate=rules.rate(prev, prev_expected) if prev_expected else None))
        uow.publish(*events)
        return len(events)


def get_report(uow: Uow, actor: Actor | None, report_id: str) -> c.ReportView:
    with uow:
        row = load(uow, m.Report, report_id, "report_id")
        require(uow, actor, "feedback.report.read", access.of(access.REPORT, row.person_id), "report_id",
                hidden=missing(m.Report, report_id))
        return views.report(row)
