"""Use cases on a migrated SQLite database (the embedded default), no broker: check-ins, reports and
participation, key events, sales activity, coaching cadence, anonymous 360, objections, the board, export and
erasure. Today is 2026-12-02 (Q4 2026); data is in the current period."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chassis.errors import Forbidden, ServiceError
from contracts import feedback as c
from feedback.domain import errors as domain
from feedback.usecases import activity, board, checkins, coaching, keyevents, objections, reports, surveys, sweeps


def fails(call, *args, **kwargs) -> BaseException:
    try:
        result = call(*args, **kwargs)
    except (ServiceError, domain.DomainError) as error:
        return error
    pytest.fail(f"expected an error, got {result!r}")


def field_of(error) -> str:
    if isinstance(error, domain.DomainError):
        return error.field
    return error.errors[0]["field"]


# -- 1. check-ins -----------------------------------------------------------------------------------------------

def test_checkins_are_scheduled_in_the_last_working_week_and_held_and_signed(uc):
    hr = uc.as_("hr")
    checkins.set_calendar(uc.uow(hr), hr, c.SetCalendar(preset="zh-CN", holidays=[date(2026, 12, 31)]))
    made = checkins.schedule(uc.uow(hr), hr, c.ScheduleCheckins(month="2026-12"))
    mine = [i for i in made.items if i.manager_id == "mgr"]
    assert sorted(i.person_id for i in mine) == ["rep1", "rep2", "rep3"]
    # Dec 31 is a holiday here: the last five working days are Dec 24, 25, 28, 29, 30
    assert {(i.due_from, i.due_by) for i in mine} == {(date(2026, 12, 24), date(2026, 12, 30))}
    assert checkins.schedule(uc.uow(hr), hr, c.ScheduleCheckins(month="2026-12")).items == []  # idempotent

    mgr, rep = uc.as_("mgr"), uc.as_("rep1")
    one = next(i for i in mine if i.person_id == "rep1")
    # the employee does not hold the check-in; a date in the future is refused naming the field
    early = c.HoldCheckin(checkin_id=one.id, held_on=date(2026, 12, 1))
    assert field_of(fails(checkins.hold, uc.uow(rep), rep, early)) == "actor"
    future = c.HoldCheckin(checkin_id=one.id, held_on=date(2026, 12, 3))
    assert field_of(fails(checkins.hold, uc.uow(mgr), mgr, future)) == "held_on"
    held = checkins.hold(uc.uow(mgr), mgr, c.HoldCheckin(
        checkin_id=one.id, held_on=date(2026, 12, 2),
        goals=[c.GoalSnapshot(goal_id="g-1", title="Revenue", colour="yellow", progress="0.6")],
        points=[c.CheckinPoint(section="progress", text="pipeline behind plan", goal_id="g-1"),
                c.CheckinPoint(section="obstacles", text="needs a demo environment", support_needed=True),
                c.CheckinPoint(section="behaviour", text="manager's own reminder", visibility="private")]))
    assert held.state == "held" and held.goals[0].colour == "yellow"
    checkins.add_notes(uc.uow(rep), rep, c.AddCheckinNotes(checkin_id=one.id, points=[
        c.CheckinPoint(section="obstacles", text="my private worry", visibility="private")]))
    seen_by_rep = checkins.get(uc.uow(rep), rep, c.GetCheckin(checkin_id=one.id))
    texts = {p.text for p in seen_by_rep.points}
    assert "manager's own reminder" not in texts and "my private worry" in texts
    seen_by_mgr = checkins.get(uc.uow(mgr), mgr, c.GetCheckin(checkin_id=one.id))
    assert "my private worry" not in {p.text for p in seen_by_mgr.points}
    checkins.sign_off(uc.uow(mgr), mgr, c.SignOffCheckin(checkin_id=one.id))
    done = checkins.sign_off(uc.uow(rep), rep, c.SignOffCheckin(checkin_id=one.id))
    assert done.state == "signed_off" and done.signed_by_manager and done.signed_by_person
    [(_, first), (_, second)] = uc.events(".checkin.held.v1")
    assert first["data"]["support_needed"] == 1 and second["data"]["signed_off"] is True
    assert first["data"]["support_requests"] == [{"goal_id": None, "text": "needs a demo environment"}]
    # a peer manager cannot read it (not in the line): the 404 of a check-in that does not exist
    peer = uc.as_("peer")
    hidden = fails(checkins.get, uc.uow(peer), peer, c.GetCheckin(checkin_id=one.id))
    assert isinstance(hidden, domain.NotFound) and str(hidden) == f"checkin_id: no such checkin: {one.id}"


def test_a_checkin_for_someone_not_in_your_line_is_refused_and_nothing_is_written(uc):
    peer = uc.as_("peer")  # peer reports to dir, manages nobody; mgr's team is not theirs
    error = fails(checkins.schedule, uc.uow(peer), peer, c.ScheduleCheckins(month="2026-12", manager_id="mgr"))
    assert error.status == 403 and field_of(error) == "manager_id"
    assert uc.scalar("select count(*) from checkins") == 0


def test_overdue_checkins_are_flagged_once(uc):
    hr = uc.as_("hr")
    uc.now = datetime(2026, 11, 2, 9, tzinfo=UTC)
    checkins.schedule(uc.uow(hr), hr, c.ScheduleCheckins(month="2026-11"))
    uc.now = datetime(2026, 12, 2, 9, tzinfo=UTC)  # November's window (ending Nov 30) has passed
    assert checkins.flag_overdue(uc.uow()) == 5  # every manager-report pair: mgr's three, dir's two
    assert checkins.flag_overdue(uc.uow()) == 0
    overdue = {(e["data"]["manager_id"], e["data"]["person_id"]) for _, e in uc.events(".checkin.overdue.v1")}
    assert overdue == {("mgr", "rep1"), ("mgr", "rep2"), ("mgr", "rep3"), ("dir", "mgr"), ("dir", "peer")}


# -- 2. reports, summaries, participation -------------------------------------------------------------------------

def _report(uc, who, period, **kw):
    actor = uc.as_(who)
    return reports.submit(uc.uow(actor), actor, c.SubmitReport(kind="weekly", period=period, **kw))


def test_reports_team_summary_blockers_first_and_repeated(uc):
    uc.now = datetime(2026, 11, 27, 10, tzinfo=UTC)
    _report(uc, "rep1", "2026-W48", done="called 10 leads", blockers=["CRM is slow"], goal_ids=["g-1"])
    uc.now = datetime(2026, 12, 2, 10, tzinfo=UTC)
    _report(uc, "rep1", "2026-W49", done="demo for ACME", blockers=["CRM is slow!"], goal_ids=["g-1"])
    _report(uc, "rep2", "2026-W49", done="follow-ups", blockers=["waiting for pricing sign-off"])
    mgr = uc.as_("mgr")
    summary = reports.team_summary(uc.uow(mgr), mgr, c.GetTeamSummary(period="2026-W49"))
    assert summary.team_size == 3 and summary.reported == 2 and summary.missing == ["rep3"]
    assert summary.blockers[0].person_id == "rep1" and summary.blockers[0].repeated_weeks == 2
    assert [g.goal_id for g in summary.by_goal] == ["g-1", None]
    # edits are allowed while the period is open; a closed period is refused, nothing written
    _report(uc, "rep2", "2026-W49", done="follow-ups and a proposal")
    assert uc.scalar("select count(*) from reports where person_id = 'rep2'") == 1
    error = fails(_report, uc, "rep3", "2026-W46", done="late")
    assert field_of(error) == "period" and uc.scalar("select count(*) from reports where person_id='rep3'") == 0
    assert field_of(fails(_report, uc, "rep3", "2026-W52", done="early")) == "period"
    # someone outside the line does not read the team's summary
    out = uc.as_("outsider")
    assert field_of(fails(reports.team_summary, uc.uow(out), out,
                          c.GetTeamSummary(manager_id="mgr", period="2026-W49"))) == "manager_id"


def test_participation_rate_and_trend_the_31_to_89_percent_case(uc):
    # the article's sales team: participation measured per month; here 3 reps over Oct..Dec 2026
    weeks = {"2026-10": ["2026-W40", "2026-W41", "2026-W42", "2026-W43", "2026-W44"],
             "2026-11": ["2026-W45", "2026-W46", "2026-W47", "2026-W48"]}
    plan = {"2026-10": {"rep1": 2, "rep2": 1, "rep3": 2}, "2026-11": {"rep1": 4, "rep2": 4, "rep3": 3}}
    for month, per_person in plan.items():
        for person, n in per_person.items():
            for week in weeks[month][:n]:
                start = date.fromisocalendar(int(week[:4]), int(week[-2:]), 1)
                uc.now = datetime.combine(start + timedelta(days=4), datetime.min.time(), tzinfo=UTC)
                _report(uc, person, week, done="x")
    uc.now = datetime(2026, 12, 2, 10, tzinfo=UTC)
    mgr = uc.as_("mgr")
    view = reports.participation(uc.uow(mgr), mgr, c.GetParticipation(scope="team", scope_id="mgr",
                                                                       month="2026-11", trend_months=2))
    assert [(p.month, p.expected, p.submitted, str(p.rate)) for p in view.trend] == [
        ("2026-10", 15, 5, "0.3333"), ("2026-11", 12, 11, "0.9167")]
    hr = uc.as_("hr")
    unit = reports.participation(uc.uow(hr), hr, c.GetParticipation(scope="unit", scope_id="sales", month="2026-11"))
    assert unit.submitted == 11 and unit.expected == 6 * 4  # six people in sales
    assert reports.publish_participation(uc.uow(), "2026-11") > 0
    assert reports.publish_participation(uc.uow(), "2026-11") == 0  # once per month
    team = [e["data"] for _, e in uc.events(".participation.computed.v1") if e["data"]["scope_id"] == "mgr"]
    assert team[0]["rate"] == "0.9167" and team[0]["previous_rate"] == "0.3333"


# -- 3. key events ----------------------------------------------------------------------------------------------

def test_key_events_recorded_by_manager_or_peer_seen_and_answered_by_the_employee(uc):
    mgr, peer, rep, out = uc.as_("mgr"), uc.as_("peer"), uc.as_("rep1"), uc.as_("outsider")
    keyevents.record(uc.uow(mgr), mgr, c.RecordKeyEvent(person_id="rep1", polarity="positive",
                                                        title="主动协助新人上线项目", occurred_on=date(2026, 11, 20),
                                                        evidence_url="https://wiki.example/onboarding"))
    neg = keyevents.record(uc.uow(peer), peer, c.RecordKeyEvent(
        person_id="rep1", polarity="negative", title="需求文档多次返工", occurred_on=date(2026, 12, 1)))
    assert field_of(fails(keyevents.record, uc.uow(rep), rep, c.RecordKeyEvent(
        person_id="rep1", polarity="positive", title="self praise", occurred_on=date(2026, 12, 1)))) == "person_id"
    assert field_of(fails(keyevents.record, uc.uow(mgr), mgr, c.RecordKeyEvent(
        person_id="rep1", polarity="positive", title="future", occurred_on=date(2026, 12, 9)))) == "occurred_on"
    keyevents.respond(uc.uow(rep), rep, c.RespondKeyEvent(key_event_id=neg.id, response="the spec changed twice"))
    mine = keyevents.list_events(uc.uow(rep), rep, c.ListKeyEvents(person_id="rep1"))
    assert len(mine.items) == 2 and {e.response for e in mine.items} == {None, "the spec changed twice"}
    assert isinstance(fails(keyevents.list_events, uc.uow(out), out, c.ListKeyEvents(person_id="rep1")), Forbidden)
    assert len(uc.events(".key_event.recorded.v1")) == 2


# -- 4. sales activity ------------------------------------------------------------------------------------------

CUSTOMER = ("acme", "31.2304000", "121.4737000")  # Shanghai


def _setup_sales(uc):
    rep = uc.as_("rep1")
    activity.register_customer(uc.uow(rep), rep, c.RegisterCustomer(customer_id=CUSTOMER[0], name="ACME",
                                                                    latitude=CUSTOMER[1], longitude=CUSTOMER[2]))
    return rep


def _visit(uc, rep, at, *, near=True, opportunity=None, notes=""):
    check_in = c.CheckIn(latitude="31.2310000" if near else "31.3000000", longitude="121.4740000", accuracy_m="25")
    return activity.record_visit(uc.uow(rep), rep, c.RecordVisit(customer_id="acme", visited_at=at, check_in=check_in,
                                                                 opportunity_id=opportunity, notes=notes))


def test_a_valid_lead_needs_both_a_near_checkin_and_an_opportunity(uc):
    rep = _setup_sales(uc)
    at = datetime(2026, 12, 1, 15, tzinfo=UTC)
    uc.now = at
    opp = activity.record_opportunity(uc.uow(rep), rep, c.RecordOpportunity(customer_id="acme", stage="lead",
                                                                           amount="120000"))
    uc.now = datetime(2026, 12, 2, 10, tzinfo=UTC)
    assert not _visit(uc, rep, at).valid  # check-in but no opportunity
    far = _visit(uc, rep, at, near=False, opportunity=opp.id)
    assert not far.valid and "m from the customer" in far.invalid_reasons[0]
    no_gps = activity.record_visit(uc.uow(rep), rep, c.RecordVisit(customer_id="acme", visited_at=at,
                                                                   opportunity_id=opp.id))
    assert not no_gps.valid and no_gps.invalid_reasons == ["no location check-in"]
    good = _visit(uc, rep, at, opportunity=opp.id, notes="客户说价格太贵, 要等明年预算")
    assert good.valid and good.distance_m < 100
    assert {"price", "budget_timing"} <= set(good.objections)
    activity.record_opportunity(uc.uow(rep), rep, c.RecordOpportunity(opportunity_id=opp.id, customer_id="acme",
                                                                     stage="demo", amount="120000"))
    leads = activity.weekly_leads(uc.uow(rep), rep, c.GetWeeklyLeads(week="2026-W49"))
    assert (leads.visits, leads.valid_leads, leads.opportunities, leads.demo_conversions) == (4, 1, 1, 1)
    assert len(uc.events(".visit.validated.v1")) == 1
    assert activity.publish_weekly_leads(uc.uow(), "2026-W49") == 1
    [(_, counted)] = uc.events(".leads.counted.v1")
    assert counted["data"]["valid_leads"] == 1 and counted["data"]["manager_id"] == "mgr"


def test_bad_visits_are_refused_naming_the_field_and_nothing_is_written(uc):
    rep = _setup_sales(uc)
    error = fails(_visit, uc, rep, datetime(2026, 12, 3, 10, tzinfo=UTC))
    assert field_of(error) == "visited_at"
    with pytest.raises(Exception) as bad:
        c.RecordVisit(customer_id="acme", visited_at=datetime(2026, 12, 1, tzinfo=UTC),
                      check_in={"latitude": "91", "longitude": "0", "accuracy_m": "5"})
    assert "check_in.latitude" in str(bad.value).replace("\n", ".").replace(" ", "")
    assert isinstance(fails(activity.record_visit, uc.uow(rep), rep, c.RecordVisit(
        customer_id="nobody", visited_at=datetime(2026, 12, 1, tzinfo=UTC))), domain.NotFound)
    assert uc.scalar("select count(*) from visits") == 0


def test_two_silent_months_are_zero_activity_flagged_once_and_cleared_by_a_valid_visit(uc):
    rep = _setup_sales(uc)
    at = datetime(2026, 9, 28, 10, tzinfo=UTC)  # the last valid visit: end of September
    uc.now = at
    opp = activity.record_opportunity(uc.uow(rep), rep, c.RecordOpportunity(customer_id="acme", stage="lead",
                                                                           amount="1"))
    assert _visit(uc, rep, at, opportunity=opp.id).valid
    uc.now = datetime(2026, 10, 5, 10, tzinfo=UTC)
    assert activity.detect_zero_activity(uc.uow()) == 0  # one silent week is not two
    uc.now = datetime(2026, 12, 2, 10, tzinfo=UTC)  # October and November without a valid visit
    _visit(uc, rep, datetime(2026, 11, 20, tzinfo=UTC))  # activity, but not valid (no opportunity)
    assert activity.detect_zero_activity(uc.uow()) == 1
    assert activity.detect_zero_activity(uc.uow()) == 0
    [(_, flagged)] = uc.events(".activity.zero_detected.v1")
    assert flagged["data"]["person_id"] == "rep1" and flagged["data"]["last_valid_on"] == "2026-09-28"
    mgr = uc.as_("mgr")
    assert [z.person_id for z in board.team_board(uc.uow(mgr), mgr).zero_activity] == ["rep1"]
    opp2 = activity.record_opportunity(uc.uow(rep), rep, c.RecordOpportunity(customer_id="acme", stage="lead",
                                                                            amount="2"))
    _visit(uc, rep, datetime(2026, 12, 2, 9, tzinfo=UTC), opportunity=opp2.id)
    assert board.team_board(uc.uow(mgr), mgr).zero_activity == []


# -- 5. coaching ------------------------------------------------------------------------------------------------

def test_the_directors_coaching_cadence_of_1_2_is_flagged_and_published(uc):
    uc.settings = uc.settings.model_copy(update={"coaching_window_months": 5})
    director = uc.as_("dir")
    for month, n in (("2026-08", 1), ("2026-09", 1), ("2026-10", 2), ("2026-11", 1), ("2026-12", 1)):
        for i in range(n):
            coaching.record(uc.uow(director), director, c.RecordCoaching(
                person_id="mgr", on=date.fromisoformat(f"{month}-0{i + 1}"), minutes=30, topic="pipeline review"))
    coaching.submit_notes(uc.uow(director), director, c.SubmitCoachingNotes(week="2026-W49", notes="谈了渠道策略"))
    view = coaching.cadence(uc.uow(director), director, c.GetCadence(month="2026-12"))
    assert (view.touches, view.weekly_notes, str(view.average), view.below_standard) == (1, 1, "1.20", True)
    # the 1:1 check-ins the director holds count as touches
    hr = uc.as_("hr")
    [one] = [i for i in checkins.schedule(uc.uow(hr), hr, c.ScheduleCheckins(month="2026-12")).items
             if i.person_id == "mgr"]
    checkins.hold(uc.uow(director), director, c.HoldCheckin(checkin_id=one.id, held_on=date(2026, 12, 2)))
    view = coaching.cadence(uc.uow(director), director, c.GetCadence(month="2026-12"))
    assert (view.touches, view.checkins_held, str(view.average)) == (2, 1, "1.40")
    uc.now = datetime(2027, 1, 2, 10, tzinfo=UTC)
    assert coaching.publish_cadence(uc.uow(), "2026-12") >= 1
    cadence = {e["data"]["manager_id"]: e["data"] for _, e in uc.events(".coaching.cadence_computed.v1")}
    assert cadence["dir"]["average"] == "1.40" and cadence["dir"]["below_standard"] is True
    rep = uc.as_("rep1")  # coaching is a manager's act; a rep cannot log coaching of their manager
    assert field_of(fails(coaching.record, uc.uow(rep), rep, c.RecordCoaching(
        person_id="mgr", on=date(2026, 12, 1), minutes=5, topic="x"))) == "person_id"


# -- 6. anonymous 360 -------------------------------------------------------------------------------------------

def _questionnaire(uc):
    hr = uc.as_("hr")
    surveys.save_questionnaire(uc.uow(hr), hr, c.SaveQuestionnaire(code="light", title="Light 360", questions=[
        c.QuestionInput(code="communication", text="沟通效率"), c.QuestionInput(code="support", text="专业支持")]))


def test_360_threshold_never_below_three_and_answers_only_from_the_invited_once(uc):
    _questionnaire(uc)
    mgr = uc.as_("mgr")
    with pytest.raises(Exception):
        c.OpenSurvey(subject_id="rep1", questionnaire_code="light", about="x", reviewer_ids=["a"], threshold=2,
                     closes_on=date(2026, 12, 20))
    assert field_of(fails(surveys.open_survey, uc.uow(mgr), mgr, c.OpenSurvey(
        subject_id="rep1", questionnaire_code="light", about="Q4 launch", reviewer_ids=["rep2", "rep3"],
        closes_on=date(2026, 12, 20)))) == "reviewer_ids"
    opened = surveys.open_survey(uc.uow(mgr), mgr, c.OpenSurvey(
        subject_id="rep1", questionnaire_code="light", about="Q4 launch",
        reviewer_ids=["rep2", "rep3", "peer", "dir"], closes_on=date(2026, 12, 20)))
    assert opened.threshold == 3 and opened.invited == 4
    answer = c.AnswerSurvey(request_id=opened.id, scores={"communication": 4, "support": 5}, comment="好搭档")
    for who in ("rep2", "rep3"):
        surveys.answer(uc.uow(uc.as_(who)), uc.as_(who), answer)
    out, rep2 = uc.as_("outsider"), uc.as_("rep2")
    # not invited: outside the subject's line, the 404 of a request that does not exist; the subject's line, a 403
    assert isinstance(fails(surveys.answer, uc.uow(out), out, answer), domain.NotFound)
    assert field_of(fails(surveys.answer, uc.uow(uc.as_("mgr")), uc.as_("mgr"), answer)) == "actor"
    assert field_of(fails(surveys.answer, uc.uow(rep2), rep2, answer)) == "request_id"
    assert field_of(fails(surveys.answer, uc.uow(uc.as_("peer")), uc.as_("peer"), c.AnswerSurvey(
        request_id=opened.id, scores={"communication": 9, "support": 1}))) == "scores.communication"
    subject = uc.as_("rep1")
    before = surveys.get(uc.uow(subject), subject, opened.id)
    assert before.answered == 2 and not before.released and before.aggregates == [] and before.comments == []
    surveys.answer(uc.uow(uc.as_("peer")), uc.as_("peer"), c.AnswerSurvey(
        request_id=opened.id, scores={"communication": 2, "support": 3}))
    after = surveys.get(uc.uow(subject), subject, opened.id)
    assert after.released and {a.code: str(a.average) for a in after.aggregates} == {
        "communication": "3.33", "support": "4.33"}
    assert uc.scalar("select count(*) from survey_answers") == 3


# -- 7. objections ----------------------------------------------------------------------------------------------

def test_objection_tags_come_with_the_playbook_and_aggregate_per_team(uc):
    rep, hr = _setup_sales(uc), uc.as_("hr")
    tagged = objections.tag_notes(uc.uow(rep), rep, c.TagNotes(text="The CFO says it is too expensive and "
                                                                   "they already use a competitor."))
    tags = {t.tag: t for t in tagged.tags}
    assert {"price", "competitor"} <= set(tags) and tags["price"].responses
    objections.save_playbook(uc.uow(hr), hr, c.SavePlaybook(tag="price", responses=["先讲价值, 再谈价格"]))
    again = objections.tag_notes(uc.uow(rep), rep, c.TagNotes(text="太贵了"))
    assert again.tags[0].tag == "price" and again.tags[0].responses == ["先讲价值, 再谈价格"]
    assert field_of(fails(objections.save_playbook, uc.uow(rep), rep, c.SavePlaybook(tag="price", responses=[]))) \
        == "actor"
    for note in ("客户说太贵了", "竞争对手给了更低的报价", "They need board approval"):
        _visit(uc, rep, datetime(2026, 12, 1, 10, tzinfo=UTC), notes=note)
    mgr = uc.as_("mgr")
    team = activity.team_objections(uc.uow(mgr), mgr, c.GetTeamObjections(month="2026-12"))
    assert team.visits == 3 and team.counts["price"] == 2 and next(iter(team.counts)) == "price"


# -- the board and the sweeps -------------------------------------------------------------------------------------

def test_the_team_board_and_a_full_sweep(uc):
    hr, mgr = uc.as_("hr"), uc.as_("mgr")
    uc.now = datetime(2026, 11, 2, 9, tzinfo=UTC)
    checkins.schedule(uc.uow(hr), hr, c.ScheduleCheckins(month="2026-11"))
    uc.now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    result = sweeps.run(uc.uow())
    assert result["checkins_overdue"] >= 3 and result["cadence"] >= 1 and result["participation"] >= 1
    again = sweeps.run(uc.uow())
    assert again["checkins_overdue"] == 0 and again["cadence"] == 0
    view = board.team_board(uc.uow(mgr), mgr)
    assert {d.person_id for d in view.checkins_due} == {"rep1", "rep2", "rep3"}
    assert all(d.overdue for d in view.checkins_due)
    assert view.missing_reports.people == ["rep1", "rep2", "rep3"]
    assert view.coaching_cadence.below_standard is True
    november = coaching.cadence(uc.uow(mgr), mgr, c.GetCadence(month="2026-11"))
    assert november.checkins_overdue == 3 and november.below_standard  # overdue 1:1s count against the cadence
    out = uc.as_("outsider")
    assert field_of(fails(board.team_board, uc.uow(out), out, "mgr")) == "manager_id"


def _board_by_parts(uc, manager: str) -> c.TeamBoardView:
    """The board read part by part (the check-in, report, zero-activity and cadence reads each on their own)."""
    from sqlalchemy import select

    from feedback import models as m
    from feedback.domain.calendar import month_key, week_key
    from feedback.usecases.common import team_of, today

    with uc.uow() as uow:
        on, team = today(uow), team_of(uow, manager)
        last_week = week_key(on - timedelta(days=7))
        reported = {r.person_id for r in uow.reports.for_people(team, "weekly", [last_week])}
        flagged = sorted(uow.session.scalars(select(m.ZeroActivity).where(m.ZeroActivity.person_id.in_(team))),
                         key=lambda z: z.person_id)
        due = uow.checkins.due_for(manager, on)
        cadence = coaching.compute(uow, manager, month_key(on))
        return c.TeamBoardView(
            manager_id=manager,
            checkins_due=[c.BoardCheckinDue(checkin_id=r.id, person_id=r.person_id, due_by=r.due_by,
                                            overdue=on > r.due_by) for r in due],
            missing_reports=c.BoardMissingReports(period=last_week, people=[p for p in team if p not in reported]),
            zero_activity=[c.BoardZeroActivity(person_id=z.person_id, weeks=z.weeks, detected_on=z.detected_on,
                                               last_valid_on=z.last_valid_on) for z in flagged],
            coaching_cadence=cadence)


def test_the_board_read_in_one_round_trip_equals_its_parts_read_one_by_one(uc):
    """Random Q4 activity (check-ins scheduled, some held, reports, coaching, notes, zero-activity flags): the
    one-statement board answers exactly what the separate reads answer, for every manager."""
    import random

    from feedback import models as m

    rng = random.Random(16)
    hr, mgr, director = uc.as_("hr"), uc.as_("mgr"), uc.as_("dir")
    for month, at in (("2026-10", datetime(2026, 10, 2, 9, tzinfo=UTC)),
                      ("2026-11", datetime(2026, 11, 2, 9, tzinfo=UTC))):
        uc.now = at
        checkins.schedule(uc.uow(hr), hr, c.ScheduleCheckins(month=month))
    uc.now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    checkins.schedule(uc.uow(hr), hr, c.ScheduleCheckins(month="2026-12"))
    uc.now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    sweeps.run(uc.uow())  # November's check-ins are overdue now
    with uc.uow() as uow:
        october = list(uow.checkins.page(month="2026-10", limit=100))
    for one in october:
        if rng.random() < 0.6:
            holder = uc.as_(one.manager_id)
            checkins.hold(uc.uow(holder), holder, c.HoldCheckin(checkin_id=one.id, held_on=one.due_by))
    uc.now = datetime(2026, 11, 27, 9, tzinfo=UTC)  # last week's reports, written in their week
    for who in ("rep1", "rep2", "rep3", "mgr", "peer"):
        if rng.random() < 0.7:
            _report(uc, who, "2026-W48", done="拜访客户 / visits")
    uc.now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    for boss, reports_ in ((mgr, ["rep1", "rep2", "rep3"]), (director, ["mgr", "peer"])):
        for _ in range(rng.randint(1, 6)):
            coaching.record(uc.uow(boss), boss, c.RecordCoaching(
                person_id=rng.choice(reports_), on=date(2026, 10, 1) + timedelta(days=rng.randint(0, 62)),
                minutes=30, topic="pipeline"))
    coaching.submit_notes(uc.uow(mgr), mgr, c.SubmitCoachingNotes(week="2026-W49", notes="谈了渠道策略"))
    with uc.uow() as uow:
        uow.repo.add(m.ZeroActivity(person_id="rep2", manager_id="mgr", weeks=9, last_valid_on=None,
                                    detected_on=date(2026, 11, 30)),
                     m.ZeroActivity(person_id="rep1", manager_id="mgr", weeks=8, last_valid_on=date(2026, 9, 28),
                                    detected_on=date(2026, 11, 23)))
    for manager in ("mgr", "dir", "rep1"):
        actor = uc.as_(manager)
        view = board.team_board(uc.uow(actor), actor)
        assert view == _board_by_parts(uc, manager), manager
    view = board.team_board(uc.uow(mgr), mgr)
    assert [z.person_id for z in view.zero_activity] == ["rep1", "rep2"]
    assert view.coaching_cadence.weekly_notes == 1 and view.checkins_due
    assert view.coaching_cadence.checkins_overdue == 0  # November's are overdue, not December's


def test_retention_deletes_what_is_older_than_the_setting(uc):
    _report(uc, "rep1", "2026-W49", done="x")
    uc.now = datetime(2026, 12, 2, tzinfo=UTC) + timedelta(days=uc.settings.retention_days + 10)
    assert sweeps.purge(uc.uow()) >= 1
    assert uc.scalar("select count(*) from reports") == 0
